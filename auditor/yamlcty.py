"""Scalars as Terraform's ``yamldecode`` reads them (go-cty-yaml), not as YAML 1.1 does.

go-cty-yaml starts from go-yaml v2's rules (``y``/``yes``/``on`` are booleans, ``~`` null)
but makes its own choices: quoted scalars are always strings; integers are decimal, ``0o``
or ``0x`` (``0777`` is 777, ``1_000`` a string unless tagged); ``.inf`` is a number and
``.nan`` an error; a timestamp becomes an RFC 3339 string (``2001-12-14`` is
``2001-12-14T00:00:00Z``, fractions of a second dropped); mapping keys must be strings; an
unknown tag is an error. The rules follow go-cty-yaml's ``resolve.go``; the tests take its
own test table (``decode_test.go``).
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from auditor.yamlgo import NANS, NUMERIC_START, WORDS, YAML_FLOAT

_TAG = "tag:yaml.org,2002:"
_INTEGER = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
# go-yaml's timestamp layouts: "2006-1-2T15:4:5.999999999Z07:00" (T or t), the same with a
# space and no zone, and a date alone.
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:(?P<sep>[Tt ])(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d{1,9})?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?")


def plain(text: str) -> Any:
    """The value of a plain (unquoted, untagged) scalar."""
    if text in WORDS:
        return WORDS[text]
    if text in NANS:
        raise ValueError("floating point NaN is not supported")
    first = text[:1]
    if first == "." and YAML_FLOAT.fullmatch(text):
        return _number(text)
    if first not in NUMERIC_START:
        return text
    stamp = timestamp(text)
    if stamp is not None:
        return stamp
    if _INTEGER.fullmatch(text) or YAML_FLOAT.fullmatch(text):
        return _parse_number(text, text)
    return text


def tagged(tag: str, text: str) -> Any:
    """The value of a scalar with an explicit standard tag; any other tag is an error."""
    name = tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag
    if name in ("str", "!"):
        return text
    if name == "binary":  # kept as its base64 text (cty has no bytes), checked
        try:
            base64.b64decode(text, validate=True)
        except ValueError:
            raise ValueError(f"cannot parse {text!r} as !!binary: not valid base64") from None
        return text
    if name == "bool":
        if not isinstance(WORDS.get(text), bool):
            raise ValueError(f"cannot parse {text!r} as !!bool")
        return WORDS[text]
    if name in ("int", "float"):
        return _parse_number(text, f"{text!r} as !!{name}")
    if name == "timestamp":
        stamp = timestamp(text)
        if stamp is None:
            raise ValueError(f"cannot parse {text!r} as !!timestamp")
        return stamp
    if name == "null":
        return None
    if name == "merge":  # `<<` where a value goes: the text
        return text
    raise ValueError(f"unsupported tag {tag!r}")


def _parse_number(text: str, what: str) -> int | float:
    plain_text = text.replace("_", "")
    if YAML_FLOAT.fullmatch(plain_text):  # cty parses decimals first
        return _number(plain_text)
    sign = -1 if plain_text[:1] == "-" else 1
    digits = plain_text.lstrip("+-")
    base = {"0x": 16, "0o": 8, "0b": 2}.get(digits[:2].lower())
    try:
        if base is not None:  # strconv.ParseInt(s, 0, 64) after the decimal parse failed
            return sign * int(digits[2:], base)
    except ValueError:
        pass
    raise ValueError(f"cannot parse {what}")


def _number(text: str) -> int | float:
    if re.fullmatch(r"[-+]?[0-9]+", text):
        return int(text)
    return float(text)


def timestamp(text: str) -> str | None:
    """An RFC 3339 string for a YAML timestamp (as Go's ``t.Format(time.RFC3339)``: whole
    seconds, ``Z`` for UTC), None when ``text`` is not one."""
    m = _TIMESTAMP.fullmatch(text)
    if not m:
        return None
    sep, zone = m.group("sep"), m.group("zone")
    if (sep in ("T", "t") and zone is None) or (sep == " " and zone is not None):
        return None  # the layouts: a T needs a zone, a space has none
    year, month, day = (int(m.group(i)) for i in (1, 2, 3))
    hour, minute, second = ((int(m.group(i)) for i in (5, 6, 7)) if sep else (0, 0, 0))
    tz = UTC
    if zone and zone != "Z":
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        tz = timezone(offset if zone[0] == "+" else -offset)
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:
        return None
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.utcoffset() == timedelta(0):
        return text + "Z"
    zone_text = moment.strftime("%z")
    return f"{text}{zone_text[:3]}:{zone_text[3:]}"
