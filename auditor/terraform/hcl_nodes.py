"""The compiled form of an HCL expression: closures over a :class:`Scope`.

The parser does not build an AST; each grammar rule calls one of the builders here, which
returns a :class:`Node` wrapping a closure that computes the value when given a scope. Closures
make laziness free where HCL needs it (only the chosen branch of ``?:`` runs, ``&&``/``||``
and list elements tolerate an unknown operand), and a compiled string can be cached and rerun
against any scope. Every node records its depth, so a tree deeper than ``MAX_DEPTH`` is
refused while it is being built rather than overflowing the stack when it runs.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from auditor.terraform.hcl_values import (
    MAX_DEPTH,
    EvalError,
    ParseError,
    Ref,
    Scope,
    Stop,
    equal,
    kind,
    known,
    norm,
    opaque,
    to_bool,
    to_num,
    to_str,
)
from auditor.unknown import Unknown


@dataclass(frozen=True)
class Node:
    run: Callable[[Scope], object]  # raises Stop when the value cannot be known
    depth: int


def mk(run: Callable[[Scope], object], *kids: Node) -> Node:
    depth = 1 + max((k.depth for k in kids), default=0)
    if depth > MAX_DEPTH:
        raise ParseError("expression is nested too deeply")
    return Node(run, depth)


def const(value: object) -> Node:
    return Node(lambda _s: value, 1)


def unknown(reason: str) -> Node:  # a construct we recognise but do not evaluate offline
    def run(_s: Scope) -> object:
        raise Stop(Unknown(reason))
    return Node(run, 1)


MAX_TEXT = 2**20  # characters of one value: a string doubled forty times is not config
MAX_ITEMS = 100_000  # items of one list or map


def bounded(value: object) -> object:
    """``value``, or Stop when it is larger than anything a configuration holds (each
    step of a doubling chain is checked, so memory stays at a few megabytes)."""
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise Stop(Unknown(f"a value longer than {MAX_TEXT:,} characters is not evaluated",
                           failed=True))
    if isinstance(value, list | dict) and len(value) > MAX_ITEMS:
        raise Stop(Unknown(f"a collection of more than {MAX_ITEMS:,} items is not evaluated",
                           failed=True))
    return value


def guard(node: Node, scope: Scope) -> object:  # the node's value, or why it is unknown
    try:
        return node.run(scope)
    except Stop as stop:
        return stop.unknown


# --- operators -------------------------------------------------------------------------------

def _remainder(x: float, y: float) -> float:  # takes the dividend's sign, unlike Python's %
    r = abs(x) % abs(y)
    return -r if x < 0 else r


_NUMERIC: dict[str, Callable[[float, float], object]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "%": _remainder, "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}


def _numeric(op: str, a: object, b: object) -> object:
    x, y = to_num(a), to_num(b)
    if op in ("/", "%") and y == 0:
        raise EvalError("division by zero")
    return _NUMERIC[op](x, y)


_OPS: dict[str, Callable[[object, object], object]] = {
    "==": equal, "!=": lambda a, b: not equal(a, b),
    **{op: partial(_numeric, op) for op in _NUMERIC},
}


def _logic(op: str, a: object, b: object) -> bool:
    decisive = op == "||"  # true settles ||, false settles &&, even if the other side is unknown
    pending: Unknown | None = None
    for v in (a, b):
        if isinstance(v, Unknown | Ref):
            pending = pending if pending is not None else opaque(v)
        elif to_bool(v) == decisive:
            return decisive
    if pending is not None:
        raise Stop(pending)
    return not decisive


def binop(op: str, left: Node, right: Node) -> Node:
    if op in ("&&", "||"):
        return mk(lambda s: _logic(op, guard(left, s), guard(right, s)), left, right)
    fn = _OPS[op]

    def run(s: Scope) -> object:
        try:
            r = fn(left.run(s), right.run(s))
        except (OverflowError, ValueError) as exc:  # e.g. a 400-digit int times a float
            raise EvalError(f"arithmetic error: {exc}") from None
        return norm(r) if isinstance(r, float) else r
    return mk(run, left, right)


def conditional(cond: Node, yes: Node, no: Node) -> Node:  # runs only the chosen branch
    return mk(lambda s: (yes if to_bool(cond.run(s)) else no).run(s), cond, yes, no)


def unary(op: str, node: Node) -> Node:
    if op == "!":
        return mk(lambda s: not to_bool(node.run(s)), node)
    return mk(lambda s: norm(-to_num(node.run(s))), node)


# --- traversal and references ----------------------------------------------------------------

def _key_suffix(key: object) -> str:  # how [key] reads in a Ref or resource address
    key = known(key)
    if isinstance(key, str):
        return f'["{key}"]'
    if isinstance(key, int | float) and not isinstance(key, bool):
        return f"[{key}]"
    raise EvalError(f"a {kind(key)} cannot be used as a key")


def _index(v: object, key: object, attr: bool) -> object:
    if isinstance(v, Ref):  # a path into a computed attribute is still computed
        if not v.attribute:  # a whole resource: an instance of it, or an attribute
            return Ref(v.address + _key_suffix(key), "") if not attr else Ref(
                v.address, to_str(key))
        return Ref(v.address, v.attribute + (f".{key}" if attr else _key_suffix(key)))
    v = known(v)
    if isinstance(v, dict):
        if (k := to_str(key)) in v:
            return v[k]
        raise EvalError(f"{'attribute' if attr else 'key'} {k!r} not found")
    if isinstance(v, list):
        i = to_num(key)
        if isinstance(i, int) and 0 <= i < len(v):
            return v[i]
        raise EvalError(f"index {i} is out of range for a list of {len(v)}")
    raise EvalError(f"cannot index a {kind(v)} value")


def traverse(base: Node, steps: list[str | Node]) -> Node:  # str: .attr, Node: [index]
    def run(s: Scope) -> object:
        value = base.run(s)
        for step in steps:
            if isinstance(step, str):
                value = _attribute(s, value, step)
            else:
                value = _index(value, step.run(s), False)
        return value
    return mk(run, base, *(x for x in steps if isinstance(x, Node)))


def _attribute(s: Scope, value: object, name: str) -> object:
    """``value.name``; of a whole resource of this module (``local.db.port``), the
    attribute as the resource declares it, as ``aws_db_instance.db.port`` reads it."""
    if isinstance(value, Ref) and not value.attribute:
        own = getattr(s, "module", "")
        if value.address.startswith(own):  # another module's: computed, as before
            return s.resource_attribute(value.address.removeprefix(own), name)
    return _index(value, name, True)


def resource(address: str, key: Node | None, attribute: str) -> Node:
    # Without an attribute: a dynamic block's iterator whole (lookup(ingress.value, ...)),
    # else the resource itself, a Ref with no attribute whose attributes are read later
    # (cloudposse's local.sg = cond ? aws_security_group.a[0] : ..., then local.sg.id).
    def run(s: Scope) -> object:
        addr = address if key is None else address + _key_suffix(key.run(s))
        return s.resource_attribute(addr, attribute)
    return mk(run, *(k for k in (key,) if k is not None))


# --- templates and collections ---------------------------------------------------------------

def template(parts: list[str | Node], directive: bool) -> Node:
    if directive:
        return unknown("template directives (%{...}) are not evaluated offline")
    nodes = [p for p in parts if isinstance(p, Node)]
    if len(parts) == 1 and nodes:  # "${x}" alone keeps x's type, as in HCL
        return nodes[0]
    if not nodes:
        return const("".join(p for p in parts if isinstance(p, str)))
    return mk(lambda s: bounded("".join(p if isinstance(p, str) else to_str(p.run(s))
                                        for p in parts)), *nodes)


def collection(keys: list[Node], values: list[Node], is_map: bool) -> Node:
    def run(s: Scope) -> object:
        if not is_map:  # one unknown element leaves the rest of the list known
            return [guard(v, s) for v in values]
        return {to_str(k.run(s)): guard(v, s) for k, v in zip(keys, values, strict=True)}
    return mk(run, *keys, *values)
