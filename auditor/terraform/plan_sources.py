"""Where a plan value known only after apply comes from (see :mod:`.plan_values`).

A reference is followed the way Terraform evaluates it: ``var.*`` to the module call's
argument, a module output to its expression (both from the plan's ``configuration``), a
local through the HCL of the module's directory, a resource reference to the instances the
plan has. What it ends at is a resource attribute not yet known (which security group a
rule joins, say) or, where it cannot be followed, a name to say in the reason. Following is
bounded (``_MAX_HOPS``, ``_MAX_WORK``): a crafted plan cannot make it run forever.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from auditor.terraform.plan_file import Instance, marked, obj

_KNOWN_AT_PLAN = {"count", "each", "path", "terraform", "self"}
_STEP = re.compile(r'\.([A-Za-z_][\w-]*)|(\.\*|\[\*\])|(\[(?:\d+|"(?:[^"\\]|\\.)*")\])')
_HEAD = re.compile(r"[A-Za-z_][\w-]*")
# References inside an expression's text (a local's): traversals, not function calls.
_FIND = re.compile(r'(?<![\w.\-"\]])((?:data\.)?[A-Za-z_][\w-]*'
                   r'(?:\.(?:[A-Za-z_][\w-]*|\*)|\[(?:\d+|"[^"]*"|\*)\])+)(?![\w-]|\s*\()')
_MAX_HOPS = 12  # var -> module call -> output -> local ...: far more than real stacks use
_MAX_WORK = 500  # references followed for one value

Candidate = tuple[str, str]  # (address, attribute); attribute "" when not one attribute


@dataclass
class Module:
    """One module instance as its expressions see it."""

    prefix: str  # 'module.db["a"].', "" at the root
    names: tuple[str, ...]  # its calls' names from the root
    config: dict[str, Any]  # its configuration representation
    locals: dict[str, Any]  # raw HCL locals of its directory ({} when not read)
    parent: Module | None = None


class Sources:
    """The plan's instances and module configurations, to follow references through."""

    def __init__(self, instances: list[Instance], root: dict[str, Any],
                 locals_of: Callable[[tuple[str, ...]], dict[str, Any]]) -> None:
        self.by_address = {i.address: i for i in instances}
        self.by_resource: dict[str, list[Instance]] = {}
        for i in instances:
            self.by_resource.setdefault(i.resource, []).append(i)
        self.root = Module("", (), obj(root), locals_of(()))
        self.locals_of = locals_of
        self.work = 0  # references followed for the current value

    def module(self, steps: list[tuple[str, str]]) -> Module:
        """The module instance ``module.a[KEY].module.b`` given as [(a, KEY), (b, "")]."""
        module = self.root
        for name, key in steps:
            module = self._child(module, name, key)
        return module

    def _child(self, module: Module, name: str, key: str) -> Module:
        call = obj(obj(module.config.get("module_calls")).get(name))
        names = (*module.names, name)
        return Module(f"{module.prefix}module.{name}{key}.", names, obj(call.get("module")),
                      self.locals_of(names), module)

    def instance(self, address: str) -> Instance | None:
        """The instance at ``address``, or a resource's only instance."""
        found = self.by_address.get(address)
        if found is None and len(many := self.by_resource.get(address, [])) == 1:
            found = many[0]
        return found

    def of(self, refs: list[Any], module: Module) -> set[Candidate]:
        """The sources of one value's references (``refs``: their texts) in ``module``."""
        self.work = 0
        return self._texts(refs, module, 0)

    def _candidates(self, text: str, module: Module, hops: int) -> set[Candidate]:
        """Resource (or data) attributes not yet known, or (address, "") for what cannot
        be followed."""
        self.work += 1
        steps = _steps(text)
        if steps is None or hops > _MAX_HOPS or self.work > _MAX_WORK:
            return {(module.prefix + text, "")}
        head, name = steps[0], steps[1] if len(steps) > 1 else ""
        if head in _KNOWN_AT_PLAN:
            return set()
        if head == "var":
            if module.parent is None:
                return set()  # a root variable's value is in the plan: known
            call = obj(obj(module.parent.config.get("module_calls")).get(module.names[-1]))
            return self._expression(obj(obj(call.get("expressions")).get(name)),
                                    module.parent, hops + 1)
        if head == "local":
            raw = module.locals.get(name)
            if raw is None:
                return {(f"{module.prefix}local.{name}", "")}
            return self._texts(references_in(raw), module, hops + 1)
        if head == "module":
            return self._output(steps, module, hops)
        if head == "data":  # data.TYPE.NAME...: read like a resource
            head, steps = f"data.{name}", ["", *steps[2:]]
            name = steps[1] if len(steps) > 1 else ""
        key = steps[2] if len(steps) > 2 and steps[2].startswith("[") else ""
        attr = next((s for s in steps[2:] if not s.startswith("[") and s != "*"), "")
        address = f"{module.prefix}{head}.{name}"
        if key:
            one = self.by_address.get(address + key)
            targets = [one] if one is not None else []
        else:
            targets = self.by_resource.get(address, [])
        if not targets or (attr and not any(marked(t.unknown, (attr,)) for t in targets)):
            return set()  # no instance, or known: not where an unknown value comes from
        if len(targets) > 1:
            return {(address, "")}  # all of them, not one
        return {(targets[0].address, attr)}

    def _output(self, steps: list[str], module: Module, hops: int) -> set[Candidate]:
        name = steps[1] if len(steps) > 1 else ""
        key = steps[2] if len(steps) > 2 and steps[2].startswith("[") else ""
        rest = [s for s in steps[2:] if not s.startswith("[")]
        call = obj(obj(module.config.get("module_calls")).get(name))
        repeated = "count_expression" in call or "for_each_expression" in call
        if not rest or not call or (repeated and not key):
            return {(f"{module.prefix}module.{name}{key}", "")}
        output = obj(obj(obj(call.get("module")).get("outputs")).get(rest[0]))
        return self._expression(obj(output.get("expression")), self._child(module, name, key),
                                hops + 1)

    def _expression(self, expr: dict[str, Any], module: Module, hops: int) -> set[Candidate]:
        """The sources of a configuration expression (a constant has none)."""
        refs = expr.get("references")
        return self._texts(refs[:_MAX_WORK] if isinstance(refs, list) else [], module, hops)

    def _texts(self, refs: list[Any], module: Module, hops: int) -> set[Candidate]:
        texts = [r for r in refs[:_MAX_WORK] if isinstance(r, str)]
        # "a.b[0].id" implies "a.b[0]" and "a.b": only the longest says what is used.
        implied = {t[:m.start()] for t in texts for m in re.finditer(r"[.\[]", t)}
        found: set[Candidate] = set()
        for text in (t for t in texts if t not in implied):
            found |= self._candidates(text, module, hops)
        return found


def _steps(text: str) -> list[str] | None:
    """``aws_x.y["a"].id`` -> ["aws_x", "y", '["a"]', "id"]; None when not a plain
    traversal (an index that is itself an expression)."""
    head = _HEAD.match(text)
    if head is None:
        return None
    out, pos = [head.group()], head.end()
    while pos < len(text):
        m = _STEP.match(text, pos)
        if m is None:
            return None
        out.append(m.group(1) or ("*" if m.group(2) else m.group(3)))
        pos = m.end()
    return out


def references_in(raw: Any) -> list[str]:
    """The references in a raw HCL value's expressions, found in their text."""
    if isinstance(raw, dict):
        return [r for v in raw.values() for r in references_in(v)]
    if isinstance(raw, list):
        return [r for v in raw for r in references_in(v)]
    if not isinstance(raw, str) or "${" not in raw:
        return []
    found = (m.group(1) for m in _FIND.finditer(raw))
    return [r for r in found if r.split(".")[0] in ("var", "local", "module", "data")
            or "_" in r.split(".")[0]]
