"""Behaviours of auditor/conditions.py that mutation testing (`make mutation`,
bench/mutation.md) showed no other test pinned down."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.conditions import (
    CelError,
    ConditionError,
    cel_expressions,
    compile_pattern,
    evaluate,
    param_refs,
    validate,
)
from auditor.live.markers import KEY as MARKER
from auditor.unknown import Unknown


def ev(cond: dict[str, Any], item: Any, params: dict[str, Any] | None = None) -> Any:
    validate(cond)
    return evaluate(cond, item, params or {})


@pytest.mark.parametrize(("value", "expected"), [(4, True), (5, True), (6, False)])
def test_at_most_includes_the_threshold(value: int, expected: bool) -> None:
    assert ev({"compare": ["n", "<=", 5]}, {"n": value}) is expected


@pytest.mark.parametrize(("value", "expected"), [(4, False), (5, True), (6, True)])
def test_at_least_includes_the_threshold(value: int, expected: bool) -> None:
    assert ev({"compare": ["n", ">=", 5]}, {"n": value}) is expected


@pytest.mark.parametrize(("flag", "number"), [(True, 1), (False, 0), (True, 1.0)])
def test_a_boolean_subject_never_equals_a_number(flag: bool, number: float) -> None:
    assert ev({"compare": ["flag", "==", number]}, {"flag": flag}) is False
    assert ev({"compare": ["flag", "!=", number]}, {"flag": flag}) is True


@pytest.mark.parametrize(("left", "op", "right", "reason"), [
    (True, "<", 5, "cannot order True < 5"),
    (5, ">", True, "cannot order 5 > True"),
    (None, ">=", 5, "cannot order None >= 5"),
    (5, "<=", None, "cannot order 5 <= None"),
    ("abc", "<", 5, "cannot compare 'abc' < 5"),
])
def test_an_ordering_that_cannot_be_made_says_why(left: Any, op: str, right: Any,
                                                  reason: str) -> None:
    verdict = ev({"compare": [{"value": left}, op, {"value": right}]}, {})
    assert isinstance(verdict, Unknown)
    assert verdict.reason == reason


@pytest.mark.parametrize(("subject", "described"), [
    (None, "got null"), (True, "got a boolean"), (3, "got a number"), (2.5, "got a number"),
    (["a"], "got a list"),
])
def test_a_subject_that_is_not_a_path_is_named_in_the_error(subject: Any,
                                                            described: str) -> None:
    with pytest.raises(ConditionError, match=described):
        validate({"compare": [subject, "==", 1]})


def test_matching_a_mapping_is_unknown_and_says_it_is_a_mapping() -> None:
    verdict = ev({"matches": ["spec", "x"]}, {"spec": {"x": 1}})
    assert isinstance(verdict, Unknown)
    assert verdict.reason == "matches takes a string, not a mapping"


def test_cel_expressions_are_collected_in_order_once_each() -> None:
    cond = {"all": [{"cel": "a"}, {"not": {"cel": "b"}},
                    {"any": [{"cel": "a"}, {"exists": "x"}]}]}
    assert cel_expressions(cond) == ["a", "b"]
    assert cel_expressions({"cel": "object.x"}) == ["object.x"]
    assert cel_expressions({"any": [{"cel": "x"}, {"not": {"cel": "y"}}]}) == ["x", "y"]


def test_a_mapping_that_is_not_one_condition_has_no_cel_expressions() -> None:
    assert cel_expressions({"cel": "a", "exists": "x"}) == []
    assert cel_expressions("cel") == []


def test_cel_answers_reach_conditions_nested_in_any_all_and_not() -> None:
    answers = {"e": True, "f": False}
    assert evaluate({"any": [{"cel": "f"}, {"cel": "e"}]}, {}, {}, answers) is True
    assert evaluate({"all": [{"cel": "e"}, {"not": {"cel": "f"}}]}, {}, {}, answers) is True


def test_an_absent_value_says_it_has_no_default() -> None:
    verdict = ev({"compare": ["absent", "<", 5]}, {})
    assert isinstance(verdict, Unknown)
    assert verdict.reason == ("absent is not set (the policy gives it no default; "
                              "missing/exists test absence)")


def test_a_hashed_live_value_says_why_it_is_not_compared() -> None:
    verdict = ev({"compare": ["password", "==", "x"]}, {"password": {MARKER: "ab12"}})
    assert isinstance(verdict, Unknown)
    assert verdict.reason == "the live value is kept only as a hash (it may hold a secret)"


def test_a_path_without_placeholders_is_used_as_written() -> None:
    assert ev({"exists": 'labels["x}y"]'}, {"labels": {"x}y": "1"}}) is True


def test_placeholders_are_filled_in_every_operand_form() -> None:
    item, params = {"spec": {"replicas": 3}}, {"key": "replicas"}
    assert ev({"compare": ["spec.{key}", "==", 3]}, item, params) is True
    assert ev({"compare": [{"path": "spec.{key}"}, ">=", 3]}, item, params) is True
    assert ev({"compare": [{"value": 3}, "==", {"path": "spec.{key}"}]}, item, params) is True
    assert ev({"not": {"exists": "spec.{key}"}}, item, params) is False
    assert ev({"any": [{"missing": "spec.{key}"}]}, item, params) is False


def test_a_cel_expression_without_an_answer_is_an_error() -> None:
    with pytest.raises(CelError, match=r"^the CEL expression was not evaluated$"):
        evaluate({"cel": "e"}, {}, {}, {})


def test_a_cel_failure_keeps_its_message() -> None:
    with pytest.raises(CelError, match=r"^no such key: x$"):
        evaluate({"cel": "e"}, {}, {}, {"e": ValueError("no such key: x")})


def test_one_of_reads_parameters_listed_among_its_values() -> None:
    assert ev({"one_of": ["n", [1, {"param": "allowed"}]]}, {"n": 3}, {"allowed": 3}) is True


def test_one_of_over_a_parameter_that_is_not_a_list_matches_nothing() -> None:
    assert ev({"one_of": ["c", {"param": "allowed"}]}, {"c": "a"}, {"allowed": "abc"}) is False


def test_a_bad_regex_is_reported_once_in_plain_words(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError) as err:
        compile_pattern("(")
    assert str(err.value) == ("bad regex '(': missing ): ( (patterns are RE2: no "
                              "backreferences or lookaround)")
    assert "Error parsing" not in capfd.readouterr().err  # not logged by RE2 as well


def test_parameters_are_found_under_any_all_not_missing_and_exists() -> None:
    cond = {"any": [{"exists": "{a}.x"}, {"not": {"missing": "{b}"}},
                    {"all": [{"missing": "spec.{c}"}, {"exists": "{d}"}]}]}
    assert param_refs(cond) == {"a", "b", "c", "d"}
    assert param_refs({"not": {"exists": "{e}"}}) == {"e"}
    assert param_refs({"any": "{x}"}) == set()


def test_parameters_are_found_in_every_operand_of_a_comparison_list_or_cel() -> None:
    assert param_refs({"cel": "params.floor > object.x"}) == {"floor"}
    assert param_refs({"compare": ["{a}", "<", {"param": "b"}]}) == {"a", "b"}
    assert param_refs({"one_of": ["n", {"param": "allowed"}]}) == {"allowed"}
    assert param_refs({"one_of": ["n", [1, {"param": "extra"}]]}) == {"extra"}
    assert param_refs({"matches": ["image", {"param": "pattern"}]}) == {"pattern"}
