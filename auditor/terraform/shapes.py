"""Terraform resources -> the shared AWS resource shape.

Bodies keep Terraform's attribute names (so live collectors map API responses onto the
same names and drift compares like with like). On top of that, joins that Terraform
spreads over several resources are folded in (:mod:`~auditor.terraform.joins`): standalone
security group rules into their group, a WAF association into its load balancer, a rotation
into its secret; parameter blocks become a name -> value map. A group whose rules in a
direction come only from standalone rule resources says so (``standalone_rules``: it does
not own that rule set). References follow :mod:`~auditor.terraform.refs`: a security group
where one is expected, else unknown. ``lifecycle.ignore_changes`` is kept on the resource
as body paths (drift leaves them alone).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from auditor.models import Location, Resource
from auditor.paths import MISSING, Path, get
from auditor.terraform import joins
from auditor.terraform.evaluated import SINGLE_BLOCKS, Evaluated, fold_blocks
from auditor.terraform.expressions import Ref
from auditor.terraform.loader import Block
from auditor.terraform.modules import bare_variable
from auditor.terraform.refs import SG_TYPES, resolve
from auditor.unknown import Unknown

__all__ = ["KINDS", "Evaluated", "normalise"]

KINDS = {
    "aws_security_group": "SecurityGroup", "aws_default_security_group": "SecurityGroup",
    "aws_db_instance": "DBInstance", "aws_rds_cluster": "DBCluster",
    "aws_rds_cluster_instance": "DBClusterInstance",
    "aws_db_parameter_group": "DBParameterGroup",
    "aws_rds_cluster_parameter_group": "DBClusterParameterGroup",
    "aws_eks_node_group": "Nodegroup",
    "aws_lb_target_group": "TargetGroup", "aws_alb_target_group": "TargetGroup",
    "aws_lb": "LoadBalancer", "aws_alb": "LoadBalancer", "aws_acm_certificate": "ACMCertificate",
    "aws_cloudwatch_metric_alarm": "MetricAlarm", "aws_secretsmanager_secret":
    "SecretsManagerSecret",
}  # fmt: skip
_STEP = re.compile(r'([A-Za-z_][\w-]*)|\[(\d+)\]|\["([^"]*)"\]')
_VAR_REFS = re.compile(r"(?<![\w.])var\.([A-Za-z_][\w-]*)")
NAME_ATTR = {"DBInstance": "identifier", "DBCluster": "cluster_identifier",
             "DBClusterInstance": "identifier",
             "Nodegroup": "node_group_name", "ACMCertificate": "domain_name",
             "MetricAlarm": "alarm_name"}


def normalise(items: list[Evaluated], source: str) -> list[Resource]:
    """Shape every resource of ``items`` (one directory and the modules it calls)."""
    # Declared groups by full address -> name: what references to them become.
    names = {e.address: _name(e, "SecurityGroup") for e in items
             if e.type in SG_TYPES and e.block.kind == "resource"}
    out: dict[str, Resource] = {}
    inline: dict[str, set[str]] = {}  # group address -> directions its own block sets
    for e in items:
        kind = KINDS.get(e.type)
        if kind is None or e.block.kind != "resource":
            continue
        body = fold_blocks(resolve(e.attrs, names))
        res = Resource(kind=kind, name=_name(e, kind), body=body, source=source,
                       location=Location(e.block.file, e.block.line), address=e.address,
                       field_locations=_locations(e),
                       ignore_changes=_ignored(e.block))
        if e.instances is not None:
            body["instances"] = e.instances
            line = e.block.lines.get(("count",), e.block.lines.get(("for_each",)))
            if line is not None:
                res.field_locations[("instances",)] = Location(e.block.file, line)
        if kind == "SecurityGroup":
            inline[e.address] = {d for d in ("ingress", "egress")
                                       if d in e.attrs or _has_dynamic(e.block, d)}
            for direction in ("ingress", "egress"):
                body[direction] = _rules(e.block, body.get(direction), direction)
        if kind in ("DBParameterGroup", "DBClusterParameterGroup"):
            _fold_parameters(res)
        if kind == "SecretsManagerSecret":
            body["rotation_enabled"] = False
        out[e.address] = res
    owners = joins.apply(items, out, names, source)
    for address, res in out.items():
        if res.kind == "SecurityGroup":
            _mark_standalone(res, inline.get(address, set()), owners)
    return list(out.values())


def _mark_standalone(group: Resource, inline: set[str], owners: joins.RuleOwners) -> None:
    """``standalone_rules``: for each direction the group's own block leaves to standalone
    rule resources, their addresses (index for index with the rules). Terraform then does
    not own the direction's whole rule set: another stack may attach rules there."""
    marked: dict[str, list[str]] = {}
    for direction in ("ingress", "egress"):
        rules = group.body.get(direction)
        if direction in inline or not isinstance(rules, list):
            continue
        marked[direction] = [owners.get((id(group), direction, i), "")
                             for i in range(len(rules))]
    if any(marked.values()):
        group.body["standalone_rules"] = marked


def _ignored(block: Block) -> tuple[Path, ...]:
    """``lifecycle { ignore_changes = [...] }`` as body paths (``scaling_config[0].x`` is
    ``("scaling_config", "x")``, as single blocks are folded); ``all`` is the path ()."""
    lifecycle = block.attrs.get("lifecycle")
    out: list[Path] = []
    for entry in lifecycle if isinstance(lifecycle, list) else [lifecycle]:
        value = entry.get("ignore_changes") if isinstance(entry, dict) else None
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str):
                continue
            text = item.strip().removeprefix("${").removesuffix("}").strip().strip('"')
            if text in ("all", "*"):
                return ((),)
            path: list[str | int] = [m.group(1) or (int(m.group(2)) if m.group(2) else
                                                    m.group(3)) for m in _STEP.finditer(text)]
            if len(path) > 1 and path[0] in SINGLE_BLOCKS and path[1] == 0:
                del path[1]
            if path and path[0] == "parameter":
                path = ["parameters"]  # parameter blocks are folded into a name -> value map
            if path:
                out.append(tuple(path))
    return tuple(out)


def _rules(block: Block, rules: Any, direction: str) -> Any:
    if isinstance(rules, Unknown):
        return rules  # stays unknown: checks must not read it as "no rules"
    if isinstance(rules, list):
        doubt = next((r for r in rules if isinstance(r, Unknown)), None)
        return doubt if doubt is not None else [joins.rule(r) for r in rules
                                                if isinstance(r, dict)]
    if _has_dynamic(block, direction):
        return Unknown(f"{block.address} builds its {direction} rules with a dynamic block")
    return []


def _has_dynamic(block: Block, name: str) -> bool:
    dynamic = block.attrs.get("dynamic")
    blocks = dynamic if isinstance(dynamic, list) else [dynamic]
    return any(isinstance(d, dict) and name in d for d in blocks)


def _name(e: Evaluated, kind: str) -> str:
    if e.type == "aws_default_security_group":  # AWS names it "default", once per VPC
        vpc = e.attrs.get("vpc_id", "default VPC")
        vpc = vpc.address if isinstance(vpc, Ref) else vpc
        return f"default ({vpc})" if isinstance(vpc, str) and vpc else e.address
    value = e.attrs.get(NAME_ATTR.get(kind, "name"))
    return value if isinstance(value, str) and value else e.address


def _locations(e: Evaluated) -> dict[Path, Location]:
    """Each attribute's line; one that is just ``var.NAME`` of a module, set by the
    caller, points at the caller's argument (the module's line is related). A block a
    dynamic block generated points at its content."""
    block, inputs = e.block, e.inputs
    out: dict[Path, Location] = {(): Location(block.file, block.line)}
    out.update({path: Location(block.file, line) for path, line in e.lines.items()})
    for raw_path, line in block.lines.items():
        path = raw_path
        if len(path) >= 2 and path[0] in SINGLE_BLOCKS and path[1] == 0:
            path = (path[0], *path[2:])
        here = Location(block.file, line)
        raw = get(block.attrs, raw_path)
        name = bare_variable(raw) if inputs else None
        wrapped = _named_after(raw, raw_path) if inputs and name is None else None
        if wrapped is not None and wrapped in e.arguments and \
                _same(get(e.attrs, path), e.arguments[wrapped]):
            name = wrapped  # the guard let the caller's value through, in this instance
        caller = inputs.get(name) if name else None
        out[path] = replace(caller, related=(here,)) if caller else here
    return out


def _named_after(raw: Any, path: Path) -> str | None:
    """The variable named as the attribute, when the attribute's expression reads it
    (``var.x != null ? coalesce(var.backup_retention_period, 1) : var.backup_retention_period``
    for backup_retention_period): modules wrap a caller's value in guards and defaults,
    and the caller's argument is where a team changes it."""
    last = path[-1] if path and isinstance(path[-1], str) else None
    if last is None or not isinstance(raw, str) or "var." not in raw:
        return None
    return last if last in _VAR_REFS.findall(raw) else None


def _same(value: Any, argument: Any) -> bool:
    """The attribute has the caller's value (neither unknown nor a reference)."""
    known = not isinstance(value, Unknown | Ref) and not isinstance(argument, Unknown | Ref)
    return known and value is not MISSING and value == argument \
        and type(value) is type(argument)


def _fold_parameters(res: Resource) -> None:
    params: dict[str, Any] = {}
    blocks = res.body.pop("parameter", None)
    for i, p in enumerate(blocks if isinstance(blocks, list) else []):
        if isinstance(p, dict) and isinstance(p.get("name"), str):
            params[p["name"]] = p.get("value")
            loc = res.field_locations.get(("parameter", i, "value"))
            if loc:
                res.field_locations[("parameters", p["name"])] = loc
    res.body["parameters"] = params
