"""Markup that MkDocs copies raw (site name, page titles), parameters on the policy
reference, report clocks and the output's permissions."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from auditor.models import PolicyInfo
from tests.site.conftest import T0, BuildSite, finding, report

XSS = "<img src=x onerror=alert(1)>"


def test_the_service_name_cannot_inject_markup(build_site: BuildSite, proj: Path) -> None:
    config = proj / "auditor.yaml"
    config.write_text(config.read_text().replace("service: chess-ai", f"service: 'shop{XSS}'"))
    site = build_site(report([finding("memory-limits")], service=f"shop{XSS}"))
    assert site.result.exit_code == 0, site.result.stderr
    for html in site.all_html().values():
        assert "<img src=x" not in html  # shown as text at most, never as a tag


def test_a_report_policy_title_cannot_inject_markup(build_site: BuildSite) -> None:
    custom = PolicyInfo(id="my-custom", title=f"T</title>{XSS}", severity="low",
                        runbook="common-issues/high-cpu/#increase-cpu-limits",
                        runbook_section="6. High CPU", description="mine")
    base = report([finding("memory-limits")])
    site = build_site(base.model_copy(update={"policies": [*base.policies, custom]}))
    assert site.result.exit_code == 0, site.result.stderr
    page = site.html("policies/my-custom")
    assert "<img src=x" not in page and "</title><img" not in page


def test_the_policy_reference_fills_parameter_defaults(build_site: BuildSite) -> None:
    site = build_site()
    assert site.result.exit_code == 0, site.result.stderr
    page = site.html("policies/db-connection-capacity")
    assert "&lt;params&gt;" not in page and "database.pool.size" in page


def test_report_times_are_utc_and_naive_ones_are_taken_as_utc(build_site: BuildSite) -> None:
    plus_two = report([finding("memory-limits")],
                      at=(T0 + timedelta(days=1)).replace(hour=11, tzinfo=timezone(
                          timedelta(hours=2))))
    naive = report([finding("memory-limits")], at=datetime(2024, 1, 1, 8, 0))
    site = build_site(naive, plus_two)
    assert site.result.exit_code == 0, site.result.stderr
    assert "09:00 UTC" in site.html("dashboard")


def test_the_built_site_is_readable_by_others(build_site: BuildSite) -> None:
    old = os.umask(0o022)
    try:
        site = build_site()
    finally:
        os.umask(old)
    assert site.result.exit_code == 0
    assert site.out.stat().st_mode & 0o755 == 0o755
