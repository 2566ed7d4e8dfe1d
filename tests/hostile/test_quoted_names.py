"""A name filled into a runbook command inside the command's own quotes stays data: it
cannot close those quotes (the site's pages and `audit --section` both fill names)."""

from __future__ import annotations

import subprocess

import pytest

from auditor.shell import placed, quote_state
from auditor.site.pages import _Tokens

NAMES = ["a';id;'", 'x$(id)"`y`', "plain", "spa ce", "back\\slash"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("template", "shown"), [
    ("printf '%s' NAME", "{}"),
    ("printf '%s' '{\"a\":\"NAME\"}'", '{{"a":"{}"}}'),
    ("printf '%s' \"A=='NAME'\"", "A=='{}'"),
    ("printf '%s' \"pre-NAME\"", "pre-{}"),
])
def test_sh_reads_back_the_name_wherever_it_stands(name: str, template: str,
                                                   shown: str) -> None:
    before, _, after = template.partition("NAME")
    command = before + placed(name, before) + after
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
    assert result.stdout == shown.format(name)  # the name as data; nothing ran


def test_quote_state_follows_the_shells_rules() -> None:
    assert quote_state("a 'b") == "'" and quote_state("a 'b' \"c") == '"'
    assert quote_state("a \\' b") is None and quote_state("'a\\'") is None
    assert quote_state('"a \\" b') == '"'


def test_the_sites_commands_quote_names_for_where_they_stand() -> None:
    tokens = _Tokens({"namespace": "a';id;'"})
    page = ("```bash\nkubectl patch x -n " + tokens["namespace"]
            + " -p '{\"ns\":\"" + tokens["namespace"] + "\"}'\n```\n")
    out = tokens.fill(page)
    line = out.splitlines()[1]
    assert line == """kubectl patch x -n 'a'"'"';id;'"'"'' -p '{"ns":"a'"'"';id;'"'"'"}'"""
