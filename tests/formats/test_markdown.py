"""Markdown output for pull-request comments: verdict, escaping, links and size limit."""

from __future__ import annotations

import re
from collections.abc import Callable

from auditor.formats import renderer
from auditor.formats.markdown_format import MAX_CHARS, render
from auditor.models import Finding, Report

SCRIPT = "<script>alert(1)</script>"
SITE = "https://runbooks.example.com/chess/"


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
    from auditor.models import Gate

    tolerated = render(report_factory(gate=Gate(fail_on="never", exit_code=0, passed=True)))
    assert "⚠️ 4 failing" in tolerated and "gate passed (fail on never)" in tolerated
    failed = render(report_factory(gate=Gate(fail_on="high", exit_code=1, passed=False,
                                             status="failed")))
    assert "❌ 4 failing" in failed and "gate failed (fail on high)" in failed
    partial = render(report_factory(gate=Gate(fail_on="critical", exit_code=3, passed=False,
                                              status="incomplete")))
    assert "⚠️" in partial and "gate incomplete (fail on critical)" in partial
