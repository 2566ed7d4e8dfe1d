"""Terraform's type conversion functions: tostring, tonumber, tobool, tolist, toset, tomap,
and sensitive/nonsensitive.

A null converts to null. A computed attribute (:class:`Ref`) passes through ``tostring`` and
the sensitivity functions unchanged, since it still names the same resource. Sensitivity is a
mark the evaluator does not track: ``sensitive`` and ``nonsensitive`` return their argument
(``issensitive`` is unknown, see :mod:`hcl_functions`). ``list()`` and ``map()`` were removed
from Terraform in v0.12 and are errors, as there.
"""

from __future__ import annotations

from collections.abc import Callable

from auditor.terraform.hcl_fn_common import as_set, unify
from auditor.terraform.hcl_values import EvalError, Ref, kind, known, to_bool, to_num, to_str


def _tostring(value: object) -> object:
    if value is None or isinstance(value, Ref):
        return value
    if isinstance(known(value), list | dict):
        raise EvalError(f"cannot convert {kind(value)} to string")
    return to_str(value)


def _tonumber(value: object) -> object:
    if value is None:
        return None
    if isinstance(known(value), bool) or not isinstance(value, int | float | str):
        raise EvalError(f"cannot convert {kind(value)} to number")
    try:
        return to_num(value)
    except EvalError:
        raise EvalError(f"cannot convert {value!r} to number; given string must be a decimal "
                        "representation of a number") from None


def _tobool(value: object) -> object:
    if value is None:
        return None
    if isinstance(known(value), str) and value not in ("true", "false"):
        raise EvalError(f'cannot convert {value!r} to bool; only the strings "true" or '
                        '"false" are allowed')
    if not isinstance(value, bool | str):
        raise EvalError(f"cannot convert {kind(value)} to bool")
    return to_bool(value)


def _tolist(value: object) -> object:
    if value is None:
        return None
    if not isinstance(items := known(value), list):
        raise EvalError(f"cannot convert {kind(value)} to list")
    return unify(items, "tolist()")


def _toset(value: object) -> object:
    if value is None:
        return None
    if not isinstance(known(value), list):
        raise EvalError(f"cannot convert {kind(value)} to set")
    return as_set(value, "toset()")


def _tomap(value: object) -> object:
    if value is None:
        return None
    if not isinstance(table := known(value), dict):
        raise EvalError(f"cannot convert {kind(value)} to map")
    return dict(zip(table, unify(list(table.values()), "tomap()"), strict=True))


def _removed(name: str, syntax: str) -> Callable[..., object]:
    def fail(*_args: object) -> object:
        raise EvalError(f'the "{name}" function was deprecated in Terraform v0.12 and is no '
                        f"longer available; use {syntax} syntax to write a literal {name}")
    return fail


FUNCTIONS: dict[str, Callable[..., object]] = {
    "tostring": _tostring, "tonumber": _tonumber, "tobool": _tobool,
    "tolist": _tolist, "toset": _toset, "tomap": _tomap,
    "sensitive": lambda v: v, "nonsensitive": lambda v: v,
    "list": _removed("list", "tolist([ ... ])"), "map": _removed("map", "tomap({ ... })"),
}
