"""``auditor site build`` end to end (no browser): the plain runbook, one report, a history
of reports, and what the build refuses."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.site.conftest import (
    SCRIPT,
    T0,
    BuildSite,
    days,
    finding,
    passed,
    report,
)

pytestmark = pytest.mark.clock  # date-sensitive: `make clock` runs it with the clock moved

LATENCY = "common-issues/high-latency"

Run = Callable[..., CliResult]


def test_no_report_builds_the_plain_runbook(build_site: BuildSite) -> None:
    site = build_site()
    assert site.result.exit_code == 0, site.result.stderr
    assert "site built in" in site.result.stdout
    index = site.article("")
    # names from the example's config: raw in code, escaped text in prose
    assert "aws rds describe-db-instances --db-instance-identifier chess-ai-prod --region " \
        "us-east-1" in _text(index)
    assert "curl https://chess-ai.example.com/health" in _text(index)
    assert "Release chess-ai of <code>chess-ai</code>" in index
    assert "unknown: &lt;foo-bar&gt;." in index  # a name the config lacks: a placeholder
    assert "Jinja comment" not in index
    page = site.article(LATENCY)
    assert 'id="scale-up-pods"' in page
    assert "admonition" not in page  # no report: findings() renders nothing
    assert "No report given" in site.article("dashboard")
    assert "No report given" in site.article("history")
    assert (site.out / ".auditor-site").is_file()
    assert "chess-ai runbook" in site.html("")  # the site name comes from the config


def test_one_report_annotates_sections(build_site: BuildSite) -> None:
    current = report([
        finding("hpa-present", side="declared", name="api", message="no HPA targets api",
                file="helm/values-prod.yaml", line=12,
                commands=["kubectl get hpa -n chess-ai", "helm upgrade chess-ai ./chart"]),
        finding("nodegroup-capacity", "error", side="live", kind="Nodegroup", name="ng",
                namespace=None, message="AccessDenied on eks"),
        finding("memory-limits", "unknown", message="limit comes from an unset value"),
        finding("sg-no-world-admin", kind="SecurityGroup", name="bastion", namespace=None,
                item="tcp/22", message="opens port 22"),
        finding("helm-drift", side="drift", kind="HelmRelease", name="chess-ai",
                message="release chess-ai drifted"),
    ], passes=[passed("hpa-range"), passed("hpa-range", name="worker")])
    site = build_site(current)
    assert site.result.exit_code == 0, site.result.stderr
    page = site.article(LATENCY)
    failure = _admonitions(page, "failure")
    assert any("no HPA targets api" in a for a in failure)
    block = next(a for a in failure if "no HPA targets api" in a)
    assert "<code>prod</code>" in block and "declared side" in block
    assert "<code>helm/values-prod.yaml:12</code>" in block
    assert "kubectl get hpa -n chess-ai" in _text(block)
    assert "Failing since:</strong> at least 2026-11-01 03:00 UTC (1 report)" in block
    assert 'href="../../policies/hpa-present/"' in block
    assert _admonitions(page, "bug") and "AccessDenied on eks" in _admonitions(page, "bug")[0]
    assert "Check errored" in _admonitions(page, "bug")[0]
    assert _admonitions(site.article("common-issues/high-error-rate"), "question")
    assert _admonitions(site.article("emergency/security-breach"), "danger")
    # a section where nothing fails: the quiet note, with what passed
    cpu = site.article("common-issues/high-cpu")
    success = next(a for a in _admonitions(cpu, "success") if "hpa-range" in a)
    assert "All checks for this section pass" in success
    assert "2 passed in prod" in success
    # a heading whose only check has no result in this report is not green
    assert "not checked in this report" in " ".join(_admonitions(cpu, "info"))
    # the dashboard: sections x environments, severity counts, drift on its own
    dash = site.article("dashboard")
    row = next(r for r in dash.split("<tr>") if "High Latency" in r)
    assert 'href="../common-issues/high-latency/"' in row and "fail (1)" in row
    assert "release chess-ai drifted" in dash.split('id="drift"')[1]
    assert "release chess-ai drifted" not in dash.split('id="drift"')[0]


def test_several_reports_make_a_history(build_site: BuildSite) -> None:
    old = finding("hpa-present", name="api", message="old and still failing")
    gone = finding("pdb-present", name="api", message="fixed since")
    oldest = report([old, gone], at=T0)
    middle = report([old, gone], at=T0 + days(1))
    newcomer = finding("image-pinned", name="api", message="new since the previous run")
    newest = report([old, newcomer], at=T0 + days(2))
    site = build_site(newest, oldest, middle)  # given out of order: sorted by time
    assert site.result.exit_code == 0, site.result.stderr
    history = site.article("history")
    svg = history[history.index("<svg"):history.index("</svg>")]
    assert len(re.findall(r"<circle", svg)) == 3
    assert "2026-11-01 03:00 UTC: 2 failing" in svg
    assert "<script" not in svg
    new_part = history.split('id="new-since-the-previous-run"')[1].split('id="fixed-since')[0]
    fixed_part = history.split('id="fixed-since-the-previous-run"')[1]
    assert "new since the previous run" in new_part and "old and still" not in new_part
    assert "fixed since" in fixed_part and "old and still" not in fixed_part
    page = site.article(LATENCY)
    # the newest report is current; "since" is the oldest of the unbroken run
    assert "at least 2026-11-01 03:00 UTC (3 consecutive reports)" in page
    assert "fixed since" not in site.article("common-issues/pod-crashes")


def test_each_environment_uses_its_newest_report(build_site: BuildSite) -> None:
    prod = report([finding("hpa-present", message="prod finding")], at=T0)
    staging = report([finding("hpa-present", env="staging", message="staging finding")],
                     at=T0 + days(1))
    site = build_site(prod, staging)
    assert site.result.exit_code == 0, site.result.stderr
    page = site.article(LATENCY)
    assert "prod finding" in page and "staging finding" in page


def test_untrusted_text_is_escaped(build_site: BuildSite) -> None:
    evil = finding("hpa-present", name=SCRIPT, item=SCRIPT, file=f"{SCRIPT}.yaml", line=3,
                   message=f"{SCRIPT} **bold** [link](http://evil) ``` `x`",
                   commands=[f"echo '{SCRIPT}' ```` and more"], side="drift")
    site = build_site(report([evil], environments=["prod"]))
    assert site.result.exit_code == 0, site.result.stderr
    for page in (LATENCY, "dashboard"):
        html = site.html(page)
        assert "&lt;script&gt;" in html
        assert "<script>alert" not in html
        assert 'href="http://evil"' not in html and "<strong>bold</strong>" not in html
    assert not [p for p, html in site.all_html().items() if "<script>alert" in html]
    assert f"echo '{SCRIPT}' ```` and more" in _text(site.article(LATENCY))


def test_bad_report_is_exit_2_naming_it(build_site: BuildSite, run_cli: Run, tmp_path: Path,
                                        proj: Path) -> None:
    bad_json = tmp_path / "broken.json"
    bad_json.write_text("{not json", encoding="utf-8")
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"version": "1", "findings": []}', encoding="utf-8")
    for path in (bad_json, wrong, tmp_path / "missing.json"):
        result = run_cli("site", "build", "--config", str(proj), "--report", str(path),
                         "--output", str(tmp_path / "out"))
        assert result.exit_code == 2
        assert result.stderr.startswith(f"error: {path}: ")
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_output_never_replaces_the_source_or_a_foreign_dir(run_cli: Run, proj: Path,
                                                           tmp_path: Path) -> None:
    for out in (proj / "site", proj, proj / "site" / "inner"):
        result = run_cli("site", "build", "--config", str(proj), "--output", str(out))
        assert result.exit_code == 2 and "runbook source" in result.stderr
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine", encoding="utf-8")
    result = run_cli("site", "build", "--config", str(proj), "--output", str(foreign))
    assert result.exit_code == 2 and "not a site built by auditor" in result.stderr
    assert (foreign / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_a_rebuild_replaces_the_previous_site(build_site: BuildSite, proj: Path,
                                              run_cli: Run) -> None:
    first = build_site()
    assert first.result.exit_code == 0
    (first.out / "stale.html").write_text("old", encoding="utf-8")
    again = run_cli("site", "build", "--config", str(proj), "--output", str(first.out))
    assert again.exit_code == 0, again.stderr
    assert not (first.out / "stale.html").exists()


def _admonitions(html: str, kind: str) -> list[str]:
    """The inner HTML of each admonition of a kind (they do not nest here)."""
    return re.findall(rf'<div class="admonition {kind}">(.*?)\n</div>', html, re.DOTALL)


def _text(html: str) -> str:
    """Text without tags, entities decoded (what a reader sees, e.g. a command)."""
    import html as html_mod

    return html_mod.unescape(re.sub(r"<[^>]+>", "", html))


def test_report_ids_never_become_paths(build_site: BuildSite, tmp_path: Path) -> None:
    from auditor.models import PolicyInfo

    evil = PolicyInfo(id="../../evil", title="x", severity="high", description="x",
                      runbook="common-issues/high-latency/#scale-up-pods", runbook_section="x")
    site = build_site(report([finding("hpa-present")], policies=[evil]))
    assert site.result.exit_code == 0, site.result.stderr
    assert not list(tmp_path.parent.rglob("evil*"))
    bad = finding("hpa-present", runbook="../../etc/#passwd")
    site = build_site(report([bad]))
    assert site.result.exit_code == 2 and "is not PAGE/#HEADING-ID" in site.result.stderr
