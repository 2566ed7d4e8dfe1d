"""Markdown output for pull-request comments: verdict, escaping, links and size limit."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pytest

from auditor.formats import renderer
from auditor.formats.markdown_format import MAX_CHARS, render
from auditor.models import (
    Comparison,
    Finding,
    Gate,
    NotApplicable,
    Remediation,
    Report,
    Summary,
    Waived,
)

SCRIPT = "<script>alert(1)</script>"
SITE = "https://runbooks.example.com/chess/"
HPA = f"[hpa-present]({SITE}common-issues/high-latency/#scale-up-pods)"
RDS = f"[rds-backups]({SITE}data/backups/#rds)"
MEMORY = f"[memory-limits]({SITE}common-issues/oom/#limits)"
LIVENESS = f"[liveness-probe]({SITE}common-issues/crash-loop/#liveness)"
BLOB = "https://github.com/acme/chess/blob/0123abc/"  # a report's source_url
MORE = "(comment size limit; see the full report)._"

Reports = Callable[..., Report]
Findings = Callable[..., Finding]


def _outside_fences(text: str) -> str:
    return re.sub(r"^(`{3,})bash\n.*?^\1$", "", text, flags=re.S | re.M)


def _table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ")][1:]


def test_heading_and_verdict(report: Report) -> None:
    assert renderer("markdown") is render
    lines = render(report).splitlines()
    assert lines[0] == "<!-- runbook-auditor: chess-ai -->"  # the sticky comment's marker
    assert lines[1] == "### runbook-auditor: chess-ai (prod, staging)"
    assert lines[3] == "❌ 4 failing (2 critical, 2 high) · 2 errors · 1 unknown · 4 passing"


def test_clean_verdicts(report_factory: Callable[..., Report],
                        finding_factory: Callable[..., Finding]) -> None:
    clean = render(report_factory(findings=[]))
    assert "✅ 0 failing · 4 passing" in clean
    assert "<details>" not in clean and "| Severity" not in clean
    unsure = render(report_factory(findings=[finding_factory("hpa-present", "unknown",
                                                              "prod", "a")]))
    assert "⚠️ 0 failing · 1 unknown · 4 passing" in unsure


def test_table_sorted_linked_and_escaped(report: Report) -> None:
    text = render(report)
    rows = _table_rows(text)
    assert len(rows) == 4
    assert [row.split(" | ")[0] for row in rows] == [
        "| 🔴 critical", "| 🔴 critical", "| 🟠 high", "| 🟠 high"]
    assert rows[0].count(" | ") == 5  # six columns: two environments add one
    assert f"[liveness-probe]({SITE}common-issues/crash-loop/#liveness)" in rows[0]
    assert "helm/chess-ai/templates/deployment.yaml:42" in rows[0]
    script_row = rows[3]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in script_row
    # The pipe is escaped (no extra column), the newline folded, the message cut.
    assert "has \\| a pipe and a newline" in script_row
    assert len(re.split(r"(?<!\\)\|", script_row)) == 8
    message = script_row.rsplit(" | ", 1)[1].removesuffix(" |")
    assert message.endswith("…") and len(message) <= 145


def test_no_raw_html_from_the_report(report: Report) -> None:
    text = render(report)
    outside = _outside_fences(text)
    assert SCRIPT not in outside
    assert "<script" not in outside
    # Only the markup the format itself writes.
    assert set(re.findall(r"</?[a-z]+", outside)) == {"<details", "</details", "<summary",
                                                      "</summary"}


def test_details_blocks(report: Report) -> None:
    text = render(report)
    assert "<details><summary>3 error or unknown findings</summary>" in text
    assert "- **error** · input-error · staging · File/terraform/main.tf" in text
    assert f"- **error** · [rds-backups]({SITE}data/backups/#rds)" in text  # inferred link
    assert "<details><summary>Remediation (4 failing findings)</summary>" in text
    assert "```bash\nhelm upgrade chess-ai helm/chess-ai -n chess-ai\n" in text
    # A command holding a fence gets a longer fence.
    assert "````bash\necho ```; kubectl get hpa\n````" in text
    assert text.count("<details>") == text.count("</details>") == 2


def test_markdown_in_names_is_literal(report_factory: Callable[..., Report],
                                      finding_factory: Callable[..., Finding]) -> None:
    findings = [finding_factory("hpa-present", "fail", "prod", "a_*b*_[c](d)`e`$x$",
                                message="# heading? <b>no</b> @team", link=False)]
    text = render(report_factory(findings=findings))
    assert "a\\_\\*b\\*\\_\\[c\\](d)\\`e\\`\\$x\\$" in text
    assert "<b>" not in text and "&lt;b&gt;no&lt;/b&gt;" in text
    # The site URL is inferred from nothing here: the default local site.
    assert "[hpa-present](http://127.0.0.1:8000/common-issues/high-latency/" in text


def test_untrusted_link_schemes_are_not_linked(report_factory: Callable[..., Report],
                                               finding_factory: Callable[..., Finding]) -> None:
    bad = finding_factory("hpa-present", "fail", "prod", "a").model_copy(
        update={"runbook_url": "javascript:alert(1)"})
    text = render(report_factory(findings=[bad]))
    assert "javascript:" not in text
    assert "| hpa-present |" in text


def test_truncated_to_the_comment_limit(report_factory: Callable[..., Report],
                                        finding_factory: Callable[..., Finding]) -> None:
    findings = [finding_factory("hpa-present", "fail", "prod", f"deploy-{i:04d}",
                                file="helm/values.yaml", line=i + 1, message="x" * 300,
                                commands=[f"kubectl -n chess-ai scale deploy/d{i} --replicas 2"])
                for i in range(1500)]
    text = render(report_factory(findings=findings))
    assert len(text.encode("utf-16-le")) // 2 <= MAX_CHARS
    shown = len(_table_rows(text))
    assert 0 < shown < 1500
    assert f"_… and {1500 - shown} more failing findings (comment size limit" in text
    assert text.count("<details>") == text.count("</details>")
    assert "❌ 1500 failing (1500 high)" in text


def test_small_limit(report: Report) -> None:
    text = render(report, max_chars=1200)
    assert len(text) <= 1200
    assert "_… and " in text
    assert text.splitlines()[3].startswith("❌ 4 failing")


def test_verdict_follows_the_gate(report_factory: Callable[..., Report]) -> None:
    """With --fail-on critical, high findings do not fail the gate: the comment says so."""
    tolerated = render(report_factory(gate=Gate(fail_on="never", exit_code=0, passed=True)))
    assert "⚠️ 4 failing" in tolerated and "gate passed (fail on never)" in tolerated
    failed = render(report_factory(gate=Gate(fail_on="high", exit_code=1, passed=False,
                                             status="failed")))
    assert "❌ 4 failing" in failed and "gate failed (fail on high)" in failed
    partial = render(report_factory(gate=Gate(fail_on="critical", exit_code=3, passed=False,
                                              status="incomplete")))
    assert "⚠️" in partial and "gate incomplete (fail on critical)" in partial


# ---- helpers for small, exact reports -----------------------------------------------------

def _prod(report_factory: Reports, findings: list[Finding], **fields: object) -> str:
    """The comment for a report of one environment (no Environment column)."""
    return render(report_factory(findings=findings, environments=["prod"], **fields))


def _with(f: Finding, **update: object) -> Finding:
    return f.model_copy(update=update)


def _fix(f: Finding, text: str = "", commands: tuple[str, ...] = (),
         checks: tuple[str, ...] = ()) -> Finding:
    return _with(f, remediation=Remediation(text=text, commands=list(commands),
                                            checks=list(checks)))


def _details(text: str, summary: str) -> list[str]:
    """The lines of the collapsed block with this summary, its tags included."""
    lines = text.splitlines()
    start = lines.index(f"<details><summary>{summary}</summary>")
    return lines[start: lines.index("</details>", start) + 1]


def _size(text: str) -> int:
    """GitHub's measure of a comment: UTF-16 code units (an emoji may count twice)."""
    return len(text.encode("utf-16-le")) // 2


def _message_cell(text: str) -> str:
    return _table_rows(text)[0].rsplit(" | ", 1)[1].removesuffix(" |")


# ---- heading ----------------------------------------------------------------------------------

def test_the_heading_is_marker_title_and_verdict_each_followed_by_a_blank_line(
        report: Report) -> None:
    assert render(report).splitlines()[:6] == [
        "<!-- runbook-auditor: chess-ai -->",
        "### runbook-auditor: chess-ai (prod, staging)",
        "",
        "❌ 4 failing (2 critical, 2 high) · 2 errors · 1 unknown · 4 passing",
        "",
        "| Severity | Policy | Environment | Resource | Location | Message |"]


@pytest.mark.parametrize(("service", "in_marker", "in_title"), [
    ("chess-ai", "chess-ai", "chess-ai"),
    ("Chess.AI/api_v2", "Chess.AI/api_v2", "Chess.AI/api\\_v2"),
    # The marker is an HTML comment: nothing may close it early.
    ("my service --> <b>", "my_service_--___b_", "my service --&gt; &lt;b&gt;"),
])
def test_the_marker_keeps_safe_characters_and_the_title_escapes_the_service(
        report_factory: Reports, service: str, in_marker: str, in_title: str) -> None:
    lines = render(report_factory(findings=[], service=service)).splitlines()
    assert lines[0] == f"<!-- runbook-auditor: {in_marker} -->"
    assert lines[1] == f"### runbook-auditor: {in_title} (prod, staging)"


def test_a_report_of_no_environment_says_so(report_factory: Reports) -> None:
    text = render(report_factory(findings=[], environments=[]))
    assert text.splitlines()[1] == "### runbook-auditor: chess-ai (no environment)"


# ---- verdict ----------------------------------------------------------------------------------

def test_one_error_is_singular_in_the_verdict_and_its_block(
        report_factory: Reports, finding_factory: Findings) -> None:
    error = finding_factory("rds-backups", "error", "prod", "db", kind="aws_db_instance",
                            namespace=None, side="live", message="AccessDenied on rds")
    assert _prod(report_factory, [error]) == (
        "<!-- runbook-auditor: chess-ai -->\n"
        "### runbook-auditor: chess-ai (prod)\n"
        "\n"
        "⚠️ 0 failing · 1 error · 4 passing\n"
        "\n"
        "<details><summary>1 error or unknown finding</summary>\n"
        "\n"
        f"- **error** · {RDS} · prod · aws\\_db\\_instance/db — AccessDenied on rds\n"
        "\n"
        "</details>\n")


@pytest.mark.parametrize(("statuses", "gate", "verdict"), [
    ([], Gate(fail_on="high", exit_code=0, passed=True),
     "✅ 0 failing · 4 passing — gate passed (fail on high)"),
    # --fail-on never tolerates the failure, yet the comment does not show it as clean.
    (["fail"], Gate(fail_on="never", exit_code=0, passed=True),
     "⚠️ 1 failing (1 high) · 4 passing — gate passed (fail on never)"),
    (["unknown"], Gate(fail_on="high", exit_code=0, passed=True),
     "⚠️ 0 failing · 1 unknown · 4 passing — gate passed (fail on high)"),
    (["error"], Gate(fail_on="never", exit_code=0, passed=True),
     "⚠️ 0 failing · 1 error · 4 passing — gate passed (fail on never)"),
    (["fail", "error"], Gate(fail_on="high", exit_code=1, passed=False, status="failed"),
     "❌ 1 failing (1 high) · 1 error · 4 passing — gate failed (fail on high)"),
])
def test_the_verdict_icon_follows_the_gate(report_factory: Reports, finding_factory: Findings,
                                           statuses: list[str], gate: Gate, verdict: str
                                           ) -> None:
    findings = [finding_factory("hpa-present", s, "prod", f"d{i}")
                for i, s in enumerate(statuses)]
    assert _prod(report_factory, findings, gate=gate).splitlines()[3] == verdict


def test_an_incomplete_gate_warns_even_when_nothing_new_is_shown(
        report_factory: Reports, finding_factory: Findings) -> None:
    """With a baseline, an error the base had too is not listed as new, but it still makes
    the gate incomplete: the verdict must not look clean."""
    old_error = _with(finding_factory("rds-backups", "error", "prod", "db"),
                      baseline="existing")
    text = _prod(report_factory, [old_error],
                 comparison=Comparison(base="main", new=0, existing=1, fixed=0),
                 gate=Gate(fail_on="high", exit_code=3, passed=False, status="incomplete"))
    assert text.splitlines()[3] == (
        "⚠️ 0 new failing · 4 passing — gate incomplete (fail on high)")


def test_the_passing_count_is_the_summary_s_and_else_the_sum_per_policy(
        report_factory: Reports) -> None:
    def verdict(summary: Summary) -> str:
        return render(report_factory(findings=[], summary=summary)).splitlines()[3]

    assert verdict(Summary(by_status={"pass": 7}, by_severity={},
                           passes={"hpa-present": 3})) == "✅ 0 failing · 7 passing"
    # A report whose summary has no status counts (the shape a baseline placeholder has).
    assert verdict(Summary(by_status={}, by_severity={},
                           passes={"hpa-present": 2, "memory-limits": 3})
                   ) == "✅ 0 failing · 5 passing"


# ---- the table of failing findings --------------------------------------------------------

def test_table_of_one_environment_has_no_environment_column(
        report_factory: Reports, finding_factory: Findings) -> None:
    located = finding_factory("hpa-present", "fail", "prod", "api", item="web",
                              file="helm/values.yaml", line=3, message="no HPA targets api")
    live = finding_factory("rds-backups", "fail", "prod", "db", kind="aws_db_instance",
                           namespace=None, side="live", link=False, message="backups off")
    lines = _prod(report_factory, [live, located]).splitlines()
    start = lines.index("| Severity | Policy | Resource | Location | Message |")
    assert lines[start - 1: start + 5] == [
        "",
        "| Severity | Policy | Resource | Location | Message |",
        "|---|---|---|---|---|",
        f"| 🟠 high | {HPA} | Deployment/chess-ai/api \\[web\\] | helm/values.yaml:3 "
        "| no HPA targets api |",
        # No location: a dash. No item: the resource alone. Linked though it has no URL:
        # the runbook site is known from the other finding.
        f"| ⚪ low | {RDS} | aws\\_db\\_instance/db | — | backups off |",
        ""]


def test_table_of_several_environments_names_the_environment(
        report_factory: Reports, finding_factory: Findings) -> None:
    # One finding, but the report covers two environments.
    found = finding_factory("memory-limits", "fail", "staging", "api", message="no limit")
    lines = render(report_factory(findings=[found])).splitlines()
    assert lines[5:8] == [
        "| Severity | Policy | Environment | Resource | Location | Message |",
        "|---|---|---|---|---|---|",
        f"| 🟡 medium | {MEMORY} | staging | Deployment/chess-ai/api | — | no limit |"]


@pytest.mark.parametrize(("message", "shown"), [
    ("x" * 140, "x" * 140),  # at the limit: whole
    ("x" * 141, "x" * 139 + "…"),  # over it: 139 characters and an ellipsis
    ("x" * 138 + " " + "y" * 9, "x" * 138 + "…"),  # no space before the ellipsis
    ("  a\n\tb   c  ", "a b c"),  # whitespace folded, before counting
    ("a " * 100, ("a " * 70).strip() + "…"),
])
def test_long_messages_are_cut_to_140_characters(report_factory: Reports,
                                                 finding_factory: Findings, message: str,
                                                 shown: str) -> None:
    found = finding_factory("hpa-present", "fail", "prod", "api", message=message)
    assert _message_cell(_prod(report_factory, [found])) == shown


# ---- escaping -------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "escaped"), [
    ("# not a heading", "\\# not a heading"),
    ("- not a list", "\\- not a list"),
    ("+ not a list", "\\+ not a list"),
    ("= not a setext underline", "\\= not a setext underline"),
    ("1. not a numbered list", "1\\. not a numbered list"),
    ("12) nor this", "12\\) nor this"),
    ("2 pods, #3 and 4. later", "2 pods, #3 and 4. later"),  # only at the start
    ("Tom & Jerry <b>bold</b>", "Tom &amp; Jerry &lt;b&gt;bold&lt;/b&gt;"),
    ("&lt; stays literal", "&amp;lt; stays literal"),
    ("a_b*c`d[e]f|g~h$i\\j", "a\\_b\\*c\\`d\\[e\\]f\\|g\\~h\\$i\\\\j"),
    ("> not a quote", "&gt; not a quote"),
])
def test_remediation_text_starting_a_line_is_literal(report_factory: Reports,
                                                     finding_factory: Findings, text: str,
                                                     escaped: str) -> None:
    found = _fix(finding_factory("hpa-present", "fail", "prod", "api"), text=text)
    lines = _details(_prod(report_factory, [found]), "Remediation (1 failing finding)")
    assert lines[4] == escaped


# ---- remediation ------------------------------------------------------------------------------

def test_remediation_block_has_text_commands_and_checks(report_factory: Reports,
                                                        finding_factory: Findings) -> None:
    found = _fix(finding_factory("hpa-present", "fail", "prod", "api"),
                 text="Scale it with an HPA.",
                 commands=("kubectl autoscale deployment api --max 5", "kubectl get hpa"),
                 checks=("kubectl get deploy api", "kubectl top pods"))
    text = _prod(report_factory, [found])
    assert text.endswith(
        "\n\n<details><summary>Remediation (1 failing finding)</summary>\n"
        "\n"
        f"🟠 **high** · {HPA} · prod · Deployment/chess-ai/api\n"
        "\n"
        "Scale it with an HPA.\n"
        "\n"
        "```bash\n"
        "kubectl autoscale deployment api --max 5\n"
        "kubectl get hpa\n"
        "```\n"
        "\n"
        "To look:\n"
        "\n"
        "```bash\n"
        "kubectl get deploy api\n"
        "kubectl top pods\n"
        "```\n"
        "\n"
        "</details>\n")


def test_a_finding_without_remediation_is_not_in_the_remediation_block(
        report_factory: Reports, finding_factory: Findings) -> None:
    bare = _fix(finding_factory("hpa-present", "fail", "prod", "a"))
    commands_only = _fix(finding_factory("hpa-present", "fail", "prod", "b"),
                         commands=("kubectl get hpa",))
    assert _details(_prod(report_factory, [bare, commands_only]),
                    "Remediation (1 failing finding)") == [
        "<details><summary>Remediation (1 failing finding)</summary>",
        "",
        f"🟠 **high** · {HPA} · prod · Deployment/chess-ai/b",
        "",
        "```bash",
        "kubectl get hpa",
        "```",
        "",
        "</details>"]


@pytest.mark.parametrize(("command", "fence"), [
    ("kubectl get hpa", "```"),
    ("echo `date`", "```"),
    ("echo ```", "````"),
    ("echo ```` and ``", "`````"),
])
def test_the_fence_is_longer_than_any_backtick_run_in_the_commands(
        report_factory: Reports, finding_factory: Findings, command: str, fence: str) -> None:
    found = _fix(finding_factory("hpa-present", "fail", "prod", "api"), commands=(command,))
    lines = _details(_prod(report_factory, [found]), "Remediation (1 failing finding)")
    assert lines[4:7] == [f"{fence}bash", command, fence]


# ---- lists: undecided, pre-existing, fixed, waived, not applicable -------------------------

def _compared(report_factory: Reports, finding_factory: Findings, note: str = "") -> str:
    new = _with(finding_factory("hpa-present", "fail", "prod", "api"), baseline="new")
    unknown = _with(finding_factory("memory-limits", "unknown", "prod", "api", item="web",
                                    file="helm/values.yaml", message="limit unset"),
                    baseline="new")
    old_fail = _with(finding_factory("liveness-probe", "fail", "prod", "api", item="web"),
                     baseline="existing")
    old_error = _with(finding_factory("rds-backups", "error", "prod", "db",
                                      kind="aws_db_instance", namespace=None, link=False,
                                      message="AccessDenied"), baseline="existing")
    fixed = finding_factory("hpa-present", "fail", "prod", "old", file="helm/values.yaml",
                            line=9, link=False)
    comparison = Comparison(base="main (0123abc)", new=2, existing=2, fixed=1,
                            fixed_findings=[fixed], note=note)
    return _prod(report_factory, [new, unknown, old_fail, old_error], comparison=comparison)


def test_with_a_baseline_the_comment_counts_new_findings(report_factory: Reports,
                                                         finding_factory: Findings) -> None:
    text = _compared(report_factory, finding_factory)
    assert text.splitlines()[:8] == [
        "<!-- runbook-auditor: chess-ai -->",
        "### runbook-auditor: chess-ai (prod)",
        "",
        "❌ 1 new failing (1 high) · 1 unknown · 4 passing",
        "",
        "**2 new** · 1 fixed · 2 pre-existing (compared with main (0123abc); only new "
        "findings gate)",
        "",
        "| Severity | Policy | Resource | Location | Message |"]
    assert _details(text, "1 new error or unknown finding") == [
        "<details><summary>1 new error or unknown finding</summary>",
        "",
        f"- **unknown** · {MEMORY} · prod · Deployment/chess-ai/api \\[web\\] · "
        "helm/values.yaml — limit unset",
        "",
        "</details>"]


def test_a_comparison_note_follows_on_a_line_of_its_own(report_factory: Reports,
                                                         finding_factory: Findings) -> None:
    text = _compared(report_factory, finding_factory, note="the base had no live_side")
    assert text.splitlines()[5:8] == [
        "**2 new** · 1 fixed · 2 pre-existing (compared with main (0123abc); only new "
        "findings gate)  ",  # two spaces: a Markdown line break
        "_the base had no live\\_side_",
        ""]


def test_pre_existing_and_fixed_findings_are_listed_apart(report_factory: Reports,
                                                          finding_factory: Findings) -> None:
    text = _compared(report_factory, finding_factory)
    assert _details(text, "Pre-existing (2, not gated)") == [
        "<details><summary>Pre-existing (2, not gated)</summary>",
        "",
        f"- **critical fail** · {LIVENESS} · prod · Deployment/chess-ai/api \\[web\\] — "
        "something is wrong",
        f"- **error** · {RDS} · prod · aws\\_db\\_instance/db — AccessDenied",
        "",
        "</details>"]
    assert _details(text, "Fixed (1)") == [
        "<details><summary>Fixed (1)</summary>",
        "",
        f"- ✅ high fail · {HPA} · prod · Deployment/chess-ai/old · helm/values.yaml:9",
        "",
        "</details>"]


def test_waived_findings_show_the_waiver_and_do_not_count_as_failing(
        report_factory: Reports, finding_factory: Findings) -> None:
    waiver = Waived(reason="accepted | until\nthe migration", owner="@team_a",
                    expires=date(2030, 1, 31), file="waivers.yaml", line=3)
    failing = finding_factory("hpa-present", "fail", "prod", "api")
    waived = [_with(finding_factory("hpa-present", "fail", "prod", "old", link=False),
                    waived=waiver),
              _with(finding_factory("rds-backups", "error", "prod", "db", link=False),
                    waived=waiver)]
    text = _prod(report_factory, [failing, *waived])
    assert text.splitlines()[3] == "❌ 1 failing (1 high) · 2 waived · 4 passing"
    assert _details(text, "Waived (2, not gated)") == [
        "<details><summary>Waived (2, not gated)</summary>",
        "",
        f"- high fail · {HPA} · prod · Deployment/chess-ai/old — waived until 2030-01-31 by "
        "@team\\_a: accepted \\| until the migration",
        f"- error · {RDS} · prod · Deployment/chess-ai/db — waived until 2030-01-31 by "
        "@team\\_a: accepted \\| until the migration",
        "",
        "</details>"]


def test_a_waived_finding_is_not_pre_existing(report_factory: Reports,
                                              finding_factory: Findings) -> None:
    waived = _with(finding_factory("hpa-present", "fail", "prod", "api"), baseline="existing",
                   waived=Waived(reason="r", owner="o", expires=date(2030, 1, 1), file="w"))
    text = _prod(report_factory, [waived],
                 comparison=Comparison(base="main", new=0, existing=1, fixed=0))
    assert "Pre-existing" not in text
    assert "<details><summary>Waived (1, not gated)</summary>" in text


def test_policies_that_do_not_apply_are_listed_with_the_fact_they_need(
        report_factory: Reports, finding_factory: Findings) -> None:
    absent = [NotApplicable(policy="rds-backups", environment="prod",
                            reason="set `database: rds` in auditor.yaml"),
              NotApplicable(policy="pdb-present", environment="prod",
                            reason="no serving_container <set>")]
    found = [finding_factory("hpa-present", "fail", "prod", name) for name in ("a", "b")]
    text = _prod(report_factory, found, not_applicable=absent)
    summary = "Not applicable (2: the service states no fact they need)"
    assert _details(text, summary) == [
        f"<details><summary>{summary}</summary>",
        "",
        "- `rds-backups` · prod — set \\`database: rds\\` in auditor.yaml",
        "- `pdb-present` · prod — no serving\\_container &lt;set&gt;",
        "",
        "</details>"]
    # Nor cut to the length of the finding lists, here none: no size limit was reached.
    alone = _details(_prod(report_factory, [], not_applicable=absent), summary)
    assert "_… and" not in "\n".join(alone)
    assert alone[2:4] == ["- `rds-backups` · prod — set \\`database: rds\\` in auditor.yaml",
                          "- `pdb-present` · prod — no serving\\_container &lt;set&gt;"]


@pytest.mark.parametrize("longest", ["undecided", "existing", "waived", "fixed"])
def test_a_small_comment_shows_every_list_whole(report_factory: Reports,
                                                finding_factory: Findings,
                                                longest: str) -> None:
    """Whichever list is the longest, nothing is left out when the comment is small."""
    def two(**update: object) -> list[Finding]:
        return [_with(finding_factory("hpa-present", "error" if longest == "undecided"
                                      else "fail", "prod", f"x{i}"), **update)
                for i in range(2)]

    one_new = _with(finding_factory("hpa-present", "fail", "prod", "api"), baseline="new")
    comparison = Comparison(base="main", new=1, existing=0, fixed=0)
    waiver = Waived(reason="r", owner="o", expires=date(2030, 1, 1), file="w")
    report = {
        "undecided": lambda: report_factory(findings=[one_new, *two()]),
        "existing": lambda: report_factory(findings=[one_new, *two(baseline="existing")],
                                           comparison=comparison),
        "waived": lambda: report_factory(findings=[one_new, *two(waived=waiver)]),
        "fixed": lambda: report_factory(findings=[one_new], comparison=comparison.model_copy(
            update={"fixed_findings": two()})),
    }[longest]()
    text = render(report)
    assert "_… and" not in text
    assert all(f"Deployment/chess-ai/x{i}" in text for i in range(2))


# ---- links to the files at this revision ------------------------------------------------

def test_locations_link_to_the_line_at_this_revision(report_factory: Reports,
                                                     finding_factory: Findings) -> None:
    with_line = finding_factory("hpa-present", "fail", "prod", "a", file="helm/values.yaml",
                                line=7)
    no_line = finding_factory("hpa-present", "fail", "prod", "b", file="helm/values.yaml")
    unlocated = finding_factory("hpa-present", "fail", "prod", "c")
    text = _prod(report_factory, [with_line, no_line, unlocated], source_url=BLOB,
                 source_root="deploy")
    assert [row.split(" | ")[3] for row in _table_rows(text)] == [
        f"[helm/values.yaml:7]({BLOB}deploy/helm/values.yaml#L7)",
        f"[helm/values.yaml]({BLOB}deploy/helm/values.yaml)",
        "—"]


@pytest.mark.parametrize(("source_url", "file", "where"), [
    ("http://github.example/blob/1/", "helm/values.yaml", "helm/values.yaml:7"),
    ("", "helm/values.yaml", "helm/values.yaml:7"),
    (BLOB, "/etc/values.yaml", "/etc/values.yaml:7"),  # not in the repository
    (BLOB, "../../outside.yaml", "../../outside.yaml:7"),  # outside too, from deploy/
    (BLOB, "helm/my values (1).yaml",
     f"[helm/my values (1).yaml:7]({BLOB}deploy/helm/my%20values%20%281%29.yaml#L7)"),
])
def test_only_files_of_the_repository_on_https_are_linked(
        report_factory: Reports, finding_factory: Findings, source_url: str, file: str,
        where: str) -> None:
    found = finding_factory("hpa-present", "fail", "prod", "a", file=file, line=7)
    text = _prod(report_factory, [found], source_url=source_url, source_root="deploy")
    assert _table_rows(text)[0].split(" | ")[3] == where


def test_list_entries_link_their_location_except_fixed_ones(report_factory: Reports,
                                                            finding_factory: Findings) -> None:
    """A fixed finding's line is the base's: a link to this revision would point elsewhere."""
    unknown = finding_factory("memory-limits", "unknown", "prod", "api", file="values.yaml",
                              line=4, message="unset")
    fixed = finding_factory("hpa-present", "fail", "prod", "old", file="values.yaml", line=9,
                            link=False)
    comparison = Comparison(base="main", new=1, existing=0, fixed=1, fixed_findings=[fixed])
    text = _prod(report_factory, [_with(unknown, baseline="new")], comparison=comparison,
                 source_url=BLOB)
    assert f"· [values.yaml:4]({BLOB}values.yaml#L4) — unset" in text
    assert f"- ✅ high fail · {HPA} · prod · Deployment/chess-ai/old · values.yaml:9\n" in text


# ---- the size limit ---------------------------------------------------------------------------

def _errors(finding_factory: Findings, n: int) -> list[Finding]:
    return [finding_factory("rds-backups", "error", "prod", f"db-{i}", message="x" * 100)
            for i in range(n)]


def test_a_cut_list_ends_with_how_many_more(report_factory: Reports,
                                            finding_factory: Findings) -> None:
    report = report_factory(findings=_errors(finding_factory, 5), environments=["prod"])
    full = render(report)
    text = render(report, max_chars=_size(full) - 1)
    assert _details(text, "5 error or unknown findings")[-4:] == [
        "", f"_… and 1 more finding {MORE}", "", "</details>"]
    block = _details(render(report, max_chars=_size(full) // 2),
                     "5 error or unknown findings")
    shown = sum(line.startswith("- **error**") for line in block)
    assert 0 < shown < 4
    assert block[-4:] == ["", f"_… and {5 - shown} more findings {MORE}", "", "</details>"]


def test_a_comment_exactly_at_the_limit_is_whole(report_factory: Reports,
                                                 finding_factory: Findings) -> None:
    # Short entries (a policy with no runbook, so no link): the list cut to fewer entries,
    # with its "and N more" line, would be longer than the whole list.
    fixed = [finding_factory("custom-check", "fail", "prod", f"d{i}", kind="CM",
                             namespace=None) for i in range(3)]
    report = report_factory(findings=[], environments=["prod"], comparison=Comparison(
        base="main", new=0, existing=0, fixed=3, fixed_findings=fixed))
    full = render(report)
    assert render(report, max_chars=_size(full)) == full


def test_the_largest_number_of_entries_that_fits_is_shown(report_factory: Reports,
                                                          finding_factory: Findings) -> None:
    found = [_fix(finding_factory("hpa-present", "fail", "prod", f"d{i}"))
             for i in range(3)]
    one = ("<!-- runbook-auditor: chess-ai -->\n"
           "### runbook-auditor: chess-ai (prod)\n"
           "\n"
           "❌ 3 failing (3 high) · 4 passing\n"
           "\n"
           "| Severity | Policy | Resource | Location | Message |\n"
           "|---|---|---|---|---|\n"
           f"| 🟠 high | {HPA} | Deployment/chess-ai/d0 | — | something is wrong |\n"
           "\n"
           f"_… and 2 more failing findings {MORE}\n")
    report = report_factory(findings=found, environments=["prod"])
    assert render(report, max_chars=_size(one)) == one
    none = one.replace(f"| 🟠 high | {HPA} | Deployment/chess-ai/d0 | — | something is wrong |\n",
                       "").replace("and 2 more", "and 3 more")
    assert render(report, max_chars=_size(none)) == none
    assert render(report, max_chars=_size(one) - 1) == none


def test_a_limit_too_small_for_the_heading_cuts_the_text(report: Report) -> None:
    assert render(report, max_chars=100) == (
        "<!-- runbook-auditor: chess-ai -->\n### runbook-aud" + "\n\n…\n")
