"""Kubernetes quantities and ports, compared by meaning rather than spelling.

``8Gi`` == ``8192Mi``, ``1`` == ``1000m``, ``"5432"`` == ``5432``: declared values, live
API values and policy parameters are written differently, so every comparison in the
engine and in drift goes through here.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

_SUFFIX = {
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"),
    "T": Decimal("1e12"), "P": Decimal("1e15"), "E": Decimal("1e18"),
}  # fmt: skip
_QUANTITY = re.compile(
    r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")


def parse_quantity(value: Any) -> Decimal | None:
    """The quantity's value in base units (bytes, cores), or None if it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        exact = Decimal(str(value))
        return exact if exact.is_finite() else None  # .nan/.inf are not quantities
    if not isinstance(value, str):
        return None
    m = _QUANTITY.match(value.strip())
    if not m:
        return None
    number, suffix = m.groups()
    try:
        return Decimal(number) * _SUFFIX[suffix]
    except InvalidOperation:  # pragma: no cover - the regex admits only numbers
        return None


def format_bytes(value: Decimal) -> str:
    """A byte count for messages as Kubernetes writes it canonically: the largest binary
    suffix that divides it exactly, no fractional digits (``8Gi``, ``10Gi``, ``1.5Gi`` ->
    ``1536Mi``, ``1023``), so it parses back to the same value."""
    if value != value.to_integral_value():  # a fraction of a byte: plain fixed-point
        return f"{value:f}".rstrip("0").rstrip(".")  # has a "." here, so zeros are decimals
    # Whole numbers in int arithmetic: stripping zeros from "10" made 10Gi print as 1Gi,
    # and a Decimal like 1.024E+6 (from 1e3Ki) printed as 1Ki.
    whole = int(value)
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = int(_SUFFIX[suffix])
        if whole != 0 and whole % unit == 0:
            return f"{whole // unit}{suffix}"
    return str(whole)


def same_port(a: Any, b: Any) -> bool:
    """Ports compare as numbers when both are numeric (``"5432"`` == ``5432``), else by name."""
    na, nb = port_number(a), port_number(b)
    if na is not None and nb is not None:
        return na == nb
    return str(a) == str(b)


def port_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = value.strip() if isinstance(value, str) else ""
    # ASCII digits only: str.isdigit() also admits "²" (int() refuses it) and "٨٠".
    if text.isascii() and text.isdigit():
        return int(text)
    return None


def resolve_port(port: Any, named: dict[str, int]) -> int | None:
    """A port number, looking names up in ``named`` (containerPort names of a pod)."""
    number = port_number(port)
    if number is not None:
        return number
    return named.get(str(port)) if port is not None else None


def semantic_equal(a: Any, b: Any) -> bool:
    """Equality that treats quantities and numeric strings by value."""
    if a == b:
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return str(a).lower() == str(b).lower()
    qa, qb = parse_quantity(a), parse_quantity(b)
    if qa is not None and qb is not None:
        return qa == qb
    return False


_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "": 86400}


def duration(value: Any) -> float | None:
    """Seconds of ``30s``, ``15m``, ``168h``, ``7d``, ``2w`` or a plain number of days;
    None when ``value`` is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) * _SECONDS[""]
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    return float(match.group(1)) * _SECONDS[match.group(2)] if match else None
