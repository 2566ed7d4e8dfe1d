"""Terraform's ``format`` and ``formatlist``: Go's fmt verbs, as cty implements them.

A verb is ``%[flags][width][.precision][[argument]]mode``: ``%v`` writes a string or number as
it is and anything else (or anything with ``#``) as JSON; ``%t`` a bool; ``%b %d %o %x %X`` a
whole number; ``%e %E %f %g %G`` a number; ``%s %q`` a string, plain or JSON-quoted. Widths
and precisions count grapheme clusters for strings. Numbers are formatted through
:class:`~decimal.Decimal`, so a huge integer never overflows a float, and the result's size is
checked as it grows (``format("%999999999d", 1)`` is refused, not built).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal

from auditor.terraform.hcl_fn_common import check_size, exact, known_deep, num_text
from auditor.terraform.hcl_fn_encoding import json_text
from auditor.terraform.hcl_fn_strings import clusters
from auditor.terraform.hcl_values import EvalError, Stop, kind, known, to_bool, to_num, to_str

_VERB = re.compile(r"%(?P<flags>[-+# 0]*)(?P<width>[1-9]\d*)?(?:\.(?P<prec>\d*))?"
                   r"(?:\[(?P<arg>[1-9]\d*)\])?(?P<mode>[A-Za-z])")
_PARTIAL = re.compile(r"%[-+# 0]*(?:[1-9]\d*)?(?:\.\d*)?(?:\[[1-9]\d*\])?")
_EXPONENT = re.compile(r"([eE][+-])(\d)$")  # Go writes at least two exponent digits
_PREFIX = {"b": "0b", "o": "0", "x": "0x", "X": "0X"}


def _fill(sign: str, body: str, width: int, flags: str, zeros: bool) -> str:
    if width <= len(sign) + len(body):
        return sign + body
    if "-" in flags:
        return (sign + body).ljust(width)
    if "0" in flags and zeros:
        return sign + body.rjust(width - len(sign), "0")
    return (sign + body).rjust(width)


def _sign(negative: bool, flags: str) -> str:
    return "-" if negative else "+" if "+" in flags else " " if " " in flags else ""


def shortest(d: Decimal) -> str:
    """Go's big.Float Text('g', -1): the shortest digits, in exponent form from 1e+06."""
    if d == 0:
        return "0"
    sign, digits_t, exponent = d.normalize().as_tuple()
    digits = "".join(map(str, digits_t))
    nd, dp = len(digits), len(digits) + int(exponent)
    if dp - 1 < -4 or dp - 1 >= 6:
        mantissa = digits[0] + ("." + digits[1:] if nd > 1 else "")
        text = f"{mantissa}e{'+' if dp >= 1 else '-'}{abs(dp - 1):02d}"
    elif dp <= 0:
        text = "0." + "0" * -dp + digits
    else:
        text = digits + "0" * (dp - nd) if dp >= nd else digits[:dp] + "." + digits[dp:]
    return "-" + text if sign else text


def _integer(value: object, mode: str, flags: str, width: int, prec: int) -> str:
    n = to_num(value)
    if isinstance(n, float):
        if not n.is_integer():
            raise EvalError("an integer is required")
        n = int(n)
    digits = format(abs(n), mode)
    if prec >= 0:
        digits = ("" if prec == 0 and n == 0 else digits).rjust(prec, "0")
    prefix = _PREFIX.get(mode, "") if "#" in flags else ""
    return _fill(_sign(n < 0, flags) + prefix, digits, width, flags, prec < 0)


def _float(value: object, mode: str, flags: str, width: int, prec: int) -> str:
    n = to_num(value)
    if isinstance(n, float) and not math.isfinite(n):
        return _fill(_sign(n < 0, flags), "NaN" if math.isnan(n) else "Inf", width, flags, False)
    d = abs(exact(n))
    if mode in "gG" and prec < 0:
        body = shortest(d)
    else:
        digits = 6 if prec < 0 else prec
        check_size(digits + len(str(int(d))), "format()")
        if d == 0 and mode in "eE":  # Decimal moves a zero's exponent by the precision
            body = "0" + ("." + "0" * digits if digits else "") + "e+00"
        else:
            body = _EXPONENT.sub(r"\g<1>0\2", format(d, f".{digits}{mode}"))
    return _fill(_sign(n < 0, flags), body.upper() if mode in "EG" else body, width, flags, True)


def _text(value: object, mode: str, flags: str, width: int, prec: int) -> str:
    if isinstance(known(value), list | dict):
        raise EvalError(f"cannot convert {kind(value)} to string")
    s = num_text(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else to_str(value)
    if prec > 0:
        s = "".join(clusters(s)[:prec])
    return _pad(json_text(s) if mode == "q" else s, width, flags)


def _pad(s: str, width: int, flags: str) -> str:
    missing = width - len(clusters(s)) if width > 0 else 0
    if missing <= 0:
        return s
    pad = ("0" if "0" in flags else " ") * missing
    return s + pad if "-" in flags else pad + s


def _as_is(value: object, mode: str, flags: str, width: int, prec: int) -> str:
    if "#" not in flags and isinstance(value, str):
        return _pad(value, width, flags)
    if "#" not in flags and isinstance(value, int | float) and not isinstance(value, bool):
        return _pad(shortest(exact(value)) if math.isfinite(value) else num_text(value),
                    width, flags)
    return _pad(json_text(value), width, flags)


_MODES: dict[str, Callable[[object, str, str, int, int], str]] = {
    "v": _as_is, "t": lambda v, *_: "true" if to_bool(v) else "false",
    **dict.fromkeys("bdoxX", _integer), **dict.fromkeys("eEfgG", _float),
    **dict.fromkeys("sq", _text),
}


def _verb(m: re.Match[str], n: int, args: list[object], at: int) -> str:
    raw, mode, flags = m.group(0), m["mode"], m["flags"]
    if n > len(args):
        raise EvalError(f"not enough arguments for {raw!r} at {at}: need index {n} but have "
                        f"{len(args)} total")
    if mode not in _MODES:
        raise EvalError(f"unsupported format verb {mode!r} in {raw!r} at offset {at}")
    arg = args[n - 1]
    if mode != "v" and arg is None:
        raise EvalError(f"unsupported value for {raw!r} at {at}: null value cannot be formatted")
    width = int(m["width"]) if m["width"] else -1
    prec = -1 if m["prec"] is None else int(m["prec"] or 0)
    check_size(max(width, prec), "format()")
    try:
        return _MODES[mode](arg, mode, flags, width, prec)
    except EvalError as exc:
        raise EvalError(f"unsupported value for {raw!r} at {at}: {exc.unknown.reason}") from None


def go_format(fmt: str, args: list[object]) -> str:
    out: list[str] = []
    size, i, next_arg, highest = 0, 0, 1, 0
    while (j := fmt.find("%", i)) >= 0:
        out.append(fmt[i:j])
        if fmt.startswith("%%", j):
            piece, i = "%", j + 2
        elif m := _VERB.match(fmt, j):
            n = int(m["arg"]) if m["arg"] else next_arg
            piece, i, next_arg, highest = _verb(m, n, args, j), m.end(), n + 1, max(highest, n)
        else:
            bad = partial.end() if (partial := _PARTIAL.match(fmt, j)) else j + 1
            if bad >= len(fmt):
                raise EvalError(f"invalid format string starting at offset {j}")
            raise EvalError(f"unrecognized format character {fmt[bad]!r} at offset {bad}")
        size += len(out[-1]) + len(piece)
        check_size(size, "format()")
        out.append(piece)
    out.append(fmt[i:])
    if highest < len(args):
        raise EvalError("too many arguments; no verbs in format string" if highest == 0 else
                        f"too many arguments; only {highest} used by format string")
    return "".join(out)


def _format(fmt: object, *args: object) -> str:
    return go_format(to_str(fmt), [known_deep(a) for a in args])


def _formatlist(fmt: object, *args: object) -> list[object]:
    text = to_str(fmt)
    lengths = {len(a) for a in map(known, args) if isinstance(a, list)}
    if len(lengths) > 1:
        raise EvalError(f"formatlist(): the list arguments have different lengths "
                        f"{sorted(lengths)}")
    rows = lengths.pop() if lengths else 1
    check_size(rows * len(text), "formatlist()")
    out: list[object] = []
    for row in range(rows):
        values = [a[row] if isinstance(a, list) else a for a in args]
        try:
            out.append(go_format(text, [known_deep(v) for v in values]))
        except EvalError as exc:
            raise EvalError(f"error on format iteration {row}: {exc.unknown.reason}") from None
        except Stop as stop:  # one unknown element: only its string is unknown
            out.append(stop.unknown)
    return out


FUNCTIONS: dict[str, Callable[..., object]] = {"format": _format, "formatlist": _formatlist}
