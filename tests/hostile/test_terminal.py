"""Names in charts, manifests and config may carry terminal control sequences: printed raw
they clear the screen, retitle the terminal, recolour a CI log or fake a line of ours
("Gate: passed"). Everything a person reads shows them as escapes instead."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from auditor.terminal import visible, visible_lines
from tests.conftest import CliResult

Run = Callable[..., CliResult]
Project = Callable[[dict[str, str]], Path]

# YAML double-quoted escapes: ESC [2J (clear), OSC 0 (title), BEL, a fake line, a bidi override.
NAME = r"web\e[2J\e]0;owned\a\nGate: passed (fail on never, exit 0)\u202e"
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _project(project: Project) -> Path:
    return project({
        "k8s/app.yaml": f"""
            apiVersion: apps/v1
            kind: Deployment
            metadata: {{name: "{NAME}", namespace: shop}}
            spec:
              replicas: 1
              template:
                spec:
                  containers:
                    - name: "{NAME}"
                      image: web
            """,
        "auditor.yaml": "service: web\nenvironments:\n  prod:\n    manifests: [k8s]\n",
    })


def _clean(text: str) -> None:
    assert not RAW.search(text), repr(RAW.search(text))
    assert not any(line.startswith("Gate: passed") for line in text.splitlines())


def test_the_table_shows_control_characters_as_escapes(run_cli: Run, project: Project) -> None:
    result = run_cli("scan", "--config", str(_project(project)), "--format", "table")
    assert result.exit_code == 1
    _clean(result.stdout)
    assert "web\\x1b[2J\\x1b]0;owned\\x07\\x0aGate: passed" in result.stdout
    assert "\\u202e" in result.stdout


def test_github_annotations_and_markdown_carry_no_control_sequence(
        run_cli: Run, project: Project) -> None:
    root = _project(project)
    for fmt in ("github", "markdown"):
        out = run_cli("scan", "--config", str(root), "--format", fmt).stdout
        _clean(out)
        assert "\\x1b[2J" in out


def test_an_error_naming_a_hostile_key_is_one_visible_line(run_cli: Run,
                                                           project: Project) -> None:
    root = project({"auditor.yaml": 'service: web\nenvironments:\n  prod:\n'
                                    '    "\\e]0;owned\\a\\e[2J": {}\n'})
    result = run_cli("scan", "--config", str(root))
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    _clean(line)
    assert "\\x1b]0;owned\\x07\\x1b[2J" in line


def test_visible_keeps_ordinary_text_and_our_own_line_breaks() -> None:
    text = "naïve ünïcode, tabs\tand emoji 🚀"
    assert visible(text) == text.replace("\t", "\\x09")
    assert visible_lines("a\nb\x1b") == "a\nb\\x1b"
    assert visible("\x9b31m") == "\\x9b31m"  # the 8-bit CSI some terminals honour


def test_a_name_cannot_become_a_workflow_command_in_a_ci_log(run_cli: Run,
                                                             project: Project) -> None:
    """The Actions runner reads `::error ...` at the start of a line (after spaces) and
    `##[...]` anywhere: a wrapped message line must not start with one."""
    forged = "x" * 95 + " ::error title=Injected::all checks passed ##[stop-commands]t"
    root = project({
        "k8s/app.yaml": f"""
            apiVersion: apps/v1
            kind: Deployment
            metadata: {{name: web, namespace: shop}}
            spec:
              replicas: 1
              template:
                spec:
                  containers:
                    - name: "{forged}"
                      image: web
            """,
        "auditor.yaml": "service: web\nenvironments:\n  prod:\n    manifests: [k8s]\n",
    })
    table = run_cli("scan", "--config", str(root), "--format", "table").stdout
    assert not [line for line in table.splitlines() if line.lstrip().startswith("::")]
    assert "    \\x3a:error title=Injected" in table  # it did wrap to a line's start
    assert "##[" not in table
    github = run_cli("scan", "--config", str(root), "--format", "github").stdout
    assert all(line.startswith(("::error ", "::warning ", "::notice ", "runbook-auditor"))
               for line in github.splitlines())
    assert "##[" not in github
