"""A saved plan's JSON (``terraform show -json tfplan``) -> resources in the shared shape.

Values are Terraform's own (every instance, every module's outputs): ``planned_values``
marked by ``resource_changes[].change`` (see :mod:`.plan_values`). Locations come from the
HCL of the directory the plan was made in, by address: ``module.db["a"].aws_x.this[0]`` is
block ``aws_x.this`` of the directory module ``db`` is read from (a local source, or where
``terraform init`` put it), attributes at their lines, ``var.X`` at the caller's argument.
A module not downloaded here points at its call; a resource the HCL does not declare (a plan
of other code) at the config's ``plan`` line, which is an error.

The file is untrusted: inside the project, at most the declared-file size, ``MAX_DEPTH``
levels, validated; every fault is one problem naming the file, never an exception.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from auditor import project
from auditor.limits import MAX_DEPTH, too_deep
from auditor.models import Location, Problem, Resource
from auditor.terraform import loader
from auditor.terraform.evaluated import Evaluated
from auditor.terraform.expressions import Ref
from auditor.terraform.joins import RULE_TYPES
from auditor.terraform.loader import Block, ParseError
from auditor.terraform.modules import LOCAL_SOURCE, MODULE_META, bare_variable
from auditor.terraform.plan_values import Instance, Values, merged, obj
from auditor.terraform.shapes import normalise
from auditor.unknown import Unknown

RECIPE = "terraform plan -out tfplan && terraform show -json tfplan > plan.json"
_VERSION = re.compile(r"1\.\d+")  # a new major version is not compatible (the format's rule)
_MODULE = re.compile(r'module\.([A-Za-z_][\w-]*)((?:\[(?:\d+|"(?:[^"\\]|\\.)*")\])?)(?:\.|$)')


class _Part(BaseModel):
    # Newer minor versions add properties; no coercion ("1" is not an index).
    model_config = ConfigDict(extra="ignore", strict=True)


class _Resource(_Part):
    address: str
    mode: str
    type: str
    name: str
    index: int | str | None = None
    values: dict[str, Any] | None = None
    sensitive_values: Any = None


class _Module(_Part):
    address: str = ""
    resources: list[_Resource] = Field(default_factory=list)
    child_modules: list[_Module] = Field(default_factory=list)


class _Values(_Part):
    root_module: _Module = Field(default_factory=_Module)


class _Change(_Part):
    after_unknown: Any = None
    after_sensitive: Any = None


class _ResourceChange(_Part):
    address: str
    deposed: str | None = None
    change: _Change


class PlanDoc(_Part):
    format_version: str
    planned_values: _Values
    resource_changes: list[_ResourceChange] = Field(default_factory=list)
    configuration: dict[str, Any] = Field(default_factory=dict)
    errored: bool = False


def read(path: FsPath, shown: str) -> tuple[PlanDoc | None, ParseError | None]:
    """The plan, or why it cannot be used (one line)."""
    refused = project.refusal(path)
    if refused:
        return None, ParseError(shown, None, refused)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, ParseError(shown, None, f"plan file not found (make it with {RECIPE})")
    except OSError as exc:
        return None, ParseError(shown, None, f"cannot read: {exc.strerror}")
    if raw.startswith(b"PK\x03\x04"):  # the saved plan itself is a zip archive
        return None, ParseError(shown, None, "a binary plan file, not its JSON: run "
                                             "terraform show -json tfplan > plan.json")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return None, ParseError(shown, None, "not UTF-8 text, so not a JSON plan")
    except json.JSONDecodeError as exc:
        return None, ParseError(shown, exc.lineno, f"invalid JSON: {exc.msg}")
    except RecursionError:
        return None, ParseError(shown, None, "invalid JSON: nested too deeply")
    if too_deep(data):
        return None, ParseError(shown, None, f"nested more than {MAX_DEPTH} levels deep: "
                                             "not read")
    return _validated(data, shown)


def _validated(data: Any, shown: str) -> tuple[PlanDoc | None, ParseError | None]:
    def bad(message: str) -> tuple[None, ParseError]:
        return None, ParseError(shown, None, message)

    if not isinstance(data, dict) or "format_version" not in data:
        return bad(f"not a Terraform JSON plan (no format_version): make it with {RECIPE}")
    version = data["format_version"]
    if not (isinstance(version, str) and _VERSION.fullmatch(version)):
        return bad(f"plan format_version {str(version)[:20]!r} is not supported (this auditor "
                   "reads 1.x, from Terraform 1.1 and later)")
    if "planned_values" not in data:
        what = "a state, not a plan" if "values" in data else "no planned_values"
        return bad(f"not a plan's JSON ({what}): make it with {RECIPE}")
    try:
        doc = PlanDoc.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        return bad(f"malformed plan: {where}: {first['msg']}")
    if doc.errored:
        return bad("terraform plan failed, so this plan is incomplete: not read")
    return doc, None


def resources(path: FsPath, root: FsPath, rel: Callable[[FsPath], str],
              problems: list[Problem], source: str, fallback: Location) -> list[Resource]:
    """The resources of the plan at ``path``, made in ``root``. ``fallback`` (the config's
    plan line) is where a resource the HCL does not declare points."""
    doc, error = read(path, rel(path))
    if doc is None:
        assert error is not None
        problems.append(Problem(source, error.message, Location(error.file, error.line)))
        return []
    instances = _instances(doc)
    tree = _Tree(root, rel, problems, source)
    counts = Counter(i.resource for i in instances)
    for inst in instances:  # see Instance.internal
        inst.single = counts[inst.resource] == 1
        inst.internal = inst.resource if inst.single else inst.address
    values = Values(instances, obj(doc.configuration.get("root_module")), tree.locals)
    items: list[Evaluated] = []
    strays: list[str] = []
    for inst in (i for i in instances if i.mode == "managed"):
        steps = _steps(inst.module)
        names = tuple(n for n, _ in steps or [])
        module = values.module(steps or [])
        found = tree.named(names, "resource", inst.type, inst.name) if steps is not None \
            else None
        expressions = _expressions(module.config, inst)
        call = tree.call_location(names)
        if found is not None:
            found = _aligned(found, inst.values)
        elif steps is None or call is None or tree.directory(names) is not None:
            strays.append(inst.address)  # nothing here declares it
        prefix = f"{inst.module}." if inst.module else ""
        label = inst.internal.removeprefix(f"{prefix}{inst.type}.")  # address = internal
        where = call or fallback
        block = replace(found, labels=[inst.type, label], module=prefix) if found else Block(
            "resource", [inst.type, label], {}, where.file, where.line or 0, module=prefix)
        items.append(Evaluated(block=block, attrs=values.attrs(inst, found, expressions, module),
                               inputs=tree.inputs(names) if found is not None else {}))
    out = normalise(items, source)
    _guard_rules(items, out)
    address = {i.internal: i.address for i in instances}
    for res in out:  # Terraform's own address in reports
        res.address = address.get(res.address or "", res.address)
    if strays and root.is_dir():
        shown = ", ".join(strays[:3]) + (f" and {len(strays) - 3} more" if len(strays) > 3
                                         else "")
        problems.append(Problem(source, f"{rel(path)} plans {shown}, which the HCL of "
                                f"{rel(root)} does not declare: a plan of other code (make it "
                                f"again: {RECIPE}); its findings point here", fallback))
    return out


def _instances(doc: PlanDoc) -> list[Instance]:
    changes = {c.address: c.change for c in doc.resource_changes if c.deposed is None}
    out: list[Instance] = []
    todo = [doc.planned_values.root_module]
    for module in todo:  # breadth first: the root's resources, then each module's
        todo.extend(module.child_modules)
        for r in module.resources:
            if r.mode not in ("managed", "data"):
                continue
            change = changes.get(r.address, _Change())
            out.append(Instance(
                address=r.address, module=module.address, mode=r.mode, type=r.type,
                name=r.name, index=r.index, values=r.values or {},
                unknown=change.after_unknown, sensitive=merged(r.sensitive_values,
                                                                change.after_sensitive)))
    return out


def _steps(module: str) -> list[tuple[str, str]] | None:
    """``module.a["k"].module.b`` -> [("a", '["k"]'), ("b", "")]; None when malformed."""
    out, pos = [], 0
    while pos < len(module):
        match = _MODULE.match(module, pos)
        if match is None:
            return None
        out.append((match.group(1), match.group(2)))
        pos = match.end()
    return out


def _expressions(config: dict[str, Any], inst: Instance) -> dict[str, Any]:
    """The resource's expressions in the plan's configuration (for the references)."""
    resources = config.get("resources")
    for r in resources if isinstance(resources, list) else []:
        r = obj(r)
        if (r.get("mode"), r.get("type"), r.get("name")) == ("managed", inst.type, inst.name):
            return obj(r.get("expressions"))
    return {}


def _aligned(block: Block, values: dict[str, Any]) -> Block:
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


def _guard_rules(items: list[Evaluated], out: list[Resource]) -> None:
    """Unknown never passes: a standalone rule left off its group (its group known only
    after apply, or one of several instances that joins did not find) may be any group's
    of its module whose direction standalone rules make: that direction becomes unknown."""
    declared = {r.address or "": r for r in out if r.kind == "SecurityGroup"
                and not r.body.get("declared_elsewhere")}
    pseudo = {r.address for r in out if r.body.get("declared_elsewhere")}
    inline = {e.block.address: e.attrs.keys() for e in items if e.block.address in declared}
    for e in (e for e in items if e.type in RULE_TYPES):
        target, kind = e.attrs.get("security_group_id"), e.attrs.get("type")
        direction = kind if kind in ("ingress", "egress") else (
            "egress" if e.type.endswith("egress_rule") else "ingress")
        if isinstance(target, Ref) and target.address in declared and target.address in pseudo:
            reason = (f"{e.block.address} adds {direction} rules to {target.address}, one of "
                      "several instances: they are not folded into it here")
            hit = [declared[target.address]]
        elif isinstance(target, Unknown):
            reason = (f"{e.block.address} adds {direction} rules to a security group known "
                      f"only after apply ({target.reason}): they may be this group's")
            hit = [g for a, g in declared.items() if a.startswith(e.block.module)]
        else:
            continue
        for group in hit:
            if isinstance(group.body.get(direction), list) and direction not in inline.get(
                    group.address or "", ()):
                group.body[direction] = Unknown(reason)
                group.field_locations[(direction,)] = Location(e.block.file, e.block.line)


class _Tree:
    """The HCL of the plan's root directory and of the module directories under it, each
    read once."""

    def __init__(self, root: FsPath, rel: Callable[[FsPath], str], problems: list[Problem],
                 source: str) -> None:
        self.root, self.rel, self.problems, self.source = root, rel, problems, source
        self._dirs: dict[tuple[str, ...], FsPath | None] = {(): root}
        self._read: dict[FsPath, list[Block]] = {}
        self._named: dict[FsPath, dict[tuple[str, ...], Block]] = {}
        self._installed = _installed(root)

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
                found = self.root / self._installed[".".join(names)]
            elif isinstance(source, str) and source.startswith(LOCAL_SOURCE):
                parent = self.directory(names[:-1])
                found = parent / source if parent is not None else None
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


def _installed(root: FsPath) -> dict[str, str]:
    """Where ``terraform init`` put each module call ("db.inner" -> its directory)."""
    path = root / ".terraform" / "modules" / "modules.json"
    if not path.is_file():
        return {}
    text, error = loader.read_text(path, "")
    try:
        data = json.loads(text) if error is None else {}
    except (ValueError, RecursionError):  # Terraform's own file: without it, no locations
        return {}
    if too_deep(data):
        return {}
    listed = obj(data).get("Modules")
    return {m["Key"]: m["Dir"] for m in (listed if isinstance(listed, list) else [])
            if isinstance(m, dict) and isinstance(m.get("Key"), str) and m["Key"]
            and isinstance(m.get("Dir"), str)}
