"""The site while it builds (progress for a person waiting) and the inline suppressions it
shows: waived, with the comment's file:line and no expiry it does not have."""

from __future__ import annotations

from pathlib import Path

from auditor.models import Waived, WaiverState
from auditor.site.build import SiteOptions, build_site
from tests.conftest import EXAMPLE
from tests.site.conftest import BuildSite, finding, report
from tests.site.test_build import LATENCY, _admonitions, _text


def test_a_build_says_each_step_as_it_starts_and_how_long_it_took(tmp_path: Path) -> None:
    lines: list[str] = []
    built = build_site(SiteOptions(str(EXAMPLE), (), str(tmp_path / "site"), lines.append))
    assert (built.output / "index.html").is_file()
    assert lines[0] == "reading the reports ..."
    assert any(line.startswith("rendering the runbook's pages") for line in lines)
    assert any(line.startswith("building the site with MkDocs (") for line in lines)
    assert lines[-1].startswith("built in ") and lines[-1].endswith(" s")


def test_an_inline_suppression_is_shown_with_its_place_and_no_expiry(
        build_site: BuildSite) -> None:
    waived = finding("hpa-present", name="api", message="no HPA targets api")
    waived.waived = Waived(reason="batch worker, one replica is enough",
                           owner="inline comment", expires=None,
                           file="helm/values-prod.yaml", line=12, inline=True)
    state = WaiverState(policy="hpa-present", resource="(inline)", environments=["prod"],
                        reason="batch worker, one replica is enough", owner="inline comment",
                        expires=None, file="helm/values-prod.yaml", line=12, state="active",
                        matched=1)
    site = build_site(report([waived], waivers=[state]))
    assert site.result.exit_code == 0, site.result.stderr
    (block,) = _admonitions(site.article(LATENCY), "abstract")
    text = _text(block)
    assert "Waived (" in text and "until" not in text
    assert "inline comment" in text and "helm/values-prod.yaml:12" in text
    assert "helm/values-prod.yaml:12" in site.article("dashboard")
