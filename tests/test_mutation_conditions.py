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


_OPS = "missing, exists, compare, one_of, matches, cel, any, all, not"
_OPERAND = ("an operand is {path: P}, {path: P, default: V}, {param: NAME} or {value: V}; "
            "got keys ['paht']")


# Each malformed condition with the whole error a policy author reads: the message and
# where it points (the loader turns that path into the file's line).
@pytest.mark.parametrize(("cond", "error"), [
    ([], "condition: expected a mapping with one operator of "
         "('missing', 'exists', 'compare', 'one_of', 'matches', 'cel', 'any', 'all', 'not')"),
    ({"bogus": 1}, f"condition: unknown operator 'bogus' (one of {_OPS})"),
    ({"any": []}, "condition.any: expected a non-empty list of conditions"),
    ({"all": [{"exists": "a"}, {"exists": 3}]}, "condition.all[1].exists: expected a path string"),
    ({"not": {"missing": 3}}, "condition.not.missing: expected a path string"),
    ({"cel": 3}, "condition.cel: expected a CEL expression (a string)"),
    ({"compare": ["a", "=="]},
     "condition.compare: expected [subject, one of ('==', '!=', '<', '<=', '>', '>='), "
     "operand]"),
    ({"compare": [{"paht": "a"}, "==", 1]}, f"condition.compare[0]: {_OPERAND}"),
    ({"compare": ["a", "==", {"paht": "a"}]}, f"condition.compare[2]: {_OPERAND}"),
    ({"compare": [{"path": 3}, "==", 1]},
     "condition.compare[0].path: path: expected a path string"),
    ({"compare": [{"param": 3}, "==", 1]},
     "condition.compare[0].param: param: expected a parameter name"),
    ({"compare": ["a", "==", [{"x": 1}]]},
     "condition.compare[2]: a list operand is a literal of plain values; write a list of "
     "mappings or lists as {value: [...]}"),
    ({"exists": "a]b"}, None),  # a path syntax error: its own message, checked below
    ({"one_of": ["a"]}, "condition.one_of: expected [subject, value]"),
    ({"matches": ["a", "x", "y"]}, "condition.matches: expected [subject, value]"),
    ({"matches": [{"paht": "a"}, "x"]}, f"condition.matches[0]: {_OPERAND}"),
    ({"matches": ["a", {"param": 3}]},
     "condition.matches[1]: expected a regex or {param: NAME}"),
    ({"matches": ["a", 5]}, "condition.matches[1]: expected a regex string"),
    ({"matches": [5, "x"]},
     "condition.matches[0]: the first operand is what is checked: a path string, or "
     "{path: P}, {param: NAME} or {value: V}; got a number"),
    ({"one_of": [None, [1]]},
     "condition.one_of[0]: the first operand is what is checked: a path string, or "
     "{path: P}, {param: NAME} or {value: V}; got null"),
    ({"one_of": [{"paht": "a"}, [1]]}, f"condition.one_of[0]: {_OPERAND}"),
    ({"one_of": ["a", {"param": 3}]},
     "condition.one_of[1]: expected a list of values or {param: NAME}"),
    ({"one_of": ["a", "b"]}, "condition.one_of[1]: expected a list of values or {param: NAME}"),
    ({"one_of": ["a", [1, {"paht": "a"}]]}, f"condition.one_of[1][1]: {_OPERAND}"),
])
def test_a_malformed_condition_says_what_is_wrong_and_where(cond: Any,
                                                             error: str | None) -> None:
    with pytest.raises(ConditionError) as raised:
        validate(cond)
    if error is not None:
        assert str(raised.value) == error


@pytest.mark.parametrize(("cond", "where"), [
    ({"exists": "a]b"}, ("condition", "exists")),
    ({"compare": ["a]b", "==", 1]}, ("condition", "compare", 0)),
    ({"compare": ["a", "==", {"path": "a]b"}]}, ("condition", "compare", 2, "path")),
    ({"not": {"compare": [{"path": "a]b"}, "==", 1]}},
     ("condition", "not", "compare", 0, "path")),
])
def test_a_bad_path_is_reported_at_the_operand_that_holds_it(cond: Any,
                                                              where: tuple[Any, ...]) -> None:
    with pytest.raises(ConditionError) as raised:
        validate(cond)
    assert raised.value.path == where
    assert str(raised.value).split(": ", 1)[1]  # the path parser's own words follow


def test_a_cel_syntax_error_is_reported_at_the_expression_with_the_compilers_words() -> None:
    with pytest.raises(ConditionError) as raised:
        validate({"any": [{"exists": "a"}, {"cel": "object.spec +"}]})
    assert raised.value.path == ("condition", "any", 1, "cel")
    assert "None" not in str(raised.value) and len(str(raised.value)) > 30


@pytest.mark.parametrize("wrap", [
    lambda c: c,
    lambda c: {"not": c},
    lambda c: {"any": [{"exists": "a"}, c]},
    lambda c: {"all": [c]},
])
def test_a_pattern_parameters_default_is_compiled_at_load_however_deep(wrap: Any) -> None:
    cond = wrap({"matches": ["a", {"param": "pattern"}]})
    with pytest.raises(ConditionError, match=r"bad regex '\(unclosed'") as raised:
        validate(cond, defaults={"pattern": "(unclosed"})
    assert raised.value.path[-1] == "matches"
    with pytest.raises(ConditionError, match="expected a regex string"):
        validate(cond, defaults={"pattern": 5})
    validate(cond, defaults={"pattern": "^ok$"})
    validate(cond, defaults={"other": "(unclosed"})  # no default: the loader's concern
    validate(cond)


def test_a_path_template_is_checked_with_its_placeholders_filled() -> None:
    validate({"exists": "{values_key}.size"})
    validate({"compare": [{"path": "spec.{name}[0]"}, "==", 1]})
    with pytest.raises(ConditionError):
        validate({"exists": "{values_key}]"})


@pytest.mark.parametrize(("text", "names"), [
    ("{key}", {"key"}), ("{a}.x.{b}[1]", {"a", "b"}), ("plain.path", set()),
    ('x["{{literal}}"]', set()),
])
def test_placeholders_are_the_parameter_names_a_template_reads(text: str,
                                                               names: set[str]) -> None:
    from auditor.conditions import placeholders
    validate({"exists": text})
    assert placeholders(text) == names


@pytest.mark.parametrize(("text", "field"), [
    ("spec.{key.sub}", "{key.sub}"), ("spec.{key[0]}", "{key[0]}"), ("{key!r}", "{key!r}"),
    ("{key:>3}", "{key:>3}"), ("{0}.x", "{0}"), ("x.{}", "{}"), ("{key!s:^9}", "{key!s:^9}"),
])
def test_a_placeholder_is_a_parameter_name_and_nothing_else(text: str, field: str) -> None:
    # str.format would read an attribute, index the value or pad it when filling it in.
    with pytest.raises(ConditionError) as raised:
        validate({"compare": [{"path": text}, "==", 1]})
    assert str(raised.value) == ("condition.compare[0].path: a placeholder in a path is "
                                 f"{{NAME}}, a parameter's name; got {field}")


def test_an_unbalanced_brace_in_a_path_template_is_an_error_at_load() -> None:
    with pytest.raises(ConditionError, match=r"^condition\.exists: "):
        validate({"exists": "spec.{key"})


def test_a_path_without_a_brace_may_hold_a_closing_one() -> None:
    validate({"exists": 'metadata.annotations["a}b"]'})
    assert ev({"exists": 'metadata.annotations["a}b"]'},
              {"metadata": {"annotations": {"a}b": "1"}}}) is True


def test_an_absent_or_hashed_value_gives_its_reason_in_full() -> None:
    absent = ev({"compare": ["spec.size", ">", 1]}, {})
    assert isinstance(absent, Unknown)
    assert absent.reason == ("spec.size is not set (the policy gives it no default; "
                             "missing/exists test absence)")
    hashed = ev({"compare": ["token", "==", "x"]}, {"token": {MARKER: "h"}})
    assert isinstance(hashed, Unknown)
    assert hashed.reason == "the live value is kept only as a hash (it may hold a secret)"
