"""Scalars as Kubernetes and Helm read them, not as YAML 1.1 (PyYAML) reads them.

kubectl, Helm and client-go turn YAML into JSON with ``sigs.k8s.io/yaml``: the Go YAML
library (go-yaml v2) resolves each plain scalar, then the result is marshalled to JSON.
The two steps disagree with PyYAML on many scalars: ``=`` is a string (PyYAML: a
``!!value`` tag), ``y``/``n`` are booleans, ``1:30`` is a string (PyYAML: 90, base 60),
``0o17``/``1e3``/``08`` are numbers (PyYAML: strings), ``1.0`` is stored as the integer 1,
``.inf``/``.nan`` cannot be stored at all, and mapping keys become strings (``yes:`` is
the key ``"true"``). Helm reads values files the same way, then keeps every number as a
float64 (integers above 2**53 lose precision).

``resolve`` gives the Go value of a plain scalar; ``stored`` what JSON (and so the API
server or Helm) keeps of it; ``key`` the JSON key a scalar key becomes. The rules follow
go-yaml v2's ``resolve.go`` and sigs.k8s.io/yaml's ``convertToJSONableObject``, and are
checked against Helm's own reader in tests/test_yamlgo.py.
"""

from __future__ import annotations

import base64
import math
import re
import struct
from decimal import Decimal
from typing import Any

# The words go-yaml v2 resolves (go-cty-yaml, Terraform's, takes the same ones, NaN aside).
WORDS: dict[str, Any] = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
                     "on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE",
                     "off", "Off", "OFF"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
NANS = (".nan", ".NaN", ".NAN")
_MAP: dict[str, Any] = {**WORDS, **dict.fromkeys(NANS, math.nan)}
# The first character decides which rules apply (go-yaml's resolve table); any other
# first character makes a string.
NUMERIC_START = frozenset("+-0123456789")
# strconv.ParseInt(s, 0, 64): 0x / 0o / 0b prefixes, and a leading 0 means octal.
_GO_INT = re.compile(r"[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_GO_UINT = re.compile(r"(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
YAML_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
# strconv.ParseFloat on a scalar that starts with '.': underscores only between digits.
_DOT_FLOAT = re.compile(r"\.[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+(?:_[0-9]+)*)?")
INT64 = (-(2**63), 2**63 - 1)
UINT64_MAX = 2**64 - 1

_TAG = "tag:yaml.org,2002:"


class NotStorable(ValueError):
    """A value JSON (and so Kubernetes and Helm) cannot hold: a NaN or an infinity, or a
    mapping key that is null or too large for Go's int."""


def resolve(text: str) -> Any:
    """The Go value of a plain (unquoted, untagged) scalar: bool, None, int, float or str.
    Timestamps stay strings, as they do when go-yaml decodes into an interface."""
    if text in _MAP:
        return _MAP[text]
    first = text[:1]
    if first == "." and _DOT_FLOAT.fullmatch(text):
        return float(text.replace("_", ""))
    if first not in NUMERIC_START:
        return text
    plain = text.replace("_", "")  # go-yaml drops every underscore before parsing numbers
    number = _int(plain)
    if number is not None:
        return number
    if YAML_FLOAT.fullmatch(plain):
        value = float(plain)
        if not math.isinf(value):  # ParseFloat's range error: the scalar stays a string
            return value
    return text


def _int(plain: str) -> int | None:
    """ParseInt(plain, 0, 64), else ParseUint(plain, 0, 64) (no sign), else None."""
    if not _GO_INT.fullmatch(plain):
        return None
    sign = -1 if plain[0] == "-" else 1
    digits = plain.lstrip("+-")
    base = {"x": 16, "o": 8, "b": 2}.get(digits[1:2].lower(), 8 if digits[:1] == "0" else 10)
    body = digits[2:] if base != 10 and digits[1:2].isalpha() else digits
    value = sign * int(body or "0", base)
    if INT64[0] <= value <= INT64[1]:
        return value
    if _GO_UINT.fullmatch(plain) and value <= UINT64_MAX:
        return value
    return None


def tagged(tag: str, text: str) -> Any:
    """The Go value of a scalar with an explicit tag. A standard tag must fit its value
    (``!!int abc`` is an error, ``!!float 1`` is fine); any other tag leaves the text."""
    name = tag.removeprefix(_TAG) if tag.startswith(_TAG) else None
    if name in ("str", "timestamp") or name is None:
        return text
    if name == "binary":
        try:
            raw = base64.b64decode("".join(text.split()), validate=True)
        except ValueError:
            raise ValueError(f"invalid !!binary value {text!r}") from None
        return raw.decode("utf-8", "replace")  # JSON replaces bytes that are not UTF-8
    if name not in ("int", "float", "bool", "null"):
        return text
    value = resolve(text)
    kind = _kind(value)
    if kind == name or (name == "float" and kind == "int"):
        return float(value) if name == "float" else value
    raise ValueError(f"cannot decode !!{kind} {text!r} as a !!{name}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    return {int: "int", float: "float"}.get(type(value), "str")


def stored(value: Any, *, float64: bool = False) -> Any:
    """What JSON keeps of a Go scalar: an integral float is an integer (JSON has one kind
    of number and the API server reads ``1.0`` as 1); NaN and infinities are an error.
    ``float64``: Helm's values, where every number went through a float64."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, int):
        return _json_float(float(value)) if float64 and abs(value) > 2**53 else value
    if math.isnan(value) or math.isinf(value):
        raise NotStorable(f"Kubernetes and Helm cannot store {_yaml_special(value)}: "
                          "JSON has no NaN or infinity")
    return _json_float(value)


def _json_float(value: float) -> int | float:
    # Go writes the shortest digits, without an exponent below 1e21: an integer to a reader.
    if value.is_integer() and abs(value) < 1e21:
        return int(Decimal(repr(value)))
    return value


def _yaml_special(value: float) -> str:
    return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")


def key(value: Any) -> str:
    """The JSON key a scalar mapping key becomes (sigs.k8s.io/yaml): ``yes`` -> "true",
    ``0777`` -> "511", ``1e6`` -> "1e+06" (a float key is written as a float32)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        raise NotStorable("a null mapping key: Kubernetes and Helm cannot read it")
    if isinstance(value, int):
        if not INT64[0] <= value <= INT64[1]:
            raise NotStorable(f"mapping key {value} does not fit a 64-bit integer")
        return str(value)
    return _float32_g(float(value))


def _float32_g(value: float) -> str:
    """strconv.FormatFloat(value, 'g', -1, 32), with go-yaml's names for the specials."""
    if math.isnan(value):
        return ".nan"
    try:
        f32 = _f32(value)
    except OverflowError:  # beyond float32: Go converts it to an infinity
        f32 = math.copysign(math.inf, value)
    if math.isinf(f32):
        return ".inf" if f32 > 0 else "-.inf"
    if f32 == 0:
        return "-0" if math.copysign(1, f32) < 0 else "0"
    for precision in range(9):  # the shortest digits that read back as the same float32
        text = f"{f32:.{precision}e}"
        if _f32(float(text)) == f32:
            break
    mantissa, _, exp_text = text.partition("e")
    exp = int(exp_text)
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
    if exp < -4 or exp >= 6:  # %e, as 'g' with the shortest precision decides
        rest = f".{digits[1:]}" if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{rest}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    point = exp + 1
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _f32(value: float) -> float:
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result
