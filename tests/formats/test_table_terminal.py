"""The table on a terminal: one row per defect with the sides that show it, colour by status
and severity, the terminal's width, --quiet and --verbose, and live sources that could not
be read said once at the top."""

from __future__ import annotations

import re
from collections.abc import Callable

from click.testing import CliRunner

from auditor.cli import cli
from auditor.formats.table_format import Style, render
from auditor.models import Finding, LiveState, LiveUnavailable, Report
from tests.conftest import EXAMPLE

ANSI = re.compile(r"\x1b\[[0-9;]*m")
NO_KUBECONFIG = "no kubeconfig at ~/.kube/config; set kubernetes.kubeconfig or KUBECONFIG"


def _rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.split(" ", 1)[0] in
            ("FAIL", "ERROR", "UNKNOWN")]


def test_the_same_defect_on_two_sides_is_one_row_naming_both(report: Report) -> None:
    text = render(report)
    (row,) = [r for r in _rows(text) if "liveness-probe" in r]
    assert "declared+live" in row and row.endswith("helm/chess-ai/templates/deployment.yaml:42")
    # Both sides' messages are kept (they differ here), each once.
    assert text.count("container web has no livenessProbe\n") == 1
    assert text.count("container web has no livenessProbe (live)") == 1
    assert len(_rows(text)) == len(report.findings) - 1


def test_a_row_too_wide_for_the_terminal_moves_its_location_under_it(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding]) -> None:
    long = finding_factory("memory-limits", "fail", "prod", "api-with-a-rather-long-name",
                           item="sidecar", file="helm/charts/platform/values-production.yaml",
                           line=120, message="word " * 60)
    report = report_factory([long], passes={})
    wide = render(report)
    assert _rows(wide)[0].endswith("helm/charts/platform/values-production.yaml:120")
    narrow = render(report, Style(width=72))
    lines = narrow.splitlines()
    (row,) = _rows(narrow)
    assert "values-production" not in row and "LOCATION" not in narrow
    assert lines[lines.index(row) + 1] == "    at helm/charts/platform/values-production.yaml:120"
    message = [line for line in lines if line.startswith("    word")]
    assert len(message) > 3 and all(len(line) <= 72 for line in message)


def test_colour_marks_status_and_severity_only_and_inputs_stay_escaped(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding]) -> None:
    hostile = finding_factory("memory-limits", "fail", "prod", "api\x1b[2J", message="x\x1b]0;y")
    text = render(report_factory([hostile], passes={}), Style(colour=True))
    codes = ANSI.findall(text)
    assert codes and set(codes) <= {"\x1b[31m", "\x1b[0m", "\x1b[1m", "\x1b[33m", "\x1b[35m",
                                    "\x1b[32m", "\x1b[2m", "\x1b[31m\x1b[1m"}
    plain = ANSI.sub("", text)
    assert "\x1b" not in plain and "\\x1b" in plain  # the input's own escapes are shown
    assert render(report_factory([hostile], passes={})).count("\x1b") == 0


def test_quiet_is_one_line_per_failing_finding(report: Report) -> None:
    text = render(report, Style(detail="quiet"))
    lines = text.splitlines()
    failing = [line for line in lines if line.startswith(("FAIL ", "ERROR "))]
    # 5 fail or error defects (the liveness pair is one); the unknown one is left out.
    assert len(failing) == 5 and not any(line.startswith("UNKNOWN") for line in lines)
    assert any("(declared+live)" in line for line in failing)
    assert lines[-1].startswith("Summary: ") and "fix:" not in text


def test_verbose_lists_the_passed_checks_too(report: Report) -> None:
    assert "PASS" not in render(report)
    text = render(report, Style(detail="verbose"))
    passes = [line for line in text.splitlines() if line.strip().startswith("PASS")]
    assert len(passes) == len(report.passed)
    assert any("log-retention" in line for line in passes)


def test_live_sources_that_could_not_be_read_are_said_once_at_the_top(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding]) -> None:
    unread = [finding_factory(p, "error", "prod", "api", side="live",
                              message=f"Deployment could not be read: {NO_KUBECONFIG}")
              for p in ("hpa-present", "memory-limits", "liveness-probe")]
    declared = finding_factory("image-pinned", "fail", "prod", "api", file="v.yaml", line=3,
                               message="no tag")
    live = [LiveState(environment="prod", reads=["kubernetes"], unavailable=[
        LiveUnavailable(kinds=["Deployment", "Service"], reason=NO_KUBECONFIG)])]
    report = report_factory([*unread, declared], passes={}, live=live)
    text = render(report)
    assert text.count(NO_KUBECONFIG) == 1
    assert "not read: Deployment, Service: " + NO_KUBECONFIG in text
    assert "3 checks could not run for these reasons" in text
    assert [r.split()[3] for r in _rows(text)] == ["image-pinned"]
    verbose = render(report, Style(detail="verbose"))
    assert len(_rows(verbose)) == 4  # --verbose: every check that could not run, too


def test_an_environment_with_no_live_source_says_so(report_factory: Callable[..., Report]
                                                    ) -> None:
    report = report_factory([], passes={}, live=[LiveState(environment="prod", reads=[])])
    assert "prod: reads nothing (no kubernetes, aws or endpoints" in render(report)


def test_quiet_and_verbose_together_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["scan", "--config", str(EXAMPLE), "--quiet", "--verbose"])
    assert result.exit_code == 2 and "--quiet or --verbose" in result.output


def test_the_cli_passes_quiet_to_the_table() -> None:
    result = CliRunner().invoke(cli, ["scan", "--config", str(EXAMPLE), "--format", "table",
                                      "--quiet", "--now", "2026-12-01T00:00:00Z"])
    lines = result.output.splitlines()
    assert lines[0].startswith("runbook-auditor: ")
    assert all(line.startswith(("FAIL ", "ERROR ", "Summary:", "Gate:"))
               for line in lines[1:] if line)


def test_findings_alike_on_the_same_side_are_each_a_row(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding]) -> None:
    # Three unreadable documents of one file: one fingerprint, one side, three findings.
    broken = [finding_factory("memory-limits", "error", "prod", "api", file="m.yaml", line=n,
                              message=f"document at line {n} is not YAML") for n in (1, 3, 5)]
    text = render(report_factory(broken, passes={}))
    assert len(_rows(text)) == 3
    assert all(f"document at line {n} " in text for n in (1, 3, 5))


def test_a_report_from_a_file_cannot_send_control_sequences_even_in_colour(
        report_factory: Callable[..., Report]) -> None:
    report = report_factory([], passes={})
    report.summary.by_status["fail\x1b]0;OWNED\x07\x1b[2J"] = 1
    text = ANSI.sub("", render(report, Style(colour=True)))
    assert "\x1b" not in text and "\x07" not in text


def test_a_row_is_marked_waived_only_when_every_side_of_it_is(
        report: Report) -> None:
    from auditor.models import Waived

    live = next(f for f in report.findings if f.policy == "liveness-probe" and f.side == "live")
    live.waived = Waived(reason="r", owner="o", expires=None, file="w", line=1)
    (row,) = [r for r in _rows(render(report)) if "liveness-probe" in r]
    assert row.startswith("FAIL ") and "waived" not in row.split("  ")[0]
