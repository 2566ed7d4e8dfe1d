"""The built-in functions the evaluator folds offline, and the node for a call.

Only functions whose result depends on nothing but their arguments are listed; any other name
becomes :class:`Unknown` rather than a guess. ``try()`` and ``can()`` are not in the table
because they must see their arguments fail: they get the argument nodes instead of values.
Each function converts its arguments the way HCL does (see :mod:`hcl_values`) and raises
``EvalError`` for a genuine error or ``Stop`` when an argument is not known.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from auditor.terraform.hcl_nodes import Node, bounded, guard, mk, unknown
from auditor.terraform.hcl_values import (
    EvalError,
    Ref,
    Scope,
    Stop,
    equal,
    kind,
    known,
    norm,
    same,
    to_bool,
    to_list,
    to_map,
    to_num,
    to_str,
)
from auditor.unknown import Unknown


def _format(fmt: object, *args: object) -> str:
    values = list(args)

    def verb(m: re.Match[str]) -> str:
        if m.group(1) == "%":
            return "%"
        if m.group(1) not in ("s", "d", "v"):
            raise Stop(Unknown(f"format verb %{m.group(1)} is not evaluated offline"))
        if not values:
            raise EvalError("format(): not enough arguments")
        if m.group(1) != "d":
            return to_str(values.pop(0))
        if not isinstance(n := to_num(values.pop(0)), int):
            raise EvalError(f"format(): %d needs a whole number, got {n}")
        return str(n)
    return re.sub(r"%(.?)", verb, to_str(fmt))


def _lookup(table: object, key: object, *default: object) -> object:
    m, k = to_map(table), to_str(key)
    if k in m:
        return m[k]
    if default:
        return default[0]
    raise EvalError(f"lookup(): key {k!r} not found and no default given")


def _coalesce(*args: object) -> object:
    for v in args:
        if isinstance(v, Unknown):  # it might have been the first non-empty value
            raise Stop(v)
        if v is not None and v != "":
            return v
    raise EvalError("coalesce(): no non-null, non-empty argument")


def _contains(items: object, value: object) -> bool:
    pending: Stop | None = None  # an unknown element only matters if nothing else matches
    for item in to_list(items):
        try:
            if equal(item, value):
                return True
        except Stop as stop:
            pending = stop
    if pending is not None:
        raise pending
    return False


def _distinct(items: object) -> list[object]:
    out: list[object] = []
    for item in to_list(items):
        if not any(same(item, seen) for seen in out):
            out.append(item)
    return out


def _flatten(items: object) -> list[object]:
    out: list[object] = []
    for item in to_list(items):
        if isinstance(item, Unknown):  # it could be a list, so the shape is unknown
            raise Stop(item)
        out.extend(_flatten(item) if isinstance(item, list) else [item])  # Refs: assumed scalar
    return out


def _replace(s: object, old: object, new: object) -> str:
    if len(o := to_str(old)) > 1 and o.startswith("/") and o.endswith("/"):
        raise Stop(Unknown("replace() with a regular expression is not evaluated offline"))
    return to_str(s).replace(o, to_str(new))


def _element(items: object, index: object) -> object:
    lst, i = to_list(items), to_num(index)
    if not lst or not isinstance(i, int):
        raise EvalError("element(): needs a non-empty list and a whole-number index")
    return lst[i % len(lst)]


def _toset(items: list[object]) -> list[object]:  # Terraform iterates string sets in order
    return sorted(items, key=str) if all(isinstance(x, str) for x in items) else items


def _length(v: object) -> int:
    if isinstance(v := known(v), list | dict | str):
        return len(v)
    raise EvalError(f"length(): cannot take the length of a {kind(v)}")


FUNCTIONS: dict[str, Callable[..., object]] = {
    "lookup": _lookup, "coalesce": _coalesce, "contains": _contains, "format": _format,
    "merge": lambda *ms: {k: v for m in ms if m is not None for k, v in to_map(m).items()},
    "concat": lambda *ls: [x for lst in ls for x in to_list(lst)],
    "join": lambda sep, *ls: to_str(sep).join(to_str(x) for lst in ls for x in to_list(lst)),
    "split": lambda sep, s: to_str(s).split(to_str(sep)),
    "lower": lambda s: to_str(s).lower(), "upper": lambda s: to_str(s).upper(),
    "trimspace": lambda s: to_str(s).strip(), "replace": _replace,
    "tostring": lambda v: None if v is None else to_str(v),
    "tonumber": lambda v: None if v is None else to_num(v),
    "tobool": lambda v: None if v is None else to_bool(v),
    "tolist": to_list, "length": _length, "element": _element,
    "toset": lambda v: _toset(_distinct(v)),
    "max": lambda *ns: norm(max(to_num(n) for n in ns)),
    "min": lambda *ns: norm(min(to_num(n) for n in ns)),
    "keys": lambda m: sorted(to_map(m)),
    "values": lambda m: [to_map(m)[k] for k in sorted(to_map(m))],
    "distinct": _distinct, "flatten": _flatten,
}


def _try(args: list[Node]) -> Node:  # the first argument that evaluates to a known value
    def run(s: Scope) -> object:
        reasons = []
        for a in args:
            if not isinstance(v := guard(a, s), Unknown):
                return v
            reasons.append(v.reason)
        raise Stop(Unknown(f"no try() argument could be evaluated: {'; '.join(reasons)}"))
    return mk(run, *args)


def _can(arg: Node) -> Node:  # false only for a real error: an unknown value stays unknown
    def run(s: Scope) -> object:
        try:
            value = arg.run(s)
        except EvalError:
            return False
        if isinstance(value, Unknown):
            raise Stop(value)
        if isinstance(value, Ref):  # only known at apply time: whether it errors is too
            raise Stop(Unknown(f"can({value}) is only known after apply", ref=str(value)))
        return True
    return mk(run, arg)


def call(name: str, args: list[Node], expand: bool) -> Node:  # expand: f(a, list...)
    if name == "try":
        return _try(args)
    if name == "can":
        if len(args) != 1 or expand:
            return unknown("can() takes exactly one argument")
        return _can(args[0])
    if name not in FUNCTIONS:
        return unknown(f"function {name}() is not evaluated offline")
    fn = FUNCTIONS[name]

    def run(s: Scope) -> object:
        values = [a.run(s) for a in args]
        if expand:  # spreads the last argument
            values[-1:] = to_list(values[-1])
        for value in values:  # a join of huge arguments would build the huge value first
            bounded(value)
        try:
            return bounded(fn(*values))
        except (TypeError, ValueError, IndexError, KeyError, OverflowError) as exc:
            raise EvalError(f"invalid call to {name}(): {exc}") from None
    return mk(run, *args)
