"""A plan's values -> the evaluated attributes the shapes read (see :mod:`.plan`).

``planned_values`` are Terraform's own and exact; the plan's marks change three things:

* a value known only after apply (``after_unknown``) becomes a :class:`Ref` when its
  expression's one source not yet known is a resource attribute (which security group a
  rule joins, say), else :class:`Unknown` naming its sources. Sources are followed the
  way Terraform evaluates them: ``var.*`` to the module call's argument, module outputs
  to their expression (both from the plan's ``configuration``), locals through the HCL;
* a sensitive value (``sensitive_values``, ``after_sensitive``) becomes Unknown without
  its value, so no report can show it (a password: ``(sensitive)``, as it is set);
* null is "unset", as an argument set to null is in Terraform, so a policy's API default
  applies as on the HCL side.

A known id or ARN where an identity is expected (security groups, a rule's group, an
association's target) becomes a Ref to the resource it belongs to, as HCL references are.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from auditor.paths import MISSING, Path, format, get
from auditor.terraform.evaluated import SINGLE_BLOCKS
from auditor.terraform.expressions import Ref
from auditor.terraform.loader import Block
from auditor.terraform.refs import SG_KEYS, reference_text
from auditor.unknown import Unknown

# Where a value names another resource: the shapes and joins need to know which one.
ID_KEYS = SG_KEYS | {"security_group_id", "resource_arn", "secret_id"}
_KNOWN_AT_PLAN = {"count", "each", "path", "terraform", "self"}
SENSITIVE = "(sensitive)"  # a set secret, in place of its value
_SECRETS = {("password",), ("master_password",)}
_STEP = re.compile(r'\.([A-Za-z_][\w-]*)|(\.\*|\[\*\])|(\[(?:\d+|"(?:[^"\\]|\\.)*")\])')
_HEAD = re.compile(r"[A-Za-z_][\w-]*")
# References inside an expression's text (a local's): traversals, not function calls.
_FIND = re.compile(r'(?<![\w.\-"\]])((?:data\.)?[A-Za-z_][\w-]*'
                   r'(?:\.(?:[A-Za-z_][\w-]*|\*)|\[(?:\d+|"[^"]*"|\*)\])+)(?![\w-]|\s*\()')
_MAX_HOPS = 12  # var -> module call -> output -> local ...: far more than real stacks use
_MAX_WORK = 500  # references followed for one value: a crafted plan cannot fan out forever

Candidate = tuple[str, str]  # (address, attribute); attribute "" when not one attribute


@dataclass
class Instance:
    """One resource instance of the plan."""

    address: str  # Terraform's: module.db["a"].aws_db_instance.this[0]
    module: str  # its module instance: module.db["a"], "" at the root
    mode: str  # managed, or data
    type: str
    name: str
    index: int | str | None
    values: dict[str, Any]
    unknown: Any  # after_unknown: true where a value is known only after apply
    sensitive: Any  # sensitive_values merged with after_sensitive
    # What the shapes call it: the resource's address when it has one instance (references
    # to it, with or without [0], then find it), else the instance's. Set by plan.py.
    internal: str = ""
    single: bool = True

    @property
    def resource(self) -> str:
        """The resource's address, without the instance key."""
        return ((f"{self.module}." if self.module else "") + ("data." if self.mode == "data"
                else "") + f"{self.type}.{self.name}")


@dataclass
class Module:
    """One module instance as its expressions see it."""

    prefix: str  # 'module.db["a"].', "" at the root
    names: tuple[str, ...]  # its calls' names from the root
    config: dict[str, Any]  # its configuration representation
    locals: dict[str, Any]  # raw HCL locals of its directory ({} when not read)
    parent: Module | None = None


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is an object: the plan is untrusted, every level is checked."""
    return value if isinstance(value, dict) else {}


def marked(marks: Any, path: Path) -> bool:
    """Whether ``marks`` (after_unknown, sensitive_values) has ``true`` at ``path``."""
    for key in path:
        if marks is True:
            return True
        if isinstance(marks, dict) and isinstance(key, str):
            marks = marks.get(key)
        elif isinstance(marks, list) and isinstance(key, int) and key < len(marks):
            marks = marks[key]
        else:
            return False
    return marks is True


def merged(a: Any, b: Any) -> Any:
    """Two sets of marks as one: true where either says so."""
    if a is True or b is True:
        return True
    if isinstance(a, dict) or isinstance(b, dict):
        x, y = obj(a), obj(b)
        return {k: merged(x.get(k), y.get(k)) for k in dict.fromkeys([*x, *y])}
    if isinstance(a, list) or isinstance(b, list):
        p, q = (a if isinstance(a, list) else []), (b if isinstance(b, list) else [])
        return [merged(p[i] if i < len(p) else None, q[i] if i < len(q) else None)
                for i in range(max(len(p), len(q)))]
    return None


class Values:
    """Turns each instance's planned values into attributes, with the whole plan at hand
    (references name other instances)."""

    def __init__(self, instances: list[Instance], root: dict[str, Any],
                 locals_of: Callable[[tuple[str, ...]], dict[str, Any]]) -> None:
        self.by_address = {i.address: i for i in instances}
        self.by_resource: dict[str, list[Instance]] = {}
        for i in instances:
            self.by_resource.setdefault(i.resource, []).append(i)
        self.ids: dict[str, tuple[Instance, str]] = {}
        for i in instances:
            for attr in ("id", "arn"):
                value = i.values.get(attr)
                if isinstance(value, str) and value and not marked(i.sensitive, (attr,)):
                    self.ids.setdefault(value, (i, attr))
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

    def attrs(self, inst: Instance, block: Block | None, expressions: dict[str, Any],
              module: Module) -> dict[str, Any]:
        walk = _Walk(self, inst, block, expressions, module)
        body = walk.value(inst.values, inst.unknown, inst.sensitive, ())
        body = body if isinstance(body, dict) else {}
        if block is not None:  # what the code does not set is the provider's default
            for key in [k for k in body if not _configured(k, block, expressions)]:
                # An unset group direction belongs to standalone rule resources (and, in a
                # plan of an applied stack, already holds their rules: not twice).
                if marked(inst.unknown, (key,)) or (
                        inst.type.endswith("security_group") and key in ("ingress", "egress")):
                    del body[key]
        out = self.identify(body, None)
        assert isinstance(out, dict)
        return out

    def identify(self, value: Any, key: str | None) -> Any:
        """Known ids and ARNs where a resource is named -> Refs to it; Refs -> the address
        the shapes know the resource by."""
        if isinstance(value, dict):
            return {k: self.identify(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.identify(v, key) for v in value]
        if isinstance(value, Ref):
            target = self.instance(value.address)
            return value if target is None else self._point(target, value.attribute, key)
        if isinstance(value, str) and key in ID_KEYS and value in self.ids:
            target, attr = self.ids[value]
            return self._point(target, attr, key)
        return value

    def instance(self, address: str) -> Instance | None:
        found = self.by_address.get(address)
        if found is None and len(many := self.by_resource.get(address, [])) == 1:
            found = many[0]
        return found

    def _point(self, target: Instance, attr: str, key: str | None) -> Any:
        if not target.single and key in SG_KEYS and target.type == "aws_security_group":
            # One of several groups: name it as the shapes will (joins look groups up by
            # their resource address, which several instances share).
            name = target.values.get("name")
            return name if isinstance(name, str) and name and not marked(
                target.sensitive, ("name",)) else target.internal
        return Ref(target.internal, attr)

    def candidates(self, text: str, module: Module, hops: int) -> set[Candidate]:
        """The sources of a reference that may be unknown at plan time: resource (or data)
        attributes not yet known, or (address, "") for what cannot be followed."""
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
            return self.expression(obj(obj(call.get("expressions")).get(name)),
                                   module.parent, hops + 1)
        if head == "local":
            raw = module.locals.get(name)
            if raw is None:
                return {(f"{module.prefix}local.{name}", "")}
            return self.texts(_references(raw), module, hops + 1)
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
        return self.expression(obj(output.get("expression")), self._child(module, name, key),
                               hops + 1)

    def expression(self, expr: dict[str, Any], module: Module, hops: int) -> set[Candidate]:
        """The sources of a configuration expression (a constant has none)."""
        refs = expr.get("references")
        return self.texts(refs[:_MAX_WORK] if isinstance(refs, list) else [], module, hops)

    def texts(self, refs: list[Any], module: Module, hops: int) -> set[Candidate]:
        texts = [r for r in refs[:_MAX_WORK] if isinstance(r, str)]
        # "a.b[0].id" implies "a.b[0]" and "a.b": only the longest says what is used.
        implied = {t[:m.start()] for t in texts for m in re.finditer(r"[.\[]", t)}
        found: set[Candidate] = set()
        for text in (t for t in texts if t not in implied):
            found |= self.candidates(text, module, hops)
        return found


@dataclass
class _Walk:
    values: Values
    inst: Instance
    block: Block | None
    expressions: dict[str, Any]
    module: Module

    def value(self, value: Any, unknown: Any, sensitive: Any, path: Path) -> Any:
        if sensitive is True:  # never read; a secret's presence is all checks ask of it
            if path in _SECRETS and isinstance(value, str) and value:
                return SENSITIVE
            return Unknown(f"{self.where(path)} is sensitive: its value is not read")
        if unknown is True:
            return self.unknown(path)
        if isinstance(value, dict) or isinstance(unknown, dict):
            value, unknown, sensitive = obj(value), obj(unknown), obj(sensitive)
            out = {}
            for key in dict.fromkeys([*value, *unknown]):
                item = self.value(value.get(key), unknown.get(key), sensitive.get(key),
                                  (*path, key))
                if item is not None and not (item == [] and key in SINGLE_BLOCKS):
                    out[key] = item  # null (and no single block) is unset, as in HCL
            return out
        if isinstance(value, list) or isinstance(unknown, list):
            items = value if isinstance(value, list) else []
            marks = unknown if isinstance(unknown, list) else []
            secret = sensitive if isinstance(sensitive, list) else []
            return [self.value(items[i] if i < len(items) else None,
                               marks[i] if i < len(marks) else None,
                               secret[i] if i < len(secret) else None, (*path, i))
                    for i in range(max(len(items), len(marks)))]
        return value

    def where(self, path: Path) -> str:
        return f"{self.inst.address}.{format(path)}"

    def unknown(self, path: Path) -> Ref | Unknown | list[Any]:
        raw = get(self.block.attrs, path) if self.block is not None else MISSING
        if isinstance(raw, list) and raw and not any(isinstance(r, dict | list) for r in raw):
            # [a.id, b.id, "sg-1"]: each element its own reference, or a literal
            items = [self.unknown((*path, i)) if isinstance(r, str) and "${" in r else r
                     for i, r in enumerate(raw)]
            if not any(isinstance(x, Unknown | list) for x in items):
                return items
        if isinstance(raw, dict | list):  # a whole block or list: no one reference
            return Unknown(f"{self.where(path)} is only known after apply")
        self.values.work = 0
        found = self.values.texts(self.references(raw, path), self.module, 0)
        if len(found) == 1 and (only := next(iter(found)))[1]:
            return Ref(*only)
        sources = ", ".join(sorted(f"{a}.{b}" if b else a for a, b in found))
        return Unknown(f"{self.where(path)} is only known after apply"
                       + (f" (it comes from {sources})" if sources else ""))

    def references(self, raw: Any, path: Path) -> list[str]:
        text = reference_text(raw)
        if text is not None:  # count.index and each.key are this instance's
            index = self.inst.index
            if isinstance(index, int):
                text = text.replace("[count.index]", f"[{index}]")
            elif isinstance(index, str):
                text = text.replace("[each.key]", f'["{index}"]')
            return [text]
        node: Any = self.expressions.get(str(path[0])) if path else None
        for step in path[1:]:  # into a nested block's expressions while they are unambiguous
            if "references" in obj(node) or "constant_value" in obj(node):
                break  # one expression for the whole attribute
            if isinstance(step, int):  # a block list of one, or a single block's object
                node = node[0] if isinstance(node, list) and len(node) == 1 else (
                    node if isinstance(node, dict) else None)
            else:
                node = obj(node).get(step)
        refs = obj(node).get("references")
        if isinstance(refs, list):
            return refs
        return _references(raw) if raw is not MISSING else []


def _configured(key: str, block: Block, expressions: dict[str, Any]) -> bool:
    dynamic = block.attrs.get("dynamic")
    return key in block.attrs or key in expressions or any(
        isinstance(d, dict) and key in d for d in (dynamic if isinstance(dynamic, list)
                                                   else [dynamic]))


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


def _references(raw: Any) -> list[str]:
    """The references in a raw HCL value's expressions, found in their text."""
    if isinstance(raw, dict):
        return [r for v in raw.values() for r in _references(v)]
    if isinstance(raw, list):
        return [r for v in raw for r in _references(v)]
    if not isinstance(raw, str) or "${" not in raw:
        return []
    found = (m.group(1) for m in _FIND.finditer(raw))
    return [r for r in found if r.split(".")[0] in ("var", "local", "module", "data")
            or "_" in r.split(".")[0]]
