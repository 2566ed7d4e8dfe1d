"""Terraform's map and set functions: keys, values, lookup, merge, zipmap, transpose,
matchkeys, setintersection, setproduct, setsubtract, setunion.

Maps iterate by key, as cty's do. Sets are lists here: the set functions unify their
elements' type across all arguments (``setintersection(["a", 3], ["3"])`` compares strings),
drop duplicates and return them in cty's set order. ``setproduct`` keeps its arguments'
order and refuses a product larger than the evaluator's bound before building it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from auditor.terraform.hcl_fn_common import check_items, check_size, key, set_order, strings, unify
from auditor.terraform.hcl_values import EvalError, equal, kind, known, to_list, to_map, to_str


def _lookup(table: object, name: object, *default: object) -> object:
    if len(default) > 1:
        raise EvalError(f"lookup() takes two or three arguments, got {2 + len(default)}")
    m, k = to_map(table), to_str(name)
    if k in m:
        return m[k]
    if default:
        return default[0]
    raise EvalError(f"lookup(): key {k!r} not found and no default given")


def _merge(*maps: object) -> dict[str, object]:
    out: dict[str, object] = {}
    for m in maps:
        if isinstance(table := known(m), dict):
            out.update(table)
        elif table is not None:  # null arguments are skipped, as in Terraform
            raise EvalError(f"arguments must be maps or objects, got {kind(table)}")
    return out


def _zipmap(keys: object, values: object) -> dict[str, object]:
    names, items = strings(keys, "zipmap(): keys"), to_list(values)
    if len(names) != len(items):
        raise EvalError(f"number of keys ({len(names)}) does not match number of values "
                        f"({len(items)})")
    return dict(zip(names, items, strict=True))


def _transpose(table: object) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for outer, inner in to_map(table).items():
        if inner is None:
            raise EvalError("transpose(): input must not contain null list")
        for value in strings(inner, "transpose(): input list"):
            out.setdefault(value, []).append(outer)
    return {k: sorted(v) for k, v in sorted(out.items())}


def _matchkeys(values: object, keys: object, searchset: object) -> list[object]:
    picked = unify(to_list(values), "matchkeys(): values")
    names, wanted = to_list(keys), to_list(searchset)
    if len(picked) != len(names):
        raise EvalError("length of keys and values should be equal")
    names_and_wanted = unify([*names, *wanted], "matchkeys(): keys and searchset")
    names, wanted = names_and_wanted[:len(names)], names_and_wanted[len(names):]
    return [v for v, k in zip(picked, names, strict=True)
            if wanted and any(equal(k, w) for w in wanted)]


def _sets(args: tuple[object, ...], name: str, least: int) -> list[list[object]]:
    """The arguments as sets of one common element type, duplicates dropped."""
    if len(args) < least:
        need = "one argument is" if least == 1 else "two arguments are"
        raise EvalError(f"{name}(): at least {need} required")
    lists = [to_list(a) for a in args]
    flat = unify([x for lst in lists for x in lst], f"{name}()")
    out, at = [], 0
    for lst in lists:
        out.append(list({key(x): x for x in flat[at:at + len(lst)]}.values()))
        at += len(lst)
    return out


def _setunion(*args: object) -> list[object]:
    merged = {key(x): x for s in _sets(args, "setunion", 1) for x in s}
    return set_order(list(merged.values()))


def _setintersection(*args: object) -> list[object]:
    first, *rest = _sets(args, "setintersection", 1)
    others = [{key(x) for x in s} for s in rest]
    return set_order([x for x in first if all(key(x) in o for o in others)])


def _setsubtract(a: object, b: object) -> list[object]:
    first, second = _sets((a, b), "setsubtract", 2)
    drop = {key(x) for x in second}
    return set_order([x for x in first if key(x) not in drop])


def _setproduct(*args: object) -> list[object]:
    if len(args) < 2:
        raise EvalError("setproduct(): at least two arguments are required")
    lists = [unify(to_list(a), "setproduct()") for a in args]
    rows_count = math.prod(len(lst) for lst in lists)
    check_items(rows_count, "setproduct()")
    check_size(rows_count * len(lists), "setproduct()")
    rows: list[list[object]] = [[]]
    for lst in lists:
        rows = [[*row, x] for row in rows for x in lst]
    return list[object](rows)


FUNCTIONS: dict[str, Callable[..., object]] = {
    "keys": lambda m: sorted(to_map(m)),
    "values": lambda m: [to_map(m)[k] for k in sorted(to_map(m))],
    "lookup": _lookup, "merge": _merge, "zipmap": _zipmap, "transpose": _transpose,
    "matchkeys": _matchkeys, "setunion": _setunion, "setintersection": _setintersection,
    "setsubtract": _setsubtract, "setproduct": _setproduct,
}
