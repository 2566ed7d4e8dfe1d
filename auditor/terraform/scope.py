"""The values a Terraform directory's expressions can see: variables (defaults, then
var files, then the config's ``vars``), locals (evaluated lazily, cycles are unknown),
attributes of the resources it declares, and inside one instance of a resource with
``count``/``for_each``, ``count.index`` or ``each.key``/``each.value``.

Inside a module, expressions name resources by their local address; the :class:`Ref` a
computed attribute yields carries the full one (``module.db.aws_security_group.db``), so a
reference passed into or out of a module still names the right resource.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from copy import copy
from typing import Any

from auditor.terraform import types
from auditor.terraform.expressions import Ref, evaluate
from auditor.terraform.hcl_values import EvalError, pairs
from auditor.terraform.loader import Block
from auditor.unknown import Unknown

# Each instance's key and its count.index / each values; Unknown: not known offline;
# None: the block has no count or for_each.
Instances = list[tuple[str | int, dict[str, Any]]] | Unknown | None
MAX_INSTANCES = 256  # instances of one resource expanded; past that, one unknown resource
_KEYED = re.compile(r'^(.*)\[(?:(\d+)|"([^"]*)")\]$')  # aws_x.y[0], aws_x.y["a"]

# Attributes AWS assigns at apply time: references to them identify a resource, they
# never resolve to a value offline.
COMPUTED = {"id", "arn", "arn_suffix", "dns_name", "zone_id", "endpoint", "address",
            "owner_id", "hosted_zone_id", "resource_id", "status", "version_id"}


class ModuleScope:
    def __init__(self, blocks: list[Block], var_values: Mapping[str, Any],
                 module: str = "") -> None:
        self.module = module  # "module.db." inside a module call
        variables = [b for b in blocks if b.kind == "variable" and b.labels]
        # `default = null` is a default (null: the argument is unset), not a missing one.
        self.defaults = {b.labels[0]: b.attrs["default"] for b in variables
                         if "default" in b.attrs}
        self.declared_vars = {b.labels[0] for b in variables}
        # Constraints with optional() attributes: what a value leaves out is null or its
        # default, as Terraform converts it.
        self.types = {b.labels[0]: t for b in variables
                      if (t := types.parse(b.attrs.get("type"))) is not None}
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
        self._variables: dict[str, Any] = {}  # shared like locals: no count or each in them
        self._resolving: set[str] = set()
        # count/for_each per block, shared by this scope's instance copies (which cannot
        # change them: count and for_each see no count or each).
        self._expanded: dict[str, Instances] = {}
        self.instance: dict[str, Any] = {}  # "count.index" / "each.key" / "each.value"
        self.outputs_raw = {b.labels[0]: b.attrs.get("value") for b in blocks
                            if b.kind == "output" and b.labels}
        self.children: dict[str, Any] = {}  # module name -> its call (modules._Child)
        self.files: Any = None  # where file functions read (hcl_fn_files.ModuleFiles)

    def output(self, name: str) -> Any:
        if name not in self.outputs_raw:
            return Unknown(f"output {name} is not declared in {self.module.rstrip('.')}")
        return self.for_instance({})._guarded(f"output.{name}", self.outputs_raw[name])

    def module_output(self, module: str, name: str, key: Any = None) -> Any:
        child = self.children.get(module)
        if child is None:
            return Unknown(f"module.{module} is not declared here")
        return child.output(name, key)

    def for_instance(self, values: dict[str, Any]) -> ModuleScope:
        """This scope inside one instance (locals and variables shared: they cannot see
        count or each)."""
        inner = copy(self)
        inner.instance = values
        return inner

    def instance_value(self, name: str) -> Any:
        if name in self.instance:
            return self.instance[name]
        doubt = self.instance.get("doubt")  # why the instances are not known
        if isinstance(doubt, Unknown) and name.startswith(("count.", "each.")):
            return Unknown(f"{name} is not known: {doubt.reason}", failed=doubt.failed,
                           pending=doubt.pending)
        return Unknown(f"{name} is only known per instance")

    def instances(self, block: Block) -> Instances:
        """Each instance's key and its count/each values; None without count/for_each.
        Worked out once per block: every reference to an instance asks again."""
        if block.local_address not in self._expanded:
            self._expanded[block.local_address] = self._instances(block)
        return self._expanded[block.local_address]

    def _instances(self, block: Block) -> Instances:
        if "count" in block.attrs:
            number = self._count(block)
            if isinstance(number, Unknown):
                return number
            return [(i, {"count.index": i}) for i in range(number)]
        if "for_each" in block.attrs:
            return self._for_each(block)
        return None

    def _count(self, block: Block) -> int | Unknown:
        value = evaluate(block.attrs["count"], self.for_instance({}))
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
        if isinstance(value, Unknown | Ref):
            return _not_offline(f"count of {block.address}", value)
        if not isinstance(value, int) or value < 0:
            return Unknown(f"count of {block.address} is not a whole number: {value!r}")
        if value > MAX_INSTANCES:
            return Unknown(f"count of {block.address} is {value}: more than {MAX_INSTANCES} "
                           "instances are not expanded")
        return value

    def _for_each(self, block: Block) -> list[tuple[str | int, dict[str, Any]]] | Unknown:
        value = evaluate(block.attrs["for_each"], self.for_instance({}))
        if isinstance(value, Unknown | Ref):
            return _not_offline(f"for_each of {block.address}", value)
        if isinstance(value, dict):
            items = sorted(value.items())  # Terraform orders a map's instances by key
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            items = [(v, v) for v in sorted(set(value))]  # a set of strings: key = value
        else:
            return Unknown(f"for_each of {block.address} is not a map or a set of strings")
        if any(isinstance(k, Unknown) for k, _ in items):
            return Unknown(f"for_each of {block.address} has keys not known offline")
        if len(items) > MAX_INSTANCES:
            return Unknown(f"for_each of {block.address} has {len(items)} keys: more than "
                           f"{MAX_INSTANCES} instances are not expanded")
        return [(str(k), {"each.key": str(k), "each.value": v}) for k, v in items]

    def resource_keys(self, address: str) -> list[str | int | None] | Unknown:
        """The instance keys of a resource (for a splat): [None] for a single one."""
        block = self.resources.get(address)
        if block is None:
            return Unknown(f"{self.module}{address} is not declared here")
        expanded = self.instances(block)
        if isinstance(expanded, Unknown):
            return expanded
        return [None] if expanded is None else [key for key, _ in expanded]

    def iterations(self, raw: Any, what: str) -> list[tuple[Any, Any]] | Unknown:
        """(key, value) of a dynamic block's for_each: a list's index, a map's key, a set
        element as both."""
        value = evaluate(raw, self)
        if isinstance(value, Unknown | Ref):
            return _not_offline(f"the for_each of {what}", value)
        elements = pairs(value)
        if elements is None:
            return Unknown(f"the for_each of {what} is not a collection")
        if len(elements) > MAX_INSTANCES:
            return Unknown(f"the for_each of {what} has more than {MAX_INSTANCES} elements")
        return elements

    def variable(self, name: str) -> Any:
        # Worked out once per module instance: a module's rule tables (a map of hundreds
        # of entries, read by every resource) were converted again at each reference.
        if name in self._variables:
            return self._variables[name]
        value = self._conformed(name)
        if not isinstance(value, Unknown):  # an unknown may be the stack's, not the value's
            self._variables[name] = value
        return value

    def _conformed(self, name: str) -> Any:
        value = self._variable(name)
        constraint = self.types.get(name)
        if constraint is None or isinstance(value, Unknown):
            return value
        return types.conform(value, constraint, lambda text: evaluate(
            "${" + text + "}", self.for_instance({})))

    def _variable(self, name: str) -> Any:
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
        if address in self.instance:  # a dynamic block's iterator: ingress.value.port
            value = self.instance[address]
            for step in attribute.split(".") if attribute else []:
                if not isinstance(value, dict) or step not in value:
                    return Unknown(f"{address}.{attribute} is not in the iterated value")
                value = value[step]
            return value
        keyed = _KEYED.match(address)
        base = keyed.group(1) if keyed else address
        block = self.resources.get(base)
        first, _, rest = attribute.partition(".")
        # The referenced resource's own context, not ours: its instance's count/each.
        values: dict[str, Any] | None = {}
        if block is not None and keyed is not None:
            expanded = self.instances(block)
            found = dict(expanded) if isinstance(expanded, list) else {}
            key: str | int = int(keyed.group(2)) if keyed.group(2) else keyed.group(3)
            if isinstance(expanded, list) and key not in found:
                # An error, as in Terraform: try() moves on to its next argument.
                raise EvalError(f"{self.module}{address} does not exist ({base} has "
                                f"{len(expanded)} instance(s))")
            values = found.get(key) if expanded is not None else {}
        elif block is not None and ("count" in block.attrs or "for_each" in block.attrs):
            values = None  # the whole list of instances
        if block is None or values is None or first in COMPUTED or first not in block.attrs:
            # Unknown resources still get a Ref: the reference itself identifies them.
            return Ref(self.module + address, attribute)
        scope = self.for_instance(values)
        value = scope._guarded(f"{address}.{first}", block.attrs[first])
        for step in rest.split(".") if rest else []:
            if isinstance(value, dict) and step in value:
                value = value[step]
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


def _not_offline(what: str, value: Unknown | Ref) -> Unknown:
    """``what`` (a count or for_each) not known offline, and why. Known at apply when what
    it comes from is (not a variable nobody set): then so are the instances, and try()
    does not move past them."""
    if isinstance(value, Ref):
        return Unknown(f"{what} is not known offline ({value} is {value.known})",
                       pending=True)
    return Unknown(f"{what} is not known offline ({value.reason})", pending=value.pending)
