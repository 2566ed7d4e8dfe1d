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


# Kubernetes' canonical form of a quantity (k8s.io/apimachinery resource.Quantity): no
# precision lost, no fractional digits, the suffix as large as possible ("1.5Gi" is
# serialised "1536Mi"). Exactly one unit is that unit; a byte either side is plain bytes.
@pytest.mark.parametrize(("value", "text"), [
    (0, "0"),
    (1, "1"),
    *[(n, text) for exp, suffix in ((10, "Ki"), (20, "Mi"), (30, "Gi"), (40, "Ti"))
      for n, text in ((2**exp - 1, str(2**exp - 1)), (2**exp, "1" + suffix),
                      (2**exp + 1, str(2**exp + 1)))],
    (2**60, "1Ei"),
    (1024 * 2**60, "1024Ei"),  # nothing above Ei
    (3 * 2**29, "1536Mi"),  # 1.5Gi: canonical form has no fractional digits
    (2**30 + 2**10, "1048577Ki"),  # the largest unit that divides exactly, not the nearest
])
def test_format_bytes_at_each_unit(value: int, text: str) -> None:
    assert format_bytes(Decimal(value)) == text
    assert parse_quantity(text) == value  # a valid quantity of the same value


@pytest.mark.parametrize(("quantity", "text"), [
    ("10Ki", "10Ki"), ("100Mi", "100Mi"), ("10Gi", "10Gi"), ("20Gi", "20Gi"),
    ("1e3Ki", "1000Ki"),  # Decimal('1.024E+6'): its quotient is 1E+3, not 1
    ("-2Gi", "-2Gi"), ("1500m", "1.5"),
])
def test_format_bytes_keeps_the_digits(quantity: str, text: str) -> None:
    """Trailing zeros of a whole multiple are digits, not decimals (10Gi printed as 1Gi)."""
    value = parse_quantity(quantity)
    assert value is not None
    assert format_bytes(value) == text
    assert parse_quantity(text) == value


def test_ports() -> None:
    assert same_port("5432", 5432)
    assert not same_port("http", 8000)
    assert same_port("http", "http")
    assert resolve_port("http", {"http": 8000}) == 8000
    assert resolve_port("8080", {}) == 8080
    assert resolve_port("metrics", {"http": 8000}) is None
    assert not semantic_equal(True, 1) or semantic_equal("true", True)
