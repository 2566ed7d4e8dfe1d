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

import pytest

from auditor.formats import renderer
from auditor.formats.github_format import _data, _prop, render
from auditor.models import Finding, Report

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
