"""Terraform's numeric functions: abs, ceil, floor, log, max, min, parseint, pow, signum, sum.

cty numbers are arbitrary-precision decimals; the evaluator's are Python ints and floats, so
``sum`` adds exactly (0.1 + 0.2 is 0.3, as in Terraform) and ``log``/``pow`` use float
arithmetic as Terraform's Go code does (math.Log, math.Pow), infinities included. A result
that is not a number is an error, as there.
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable

from auditor.terraform.hcl_fn_common import exact, from_exact, too_big, whole
from auditor.terraform.hcl_values import EvalError, norm, to_list, to_num, to_str

_DIGITS = string.digits + string.ascii_lowercase + string.ascii_uppercase
_MAX_DIGITS = 4300  # Python's own cap on decimal text; a longer integer is not config


def _ln(x: float) -> float:  # Go's math.Log: log(0) is -Inf, a negative number gives NaN
    if x == 0:
        return -math.inf
    return math.nan if x < 0 else math.log(x)


def _number(x: float) -> int | float:
    if math.isnan(x):
        raise EvalError("result is not a number")
    return norm(x)


def _log(num: object, base: object) -> int | float:
    return _number(_ln(float(to_num(num))) / _ln(float(to_num(base))))


def _pow(num: object, power: object) -> int | float:
    try:
        return _number(math.pow(float(to_num(num)), float(to_num(power))))
    except OverflowError:
        return math.inf
    except ValueError:  # a negative number to a fractional power
        raise EvalError("result is not a number") from None


def _rounded(fn: Callable[[float], int]) -> Callable[[object], int | float]:
    def run(value: object) -> int | float:
        n = to_num(value)
        return n if isinstance(n, int) or math.isinf(n) else fn(n)
    return run


def _signum(value: object) -> int:
    n = to_num(value)
    return (n > 0) - (n < 0)


def _extreme(pick: Callable[..., int | float], name: str) -> Callable[..., object]:
    def run(*values: object) -> object:
        if not values:
            raise EvalError(f"{name}(): must pass at least one number")
        return norm(pick(to_num(v) for v in values))
    return run


def _parseint(text: object, base: object) -> int:
    s, b = to_str(text), whole(base, "base")
    if not 2 <= b <= 62:
        raise EvalError("base must be a whole number between 2 and 62 inclusive")
    if len(s) > _MAX_DIGITS:  # digit by digit is quadratic in the length
        raise too_big("parseint()")
    digits = s[1:] if s[:1] in "+-" else s
    # Go's big.Int: case does not matter up to base 36; above, A-Z are 36 to 61.
    table = _DIGITS if b > 36 else _DIGITS[:36]
    value = 0
    for ch in digits if b > 36 else digits.lower():
        d = table.find(ch)
        if d < 0 or d >= b:
            value = -1
            break
        value = value * b + d
    if not digits or value < 0:
        raise EvalError(f"cannot parse {s!r} as a base {b} integer")
    return -value if s.startswith("-") else value


def _sum(items: object) -> int | float:
    values = to_list(items)
    if not values:
        raise EvalError("cannot sum an empty list")
    if any(v is None for v in values):
        raise EvalError("argument must be list, set, or tuple of number values")
    numbers = [to_num(v) for v in values]
    if any(isinstance(n, float) and not math.isfinite(n) for n in numbers):
        total = math.fsum(numbers)
        if math.isnan(total):
            raise EvalError("can't compute sum of opposing infinities")
        return total
    return from_exact(sum((exact(n) for n in numbers), exact(0)))


FUNCTIONS: dict[str, Callable[..., object]] = {
    "abs": lambda n: norm(abs(to_num(n))),
    "ceil": _rounded(math.ceil), "floor": _rounded(math.floor),
    "log": _log, "pow": _pow, "signum": _signum, "parseint": _parseint, "sum": _sum,
    "max": _extreme(max, "max"), "min": _extreme(min, "min"),
}
