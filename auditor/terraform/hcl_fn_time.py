"""Terraform's pure date and time functions: formatdate, timeadd, timecmp.

They take their timestamps as arguments (RFC 3339, parsed strictly as Terraform does), so
their results do not depend on when the audit runs; ``timestamp()`` and ``plantimestamp()``
do, and are unknown offline (see :mod:`hcl_functions`). A time is kept as whole nanoseconds
since the epoch plus its UTC offset, so ``timeadd`` is exact to the nanosecond like Go's.
``formatdate`` follows cty's verbs: ``h`` is the 24-hour clock and ``H`` the 12-hour one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from auditor.terraform.hcl_values import EvalError, to_str

_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?"
                      r"(?:(Z)|([+-])(\d{2}):(\d{2}))")
_DURATION = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
          "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_MAX_NS = 2**63 - 1  # Go's time.Duration is an int64 of nanoseconds
_TOKEN = re.compile(r"'(?:[^']|'')*'?|([A-Za-z])\1*|[^'A-Za-z]+")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # English, whatever the locale
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _parse(value: object) -> tuple[int, int]:
    """(nanoseconds since the epoch, UTC offset in minutes) of an RFC 3339 timestamp."""
    text = to_str(value)
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise EvalError(f"not a valid RFC3339 timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    offset = 0 if m[8] else (int(m[10]) * 60 + int(m[11])) * (-1 if m[9] == "-" else 1)
    try:
        moment = datetime(year, month, day, hour, minute, second,
                          tzinfo=timezone(timedelta(minutes=offset)))
    except ValueError as exc:
        raise EvalError(f"not a valid RFC3339 timestamp: {text!r}: {exc}") from None
    fraction = int((m[7] or ".0")[1:10].ljust(9, "0"))
    return ((moment - _EPOCH) // timedelta(seconds=1) * 10**9 + fraction, offset)


def _local(ns: int, offset: int) -> datetime:
    zone = timezone(timedelta(minutes=offset))
    try:
        return _EPOCH.astimezone(zone) + timedelta(microseconds=ns // 1000)
    except OverflowError:
        raise EvalError("the resulting time is out of range") from None


def _zone(offset: int, colon: bool) -> str:
    sign, minutes = ("-" if offset < 0 else "+"), abs(offset)
    return f"{sign}{minutes // 60:02d}{':' if colon else ''}{minutes % 60:02d}"


def _duration(value: object) -> int:
    """Go's time.ParseDuration, in nanoseconds: "1h30m", "-10m", "1.5s", "0"."""
    text = to_str(value)
    sign, body = (-1, text[1:]) if text.startswith("-") else (1, text.removeprefix("+"))
    if body == "0":
        return 0
    pos, total = 0, Decimal(0)
    while pos < len(body) and (m := _DURATION.match(body, pos)) and m[1] not in ("", "."):
        try:
            total += Decimal(m[1]) * _UNITS[m[2]]
        except InvalidOperation:
            break
        pos = m.end()
    if not body or pos != len(body):
        raise EvalError(f"time: invalid duration {text!r}")
    if total > _MAX_NS:
        raise EvalError(f"time: invalid duration {text!r}")
    return sign * int(total)


def _timeadd(timestamp: object, duration: object) -> str:
    ns, offset = _parse(timestamp)
    moment = _local(ns + _duration(duration), offset)
    zone = "Z" if offset == 0 else _zone(offset, True)
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}{zone}"


def _timecmp(a: object, b: object) -> int:
    x, y = _parse(a)[0], _parse(b)[0]
    return (x > y) - (x < y)


def _verb(t: datetime, offset: int, tok: str) -> str:
    letter, n = tok[0], len(tok)
    twelve = t.hour % 12 or 12
    table: dict[tuple[str, int], str] = {
        ("Y", 2): f"{t.year % 100:02d}", ("Y", 4): f"{t.year:04d}",
        ("M", 1): str(t.month), ("M", 2): f"{t.month:02d}",
        ("M", 3): _MONTHS[t.month - 1][:3], ("M", 4): _MONTHS[t.month - 1],
        ("D", 1): str(t.day), ("D", 2): f"{t.day:02d}",
        ("E", 3): _DAYS[t.weekday()][:3], ("E", 4): _DAYS[t.weekday()],
        ("h", 1): str(t.hour), ("h", 2): f"{t.hour:02d}",
        ("H", 1): str(twelve), ("H", 2): f"{twelve:02d}",
        ("A", 2): "AM" if t.hour < 12 else "PM", ("a", 2): "am" if t.hour < 12 else "pm",
        ("m", 1): str(t.minute), ("m", 2): f"{t.minute:02d}",
        ("s", 1): str(t.second), ("s", 2): f"{t.second:02d}",
        ("Z", 1): "Z" if offset == 0 else _zone(offset, True),
        ("Z", 3): "UTC" if offset == 0 else _zone(offset, False),
        ("Z", 4): _zone(offset, False), ("Z", 5): _zone(offset, True),
    }
    if (letter, n) not in table:
        raise EvalError(f"invalid date format verb {tok!r}")
    return table[letter, n]


def _formatdate(spec: object, timestamp: object) -> str:
    fmt = to_str(spec)
    ns, offset = _parse(timestamp)
    moment, out = _local(ns, offset), []
    for m in _TOKEN.finditer(fmt):
        tok = m.group(0)
        if tok.startswith("'"):
            if len(tok) == 1 or not tok.endswith("'"):
                raise EvalError("unterminated literal '")
            out.append("'" if tok == "''" else tok[1:-1].replace("''", "'"))
        elif tok[0].isascii() and tok[0].isalpha():
            out.append(_verb(moment, offset, tok))
        else:
            out.append(tok)
    return "".join(out)


FUNCTIONS: dict[str, Callable[..., object]] = {
    "formatdate": _formatdate, "timeadd": _timeadd, "timecmp": _timecmp,
}
