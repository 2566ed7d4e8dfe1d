"""Walks a Terraform directory and the local modules it calls: the resource blocks that
have instances, their attributes evaluated.

A local module call (``source = "./..."`` or ``"../..."``) is read with the call's
arguments as the module's variables; its resources get ``module.NAME.`` addresses and keep
their own files and lines. A remote source (registry, git, s3, ...) is never fetched: it is
read where ``terraform init`` put it (``.terraform/modules/modules.json``), else it becomes
one problem with status ``unknown`` that says to run ``terraform init``. Nesting is capped at
``MAX_DEPTH`` modules and a module that calls one of its callers is not followed again.

``count``/``for_each`` that evaluate to no instance (0, an empty map, set or list) drop
the resource; when they cannot be evaluated the resource is kept (a check must not miss
it) with the doubt recorded, to end up in the body as ``instances``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from auditor import inputs, project
from auditor.models import Location, Problem
from auditor.paths import Path
from auditor.terraform import loader
from auditor.terraform.evaluated import Evaluated, instance_suffix
from auditor.terraform.expressions import evaluate
from auditor.terraform.hcl_fn_files import ModuleFiles
from auditor.terraform.installed import call_key, installed
from auditor.terraform.loader import Block
from auditor.terraform.scope import ModuleScope
from auditor.unknown import Unknown

MAX_DEPTH = 5
LOCAL_SOURCE = ("./", "../")
META = ("count", "for_each", "depends_on", "provider", "lifecycle")  # not resource attributes
MODULE_META = ("source", "version", "count", "for_each", "depends_on", "providers")


def evaluated(directory: FsPath, var_values: dict[str, Any], source: str,
              rel: Callable[[FsPath], str], problems: list[Problem]) -> list[Evaluated]:
    """Every resource with instances in ``directory`` and the local modules it calls."""
    walk = _Walk(source, rel, problems, installed(directory), directory.resolve())
    return walk.module(directory, var_values, "", (directory.resolve(),), None, {})


@dataclass
class _Walk:
    source: str  # e.g. "terraform infra/aws": the source of every problem met
    rel: Callable[[FsPath], str]
    problems: list[Problem]
    installed: dict[str, FsPath]  # module call key -> where terraform init put it
    root: FsPath  # the root module: where terraform runs, file functions start

    def module(self, directory: FsPath, var_values: Mapping[str, Any], prefix: str,
               chain: tuple[FsPath, ...], doubt: Unknown | None,
               inputs: dict[str, Location],
               opened: tuple[list[Block], ModuleScope] | None = None) -> list[Evaluated]:
        blocks, scope = opened or self.open(directory, var_values, prefix, chain)
        items: list[Evaluated] = []
        for block in blocks:
            if block.kind == "resource" and len(block.labels) == 2:
                expanded = scope.instances(block)
                if isinstance(expanded, list):  # one resource per instance, as Terraform
                    for key, values in expanded:
                        lines: dict[Path, int] = {}
                        attrs = _attrs(block, scope.for_instance(values), lines)
                        items.append(Evaluated(block, attrs, doubt, inputs, key, lines,
                                               scope.var_values))
                    continue
                # Without count/for_each: one instance. Not known (or too many to expand):
                # kept once, with the doubt (a check must not miss it).
                unsure = doubt if expanded is None else expanded
                lines = {}
                attrs = _attrs(block, scope if expanded is None else scope.for_instance(
                    {"doubt": expanded}), lines)
                items.append(Evaluated(block, attrs, unsure, inputs, None, lines,
                                       scope.var_values))
            elif block.kind == "module" and len(block.labels) == 1:
                items.extend(self.call(block, scope, directory, chain, doubt, inputs))
        return items

    def open(self, directory: FsPath, var_values: Mapping[str, Any], prefix: str,
             chain: tuple[FsPath, ...]) -> tuple[list[Block], ModuleScope]:
        blocks, errors = loader.load_dir(directory, self.rel)
        for e in errors:  # a module read once per instance says so once
            problem = Problem(self.source, e.message, Location(e.file, e.line))
            if problem not in self.problems:
                self.problems.append(problem)
        for block in blocks:
            block.module = prefix
        scope = ModuleScope(blocks, var_values, prefix)
        scope.files = ModuleFiles(root=self.root, module=directory.resolve(),
                                  project=project.root_of(self.root))
        # Module calls, opened when first needed: by an output a caller reads, or walked.
        for block in blocks:
            if block.kind == "module" and len(block.labels) == 1:
                scope.children[block.labels[0]] = _Child(self, block, scope, directory, chain)
        return blocks, scope

    def call(self, block: Block, scope: ModuleScope, directory: FsPath,
             chain: tuple[FsPath, ...], doubt: Unknown | None,
             inputs: dict[str, Location]) -> list[Evaluated]:
        child = scope.children[block.labels[0]]
        expanded = scope.instances(block)
        # One module instance per count/for_each key (module.db["a"].), as Terraform;
        # not known: read once, every resource with the doubt.
        keys = expanded if isinstance(expanded, list) else [(None, None)]
        unsure = expanded if isinstance(expanded, Unknown) else doubt
        items: list[Evaluated] = []
        for key, values in keys:
            opened = child.open(key, values)
            if isinstance(opened, Problem):
                self.problems.append(opened)
                return []
            items += self.module(child.target, {}, "", (*chain, child.target), unsure,
                                 _argument_lines(block, inputs), opened)
        return items


class _Child:
    """A module call, opened once: its blocks and scope (with the call's arguments), or
    the problem that keeps it from being read."""

    def __init__(self, walk: _Walk, block: Block, scope: ModuleScope, directory: FsPath,
                 chain: tuple[FsPath, ...]) -> None:
        self.walk, self.block, self.scope, self.chain = walk, block, scope, chain
        src = block.attrs.get("source")
        self.src = src
        self.local = isinstance(src, str) and src.startswith(LOCAL_SOURCE)
        downloaded = walk.installed.get(call_key(block.address))
        if self.local and isinstance(src, str):
            inputs.probe(directory / src)  # a link on the way there: where it leads counts
        self.target = ((directory / src).resolve() if self.local and isinstance(src, str)
                       else downloaded or directory)
        self.missing = not self.local and downloaded is None
        self._opened: dict[str | int | None, tuple[list[Block], ModuleScope] | Problem] = {}

    def open(self, key: str | int | None = None, values: dict[str, Any] | None = None
             ) -> tuple[list[Block], ModuleScope] | Problem:
        """The module (instance ``key`` of a module with count/for_each, its arguments
        evaluated with ``values``: count.index or each)."""
        if key not in self._opened:
            self._opened[key] = self._open(key, values)
        return self._opened[key]

    def _open(self, key: str | int | None, values: dict[str, Any] | None
              ) -> tuple[list[Block], ModuleScope] | Problem:
        walk, block, name, src = self.walk, self.block, self.block.labels[0], self.src
        where = Location(block.file, block.lines.get(("source",), block.line))
        if self.missing:
            # The full address: two calls of one module, each with a registry module
            # inside, are two notices.
            return Problem(walk.source, f"{block.address} ({src}) is not downloaded here: run "
                           "`terraform init` before the scan so its resources are audited "
                           "(modules are never fetched)", where, status="unknown")
        inputs.probe(self.target)
        if not self.target.is_dir():
            return Problem(walk.source, f"module {name} ({src}): directory "
                           f"{walk.rel(self.target)} not found", where)
        if self.target in self.chain:
            return Problem(walk.source, f"module {name} ({src}) calls a module that is "
                           "already being read (a cycle): it is not read again", where)
        if len(self.chain) > MAX_DEPTH:
            return Problem(walk.source, f"module {name} ({src}) is nested more than "
                           f"{MAX_DEPTH} modules deep: its resources are not audited on the "
                           "declared side", where, status="unknown")
        scope = self.scope.for_instance(values) if values is not None else self.scope
        address = f"{block.address}{instance_suffix(key)}"
        args = _Arguments({k: v for k, v in block.attrs.items() if k not in MODULE_META},
                          scope, address)
        return walk.open(self.target, args, f"{address}.", (*self.chain, self.target))

    def output(self, name: str, key: str | int | None = None) -> Any:
        """The value of one of the module's outputs (of instance ``key``), as its caller
        reads it."""
        values = None
        if "count" in self.block.attrs or "for_each" in self.block.attrs:
            expanded = self.scope.instances(self.block)
            found = dict(expanded) if isinstance(expanded, list) else {}
            if key is None or key not in found:
                # Known at apply when the instances are (try() must not move past it).
                return Unknown(f"module.{self.block.labels[0]} has count or for_each: "
                               f"output {name} of instance {key!r} is not known offline",
                               pending=isinstance(expanded, Unknown) and expanded.pending)
            values = found[key]
        elif key is not None:
            return Unknown(f"module.{self.block.labels[0]} has no instance {key!r}")
        opened = self.open(key, values)
        if isinstance(opened, Problem):
            return Unknown(f"output {name} of module.{self.block.labels[0]}: "
                           f"{opened.message}")
        return opened[1].output(name)


class _Arguments(Mapping[str, Any]):
    """A module call's arguments, each evaluated when the module first reads it. Sibling
    modules may read each other's outputs (one's argument from the other's output, and
    back), as Terraform allows wherever the values themselves do not go round: evaluated
    up front, each call opened the other again until the stack ran out. An argument whose
    value does go round is unknown."""

    def __init__(self, raw: dict[str, Any], scope: ModuleScope, address: str) -> None:
        self._raw, self._scope, self._address = raw, scope, address
        self._values: dict[str, Any] = {}
        self._evaluating: set[str] = set()

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            raw = self._raw[name]  # KeyError: not passed
            if name in self._evaluating:
                return Unknown(f"argument {name} of {self._address} depends on itself "
                               "through module outputs")
            self._evaluating.add(name)
            try:
                value = evaluate(raw, self._scope)
            finally:
                self._evaluating.discard(name)
            if isinstance(value, Unknown):  # maybe the stack's (nested too deeply): again
                return value
            self._values[name] = value
        return self._values[name]

    def __contains__(self, name: object) -> bool:  # without evaluating it
        return name in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


def _attrs(block: Block, scope: ModuleScope, lines: dict[Path, int] | None = None
           ) -> dict[str, Any]:
    """The block's arguments evaluated, null ones unset, dynamic blocks generated (the
    line of each generated block's content goes into ``lines``)."""
    raw = {k: v for k, v in block.attrs.items() if k not in META}
    dynamic = raw.pop("dynamic", None)
    attrs: dict[str, Any] = unset_nulls({k: evaluate(v, scope) for k, v in raw.items()})
    left = []  # dynamic blocks whose for_each is not known: they stay, and say so
    for index, entry in enumerate(dynamic if isinstance(dynamic, list) else [dynamic]):
        made = _dynamic(block, index, entry, scope)
        if made is None:
            left.append(evaluate(entry, scope))
            continue
        name, blocks = made
        have = attrs.get(name)
        before = [*(have if isinstance(have, list) else [have] if have else [])]
        attrs[name] = [*before, *blocks]
        content = ("dynamic", index, "content", 0)
        for i, made_block in enumerate(blocks, start=len(before)):
            if lines is not None and content in block.lines:
                lines[(name, i)] = block.lines[content]
                for key in made_block if isinstance(made_block, dict) else ():
                    if (*content, key) in block.lines:
                        lines[(name, i, key)] = block.lines[(*content, key)]
    if left:
        attrs["dynamic"] = left
    return attrs


def _dynamic(block: Block, index: int, entry: Any, scope: ModuleScope
             ) -> tuple[str, list[Any]] | None:
    """The blocks a ``dynamic "NAME"`` entry generates, as Terraform would; None when its
    for_each is not known offline."""
    if not isinstance(entry, dict) or len(entry) != 1:
        return None
    [(name, spec)] = entry.items()
    if not isinstance(spec, dict) or "for_each" not in spec:
        return None
    iterator = spec.get("iterator", name)
    content = spec.get("content")
    content = content[0] if isinstance(content, list) and content else content
    pairs = scope.iterations(spec["for_each"], f'dynamic "{name}" of {block.address}')
    if isinstance(pairs, Unknown) or not isinstance(content, dict) or not isinstance(
            iterator, str):
        return None
    made = [unset_nulls(evaluate(content, scope.for_instance(
        {**scope.instance, f"{iterator}.key": key, f"{iterator}.value": value})))
        for key, value in pairs]
    return name, made


def unset_nulls(value: Any) -> Any:
    """An argument (or a nested block's) set to null is unset: the provider's default
    applies, as if it were not written."""
    if isinstance(value, dict):
        return {k: unset_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [unset_nulls(v) for v in value]
    return value


_BARE_VAR = re.compile(r"\$\{\s*var\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}")


def bare_variable(raw: Any) -> str | None:
    """``NAME`` when a raw attribute is exactly ``var.NAME``: its value is set elsewhere."""
    match = _BARE_VAR.fullmatch(raw) if isinstance(raw, str) else None
    return match.group(1) if match else None


def _argument_lines(call: Block, inputs: dict[str, Location]) -> dict[str, Location]:
    """Each argument of a module call -> where it is set: its line in the call, or, when
    the caller passes its own variable on, where that variable is set in turn."""
    out = {}
    for name, raw in call.attrs.items():
        if name in MODULE_META:
            continue
        passed = bare_variable(raw)
        out[name] = inputs[passed] if passed in inputs else Location(
            call.file, call.lines.get((name,), call.line))
    return out
