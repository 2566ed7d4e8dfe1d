"""The terminal table (`--format table`, the default): what a person reads in a CI log.

Exact text on small reports: the layout (columns padded to the widest cell, a message
wrapped under its row, the first fix and the runbook link) is the format's whole job."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from auditor.formats import renderer
from auditor.formats.json_format import render as render_json
from auditor.formats.table_format import render
from auditor.models import (
    Comparison,
    Finding,
    FindingLocation,
    Gate,
    NotApplicable,
    Report,
    Waived,
)


def _two_findings(finding_factory: Callable[..., Finding]) -> list[Finding]:
    located = finding_factory(
        "liveness-probe", "fail", "prod", "api", item="web",
        file="helm/app/templates/deployment.yaml", line=42,
        message="container web has no livenessProbe",
        commands=["helm  upgrade app helm/app\n  --set probes.liveness=true", "second fix"])
    live = finding_factory("hpa-present", "unknown", "prod", "worker", side="live",
                           message="no HPA could be read", link=False)
    return [located, live]


def test_rows_are_padded_to_the_widest_cell_and_carry_message_fix_and_runbook(
        report_factory: Callable[..., Report],
        finding_factory: Callable[..., Finding]) -> None:
    text = render(report_factory(_two_findings(finding_factory), passes={}))
    assert text == (
        "runbook-auditor: chess-ai (prod, staging)\n"
        "\n"
        "== prod ==\n"
        "STATUS   SEVERITY  SIDE      POLICY          RESOURCE                       "
        "LOCATION\n"
        "FAIL     critical  declared  liveness-probe  Deployment/chess-ai/api [web]  "
        "helm/app/templates/deployment.yaml:42\n"
        "    container web has no livenessProbe\n"
        "    fix: helm upgrade app helm/app --set probes.liveness=true\n"
        "    runbook: https://runbooks.example.com/chess/common-issues/crash-loop/#liveness\n"
        "UNKNOWN  high      live      hpa-present     Deployment/chess-ai/worker     -\n"
        "    no HPA could be read\n"
        "    runbook: common-issues/high-latency/#scale-up-pods\n"
        "\n"
        "Summary: 1 fail, 0 error, 1 unknown, 0 pass | failing by severity: "
        "1 critical, 0 high, 0 medium, 0 low\n")


def test_the_default_format_is_this_table() -> None:
    assert renderer("table") is render


def test_environments_are_sections_in_name_order_each_with_its_own_header(
        report_factory: Callable[..., Report],
        finding_factory: Callable[..., Finding]) -> None:
    findings = [finding_factory("rds-backups", "fail", "staging", "db", link=False),
                finding_factory("rds-backups", "fail", "prod", "db", link=False)]
    lines = render(report_factory(findings, passes={})).splitlines()
    sections = [line for line in lines if line.startswith("==")]
    assert sections == ["== prod ==", "== staging =="]
    assert sum(line.startswith("STATUS ") for line in lines) == 2
    # each section is followed by its own rows, not the other environment's
    prod = lines.index("== prod ==")
    assert lines[prod + 2].startswith("FAIL")
    assert lines[lines.index("== staging ==") + 2].startswith("FAIL")


def test_a_long_message_wraps_at_110_columns_under_its_row(
        report_factory: Callable[..., Report],
        finding_factory: Callable[..., Finding]) -> None:
    message = " ".join(f"word{i:02d}" for i in range(40))  # 279 characters
    found = finding_factory("memory-limits", "fail", "prod", "api", message=message,
                            link=False)
    lines = render(report_factory([found], passes={})).splitlines()
    wrapped = [line for line in lines if line.startswith("    word")]
    assert len(wrapped) == 3
    assert all(len(line) <= 110 for line in wrapped)
    assert " ".join(line.strip() for line in wrapped) == message
    assert len(wrapped[0]) > 100  # filled to the width, not cut early


def test_waived_and_new_findings_are_marked_in_the_status_column(
        report_factory: Callable[..., Report],
        finding_factory: Callable[..., Finding]) -> None:
    waived = finding_factory("memory-limits", "fail", "prod", "api", link=False)
    waived.waived = Waived(reason="migrating\n  next sprint", owner="team-a",
                           expires=date(2030, 1, 31), file="waivers.yaml", line=3)
    waived.baseline = "new"
    old = finding_factory("memory-limits", "fail", "prod", "web", link=False)
    old.baseline = "existing"
    new = finding_factory("memory-limits", "fail", "prod", "job", link=False)
    new.baseline = "new"
    lines = render(report_factory([waived, old, new], passes={})).splitlines()
    rows = [line for line in lines if line.startswith("FAIL")]
    assert [row.split("  ")[0] for row in rows] == ["FAIL (waived, new)", "FAIL",
                                                    "FAIL (new)"]
    assert "    waived until 2030-01-31 by team-a: migrating next sprint" in lines


def test_the_summary_counts_waived_findings_only_when_there_are_some(
        report_factory: Callable[..., Report]) -> None:
    report = report_factory([], passes={"hpa-present": 3})
    assert render(report).splitlines()[-1] == (
        "Summary: 0 fail, 0 error, 0 unknown, 3 pass | failing by severity: "
        "0 critical, 0 high, 0 medium, 0 low")  # the most severe first
    report.summary.waived = 2
    assert render(report).splitlines()[-1].endswith("0 low | 2 waived")


def test_no_findings_says_every_check_passed(report_factory: Callable[..., Report]) -> None:
    text = render(report_factory([], passes={"hpa-present": 1}, environments=[]))
    assert text.splitlines()[:3] == ["runbook-auditor: chess-ai (no environment)", "",
                                     "No findings: every applicable check passed."]
    assert "==" not in text and "STATUS" not in text


def test_not_applicable_policies_name_the_fact_that_turns_them_on_wrapped(
        report_factory: Callable[..., Report]) -> None:
    reason = "needs facts.time_to_ready " + "(seconds the app takes to serve) " * 5
    report = report_factory([], passes={}, not_applicable=[
        NotApplicable(policy="readiness-probe-timing", environment="prod",
                      reason=reason.strip())])
    lines = render(report).splitlines()
    start = lines.index("Not applicable until the service states a fact "
                        "(facts in auditor.yaml):")
    first, second = lines[start + 1], lines[start + 2]
    assert first.startswith("  readiness-probe-timing (prod): needs facts.time_to_ready")
    assert len(first) <= 110 and second.startswith("    takes") and len(second) > 100


def test_a_comparison_and_the_gate_end_the_report(report_factory: Callable[..., Report]) -> None:
    report = report_factory([], passes={}, comparison=Comparison(
        base="origin/main (abc123)", new=2, existing=5, fixed=1),
        gate=Gate(fail_on="high", exit_code=1, passed=False, status="failed"))
    assert render(report).splitlines()[-2:] == [
        "Compared with origin/main (abc123): 2 new, 1 fixed, 5 pre-existing "
        "(only new findings gate)",
        "Gate: failed (fail on high, exit 1)"]
    report.comparison.note = "the base report has no live side"  # type: ignore[union-attr]
    assert render(report).splitlines()[-2].endswith(
        "(only new findings gate); the base report has no live side")
    report.gate = None
    report.comparison.note = "partial base  "  # type: ignore[union-attr]
    assert render(report).endswith("; partial base\n")  # no trailing blanks in a CI log


def test_a_location_names_the_values_key_that_set_it(
        report_factory: Callable[..., Report],
        finding_factory: Callable[..., Finding]) -> None:
    found = finding_factory("memory-limits", "fail", "prod", "api", link=False)
    found.location = FindingLocation(file="values.yaml", line=9,
                                     key="resources.limits.memory")
    header, row = render(report_factory([found], passes={})).splitlines()[3:5]
    assert header.endswith("LOCATION")
    assert row.endswith("  values.yaml:9 (resources.limits.memory)")


def test_terminal_control_characters_from_inputs_are_made_visible(
        report_factory: Callable[..., Report],
        finding_factory: Callable[..., Finding]) -> None:
    found = finding_factory("memory-limits", "fail", "prod\x1b[2J", "api\x1b]0;x\x07",
                            message="bad\x1b[31m red", link=False,
                            commands=["kubectl\x1b[1A get"])
    text = render(report_factory([found], passes={}))
    assert "\x1b" not in text and "\x07" not in text


def test_json_is_the_indented_model_with_every_field(report: Report) -> None:
    text = render_json(report).decode("utf-8")
    assert text.endswith("}\n")
    assert text == report.model_dump_json(indent=2) + "\n"
    assert text.splitlines()[1] == '  "version": "' + report.version + '",'
    assert Report.model_validate_json(text) == report
    assert '"waived": null' in text  # absent values are written, as the schema requires
