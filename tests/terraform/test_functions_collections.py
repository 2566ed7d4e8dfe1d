"""List, map and set functions, from the examples of Terraform's documentation. Sets come
back in cty's order (strings sorted), where the documentation prints them unordered."""

from __future__ import annotations

import pytest

from auditor.terraform.expressions import Ref
from tests.terraform.functions_support import Scope, check, ev, fails, reason

DOCUMENTED = [
    ('alltrue(["true", true])', True), ("alltrue([true, false])", False),
    ('anytrue(["true"])', True), ("anytrue([true])", True), ("anytrue([true, false])", True),
    ("anytrue([])", False),
    ('chunklist(["a", "b", "c", "d", "e"], 2)', [["a", "b"], ["c", "d"], ["e"]]),
    ('chunklist(["a", "b", "c", "d", "e"], 1)', [["a"], ["b"], ["c"], ["d"], ["e"]]),
    ('coalesce("a", "b")', "a"), ('coalesce("", "b")', "b"), ("coalesce(1,2)", 1),
    ('coalesce(["", "b"]...)', "b"), ('coalesce(1, "hello")', "1"),
    ('coalesce(true, "hello")', "true"),
    ('coalescelist(["a", "b"], ["c", "d"])', ["a", "b"]),
    ('coalescelist([], ["c", "d"])', ["c", "d"]),
    ('coalescelist([[], ["c", "d"]]...)', ["c", "d"]),
    ('compact(["a", "", "b", null, "c"])', ["a", "b", "c"]),
    ('concat(["a", ""], ["b", "c"])', ["a", "", "b", "c"]),
    ('concat([], [1, "a"], [[3], "c"])', [1, "a", [3], "c"]),
    ('contains(["a", "b", "c"], "a")', True), ('contains(["a", "b", "c"], "d")', False),
    ('distinct(["a", "b", "a", "c", "d", "b"])', ["a", "b", "c", "d"]),
    ('element(["a", "b", "c"], 1)', "b"), ('element(["a", "b", "c"], 3)', "a"),
    ('element(["a", "b", "c"], -1)', "c"),
    ('flatten([["a", "b"], [], ["c"]])', ["a", "b", "c"]),
    ('flatten([[["a", "b"], []], ["c"]])', ["a", "b", "c"]),
    ('index(["a", "b", "c"], "b")', 1), ('index(["one", "two", "two"], "two")', 1),
    ("keys({a=1, c=2, d=3})", ["a", "c", "d"]),
    ("length([])", 0), ('length(["a", "b"])', 2), ('length({"a" = "b"})', 1),
    ('length("hello")', 5), ('length("👾🕹️")', 2),
    ('lookup({a="ay", b="bee"}, "a", "what?")', "ay"),
    ('lookup({a="ay", b="bee"}, "c", "what?")', "what?"),
    ('matchkeys(["i-123", "i-abc", "i-def"], ["us-west", "us-east", "us-east"], ["us-east"])',
     ["i-abc", "i-def"]),
    ('merge({a="b", c="d"}, {e="f", c="z"})', {"a": "b", "c": "z", "e": "f"}),
    ('merge({a="b"}, {a=[1,2], c="z"}, {d=3})', {"a": [1, 2], "c": "z", "d": 3}),
    ('merge([{a="b", c="d"}, {}, {e="f", c="z"}]...)', {"a": "b", "c": "z", "e": "f"}),
    ("one([])", None), ('one(["hello"])', "hello"), ("one(toset([]))", None),
    ('one(toset(["hello"]))', "hello"),
    ("range(3)", [0, 1, 2]), ("range(1, 4)", [1, 2, 3]), ("range(1, 8, 2)", [1, 3, 5, 7]),
    ("range(1, 4, 0.5)", [1, 1.5, 2, 2.5, 3, 3.5]), ("range(4, 1)", [4, 3, 2]),
    ("range(10, 5, -2)", [10, 8, 6]),
    ("reverse([1, 2, 3])", [3, 2, 1]),
    ('setintersection(["a", "b"], ["b", "c"], ["b", "d"])', ["b"]),
    ("setintersection([3,3.3,4], [4,3.3,65,99], [4.0,3.3])", [3.3, 4]),
    ('setintersection(["bob","jane",3], ["jane",3,"ajax",10], ["3","jane",26,"nomad"])',
     ["3", "jane"]),
    ('setproduct(["development", "staging", "production"], ["app1", "app2"])',
     [["development", "app1"], ["development", "app2"], ["staging", "app1"],
      ["staging", "app2"], ["production", "app1"], ["production", "app2"]]),
    ('setproduct(["development", "staging", "production"], [])', []),
    ('setproduct(["a"], ["b"])', [["a", "b"]]),
    ('setproduct(["staging", "production"], ["a", 2])',
     [["staging", "a"], ["staging", "2"], ["production", "a"], ["production", "2"]]),
    ('setsubtract(["a", "b", "c"], ["a", "c"])', ["b"]),
    ('setunion(setsubtract(["a", "b", "c"], ["a", "c", "d"]), '
     'setsubtract(["a", "c", "d"], ["a", "b", "c"]))', ["b", "d"]),
    ('setunion(["a", "b"], ["b", "c"], ["d"])', ["a", "b", "c", "d"]),
    ('slice(["a", "b", "c", "d"], 1, 3)', ["b", "c"]),
    ('sort(["e", "d", "a", "x"])', ["a", "d", "e", "x"]),
    ('transpose({"a" = ["1", "2"], "b" = ["2", "3"]})', {"1": ["a"], "2": ["a", "b"],
                                                         "3": ["b"]}),
    ("values({a=3, c=2, d=1})", [3, 2, 1]),
    ('zipmap(["a", "b"], [1, 2])', {"a": 1, "b": 2}),
]


@pytest.mark.parametrize(("expression", "expected"), DOCUMENTED)
def test_documented_examples(expression: str, expected: object) -> None:
    check(expression, expected)


def test_documented_errors() -> None:
    assert "same type" in fails('coalesce({}, "hello")')
    assert "zero or one elements" in fails('one(["hello", "goodbye"])')
    assert "zero or one elements" in fails('one(toset(["hello","goodbye"]))')
    assert "1024" in fails("range(1e9)")  # Terraform's own cap
    assert "key 'c'" in fails('lookup({a="ay"}, "c")')
    assert "item not found" in fails('index(["a"], "b")')
    assert "empty list" in fails("element([], 0)")
    assert "greater than end" in fails("slice([1, 2, 3], 2, 1)")
    assert "does not match" in fails('zipmap(["a"], [1, 2])')


def test_compact_and_coalesce_keep_computed_ids() -> None:
    """terraform-aws-modules write vpc_security_group_ids = compact(concat([sg.id], var.x))."""
    sg = Ref("aws_security_group.this", "id")
    check('compact(concat([aws_security_group.this.id], ["", "sg-1", null]))', [sg, "sg-1"])
    check('coalesce(var.none, aws_security_group.this.id)', sg, Scope({"none": None}))
    check("distinct([aws_security_group.this.id, aws_security_group.this.id])", [sg])


def test_unknown_elements_stop_only_what_needs_them() -> None:
    scope = Scope({"mixed": ["a", Ref("aws_x.y", "id")]})
    assert "unset" in reason(ev('compact(["a", var.unset])'))
    check("length(var.mixed)", 2, scope)
    check('contains(var.mixed, "a")', True, scope)
    assert "only known after apply" in reason(ev('contains(var.mixed, "b")', scope))
    assert "only known after apply" in reason(ev('sort(var.mixed)', scope))


def test_an_unknown_argument_after_the_answer_does_not_matter() -> None:
    check('coalesce("x", var.unset)', "x")
    check('coalescelist(["a"], var.unset)', ["a"])
    check('lookup({a = 1}, "a", var.unset)', 1)
    assert "unset" in reason(ev('coalesce(var.unset, "x")'))
    assert "unset" in reason(ev('lookup({a = 1}, "b", var.unset)'))


def test_conversions_of_list_arguments() -> None:
    check("sort([10, 9, 1])", ["1", "10", "9"])  # sort takes list(string)
    check('compact(["a", 1, true])', ["a", "1", "true"])
    check('distinct([1, "1"])', ["1"])  # list(any): the tuple becomes a list of strings
    check('contains([1], "1")', False)  # HCL equality is type-strict
