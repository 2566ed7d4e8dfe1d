"""What the built-in function modules share: HCL's argument conversions and the work bounds.

HCL converts arguments before a Terraform function sees them: a list mixing strings with
numbers or bools becomes a list of strings, Go wants whole numbers where it takes an int, and a
set iterates in a fixed order (strings lexically, numbers by value). The evaluator's values are
plain Python (a list stands for a list, tuple or set; a dict for a map or object), so these
helpers apply those rules to them. :func:`measure` bounds a call's work: a list can hold the
same large string many times over, so an argument's size counts every repetition.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from decimal import Decimal

from auditor.terraform.hcl_nodes import MAX_ITEMS, MAX_TEXT
from auditor.terraform.hcl_values import (
    EvalError,
    Ref,
    Stop,
    find,
    kind,
    opaque,
    to_list,
    to_num,
    to_str,
)
from auditor.unknown import Unknown

LIMIT = MAX_TEXT  # characters plus items one argument or result may have, repeats counted
_PRIMITIVE = {"string", "number", "bool"}


def too_big(what: str) -> Stop:  # failed: the engine reports an error, as bounded() does
    return Stop(Unknown(f"{what} would exceed {LIMIT:,} characters or items: not evaluated",
                        failed=True))


def measure(value: object, limit: int = LIMIT) -> int:
    """Characters plus items of ``value``, each repetition counted; Stop past ``limit``.
    Walked without recursion, and items are counted when first seen, so a list repeating a
    huge list stops at once."""
    total, todo = 0, [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, list):
            total += len(item)
            todo.extend(item)
        elif isinstance(item, dict):
            total += len(item) + sum(len(k) for k in item)
            todo.extend(item.values())
        else:
            total += 1
        if total > limit:
            raise too_big("a function argument")
    return total


def check_size(size: int, what: str) -> None:
    """Refuses a result before building it, when its size can be computed first."""
    if size > LIMIT:
        raise too_big(what)


def check_items(count: int, what: str) -> None:
    """Refuses a list or map of more items than bounded() lets through, before building it."""
    if count > MAX_ITEMS:
        raise Stop(Unknown(f"{what} would make more than {MAX_ITEMS:,} items: not evaluated",
                           failed=True))


def known_deep(value: object) -> object:
    """``value`` when nothing inside it is unknown or computed at apply time."""
    if (unknown := find(value, Unknown)) is not None:
        raise Stop(unknown)
    if (ref := find(value, Ref)) is not None:
        raise Stop(opaque(ref))
    return value


def whole(value: object, what: str) -> int:
    """A number Go reads into an int: fractions are an error."""
    n = to_num(value)
    if isinstance(n, float):
        if not n.is_integer():
            raise EvalError(f"{what} must be a whole number, got {num_text(n)}")
        return int(n)
    return n


def num_text(n: int | float) -> str:
    """A number as cty writes it (never in exponent form): 1e-07 is "0.0000001"."""
    if isinstance(n, int) or math.isnan(n):
        return str(n)
    if math.isinf(n):
        return "+Inf" if n > 0 else "-Inf"
    return format(Decimal(repr(n)), "f")


def exact(n: int | float) -> Decimal:  # cty numbers are decimal: 0.1 + 0.2 is 0.3
    return Decimal(n) if isinstance(n, int) else Decimal(repr(n))


def from_exact(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() else float(d)


def strings(value: object, what: str) -> list[str]:
    """A ``list(string)`` argument: numbers and bools convert, null is an error."""
    out = []
    for i, item in enumerate(to_list(value)):
        if item is None:
            raise EvalError(f"{what}: element {i} is null")
        out.append(to_str(item))
    return out


def unify(items: list[object], what: str) -> list[object]:
    """Items converted to HCL's common type for one list or set: strings mixed with numbers
    or bools become strings; numbers cannot mix with bools, nor primitives with collections.
    Collections inside are left as they are (their element types are not tracked)."""
    kinds = {kind(x) for x in items if x is not None and not isinstance(x, Unknown | Ref)}
    if len(kinds) <= 1:
        return items
    if kinds <= _PRIMITIVE and "string" in kinds:
        return [to_str(x) if isinstance(x, int | float) else x for x in items]  # bool is int
    if kinds & _PRIMITIVE:
        raise EvalError(f"{what}: all elements must have the same type, got "
                        f"{' and '.join(sorted(kinds))}")
    return items


def key(value: object) -> Hashable:
    """A hashable stand-in with HCL's strict equality (1 is not "1"); a computed attribute
    is equal only to itself (resource ids are unique); an unknown value stops."""
    if isinstance(value, Unknown):
        raise Stop(value)
    if isinstance(value, list):
        return ("list", tuple(key(x) for x in value))
    if isinstance(value, dict):
        return ("map", tuple((k, key(v)) for k, v in sorted(value.items())))
    return (kind(value), value)


def distinct(items: Iterable[object]) -> list[object]:  # first occurrences, in order
    seen: dict[Hashable, object] = {}
    for item in items:
        seen.setdefault(key(item), item)
    return list(seen.values())


def set_order(items: list[object]) -> list[object]:
    """A set's iteration order in cty: strings lexically, numbers by value."""
    texts = [x for x in items if isinstance(x, str)]
    if len(texts) == len(items):
        return list[object](sorted(texts))
    numbers = [x for x in items if isinstance(x, int | float) and not isinstance(x, bool)]
    if len(numbers) == len(items):
        return list[object](sorted(numbers))
    return items


def as_set(value: object, what: str) -> list[object]:
    """A ``set`` argument: a list, its elements unified and made distinct, in set order."""
    return set_order(distinct(unify(to_list(value), what)))
