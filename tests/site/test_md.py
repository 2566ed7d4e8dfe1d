"""Escaping: untrusted text in Markdown prose, tables, titles, code spans and fences, and
the config's names in the runbook pages (raw in code, escaped in prose)."""

from __future__ import annotations

from pathlib import Path

import markdown  # type: ignore[import-untyped,unused-ignore]
import pytest

from auditor.site import md, pages
from auditor.site.history import trend_svg
from tests.site.conftest import SCRIPT, T0, days, finding, report

EXTENSIONS = ["admonition", "attr_list", "md_in_html", "tables", "toc", "pymdownx.superfences"]


def html(text: str) -> str:
    return str(markdown.markdown(text, extensions=EXTENSIONS))


@pytest.mark.parametrize("text", [
    SCRIPT, "**bold** _it_ `code` [l](http://x) ![i](y.png)", "# heading", "1. list",
    "- item", "> quote", "a | b", "{#id} {: .cls}", "&amp; &lt;", "!!! danger", "\\`x\\`",
    "<!-- comment -->", "line\nbreak\r\n    indented",
])
def test_escaped_text_renders_as_itself(text: str) -> None:
    out = html(md.escape(text))
    assert out.startswith("<p>") and out.endswith("</p>")
    import html as html_mod

    assert html_mod.unescape(out[3:-4]) == " ".join(text.split())


def test_escape_in_a_table_cell_and_a_title() -> None:
    table = f"| a | b |\n|---|---|\n| {md.escape('x | y')} | {md.escape(SCRIPT)} |\n"
    out = html(table)
    assert "<td>x | y</td>" in out and "&lt;script&gt;" in out and "<script>" not in out
    title = html(f'!!! note "{md.escape(chr(34) + SCRIPT + chr(34))}"\n    body\n')
    assert "&lt;script&gt;" in title and "<script>" not in title


def test_code_spans_and_fences_cannot_be_closed_by_their_content() -> None:
    assert html(md.code("a ``` b ` c")) == "<p><code>a ``` b ` c</code></p>"
    assert html(md.code("`edge`")) == "<p><code>`edge`</code></p>"
    body = "echo ```` done\n```\n" + SCRIPT
    out = html(md.fenced(body, "bash"))
    assert out.count("<pre>") == 1 and "&lt;script&gt;" in out and "<script>" not in out


def test_prose_keeps_backtick_code_and_escapes_the_rest() -> None:
    out = html(md.prose(f"run `kubectl get <pods>` then {SCRIPT} **x**"))
    assert "<code>kubectl get &lt;pods&gt;</code> then &lt;script&gt;" in out
    assert "<strong>" not in out


def test_names_are_shell_words_in_code_and_escaped_in_prose(tmp_path: Path) -> None:
    """Runbook code is commands to paste: a name is one shell word there (a name with a
    backtick, which would end the code, is not shown at all)."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "p.md").write_text(
        "# P\n\nIn prose {{ names.ns }} and `{{ names.ns }}` and `{{ names.db }}`.\n\n"
        "```bash\nkubectl -n {{ names.ns }}\naws rds reboot-db-instance {{ names.db }}\n```\n\n"
        "    ~~~\n    {{ names.ns }}\n    ~~~\n{{ names.missing_one }}\n", encoding="utf-8")
    (source / "_partial.md").write_text("not a page", encoding="utf-8")
    (source / "img.png").write_bytes(b"\x89PNG")
    staging = tmp_path / "staging"
    names = {"ns": "a*b<c>`d", "db": "db;touch x"}
    rendered = pages.render(source, staging, names, lambda page, anchor: md.Md(""))
    assert rendered == ["p.md"]
    assert (staging / "img.png").read_bytes() == b"\x89PNG"
    assert not (staging / "_partial.md").exists()
    text = (staging / "p.md").read_text(encoding="utf-8")
    assert "In prose a\\*b&lt;c\\>\\`d and `<name-not-shown>` and `'db;touch x'`." in text
    assert "kubectl -n <name-not-shown>\n" in text
    assert "aws rds reboot-db-instance 'db;touch x'\n" in text
    assert "    <name-not-shown>\n" in text
    assert "&lt;missing\\-one\\>" in text


def test_names_for_the_example(tmp_path: Path) -> None:
    from auditor.config import load
    from tests.conftest import EXAMPLE

    names = pages.names_for(load(str(EXAMPLE)))
    assert names["namespace"] == "chess-ai" and names["release"] == "chess-ai"
    assert names["endpoint"] == "chess-ai.example.com" and names["region"] == "us-east-1"
    assert pages.names_for(None)["db_identifier"] == "<db-instance-id>"


def test_the_trend_has_one_point_per_report() -> None:
    reports = [report([finding("hpa-present")] * (i % 3), at=T0 + days(i)) for i in range(40)]
    svg = trend_svg(reports)
    assert svg.count("<circle") == 40
    assert 1 < svg.count('text-anchor="middle"') <= 9  # a few date labels, not 40
    single = trend_svg(reports[:1])
    assert single.count("<circle") == 1 and "<polyline" not in single


def test_findings_blocks_take_the_indentation_of_their_call(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "p.md").write_text(
        '# P\n\n=== "Tab"\n\n    {{ findings("x") }}\n\n{{ findings("y") }}\nafter\n',
        encoding="utf-8")
    calls: list[tuple[str, str]] = []

    def hook(page: str, anchor: str) -> md.Md:
        calls.append((page, anchor))
        return md.Md('!!! note "t"\n\n    body `{{ names.ns }}`\n') if anchor == "x" \
            else md.Md("")

    pages.render(source, tmp_path / "out", {"ns": "n"}, hook)
    text = (tmp_path / "out" / "p.md").read_text(encoding="utf-8")
    assert calls == [("p.md", "x"), ("p.md", "y")]
    assert '\n    !!! note "t"\n\n        body `{{ names.ns }}`\n' in text  # not a template
    assert "\n\nafter\n" in text
