"""Review fixes of the site's semantics: "all pass" only over checks that ran, "fixed"
only on sides the newer report checked, one trend line per environment, and the
environment whose names fill the runbook's commands."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from auditor.models import Waived
from auditor.site import findings as site_findings
from tests.site.conftest import T0, BuildSite, days, finding, passed, report

TLS = "common-issues/tls-certificates"
# every declared-side check of the TLS section passes; cert-expiry is live only
TLS_DECLARED = ("acm-cert-issued", "ingress-tls")


def _admonitions(html: str, kind: str) -> list[str]:
    return re.findall(rf'<div class="admonition {kind}">(.*?)\n</div>', html, re.DOTALL)


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def _cell(dashboard: str, section: str) -> str:
    row = next(r for r in dashboard.split("<tr>") if section in r)
    return row.split("</td>", 1)[1]  # the first environment's cell


def test_a_scan_report_does_not_call_unchecked_live_checks_passing(build_site: BuildSite
                                                                   ) -> None:
    scan = report([finding("hpa-present")], passes=[passed(p) for p in TLS_DECLARED])
    site = build_site(scan)
    assert site.result.exit_code == 0, site.result.stderr
    page = site.article(TLS)
    assert not any("cert-expiry" in a for a in _admonitions(page, "success"))
    renew = next(a for a in _admonitions(page, "info") if "cert-expiry" in a)
    assert "Not every check for this section was checked" in renew
    assert "not checked in this report" in renew and "1 passed in prod" in renew
    dash = site.article("dashboard")
    cell = _cell(dash, "tls-certificates/")
    assert "✓ pass" not in cell and "not checked" in cell


def test_all_pass_when_every_check_of_the_section_has_a_result(build_site: BuildSite) -> None:
    every = report([finding("hpa-present")],
                   passes=[passed(p) for p in (*TLS_DECLARED, "cert-expiry")])
    site = build_site(every)
    assert site.result.exit_code == 0, site.result.stderr
    page = site.article(TLS)
    assert any("cert-expiry" in a for a in _admonitions(page, "success"))
    assert "not checked" not in page
    assert "✓ pass" in _cell(site.article("dashboard"), "tls-certificates/")


def test_a_scan_after_an_audit_does_not_fix_live_and_drift_findings(build_site: BuildSite
                                                                    ) -> None:
    audit = report([
        finding("cert-expiry", side="live", kind="Certificate", name="cert",
                message="live cert expires"),
        finding("helm-drift", side="drift", kind="HelmRelease", name="chess-ai",
                message="release drifted"),
        finding("pdb-present", name="api", message="declared and fixed"),
    ], at=T0)
    scan = report([finding("hpa-present", message="still declared")], at=T0 + days(1),
                  passes=[passed("pdb-present", name="api")])
    site = build_site(audit, scan)
    assert site.result.exit_code == 0, site.result.stderr
    fixed = site.article("history").split('id="fixed-since-the-previous-run"')[1]
    assert "declared and fixed" in fixed
    assert "live cert expires" not in fixed and "release drifted" not in fixed


def test_the_trend_has_one_line_per_environment(build_site: BuildSite) -> None:
    runs = []
    for n in range(3):  # one report per environment per night
        runs.append(report([finding("hpa-present", env="prod")] * 5, at=T0 + days(n)))
        runs.append(report([], environments=["staging"], at=T0 + days(n) + timedelta(minutes=10)))
    site = build_site(*runs)
    assert site.result.exit_code == 0, site.result.stderr
    history = site.article("history")
    svg = history[history.index("<svg"):history.index("</svg>")]
    lines = re.findall(r'<polyline[^>]*points="([^"]*)"', svg)
    assert len(lines) == 2  # prod and staging, never zig-zagging between them
    for points in lines:
        ys = {p.split(",")[1] for p in points.split()}
        assert len(ys) == 1  # each environment is flat: 5 failing, 0 failing
    assert ">prod</text>" in svg and ">staging</text>" in svg  # the legend
    assert "5 failing in prod" in svg and "0 failing in staging" in svg
    assert "<script" not in svg


def test_commands_use_the_names_of_the_reports_environment(build_site: BuildSite,
                                                           proj: Path) -> None:
    config = proj / "auditor.yaml"
    data = yaml.safe_load(config.read_text())
    staging = yaml.safe_load(yaml.safe_dump(data["environments"]["prod"]))
    staging["helm"]["namespace"] = "chess-staging"
    data["environments"]["staging"] = staging
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    site = build_site(report([finding("hpa-present", env="staging")]))
    assert site.result.exit_code == 0, site.result.stderr
    assert "kubectl get pods -n chess-staging" in _text(
        site.article("common-issues/high-latency"))
    assert "chess-staging" in site.article("")
    dash = site.article("dashboard")
    assert "<code>staging</code>" in dash.split('id="runbook-sections"')[0]
    # without a report: the config's first environment
    plain = build_site()
    assert "kubectl get pods -n chess-ai" in _text(plain.article("common-issues/high-latency"))
    assert "<code>prod</code>" in plain.article("dashboard")


def test_a_drift_box_says_who_changed_it_and_each_section_shows_its_triage_command(
        build_site: BuildSite) -> None:
    from auditor.models import Provenance

    drift = finding("hpa-drift", side="drift", kind="HorizontalPodAutoscaler",
                    item="spec.minReplicas", message="spec.minReplicas is 5 live but 3 in Git")
    drift.provenance = Provenance(
        source="managedFields", actor="kubectl-patch <b>x</b>", at=T0, via="kubectl patch hpa",
        by="person", runbook=drift.runbook, runbook_title="2. High Latency > Scale Up Pods")
    site = build_site(report([drift], config_file="auditor.yaml", source_root="ops"))
    assert site.result.exit_code == 0, site.result.stderr
    page = drift.runbook.split("/#", 1)[0]
    article = site.article(page)
    assert "Changed live:" in article
    assert "field manager kubectl-patch &lt;b&gt;x&lt;/b&gt; owns it" in article  # escaped
    assert "<b>x</b>" not in article
    assert "(runbook: 2. High Latency &gt; Scale Up Pods)" in article
    text = html.unescape(re.sub(r"<[^>]+>", "", article))
    assert f"auditor audit --config ops/auditor.yaml --section '{drift.runbook}'" in text


def test_a_fleet_section_shows_the_most_serious_in_full_and_counts_the_rest(
        build_site: BuildSite, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(site_findings, "MAX_SHOWN", 3)
    found = [finding("hpa-present", env=f"env-{i % 4}", name=f"app-{i}") for i in range(10)]
    found.append(finding("hpa-present", "unknown", env="env-9", name="odd"))
    accepted = finding("hpa-present", env="env-0", name="accepted")  # sorts first by name
    accepted.waived = Waived(reason="one replica by design", owner="team", expires=None,
                             file=".auditor-waivers.yaml")
    found.append(accepted)
    site = build_site(report(found))
    assert site.result.exit_code == 0, site.result.stderr
    page = site.article("common-issues/high-latency")
    shown = _admonitions(page, "failure")
    assert len(shown) == 3 and not _admonitions(page, "question")  # failures come first
    text = html.unescape(_text(page))
    # The three shown are env-0's (the site's order: failures, severity, environment),
    # the waived one after them.
    assert "9 more findings in 5 environments (the 3 above are the most serious)" in text
    assert "accepted" not in "".join(shown)
    rows = {cells[0]: cells[1:] for row in page.split("<tr>")[2:]
            if (cells := [html.unescape(_text(c)).strip() for c in row.split("</td>")[:5]])}
    assert rows == {"env-1": ["3", "0", "0", "0"], "env-2": ["2", "0", "0", "0"],
                    "env-3": ["2", "0", "0", "0"], "env-9": ["0", "0", "1", "0"],
                    "env-0": ["0", "0", "0", "1"]}
    one = build_site(report([*found[:3], found[-1]]))  # three failing, one waived: one more
    assert "1 more finding in 1 environment (the 3 above" in html.unescape(
        _text(one.article("common-issues/high-latency")))
