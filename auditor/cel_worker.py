"""CEL evaluation out of process: an expression's cost is whoever wrote the policy's.

CEL has no loops, but ``['ab'].map(x, x + x)`` nested thirty times asks for gigabytes, and
the runtime is native code Python cannot interrupt. So one child process, started on the
first CEL condition of a run, caps its address space and evaluates batches (every item of
one policy on one side at a time); a batch that misses its deadline or runs out of memory
is an error for that policy's items, and the next batch starts a new child.

Values cross as JSON. A value not known offline travels as ``{"$unknown": reason}`` and a
hashed live value as its marker; in the child both become a value CEL cannot read, so an
expression that touches one is unknown, never a pass.

Run as ``python -m auditor.cel_worker`` (by :func:`evaluate`, never by hand).
"""

from __future__ import annotations

import json
import re
import resource
import sys
from dataclasses import dataclass, field
from typing import Any

from auditor import cel
from auditor.child import ChildDied, ChildTimeout, Shared, first_line
from auditor.unknown import Unknown

TIMEOUT = 30.0  # seconds for one batch
MEMORY = 2**30  # address space of the child
ITEMS = 2000  # per request: a batch of more is sent in parts
_UNKNOWN = "$unknown"
_HASH = "$sha256"


class CelFailure(Exception):
    """An expression that could not be evaluated (not merely unknown): why."""


Answer = bool | Unknown | CelFailure


@dataclass
class Batch:
    """Expressions to evaluate on items; ``related`` is shared by the items that name its
    index (one per namespace)."""

    exprs: list[str]
    params: dict[str, Any]
    related: list[dict[str, list[Any]]] = field(default_factory=list)
    items: list[tuple[Any, Any, int]] = field(default_factory=list)  # (object, item, related)


def evaluate(batch: Batch) -> list[dict[str, Answer]]:
    """For each item, each expression's answer."""
    out: list[dict[str, Answer]] = []
    for start in range(0, len(batch.items), ITEMS):
        part = batch.items[start:start + ITEMS]
        out.extend(_ask(batch, part))
    return out


def _ask(batch: Batch, items: list[tuple[Any, Any, int]]) -> list[dict[str, Answer]]:
    request = json.dumps({"exprs": batch.exprs, "params": batch.params,
                          "related": batch.related,
                          "items": [{"object": o, "item": i, "related": r}
                                    for o, i, r in items]},
                         default=_encode, allow_nan=False)
    try:
        answer = CHILD.get(MEMORY).ask(request, TIMEOUT)
    except ChildTimeout:
        return _all(batch, items, CelFailure(f"CEL evaluation took longer than {TIMEOUT:g} s: "
                                             "stopped"))
    except ChildDied as died:
        why = (f"CEL evaluation needed more than {MEMORY / 2**30:g} GiB of memory: stopped "
               "(an expression that builds a huge list or string?)"
               if "MemoryError" in died.stderr or "bad_alloc" in died.stderr else
               f"the CEL evaluator stopped (exit {died.code}): {first_line(died.stderr)}")
        return _all(batch, items, CelFailure(why))
    return [{expr: _answer(raw) for expr, raw in zip(batch.exprs, row, strict=True)}
            for row in answer["results"]]


def _all(batch: Batch, items: list[Any], failure: CelFailure) -> list[dict[str, Answer]]:
    return [dict.fromkeys(batch.exprs, failure) for _ in items]


def _answer(raw: Any) -> Answer:
    if isinstance(raw, bool):
        return raw
    if "unknown" in raw:
        return Unknown(str(raw["unknown"]))
    return CelFailure(str(raw["error"]))


def _encode(value: Any) -> Any:
    if isinstance(value, Unknown):
        return {_UNKNOWN: value.reason}
    return str(value)  # a Terraform reference, a date: as text


CHILD = Shared("auditor.cel_worker")  # one per run, started on the first batch


# ---- the child ------------------------------------------------------------------------------

class _Unreadable:
    """Stands for a value CEL must not read: any read of it is an error, which CEL's
    ``||``, ``&&`` and macros absorb only where the result does not depend on it."""


def _serve(memory: int) -> None:
    global MEMORY
    MEMORY = memory  # what the messages name
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))  # before the runtime loads

    for line in sys.stdin:
        request = json.loads(line)
        exprs = []
        for source in request["exprs"]:
            try:
                exprs.append(cel.compiled(source))
            except ValueError as exc:
                exprs.append(exc)
        results = []
        related = []
        for group in request["related"]:
            found: list[str] = []
            related.append((_readable(group, found), found))
        params = _readable(request["params"], [])
        for entry in request["items"]:
            reasons: list[str] = []
            obj = _readable(entry["object"], reasons)
            item = obj if entry["item"] is None else _readable(entry["item"], reasons)
            shared, more = related[entry["related"]] if related else ({}, [])
            data = {"object": obj, "item": item, "params": params, "related": shared}
            results.append([_one(e, data, [*reasons, *more]) for e in exprs])
        sys.stdout.write(json.dumps({"results": results}) + "\n")
        sys.stdout.flush()


def _readable(value: Any, reasons: list[str]) -> Any:
    """JSON data with the values CEL must not read replaced (their reasons collected)."""
    if isinstance(value, dict):
        if _UNKNOWN in value:
            reasons.append(str(value[_UNKNOWN]))
            return _Unreadable()
        if _HASH in value:
            reasons.append("a live value kept only as a hash (it may hold a secret)")
            return _Unreadable()
        return {k: _readable(v, reasons) for k, v in value.items()}
    if isinstance(value, list):
        return [_readable(v, reasons) for v in value]
    return value


def _one(expr: Any, data: dict[str, Any], reasons: list[str]) -> Any:
    if isinstance(expr, ValueError):
        return {"error": f"CEL: {expr}"}
    try:
        result = expr.eval(data=data)
    except MemoryError:  # the address-space cap, met inside the runtime
        return {"error": f"CEL evaluation needed more than {MEMORY / 2**30:g} GiB of memory: "
                         "stopped (an expression that builds a huge list or string?)"}
    except RuntimeError as exc:  # the runtime's iteration budget
        return {"error": f"CEL: {_status(str(exc))}"}
    kind = result.type().name()
    if kind == "BOOL":
        return bool(result.value())
    text = _status(str(result.value()))
    if kind != "ERROR":
        return {"error": f"CEL: the expression gave a {kind.lower()}, not a boolean"}
    if cel.UNKNOWN_MARK in text:  # the policy's own unknown("why")
        return {"unknown": text.split(cel.UNKNOWN_MARK, 1)[1]}
    if reasons:  # it read something not known: never a pass
        return {"unknown": reasons[0]}
    if "no such key" in text or "Key not found" in text:
        return {"unknown": f"CEL: {text} (has() tests a field that may be absent)"}
    return {"error": f"CEL: {text}"}


def _status(text: str) -> str:
    """The runtime's message without its status code ("UNKNOWN: ", "INVALID_ARGUMENT: ")."""
    return re.sub(r"^[A-Z_]+: ", "", " ".join(text.split()))[:300]


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
