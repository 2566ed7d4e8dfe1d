"""Numeric functions, from the examples of Terraform's documentation."""

from __future__ import annotations

import pytest

from tests.terraform.functions_support import check, fails

DOCUMENTED = [
    ("abs(23)", 23), ("abs(0)", 0), ("abs(-12.4)", 12.4),
    ("ceil(5)", 5), ("ceil(5.1)", 6),
    ("floor(5)", 5), ("floor(4.9)", 4),
    ("log(50, 10)", 1.6989700043360185), ("log(16, 2)", 4),
    ("ceil(log(15, 2))", 4), ("ceil(log(16, 2))", 4), ("ceil(log(17, 2))", 5),
    ("max(12, 54, 3)", 54), ("max([12, 54, 3]...)", 54), ("max(5, 12, 9)", 12),
    ("min(12, 54, 3)", 3), ("min([12, 54, 3]...)", 3),
    ('parseint("100", 10)', 100), ('parseint("FF", 16)', 255), ('parseint("-10", 16)', -16),
    ('parseint("1011111011101111", 2)', 48879), ('parseint("aA", 62)', 656),
    ("pow(3, 2)", 9), ("pow(4, 0)", 1),
    ("signum(-13)", -1), ("signum(0)", 0), ("signum(344)", 1),
    ("sum([10, 13, 6, 4.5])", 33.5),
]


@pytest.mark.parametrize(("expression", "expected"), DOCUMENTED)
def test_documented_examples(expression: str, expected: object) -> None:
    check(expression, expected)


def test_parseint_refuses_a_digit_outside_the_base() -> None:
    assert fails('parseint("12", 2)') == "parseint(): cannot parse '12' as a base 2 integer"
    assert "between 2 and 62" in fails('parseint("1", 63)')


def test_numbers_are_decimal_as_in_cty() -> None:
    check("sum([0.1, 0.2])", 0.3)  # a float sum would give 0.30000000000000004
    check('sum(["1", 2])', 3)  # numeric strings convert, as HCL converts arguments
    check('max("7", 3)', 7)


def test_go_float_edge_cases() -> None:
    check("log(0, 10) < -1000", True)  # -Inf, as Go's math.Log(0)
    assert "not a number" in fails("pow(-8, 0.5)")
    assert "empty" in fails("sum([])")
    assert "at least one" in fails("max()")
