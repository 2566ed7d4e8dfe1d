"""Waived findings on the site: shown (not hidden) as waived on their section, not counted
as failing on the dashboard, and the waivers listed with their state."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from auditor.models import Waived, WaiverState
from tests.site.conftest import T0, BuildSite, days, finding, report
from tests.site.test_build import LATENCY, _admonitions, _text

pytestmark = pytest.mark.clock  # date-sensitive: `make clock` runs it with the clock moved


def _waived(reason: str = "HPA lands with the Q1 autoscaling work") -> Waived:
    return Waived(reason=reason, owner="team-web", expires=date(2027, 1, 31),
                  file=".auditor-waivers.yaml", line=4)


def test_waived_finding_is_shown_as_waived(build_site: BuildSite) -> None:
    waived = finding("hpa-present", name="api", message="no HPA targets api")
    waived.waived = _waived()
    states = [
        WaiverState(policy="hpa-present", resource="Deployment/chess-ai/api",
                    environments=["prod"], reason="HPA lands with the Q1 autoscaling work",
                    owner="team-web", expires=date(2027, 1, 31), file=".auditor-waivers.yaml",
                    line=4, state="active", matched=1),
        WaiverState(policy="pdb-present", resource="Deployment/old-*", environments=["*"],
                    reason="<b>gone</b>", owner="team-web", expires=date(2026, 1, 1),
                    file=".auditor-waivers.yaml", line=11, state="expired", matched=0),
    ]
    site = build_site(report([waived], waivers=states))
    assert site.result.exit_code == 0, site.result.stderr
    page = site.article(LATENCY)
    assert not _admonitions(page, "failure")  # not shown as failing
    (block,) = _admonitions(page, "abstract")
    assert "Waived until 2027-01-31" in block and "no HPA targets api" in block
    assert "team-web" in _text(block) and "HPA lands with the Q1" in _text(block)
    dash = site.article("dashboard")
    row = next(r for r in dash.split("<tr>") if "High Latency" in r)
    assert "waived (1)" in row and "fail" not in row
    counts = next(r for r in dash.split("<tr>") if "failing, high" in r)
    assert re.search(r"<td[^>]*>0</td>", counts)
    waivers = dash.split('id="waivers"')[1]
    assert "active" in waivers and "expired" in waivers and "2027-01-31" in waivers
    assert "<b>gone</b>" not in waivers  # the reason is escaped


def test_report_directory_is_a_history(build_site: BuildSite, tmp_path: Path) -> None:
    reports = tmp_path / "history" / "prod"
    reports.mkdir(parents=True)
    for i in range(3):
        (reports / f"{i}.json").write_text(
            report([finding("hpa-present", message=f"run {i}")], at=T0 + days(i))
            .model_dump_json())
    site = build_site(args=("--report", str(tmp_path / "history")))
    assert site.result.exit_code == 0, site.result.stderr
    assert "run 2" in site.article(LATENCY) and "run 1" not in site.article(LATENCY)
    assert "3 consecutive reports" in site.article(LATENCY)


def test_a_waiver_active_in_one_environment_is_active(build_site: BuildSite) -> None:
    def state(value: str) -> WaiverState:
        return WaiverState(policy="hpa-present", resource="Deployment/*", environments=["*"],
                           reason="r", owner="o", expires=date(2027, 1, 31),
                           file=".auditor-waivers.yaml", line=2, state=value,  # type: ignore[arg-type]
                           matched=1 if value == "active" else 0)

    staging = report([finding("pdb-present", env="staging")], environments=["staging"],
                     waivers=[state("stale")])
    prod = report([finding("pdb-present")], environments=["prod"],
                  waivers=[state("active")], at=T0 + days(1))
    site = build_site(staging, prod)
    assert site.result.exit_code == 0, site.result.stderr
    waivers = site.article("dashboard").split('id="waivers"')[1]
    rows = [r for r in waivers.split("<tr>") if "hpa-present" in r]
    assert len(rows) == 1 and "active" in rows[0] and "matches nothing" not in rows[0]
