"""Terraform's list functions: alltrue, anytrue, chunklist, coalesce, coalescelist, compact,
concat, contains, distinct, element, flatten, index, length, one, range, reverse, slice, sort.

Lists may hold unknown elements: a function that only moves elements (concat, slice, reverse)
keeps them, one that must look at them stops. A computed attribute (:class:`Ref`) is a
non-null, non-empty value, so ``compact`` and ``coalesce`` keep security group ids that are
only known after apply. ``range`` keeps Terraform's own cap of 1,024 values.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from auditor.terraform.hcl_fn_common import (
    check_items,
    distinct,
    exact,
    from_exact,
    strings,
    unify,
    whole,
)
from auditor.terraform.hcl_fn_strings import text_length
from auditor.terraform.hcl_values import (
    EvalError,
    Ref,
    Stop,
    equal,
    kind,
    known,
    to_bool,
    to_list,
    to_num,
)
from auditor.unknown import Unknown

MAX_RANGE = 1024  # Terraform refuses longer ranges itself


def _alltrue(items: object) -> bool:
    # In order, as in Go: an unknown before any false stops, a false or a null is false.
    return all(item is not None and to_bool(item) for item in to_list(items))


def _anytrue(items: object) -> bool:
    pending: Stop | None = None
    for item in to_list(items):
        try:
            if item is not None and to_bool(item):
                return True
        except Stop as stop:
            if isinstance(stop, EvalError):
                raise
            pending = stop
    if pending is not None:
        raise pending
    return False


def _coalesce(*args: object) -> object:
    values = unify(list(args), "coalesce()")
    for v in values:
        if isinstance(v, Unknown):  # it might have been the first non-empty value
            raise Stop(v)
        if v is not None and v != "":
            return v
    raise EvalError("coalesce(): no non-null, non-empty-string arguments")


def _coalescelist(*lists: object) -> object:
    if not lists:
        raise EvalError("coalescelist(): at least one argument is required")
    for lst in lists:
        if lst is not None and to_list(lst):
            return lst
    raise EvalError("coalescelist(): no non-null arguments")


def _compact(items: object) -> list[object]:
    out: list[object] = []
    for v in to_list(items):
        if isinstance(v, Unknown):  # it could be "" or null
            raise Stop(v)
        if v is not None and v != "":
            out.append(v if isinstance(v, Ref) else strings([v], "compact()")[0])
    return out


def _concat(*lists: object) -> list[object]:
    if not lists:
        raise EvalError("concat(): at least one argument is required")
    parts = [to_list(lst) for lst in lists]
    check_items(sum(map(len, parts)), "concat()")
    return [x for part in parts for x in part]


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


def _chunklist(items: object, size: object) -> list[object]:
    lst, n = unify(to_list(items), "chunklist()"), whole(size, "chunklist(): size")
    if n < 0:
        raise EvalError("chunklist(): the size argument must be positive")
    if n == 0 or not lst:
        return [lst] if lst else []
    return [lst[i:i + n] for i in range(0, len(lst), n)]


def _element(items: object, index: object) -> object:
    lst, i = to_list(items), whole(index, "element(): index")
    if not lst:
        raise EvalError("cannot use element function with an empty list")
    return lst[i % len(lst)]  # Python's % wraps a negative index as Go's code does


def _flatten(items: object) -> list[object]:
    out: list[object] = []
    for item in to_list(items):
        if isinstance(item, Unknown):  # it could be a list, so the shape is unknown
            raise Stop(item)
        out.extend(_flatten(item) if isinstance(item, list) else [item])  # Refs: assumed scalar
        check_items(len(out), "flatten()")
    return out


def _index(items: object, value: object) -> int:
    lst = to_list(items)
    if not lst:
        raise EvalError("cannot search an empty list")
    for i, item in enumerate(lst):
        if equal(item, value):
            return i
    raise EvalError("item not found")


def _length(value: object) -> int:
    if isinstance(v := known(value), list | dict):
        return len(v)
    if isinstance(v, str):
        return text_length(v)
    raise EvalError(f"length(): argument must be a string, a collection type, or a structural "
                    f"type, got {kind(v)}")


def _one(items: object) -> object:
    lst = to_list(items)
    if len(lst) > 1:
        raise EvalError("must be a list, set, or tuple value with either zero or one elements")
    return lst[0] if lst else None


def _range(*args: object) -> list[object]:
    if not 1 <= len(args) <= 3:
        raise EvalError("range(): must have one, two, or three arguments")
    nums = [exact(to_num(a)) for a in args]
    start, end = (Decimal(0), nums[0]) if len(nums) == 1 else (nums[0], nums[1])
    step = nums[2] if len(nums) == 3 else Decimal(-1 if end < start else 1)
    if step == 0:
        raise EvalError("range(): step must not be zero")
    if (step < 0 and end > start) or (step > 0 and end < start):
        raise EvalError("range(): end must be " + ("less" if step < 0 else "greater")
                        + " than start when step is " + ("negative" if step < 0 else "positive"))
    out: list[object] = []
    while (start > end) if step < 0 else (start < end):
        if len(out) >= MAX_RANGE:
            raise EvalError("more than 1024 values were generated; either decrease the "
                            "difference between start and end or use a smaller step")
        out.append(from_exact(start))
        start += step
    return out


def _slice(items: object, start: object, end: object) -> list[object]:
    lst, a, b = to_list(items), whole(start, "start index"), whole(end, "end index")
    for what, i in (("start", a), ("end", b)):
        if i < 0:
            raise EvalError(f"slice(): {what} index must not be less than zero")
        if i > len(lst):
            raise EvalError(f"slice(): {what} index must not be greater than the length of "
                            "the list")
    if a > b:
        raise EvalError("slice(): start index must not be greater than end index")
    return lst[a:b]


def _sort(items: object) -> list[str]:
    return sorted(strings(items, "sort()"))  # code points: the order of Go's UTF-8 bytes


FUNCTIONS: dict[str, Callable[..., object]] = {
    "alltrue": _alltrue, "anytrue": _anytrue, "chunklist": _chunklist,
    "coalesce": _coalesce, "coalescelist": _coalescelist, "compact": _compact,
    "concat": _concat, "contains": _contains,
    "distinct": lambda v: distinct(unify(to_list(v), "distinct()")),
    "element": _element, "flatten": _flatten, "index": _index, "length": _length,
    "one": _one, "range": _range, "reverse": lambda v: to_list(v)[::-1], "slice": _slice,
    "sort": _sort,
}
