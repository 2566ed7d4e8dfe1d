"""Where a plan's resources are written: the HCL of the directory the plan was made in,
found by address (see :mod:`.plan`).

``module.db["a"].aws_x.this[0]`` is block ``aws_x.this`` of the directory module ``db`` is
read from: a local ``source`` relative to its caller, or where ``terraform init`` put it
(``.terraform/modules/modules.json``, Terraform's own file, read bounded). Each directory
is read once. A module argument's line is where the module's variable is set. Repeated
nested blocks (a group's rules) come back from the plan as a sorted set: each is matched
to its block by its literal arguments, so it keeps its own line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path as FsPath
from typing import Any

from auditor import inputs, project
from auditor.models import Location, Problem
from auditor.terraform import loader
from auditor.terraform.installed import installed
from auditor.terraform.loader import Block
from auditor.terraform.modules import LOCAL_SOURCE, MODULE_META, bare_variable
from auditor.terraform.plan_file import obj


class Tree:
    """The HCL of the plan's root directory and of the module directories under it, each
    read once."""

    def __init__(self, root: FsPath, rel: Callable[[FsPath], str], problems: list[Problem],
                 source: str) -> None:
        self.root, self.rel, self.problems, self.source = root, rel, problems, source
        self._dirs: dict[tuple[str, ...], FsPath | None] = {(): root}
        self._read: dict[FsPath, list[Block]] = {}
        self._named: dict[FsPath, dict[tuple[str, ...], Block]] = {}
        self._installed = installed(root)

    def blocks(self, names: tuple[str, ...]) -> list[Block]:
        directory = self.directory(names)
        if directory is None:
            return []
        if directory not in self._read:
            blocks, errors = loader.load_dir(directory, self.rel)
            self.problems.extend(Problem(self.source, e.message, Location(e.file, e.line))
                                 for e in errors)
            self._read[directory] = blocks
            self._named[directory] = {(b.kind, *b.labels): b for b in reversed(blocks)}
        return self._read[directory]

    def named(self, names: tuple[str, ...], kind: str, *labels: str) -> Block | None:
        """The first block of ``kind`` with ``labels`` in the module's directory."""
        directory = self.directory(names) if self.blocks(names) else None
        return self._named[directory].get((kind, *labels)) if directory else None

    def directory(self, names: tuple[str, ...]) -> FsPath | None:
        if names not in self._dirs:
            found = None
            call = self.call(names)
            source = call.attrs.get("source") if call is not None else None
            if ".".join(names) in self._installed:
                found = self._installed[".".join(names)]
            elif isinstance(source, str) and source.startswith(LOCAL_SOURCE):
                parent = self.directory(names[:-1])
                found = parent / source if parent is not None else None
            if found is not None:
                inputs.probe(found)
            self._dirs[names] = (FsPath(os.path.abspath(found)) if found is not None
                                 and found.is_dir() and not project.refusal(found) else None)
        return self._dirs[names]

    def call(self, names: tuple[str, ...]) -> Block | None:
        return self.named(names[:-1], "module", names[-1]) if names else None

    def call_location(self, names: tuple[str, ...]) -> Location | None:
        """The innermost module call of ``names`` that the HCL here declares."""
        for depth in range(len(names), 0, -1):
            call = self.call(names[:depth])
            if call is not None:
                return Location(call.file, call.line)
        return None

    def locals(self, names: tuple[str, ...]) -> dict[str, Any]:
        return {k: v for b in self.blocks(names) if b.kind == "locals" for k, v in
                b.attrs.items()}

    def inputs(self, names: tuple[str, ...]) -> dict[str, Location]:
        """A module's variables -> the argument of its call that sets them, followed up
        through callers that pass their own variable on."""
        out: dict[str, Location] = {}
        for depth in range(1, len(names) + 1):
            call = self.call(names[:depth])
            if call is None:
                return {}
            out = {arg: out[v] if (v := bare_variable(raw)) in out else Location(
                call.file, call.lines.get((arg,), call.line))
                   for arg, raw in call.attrs.items() if arg not in MODULE_META}
        return out


def aligned(block: Block, values: dict[str, Any]) -> Block:
    """``block`` with its repeated nested blocks (rules, parameters) in the plan's order: a
    set comes back sorted, so its element i is the block whose literal arguments it has.
    One not found keeps no line (and no raw value) of its own."""
    lines, attrs = dict(block.lines), dict(block.attrs)
    for key, planned in values.items():
        raw = block.attrs.get(key)
        if not (isinstance(planned, list) and isinstance(raw, list) and (key, 0) in lines):
            continue
        free = list(range(len(raw)))
        order: list[int | None] = []
        for item in planned:
            j = next((j for j in free if _fits(obj(item), obj(raw[j]))), None)
            order.append(j)
            if j is not None:
                free.remove(j)
        attrs[key] = [raw[j] if j is not None else {} for j in order]
        lines = {p: n for p, n in lines.items() if not (p[0] == key and len(p) > 1)}
        for i, j in enumerate(order):
            lines.update({(key, i, *p[2:]): n for p, n in block.lines.items()
                          if j is not None and p[:2] == (key, j)})
    return replace(block, lines=lines, attrs=attrs)


def _fits(planned: dict[str, Any], raw: dict[str, Any]) -> bool:
    """Whether every literal argument of a raw block has the planned value."""
    literals = {k: v for k, v in raw.items() if _literal(v)}
    return bool(literals) and all(_same(planned.get(k), v) for k, v in literals.items())


def _literal(raw: Any) -> bool:
    if isinstance(raw, list):
        return all(_literal(v) for v in raw)
    return not isinstance(raw, dict) and not (isinstance(raw, str) and "${" in raw)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):  # sets come back sorted
        return sorted(map(str, a)) == sorted(map(str, b))
    return a == b or str(a).lower() == str(b).lower()
