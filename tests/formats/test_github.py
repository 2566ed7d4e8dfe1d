"""GitHub workflow-command escaping, as GitHub's toolkit writes it and the runner reads it.

@actions/core (command.ts): ``escapeData`` replaces ``%`` -> ``%25``, CR -> ``%0D``,
LF -> ``%0A`` in the message; ``escapeProperty`` does the same and also ``:`` -> ``%3A``,
``,`` -> ``%2C`` in property values (file, title, ...), ``%`` always first so that the
escapes it writes are not escaped again. The runner (ActionCommand.cs) undoes them with
``%25`` last. Unescaped, a ``,`` or ``:`` in a file name would end the property or the
property list, and a newline in a message would start a command line of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from auditor.formats import renderer
from auditor.formats.github_format import _data, _prop, render
from auditor.models import Comparison, Finding, FindingLocation, Gate, Report, Waived

# (character, in the message, in a property value)
ESCAPES = [("%", "%25", "%25"), ("\r", "%0D", "%0D"), ("\n", "%0A", "%0A"),
           (":", ":", "%3A"), (",", ",", "%2C")]


def _unescape(text: str, prop: bool) -> str:
    """The runner's reading of a value: the toolkit's escapes undone, ``%25`` last."""
    pairs = [("%0D", "\r"), ("%0A", "\n")]
    pairs += [("%3A", ":"), ("%2C", ",")] if prop else []
    for escaped, char in [*pairs, ("%25", "%")]:
        text = text.replace(escaped, char)
    return text


@pytest.mark.parametrize(("char", "in_data", "in_prop"), ESCAPES)
def test_each_character_in_both_positions(char: str, in_data: str, in_prop: str) -> None:
    assert _data(f"a{char}b") == f"a{in_data}b"
    assert _prop(f"a{char}b") == f"a{in_prop}b"
    assert _data(char * 2) == in_data * 2  # every occurrence, not the first
    assert _prop(char * 2) == in_prop * 2


@pytest.mark.parametrize(("text", "in_data", "in_prop"), [
    ("%0A", "%250A", "%250A"),  # a literal "%0A" stays literal: not a line break
    ("%3A", "%253A", "%253A"),
    ("\n", "%0A", "%0A"),  # the escape's own % is not escaped again (not %250A)
    (":", ":", "%3A"),  # nor in a property (not %253A)
    ("%\r\n:,", "%25%0D%0A:,", "%25%0D%0A%3A%2C"),
])
def test_percent_is_escaped_first_and_only_once(text: str, in_data: str, in_prop: str) -> None:
    assert _data(text) == in_data
    assert _prop(text) == in_prop
    assert _unescape(in_data, prop=False) == text
    assert _unescape(in_prop, prop=True) == text


def test_an_annotation_reads_back_as_written(finding_factory: Callable[..., Finding],
                                             report_factory: Callable[..., Report]) -> None:
    """Hostile file and message: one command line, its properties split where we split
    them, and each value the runner reads back is the original."""
    path = "helm/a,b:c%25\r\n.yaml"
    message = "50% over,\r\nlimit::error file=x::forged %0A"
    found = finding_factory("hpa-present", "fail", "prod", "api", file=path, line=7,
                            message=message)
    assert renderer("github") is render
    lines = render(report_factory([found], environments=["prod"])).splitlines()
    assert len(lines) == 2  # the annotation and the summary: nothing broke out
    command, _, data = lines[0].partition("::")[2].partition("::")
    level, _, props = command.partition(" ")
    assert level == "error"  # hpa-present is high
    fields = dict(p.split("=", 1) for p in props.split(","))
    assert list(fields) == ["file", "line", "title"]
    assert _unescape(fields["file"], prop=True) == path
    assert fields["line"] == "7"
    assert _unescape(fields["title"], prop=True) == (
        "hpa-present: Deployments scale with an HPA [prod]")
    assert _unescape(data, prop=False).startswith(
        f"Deployment/chess-ai/api: {message}\nRunbook: https://")


@pytest.mark.parametrize(("policy", "status", "level"), [
    ("liveness-probe", "fail", "error"),  # critical
    ("hpa-present", "fail", "error"),  # high
    ("memory-limits", "fail", "warning"),  # medium
    ("rds-backups", "fail", "notice"),  # low
    ("rds-backups", "error", "error"),  # a check that could not run is an error, any severity
    ("liveness-probe", "unknown", "notice"),  # not decided: a notice, even when critical
])
def test_level_follows_the_status_then_the_severity(
        finding_factory: Callable[..., Finding], report_factory: Callable[..., Report],
        policy: str, status: str, level: str) -> None:
    found = finding_factory(policy, status, "prod", "api")
    first = render(report_factory([found], environments=["prod"])).splitlines()[0]
    assert first.startswith(f"::{level} title=")


@pytest.mark.parametrize(("status", "title"), [
    ("fail", "hpa-present%3A Deployments scale with an HPA [prod]"),
    ("error", "hpa-present (error)%3A Deployments scale with an HPA [prod]"),
    ("unknown", "hpa-present (unknown)%3A Deployments scale with an HPA [prod]"),
])
def test_title_names_any_status_but_fail(
        finding_factory: Callable[..., Finding], report_factory: Callable[..., Report],
        status: str, title: str) -> None:
    found = finding_factory("hpa-present", status, "prod", "api")
    first = render(report_factory([found], environments=["prod"])).splitlines()[0]
    assert first.partition(" ")[2].partition("::")[0] == f"title={title}"


def test_annotation_names_item_values_key_runbook_and_every_fix_command(
        finding_factory: Callable[..., Finding], report_factory: Callable[..., Report]) -> None:
    found = finding_factory("memory-limits", "fail", "prod", "api", item="web",
                            message="container web has no memory limit",
                            commands=["helm upgrade chess-ai helm/chess-ai",
                                      "kubectl -n chess-ai rollout status deployment/api"])
    found.location = FindingLocation(file="helm/values.yaml", line=12,
                                     key="resources.limits.memory")
    first = render(report_factory([found], environments=["prod"])).splitlines()[0]
    assert first == (
        "::warning file=helm/values.yaml,line=12,"
        "title=memory-limits%3A Containers set memory limits [prod]::"
        "Deployment/chess-ai/api [web] (resources.limits.memory): "
        "container web has no memory limit"
        "%0ARunbook: https://runbooks.example.com/chess/common-issues/oom/#limits"
        "%0AFix: helm upgrade chess-ai helm/chess-ai"
        "%0Akubectl -n chess-ai rollout status deployment/api")


def test_output_is_one_line_per_annotation_most_severe_first_then_the_summary(
        finding_factory: Callable[..., Finding], report_factory: Callable[..., Report]) -> None:
    findings = [finding_factory(policy, "fail", "prod", "api", link=False)
                for policy in ("rds-backups", "liveness-probe", "memory-limits", "hpa-present")]
    text = render(report_factory(findings, environments=["prod"]))
    message = "::Deployment/chess-ai/api: something is wrong"
    assert text == (
        "::error title=liveness-probe%3A Containers have a liveness probe [prod]"
        f"{message}\n"
        "::error title=hpa-present%3A Deployments scale with an HPA [prod]"
        f"{message}\n"
        "::warning title=memory-limits%3A Containers set memory limits [prod]"
        f"{message}\n"
        "::notice title=rds-backups%3A RDS keeps backups [prod]"
        f"{message}\n"
        "runbook-auditor: not gated; 4 finding(s) annotated\n")


def test_summary_states_the_gate(report_factory: Callable[..., Report]) -> None:
    gate = Gate(fail_on="high", exit_code=1, passed=False, status="failed")
    lines = render(report_factory(gate=gate)).splitlines()
    assert len(lines) == 8
    assert lines[-1] == "runbook-auditor: gate failed (fail on high); 7 finding(s) annotated"


def test_summary_with_a_baseline_counts_only_new_unwaived_findings(
        finding_factory: Callable[..., Finding], report_factory: Callable[..., Report]) -> None:
    new, existing, waived = (finding_factory("hpa-present", "fail", "prod", name)
                             for name in ("new", "old", "waived"))
    new.baseline, existing.baseline, waived.baseline = "new", "existing", "new"
    waived.waived = Waived(reason="migrating", owner="team-a", expires=date(2030, 1, 1),
                           file="waivers.yaml")
    report = report_factory(
        [new, existing, waived], environments=["prod"],
        comparison=Comparison(base="origin/main (abc1234)", new=2, existing=1, fixed=3),
        gate=Gate(fail_on="high", exit_code=1, passed=False, status="failed", scope="new"))
    report.summary.waived = 1
    lines = render(report).splitlines()
    assert [line.partition(" ")[0] for line in lines[:-1]] == ["::error"]
    assert "Deployment/chess-ai/new:" in lines[0]
    assert lines[-1] == ("runbook-auditor: gate failed (fail on high); 1 finding(s) annotated; "
                         "2 new, 3 fixed, 1 pre-existing (base origin/main (abc1234)); "
                         "1 waived")


def test_the_summary_is_a_log_line_shown_as_written_and_kept_to_one_line(
        report_factory: Callable[..., Report]) -> None:
    report = report_factory([], comparison=Comparison(
        base="reports/50%.json\n::error::forged", new=0, existing=0, fixed=0))
    lines = render(report).splitlines()
    assert lines == ["runbook-auditor: not gated; 0 finding(s) annotated; 0 new, 0 fixed, "
                     "0 pre-existing (base reports/50%.json\\x0a::error::forged)"]
