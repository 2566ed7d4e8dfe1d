"""Properties of the loaders, the condition language, the drift comparison and the escaping,
over generated inputs (hypothesis, a fixed budget of examples and a fixed seed, so a run is
repeatable): whatever the input, each either works or says why in its own error type, and
what is true of every value is true of these."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor import conditions
from auditor.drift.compare import diff, same
from auditor.drift.defaults import HELM_RULES
from auditor.drift.normalize import clean
from auditor.errors import InputError
from auditor.live.markers import marker
from auditor.report_file import read_report
from auditor.shell import q
from auditor.terminal import visible
from auditor.terraform import loader
from auditor.unknown import Unknown
from auditor.yamlfile import YamlError, load_all, load_one

BUDGET = settings(max_examples=150, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# Printable text: PyYAML's own emitter cannot round-trip some control characters (\x85).
printable = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp"))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.text(printable, max_size=20),
                    st.floats(allow_nan=False, allow_infinity=False))
keys = st.text(alphabet=printable, min_size=1, max_size=10)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=25)


@BUDGET
@given(st.text(max_size=300))
def test_any_text_is_yaml_or_a_yaml_error(text: str) -> None:
    try:
        load_all(text)
    except YamlError as exc:
        assert exc.line is None or exc.line >= 1


@BUDGET
@given(st.dictionaries(keys, json_values, max_size=5))
def test_yaml_round_trips_with_a_line_for_every_key(data: dict[str, Any]) -> None:
    doc = load_one(yaml.safe_dump(data, allow_unicode=True))
    assert doc.data == data
    assert all((k,) in doc.lines for k in data)


@BUDGET
@given(st.text(max_size=200))
def test_any_text_is_terraform_or_a_parse_error(tmp_path_factory: pytest.TempPathFactory,
                                                text: str) -> None:
    path = tmp_path_factory.mktemp("hcl") / "main.tf"
    path.write_text(text, encoding="utf-8")
    blocks, error = loader.load_file(path, "main.tf")
    assert (error is None) or (not blocks and error.message)
    if error is not None and len(text.strip()) > 8:  # never the text it could not parse
        assert text.strip() not in error.message


@BUDGET
@given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_file_is_a_report_or_one_input_error(tmp_path_factory: pytest.TempPathFactory,
                                                 raw: bytes) -> None:
    path = tmp_path_factory.mktemp("report") / "r.json"
    path.write_bytes(raw)
    with pytest.raises(InputError):
        read_report(path)


# ---- the condition language ---------------------------------------------------------------

paths_ = st.sampled_from(["a", "a.b", "b", "c[0]", "missing"])
operands = st.one_of(paths_, scalars, st.builds(lambda p: {"path": p}, paths_))
leaf = st.one_of(
    st.builds(lambda p: {"missing": p}, paths_), st.builds(lambda p: {"exists": p}, paths_),
    st.builds(lambda a, op, b: {"compare": [a, op, b]}, paths_,
              st.sampled_from(conditions.COMPARATORS), operands),
    st.builds(lambda a, vs: {"one_of": [a, vs]}, paths_, st.lists(scalars, max_size=3)),
    st.builds(lambda a, rx: {"matches": [a, rx]}, paths_, st.sampled_from(
        ["^a", "(a+)+$", "x|y", "[0-9]+", "(", "(?=a)"])))
conditions_ = st.recursive(leaf, lambda inner: st.one_of(
    st.builds(lambda c: {"not": c}, inner), st.builds(lambda cs: {"any": cs},
                                                       st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda cs: {"all": cs}, st.lists(inner, min_size=1, max_size=3))), max_leaves=6)
items = st.fixed_dictionaries({}, optional={"a": json_values, "b": scalars,
                                            "c": st.lists(scalars, max_size=2)})


@BUDGET
@given(conditions_, items)
def test_a_condition_is_refused_at_load_or_gives_a_verdict(cond: dict[str, Any],
                                                           item: dict[str, Any]) -> None:
    try:
        conditions.validate(cond)
    except conditions.ConditionError:
        return
    verdict = conditions.evaluate(cond, item, {})
    assert verdict is True or verdict is False or isinstance(verdict, Unknown)
    negated = conditions.evaluate({"not": cond}, item, {})
    if isinstance(verdict, bool):
        assert negated is (not verdict)


# ---- drift ----------------------------------------------------------------------------------

def _deployment(container: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"},
            "spec": {"template": {"spec": {"containers": [{"name": "w", **container}]}}}}


containers = st.fixed_dictionaries({}, optional={
    "image": st.text(max_size=10), "args": st.lists(st.text(max_size=8), max_size=3),
    "env": st.lists(st.builds(lambda n, v: {"name": n, "value": v},
                              st.from_regex(r"[A-Z]{1,4}", fullmatch=True),
                              st.text(max_size=8)), max_size=3, unique_by=lambda e: e["name"]),
    "resources": st.fixed_dictionaries({}, optional={"limits": st.fixed_dictionaries(
        {}, optional={"cpu": st.sampled_from(["1", "1000m", "500m", 2]),
                      "memory": st.sampled_from(["1Gi", "1024Mi", "512Mi"])})})})


@BUDGET
@given(containers)
def test_an_object_does_not_drift_from_itself_or_from_its_hashed_copy(
        container: dict[str, Any]) -> None:
    body = clean("Deployment", _deployment(container))
    assert diff(HELM_RULES["Deployment"], body, body) == []
    hashed = dict(container)
    if "args" in hashed:
        hashed["args"] = [marker(a) for a in hashed["args"]]
    if "env" in hashed:
        hashed["env"] = [{"name": e["name"], "value": marker(e["value"])} for e in hashed["env"]]
    live = clean("Deployment", _deployment(hashed))
    assert diff(HELM_RULES["Deployment"], body, live) == []


@BUDGET
@given(scalars)
def test_a_value_is_the_same_as_its_marker(value: Any) -> None:
    assert same(value, marker(value))


# ---- escaping ---------------------------------------------------------------------------------

@BUDGET
@given(st.text(max_size=40))
def test_visible_text_holds_no_control_character(text: str) -> None:
    shown = visible(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in shown)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00",
                                      exclude_categories=("Cs",)), max_size=30))
def test_a_quoted_word_reaches_a_command_whole(text: str) -> None:
    """bash itself is the judge: printf receives exactly the text, and nothing else runs."""
    done = subprocess.run(["bash", "-c", f"printf %s {q(text)}"], capture_output=True,
                          timeout=10, check=False)
    assert done.returncode == 0 and done.stdout == text.encode()


def test_the_properties_ran_on_a_repeatable_budget(tmp_path: Path) -> None:
    """(derandomize: the same examples every run, in CI and at a desk.)"""
    assert BUDGET.derandomize and BUDGET.max_examples == 150
