"""The values a Terraform directory's expressions can see: variables (defaults, then
var files, then the config's ``vars``), locals (evaluated lazily, cycles are unknown) and
attributes of the resources it declares.

Inside a module, expressions name resources by their local address; the :class:`Ref` a
computed attribute yields carries the full one (``module.db.aws_security_group.db``), so a
reference passed into or out of a module still names the right resource.
"""

from __future__ import annotations

from typing import Any

from auditor.terraform.expressions import Ref, evaluate
from auditor.terraform.loader import Block
from auditor.unknown import Unknown

# Attributes AWS assigns at apply time: references to them identify a resource, they
# never resolve to a value offline.
COMPUTED = {"id", "arn", "arn_suffix", "dns_name", "zone_id", "endpoint", "address",
            "owner_id", "hosted_zone_id", "resource_id", "status", "version_id"}


class ModuleScope:
    def __init__(self, blocks: list[Block], var_values: dict[str, Any], module: str = "") -> None:
        self.module = module  # "module.db." inside a module call
        variables = [b for b in blocks if b.kind == "variable" and b.labels]
        # `default = null` is a default (null: the argument is unset), not a missing one.
        self.defaults = {b.labels[0]: b.attrs["default"] for b in variables
                         if "default" in b.attrs}
        self.declared_vars = {b.labels[0] for b in variables}
        # nullable = false: a null the caller passes means the default.
        self.not_nullable = {b.labels[0] for b in variables
                             if b.attrs.get("nullable") in (False, "false")}
        self.var_values = var_values
        self.locals_raw: dict[str, Any] = {}
        for b in blocks:
            if b.kind == "locals":
                self.locals_raw.update(b.attrs)
        self.resources = {b.local_address: b for b in blocks if b.kind in ("resource", "data")}
        self._locals: dict[str, Any] = {}
        self._resolving: set[str] = set()

    def variable(self, name: str) -> Any:
        if name in self.var_values and not (
                self.var_values[name] is None and name in self.not_nullable):
            return self.var_values[name]
        if name not in self.declared_vars:
            return Unknown(f"variable {name} is not declared")
        if name not in self.defaults:
            if self.module:
                return Unknown(f"variable {name} of {self.module.rstrip('.')} has no default "
                               "and the module call passes no value")
            return Unknown(f"variable {name} has no default and no value in var_files or vars")
        return self._guarded(f"var.{name}", self.defaults[name])

    def local(self, name: str) -> Any:
        if name not in self._locals:
            if name not in self.locals_raw:
                return Unknown(f"local.{name} is not declared")
            self._locals[name] = self._guarded(f"local.{name}", self.locals_raw[name])
        return self._locals[name]

    def resource_attribute(self, address: str, attribute: str) -> Any:
        block = self.resources.get(address)
        first, _, rest = attribute.partition(".")
        if block is None or first in COMPUTED or first not in block.attrs:
            # Unknown resources still get a Ref: the reference itself identifies them.
            return Ref(self.module + address, attribute)
        value = self._guarded(f"{address}.{first}", block.attrs[first])
        for key in rest.split(".") if rest else []:
            if isinstance(value, dict) and key in value:
                value = value[key]
            else:
                return Ref(self.module + address, attribute)
        return value

    def _guarded(self, key: str, raw: Any) -> Any:
        if key in self._resolving:
            return Unknown(f"{key} refers to itself")
        self._resolving.add(key)
        try:
            return evaluate(raw, self)
        finally:
            self._resolving.discard(key)
