"""Behaviours of auditor/quantities.py that mutation testing (`make mutation`,
bench/mutation.md) showed no other test pinned down."""

from __future__ import annotations

import pytest

from auditor.quantities import duration, parse_quantity, port_number, resolve_port, same_port


@pytest.mark.parametrize(("value", "seconds"), [(7, 7 * 86_400.0), (0.5, 43_200.0),
                                                (0, 0.0)])
def test_a_plain_number_duration_is_days(value: float, seconds: float) -> None:
    assert duration(value) == seconds


@pytest.mark.parametrize("value", [None, ["7d"], {"days": 7}, True])
def test_a_duration_that_is_not_a_number_or_string_is_none(value: object) -> None:
    assert duration(value) is None


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_not_quantities(value: float) -> None:
    assert parse_quantity(value) is None


def test_a_missing_port_resolves_to_nothing_whatever_the_names() -> None:
    assert resolve_port(None, {"None": 8080}) is None


@pytest.mark.parametrize(("a", "b"), [("8080 ", 8080), (8080, " 8080"), ("08080", "8080"),
                                      (" 5432", "5432")])
def test_ports_spelled_differently_compare_as_numbers(a: object, b: object) -> None:
    assert same_port(a, b)
    assert same_port(b, a)


def test_named_and_numbered_ports_differ() -> None:
    assert not same_port("http", 80)
    assert same_port("http", "http")


def test_a_superscript_digit_is_not_a_port_number() -> None:
    assert port_number("\u00b2") is None  # str.isdigit() admits it; int() does not
    assert port_number("\u0668\u0660") is None  # Arabic-Indic 80: not a port here
