"""yamldecode reads YAML as Terraform does (go-cty-yaml), not as YAML 1.1 does: the rows
are go-cty-yaml's own test table (decode_test.go), plus where it differs from Kubernetes."""

from __future__ import annotations

import json
import math

import pytest

from tests.terraform.functions_support import check, ev, fails

ERROR = object()

# (source document, value or ERROR with a fragment of the message)
TABLE: list[tuple[str, object]] = [
    ("---", None), ("~", None), ("---\ntrue", True), ('"hello"', "hello"),
    ('"True"', "True"), ('".INF"', ".INF"), ("'hello'", "hello"), ("'False'", "False"),
    ("'NULL'", "NULL"), ("|\n  hello\n  world", "hello\nworld"),
    (">\n  hello\n  world", "hello world"), ("hello", "hello"), ("+", "+"), ("<<", "<<"),
    ("!!str true", "true"), ("!<tag:yaml.org,2002:str> true", "true"), ("true", True),
    ("yes", True), ("false", False), ("!!bool true", True),
    ("!<tag:yaml.org,2002:bool> true", True), (".5", 0.5), ("1.5", 1.5),
    ("!!float 1.5", 1.5), ("0o77", 63), ("077", 77), ("12", 12), ("-12", -12),
    ("0x1f", 31), ("0ba", "0ba"), ("!!int 1", 1), ("Inf", "Inf"), ("-inf", "-inf"),
    ("2006-1-2", "2006-01-02T00:00:00Z"), ("!!timestamp 2006-1-2", "2006-01-02T00:00:00Z"),
    ("!!binary 'aGVsbG8='", "aGVsbG8="), ("null", None),
    ("{a: 1, b: true}", {"a": 1, "b": True}), ("[a, b, true]", ["a", "b", True]),
    ("- a\n- <<\n- true", ["a", "<<", True]),
    # Where Terraform and Kubernetes read differently:
    ("0777", 777),  # decimal (Kubernetes: octal 511)
    ("1_000", "1_000"),  # a string (Kubernetes: 1000)
    ("1:30", "1:30"), ("=", "="), ("y", True), ("on", True),
    ("2001-12-14t21:59:43.10-05:00", "2001-12-14T21:59:43-05:00"),
    ("2001-12-14 21:59:43.10", "2001-12-14T21:59:43Z"),
    ("a: 1\na: 2", {"a": 2}),  # no duplicate check: the last wins
]
ERRORS = [
    ("!!bool bananas", 'cannot parse "bananas" as !!bool'),
    (".NaN", "floating point NaN is not supported"),
    ("!!binary '>>>>>>>>>'", "not valid base64"),
    ("!!nope foo", "unsupported tag"),
    ("yes: 1", "only strings are allowed as mapping keys"),
    ("1: x", "only strings are allowed as mapping keys"),
]


def _call(source: str) -> str:
    return f"yamldecode({json.dumps(source)})"


@pytest.mark.parametrize(("source", "expected"), TABLE, ids=[s for s, _ in TABLE])
def test_yamldecode_reads_as_go_cty_yaml(source: str, expected: object) -> None:
    check(_call(source), expected)


@pytest.mark.parametrize("source", [".Inf", "+.Inf", "-.Inf"])
def test_infinities_are_numbers(source: str) -> None:
    value = ev(_call(source))
    assert isinstance(value, float) and math.isinf(value)
    assert (value > 0) == (not source.startswith("-"))


@pytest.mark.parametrize(("source", "fragment"), ERRORS, ids=[s for s, _ in ERRORS])
def test_yamldecode_refuses_what_go_cty_yaml_refuses(source: str, fragment: str) -> None:
    assert fragment.replace('"', "'") in fails(_call(source)).replace('"', "'")
