"""How a template renders, once :mod:`hcl_fn_template` has parsed it: the tree of text,
interpolations and ``%{if}``/``%{for}`` directives, and the scope its expressions run in.

A ``for`` directive iterates a list by index and a map by key (cty's order); loop variables
shadow the template's variables in a child scope. Rendering is bounded: :data:`MAX_STEPS`
loop iterations in all (nested loops multiply), and the text is measured as it grows.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import cast

from auditor.terraform.hcl_fn_common import check_size, too_big
from auditor.terraform.hcl_nodes import Node
from auditor.terraform.hcl_values import (
    EvalError,
    ParseError,
    Scope,
    Stop,
    kind,
    known,
    to_bool,
    to_str,
)
from auditor.unknown import Unknown

MAX_STEPS = 100_000  # loop iterations of one rendering, nested loops multiplied


class TemplateScope:
    """What a template's expressions see: its variables (and loop variables), and the
    caller's files for the file functions."""

    def __init__(self, values: MutableMapping[str, object], files: object,
                 steps: list[int]) -> None:
        self.values, self.files, self.steps = values, files, steps

    def child(self, names: dict[str, object]) -> TemplateScope:
        return TemplateScope(ChainMap(names, self.values), self.files, self.steps)

    def variable(self, name: str) -> object:
        return Unknown(f"a template cannot refer to var.{name}")

    def local(self, name: str) -> object:
        return Unknown(f"a template cannot refer to local.{name}")

    def resource_attribute(self, address: str, attribute: str) -> object:
        return Unknown(f"a template cannot refer to {address}.{attribute}")


def lookup(scope: Scope, name: str) -> object:
    if isinstance(scope, TemplateScope) and name in scope.values:
        return scope.values[name]
    raise EvalError(f"vars map does not contain key {name!r}")


@dataclass(frozen=True)
class If:
    cond: Node
    then: list[object]
    otherwise: list[object]


@dataclass(frozen=True)
class For:
    key: str | None
    value: str
    collection: Node
    body: list[object]


def nest(pieces: Iterator[object], stops: tuple[str, ...]) -> tuple[list[object], str | None]:
    """Folds the flat pieces into a tree up to one of ``stops``: the parts, and the stop met
    (None at the end). The iterator is shared with the callers, so each piece is seen once."""
    parts: list[object] = []
    for item in pieces:
        if isinstance(item, str | Node):
            parts.extend([item] if item != "" else [])
            continue
        assert isinstance(item, tuple)
        if item[0] == "if":
            then, end = nest(pieces, ("else", "endif"))
            otherwise, end = nest(pieces, ("endif",)) if end == "else" else ([], end)
            if end != "endif":
                raise ParseError("missing %{endif}")
            parts.append(If(item[1], then, otherwise))
        elif item[0] == "for":
            body, end = nest(pieces, ("endfor",))
            if end != "endfor":
                raise ParseError("missing %{endfor}")
            names = item[1]
            parts.append(For(names[0] if len(names) == 2 else None, names[-1], item[2], body))
        else:
            if item[0] not in stops:
                raise ParseError(f"unexpected %{{{item[0]}}}")
            return parts, item[0]
    return parts, None


def _pairs(collection: object) -> Iterator[tuple[object, object]]:
    value = known(collection)
    if isinstance(value, list):
        return iter(enumerate(value))
    if isinstance(value, dict):
        return iter(sorted(value.items()))
    raise EvalError(f"a for directive cannot iterate over a {kind(value)}")


def _write(parts: list[object], scope: TemplateScope, out: list[str], size: list[int]) -> None:
    for part in parts:
        if isinstance(part, If):
            _write(part.then if to_bool(part.cond.run(scope)) else part.otherwise, scope, out,
                   size)
            continue
        if isinstance(part, For):
            for k, v in _pairs(part.collection.run(scope)):
                scope.steps[0] += 1
                if scope.steps[0] > MAX_STEPS:
                    raise too_big("template loops")
                names = {part.value: v} | ({part.key: k} if part.key else {})
                _write(part.body, scope.child(names), out, size)
            continue
        piece = part if isinstance(part, str) else to_str(cast(Node, part).run(scope))
        size[0] += len(piece)
        check_size(size[0], "template result")
        out.append(piece)


def render(parts: list[object], scope: Scope, alone: bool) -> object:
    if not isinstance(scope, TemplateScope):
        raise Stop(Unknown("a template rendered outside templatefile()"))
    if alone and parts and isinstance(parts[0], Node):
        return parts[0].run(scope)
    out: list[str] = []
    _write(parts, scope, out, [0])
    return "".join(out)
