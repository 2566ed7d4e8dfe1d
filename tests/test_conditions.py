"""The condition language: three-valued logic and validation with locations."""

from __future__ import annotations

import re
from typing import Any

import pytest

from auditor.conditions import ConditionError, evaluate, validate
from auditor.unknown import Unknown

ITEM = {"resources": {"requests": {"memory": "8192Mi"}, "limits": {"memory": "8Gi"}},
        "image": "registry:5000/app:latest", "port": "http", "n": 3,
        "odd": Unknown("not known offline")}


def ev(cond: dict[str, Any], params: dict[str, Any] | None = None) -> object:
    validate(cond)
    return evaluate(cond, ITEM, params or {})


def test_missing_and_exists() -> None:
    assert ev({"missing": "resources.limits.cpu"}) is True
    assert ev({"exists": "resources.limits.memory"}) is True
    assert isinstance(ev({"missing": "odd"}), Unknown)
    assert isinstance(ev({"missing": "odd.deeper"}), Unknown)


def test_compare_is_semantic() -> None:
    assert ev({"compare": ["resources.requests.memory", "==",
                           {"path": "resources.limits.memory"}]}) is True
    assert ev({"compare": ["resources.limits.memory", "<", {"param": "floor"}]},
              {"floor": "256Mi"}) is False
    assert ev({"compare": [{"path": "absent", "default": 10}, ">", 5]}) is True
    # Absence is a `missing:` question: compared without a default, it is not a pass.
    assert isinstance(ev({"compare": ["absent", "<", 5]}), Unknown)
    assert isinstance(ev({"compare": ["port", "<", 5]}), Unknown)  # not a number: unknown


def test_three_valued_any_all_not() -> None:
    unknown = {"missing": "odd"}
    true, false = {"exists": "n"}, {"missing": "n"}
    assert ev({"any": [unknown, true]}) is True
    assert isinstance(ev({"any": [unknown, false]}), Unknown)
    assert ev({"all": [unknown, false]}) is False
    assert isinstance(ev({"all": [unknown, true]}), Unknown)
    assert isinstance(ev({"not": unknown}), Unknown)
    assert ev({"not": false}) is True


def test_one_of_and_matches() -> None:
    assert ev({"one_of": ["n", ["3", 4]]}) is True
    assert ev({"one_of": [{"param": "environment"}, {"param": "prod_envs"}]},
              {"environment": "prod", "prod_envs": ["prod"]}) is True
    assert ev({"matches": ["image", ":latest$"]}) is True
    assert isinstance(ev({"matches": ["absent", "x"]}), Unknown)  # not a pass


def test_parameterised_paths() -> None:
    assert ev({"exists": "{key}"}, {"key": "resources.limits.memory"}) is True


@pytest.mark.parametrize(("cond", "path"), [
    ({"nope": "x"}, ("condition",)),
    ({"any": []}, ("condition", "any")),
    ({"any": [{"missing": 3}]}, ("condition", "any", 0, "missing")),
    ({"compare": ["a", "=>", 1]}, ("condition", "compare")),
    ({"all": [{"matches": ["a", "("]}]}, ("condition", "all", 0, "matches")),
    ({"one_of": ["a", "b"]}, ("condition", "one_of", 1)),
    ({"missing": "x", "exists": "y"}, ("condition",)),
])
def test_validation_errors_carry_their_path(cond: dict[str, Any], path: tuple[Any, ...]) -> None:
    with pytest.raises(ConditionError) as err:
        validate(cond)
    assert err.value.path == path


# ---- fails closed (each of these passed before) ------------------------------------------

@pytest.mark.parametrize("cond", [
    {"compare": ["absent", "<", 5]},
    {"compare": ["absent", ">=", 5]},
    {"compare": [{"value": 5}, ">", {"path": "absent"}]},
    {"compare": ["absent", "==", "x"]},
    {"compare": ["absent", "!=", "x"]},
    {"one_of": ["absent", ["x"]]},
    {"not": {"one_of": ["absent", ["x"]]}},
    {"matches": ["absent", "x"]},
    {"not": {"matches": ["absent", "x"]}},
])
def test_an_absent_value_without_a_default_is_unknown_never_a_pass(cond: dict[str, Any]) -> None:
    verdict = ev(cond)
    assert isinstance(verdict, Unknown) and "absent is not set" in verdict.reason


def test_a_default_answers_for_an_absent_value() -> None:
    assert ev({"compare": [{"path": "absent", "default": 3}, "<", 5]}) is True
    assert ev({"one_of": [{"path": "absent", "default": "x"}, ["x"]]}) is True
    assert ev({"compare": [{"path": "absent", "default": None}, "==", None]}) is True


def test_one_of_over_an_unknown_value_is_unknown_unless_a_known_one_matches() -> None:
    assert isinstance(ev({"one_of": ["n", [1, {"path": "odd"}]]}), Unknown)
    assert isinstance(ev({"not": {"one_of": ["n", [1, {"path": "odd"}]]}}), Unknown)
    assert ev({"one_of": ["n", [3, {"path": "odd"}]]}) is True
    assert isinstance(ev({"one_of": ["n", [1, {"path": "nothing"}]]}), Unknown)


@pytest.mark.parametrize(("left", "right"), [(0, False), (1, True), (1.0, True), (0, None)])
def test_booleans_and_numbers_never_compare_equal(left: Any, right: Any) -> None:
    assert ev({"compare": [{"value": left}, "==", right]}) is False
    assert ev({"compare": [{"value": left}, "!=", right]}) is True
    assert ev({"one_of": [{"value": left}, [right]]}) is False


def test_a_boolean_spelt_as_a_string_still_equals_the_boolean() -> None:
    assert ev({"compare": [{"value": "true"}, "==", True]}) is True


def test_ordering_a_boolean_or_null_is_unknown() -> None:
    assert isinstance(ev({"compare": [{"value": True}, ">", 0]}), Unknown)
    assert isinstance(ev({"compare": ["n", "<", {"param": "floor"}]}, {"floor": None}),
                      Unknown)


def test_one_rule_for_paths_and_literals() -> None:
    """The first operand is what is checked (a bare string: a path); every other bare
    value is a literal; a mapping says which it is."""
    item = {"a": "b", "b": "zzz"}
    assert evaluate({"compare": ["a", "==", "b"]}, item, {}) is True  # a's value is "b"
    assert evaluate({"compare": ["a", "==", {"path": "b"}]}, item, {}) is False
    assert evaluate({"compare": [{"value": "a"}, "==", "a"]}, item, {}) is True
    assert evaluate({"one_of": ["a", ["b"]]}, item, {}) is True
    assert evaluate({"one_of": ["a", [{"path": "b"}]]}, item, {}) is False


@pytest.mark.parametrize(("cond", "fragment"), [
    ({"compare": [{"paht": "x"}, "<", 1]}, "got keys ['paht']"),
    ({"compare": ["x", "<", {"path": "y", "defualt": 1}]}, "got keys ['defualt', 'path']"),
    ({"one_of": ["x", [{"parm": "p"}]]}, "got keys ['parm']"),
    ({"one_of": ["x", {"params": "p"}]}, "expected a list of values or {param: NAME}"),
    ({"matches": ["x", {"param": "p", "x": 1}]}, "expected a regex or {param: NAME}"),
    ({"compare": [5, "<", 1]}, "the first operand is what is checked"),
    ({"one_of": [None, [1]]}, "the first operand is what is checked"),
    ({"compare": ["x[", "<", 1]}, "x["),
    ({"compare": ["x", "<", {"path": 5}]}, "path: expected a path string"),
])
def test_operands_are_validated_by_shape_at_load(cond: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConditionError, match=re.escape(fragment)):
        validate(cond)


def test_a_regex_literal_with_braces_is_not_a_parameter() -> None:
    from auditor.conditions import param_refs

    cond = {"all": [{"matches": ["image", "^[0-9]{1,2}-{x}$"]},
                    {"compare": [{"path": "{key}.size"}, ">", {"param": "floor"}]},
                    {"one_of": ["{other}", ["{not_a_param}"]]}]}
    assert param_refs(cond) == {"key", "floor", "other"}


def test_a_list_literal_cannot_hide_an_operand() -> None:
    with pytest.raises(ConditionError, match="a list operand is a literal"):
        validate({"compare": ["a", "==", [{"path": "b"}]]})
    assert ev({"compare": ["n", "==", {"value": [{"path": "b"}]}]}) is False


def test_a_hashed_live_value_or_a_structure_is_not_compared() -> None:
    item = {"env": {"$sha256": "ab", "$salt": "cd"}, "args": ["a", "b"]}
    assert evaluate({"exists": "env"}, item, {}) is True  # it is there
    for cond in ({"compare": ["env", "==", "x"]}, {"matches": ["env", "x"]},
                 {"one_of": ["env", ["x"]]}, {"matches": ["args", "a"]}):
        assert isinstance(evaluate(cond, item, {}), Unknown), cond
