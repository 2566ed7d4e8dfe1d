from __future__ import annotations

from decimal import Decimal

import pytest

from auditor.quantities import (
    format_bytes,
    parse_quantity,
    resolve_port,
    same_port,
    semantic_equal,
)


@pytest.mark.parametrize(("a", "b"), [("8Gi", "8192Mi"), ("1", "1000m"), (1, "1000m"),
                                      ("0.5", "500m"), ("1k", "1000"), ("1Ki", 1024),
                                      ("1e3", "1k"), ("2.5Gi", "2560Mi")])
def test_equal_quantities(a: object, b: object) -> None:
    assert semantic_equal(a, b)
    assert parse_quantity(a) == parse_quantity(b)


@pytest.mark.parametrize(("a", "b"), [("8Gi", "8G"), ("1", "100m"), ("1Mi", "1M")])
def test_different_quantities(a: str, b: str) -> None:
    assert not semantic_equal(a, b)


@pytest.mark.parametrize("text", ["abc", "8 Gi", "Gi", "", "1.2.3", None, True, [1]])
def test_not_quantities(text: object) -> None:
    assert parse_quantity(text) is None


def test_order() -> None:
    q = parse_quantity
    assert q("10Gi") > q("8192Mi") > q("8G")  # type: ignore[operator]
    assert q("250m") < q("1")  # type: ignore[operator]


def test_format_bytes() -> None:
    assert format_bytes(Decimal(8 * 2**30)) == "8Gi"
    assert format_bytes(Decimal(1536 * 2**20)) == "1536Mi"


def test_ports() -> None:
    assert same_port("5432", 5432)
    assert not same_port("http", 8000)
    assert same_port("http", "http")
    assert resolve_port("http", {"http": 8000}) == 8000
    assert resolve_port("8080", {}) == 8080
    assert resolve_port("metrics", {"http": 8000}) is None
    assert not semantic_equal(True, 1) or semantic_equal("true", True)
