"""A plan's values -> the evaluated attributes the shapes read (see :mod:`.plan`).

``planned_values`` are Terraform's own and exact; the plan's marks change three things:

* a value known only after apply (``after_unknown``) becomes a :class:`Ref` when its
  expression's one source not yet known is a resource attribute (which security group a
  rule joins, say), else :class:`Unknown` naming its sources (:mod:`.plan_sources`);
* a sensitive value (``sensitive_values``, ``after_sensitive``) becomes Unknown without
  its value, so no report can show it (a password: ``(sensitive)``, as it is set);
* null is "unset", as an argument set to null is in Terraform, so a policy's API default
  applies as on the HCL side.

A known id or ARN where an identity is expected (security groups, a rule's group, an
association's target) becomes a Ref to the instance it belongs to, by Terraform's instance
address, as HCL references to an expanded resource are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.paths import MISSING, Path, format, get
from auditor.terraform.evaluated import SINGLE_BLOCKS
from auditor.terraform.expressions import Ref
from auditor.terraform.loader import Block
from auditor.terraform.plan_file import Instance, marked, obj
from auditor.terraform.plan_sources import Module, Sources, references_in
from auditor.terraform.refs import SG_KEYS, reference_text
from auditor.unknown import Unknown

# Where a value names another resource: the shapes and joins need to know which one.
ID_KEYS = SG_KEYS | {"security_group_id", "resource_arn", "secret_id"}
SENSITIVE = "(sensitive)"  # a set secret, in place of its value
_SECRETS = {("password",), ("master_password",)}


class Values:
    """Turns each instance's planned values into attributes, with the whole plan at hand
    (references name other instances)."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources
        self.ids: dict[str, tuple[Instance, str]] = {}
        for i in sources.by_address.values():
            for attr in ("id", "arn"):
                value = i.values.get(attr)
                if isinstance(value, str) and value and not marked(i.sensitive, (attr,)):
                    self.ids.setdefault(value, (i, attr))

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
        """Known ids and ARNs where a resource is named -> Refs to it; Refs -> the
        instance's address (an expanded resource's shapes are keyed by it)."""
        if isinstance(value, dict):
            return {k: self.identify(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.identify(v, key) for v in value]
        if isinstance(value, Ref):
            target = self.sources.instance(value.address)
            return value if target is None else Ref(target.address, value.attribute)
        if isinstance(value, str) and key in ID_KEYS and value in self.ids:
            target, attr = self.ids[value]
            return Ref(target.address, attr)
        return value


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
        found = self.values.sources.of(self.references(raw, path), self.module)
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
        return references_in(raw) if raw is not MISSING else []


def _configured(key: str, block: Block, expressions: dict[str, Any]) -> bool:
    dynamic = block.attrs.get("dynamic")
    return key in block.attrs or key in expressions or any(
        isinstance(d, dict) and key in d for d in (dynamic if isinstance(dynamic, list)
                                                   else [dynamic]))
