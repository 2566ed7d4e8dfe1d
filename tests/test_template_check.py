"""templates.check refuses what compiling refuses, and compiles only where it must."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jinja2 import TemplateSyntaxError

from auditor import policies, templates

# Each refused by Jinja's parser, by the sandbox's hooks or by its code generator.
BAD = [
    "{{ x",
    "{% if x %}",
    "{{ x | nosuchfilter }}",
    "{{ x is nosuchtest }}",
    "{{ x | nosuchfilter(1) | upper }}",
    "{% for loop in xs %}{{ loop }}{% endfor %}",
    "{% for x in xs %}{% set loop = 1 %}{% endfor %}",
    "{% macro m(caller, a) %}{{ caller() }}{% endmacro %}",
    "{% block a %}{% endblock %}{% block a %}{% endblock %}",
    "{% for x in xs %}{% extends 'base' %}{% endfor %}",
    "{% for x in xs recursive %}{{ loop(x) }}{% endfor %}",
]
# Refused by Python's compiler, not Jinja's: the generated code nests too deeply.
TOO_DEEP = [
    "{% for x in y %}" * 21 + "a" + "{% endfor %}" * 21,
    "{% if x %}" * 100 + "a" + "{% endif %}" * 100,
    "{{ " + " + ".join(["x"] * 201) + " }}",
    "{{ x" + "|lower" * 250 + " }}",
]
GOOD = [
    "plain text",
    "{{ x | upper }} {{ y | default('n') | quantity }}",
    "{{ x is defined and y is not none }}",
    "{% for x in xs %}{{ loop.index }}{% endfor %}",
    "{% set loops = 1 %}{{ loops }}",
    # Jinja accepts an unknown filter inside a branch until the branch runs; so does check.
    "{% if false %}{{ x | nosuchfilter }}{% endif %}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1) }}",
]


def _compiles(source: str, command: bool) -> bool:
    templates.compiled.cache_clear()
    try:
        templates.compiled(source, command=command)
    except TemplateSyntaxError:
        return False
    return True


@pytest.mark.parametrize("command", [False, True])
@pytest.mark.parametrize("source", BAD + GOOD)
def test_check_refuses_exactly_what_compiling_refuses(source: str, command: bool) -> None:
    compiles = _compiles(source, command)
    assert compiles == (source in GOOD)
    templates.compiled.cache_clear()
    if compiles:
        templates.check(source, command=command)
    else:
        with pytest.raises(TemplateSyntaxError) as refused:
            templates.check(source, command=command)
        with pytest.raises(TemplateSyntaxError) as by_jinja:
            templates.compiled(source, command=command)
        assert refused.value.message == by_jinja.value.message


@pytest.mark.parametrize("source", TOO_DEEP)
def test_what_pythons_compiler_refuses_is_refused_by_check_too(source: str) -> None:
    templates.compiled.cache_clear()
    with pytest.raises((SyntaxError, RecursionError)):
        templates.check(source)


def test_a_policy_whose_template_python_cannot_compile_is_a_load_error(
        tmp_path: Path) -> None:
    from auditor.errors import PolicyError

    source = Path(policies.__file__).resolve().parent.parent / "policies" / "rds-backups.yaml"
    text = source.read_text().replace("message: >-\n", "message: >-\n  " + TOO_DEEP[0] + "\n", 1)
    (tmp_path / "rds-backups.yaml").write_text(text)
    with pytest.raises(PolicyError, match=r"rds-backups.yaml:\d+: message: invalid template: "
                       "nested too deeply to compile"):
        policies.load_file(tmp_path / "rds-backups.yaml")


def test_the_packs_templates_are_checked_without_compiling(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_NO_CACHE", "1")
    calls: list[str] = []
    real = templates.compiled

    def counted(source: str, command: bool = False) -> Any:
        calls.append(source)
        return real(source, command=command)

    monkeypatch.setattr(templates, "compiled", counted)
    pack = policies.load_all([])
    assert calls == []  # none of the pack's templates needs the generator to be judged
    monkeypatch.undo()
    sources = [(t, c) for p in pack for t, c in [
        (p.message, False), (p.remediation.text, False),
        *((x, True) for x in p.remediation.commands),
        *((x, True) for x in p.remediation.checks)]]
    assert len(sources) > 100
    for source, command in sources:  # and each does compile, as the engine will
        templates.compiled(source, command=command)
