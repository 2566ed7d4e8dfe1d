"""Terraform resources -> the shared AWS resource shape.

Bodies keep Terraform's attribute names (so live collectors map API responses onto the
same names and drift compares like with like). On top of that, joins that Terraform
spreads over several resources are folded in: standalone security group rules into their
group, parameter blocks into a name -> value map, a WAF association into its load
balancer, a rotation into its secret. References to security groups become group names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.models import Location, Resource
from auditor.paths import Path
from auditor.terraform.expressions import Ref
from auditor.terraform.loader import Block
from auditor.unknown import Unknown

KINDS = {
    "aws_security_group": "SecurityGroup", "aws_db_instance": "DBInstance",
    "aws_db_parameter_group": "DBParameterGroup", "aws_eks_node_group": "Nodegroup",
    "aws_lb_target_group": "TargetGroup", "aws_alb_target_group": "TargetGroup",
    "aws_lb": "LoadBalancer", "aws_alb": "LoadBalancer", "aws_acm_certificate": "ACMCertificate",
    "aws_cloudwatch_metric_alarm": "MetricAlarm", "aws_secretsmanager_secret":
    "SecretsManagerSecret",
}  # fmt: skip
NAME_ATTR = {"DBInstance": "identifier", "Nodegroup": "node_group_name", "ACMCertificate":
             "domain_name", "MetricAlarm": "alarm_name"}
SINGLE_BLOCKS = {"health_check", "scaling_config", "access_logs", "rotation_rules",
                 "update_config", "stickiness", "remote_access", "launch_template", "timeouts"}
_RULE_TYPES = ("aws_security_group_rule", "aws_vpc_security_group_ingress_rule",
               "aws_vpc_security_group_egress_rule")


@dataclass
class Evaluated:
    block: Block
    attrs: dict[str, Any]

    @property
    def type(self) -> str:
        return self.block.labels[0]


def normalise(items: list[Evaluated], source: str) -> list[Resource]:
    by_address = {e.block.address: e for e in items}
    sg_names = {a: _name(e, "SecurityGroup") for a, e in by_address.items()
                if e.type == "aws_security_group"}
    out: dict[str, Resource] = {}
    for e in items:
        kind = KINDS.get(e.type)
        if kind is None or e.block.kind != "resource":
            continue
        body = _fold_blocks(_refs(e.attrs, sg_names))
        res = Resource(kind=kind, name=_name(e, kind), body=body, source=source,
                       location=Location(e.block.file, e.block.line), address=e.block.address,
                       field_locations=_locations(e.block))
        if kind == "SecurityGroup":
            for direction in ("ingress", "egress"):
                rules = body.get(direction)
                if isinstance(rules, list):
                    body[direction] = [_rule(r, sg_names) for r in rules]
                elif isinstance(rules, Unknown):
                    pass  # stays unknown: checks must not read it as "no rules"
                elif _has_dynamic(e.block, direction):
                    body[direction] = Unknown(f'{e.block.address} builds its {direction} '
                                              'rules with a dynamic block')
                else:
                    body[direction] = []
        if kind == "DBParameterGroup":
            _fold_parameters(res)
        if kind == "SecretsManagerSecret":
            body["rotation_enabled"] = False
        out[e.block.address] = res
    unattached: dict[str, str] = {}  # joined key -> why a join could not find its target
    for e in items:  # joins: resources that only make sense attached to another
        if e.type in _RULE_TYPES:
            _attach_rule(e, out, sg_names)
        elif e.type in ("aws_wafv2_web_acl_association", "aws_wafregional_web_acl_association"):
            acl = e.attrs.get("web_acl_arn", e.attrs.get("web_acl_id"))
            if not _attach(e, out, "resource_arn", "web_acl", acl):
                unattached["web_acl"] = f"{e.block.address} targets a resource not known here"
        elif e.type == "aws_secretsmanager_secret_rotation" and not _attach(
                e, out, "secret_id", "rotation_enabled", True,
                extra={"rotation_rules": e.attrs.get("rotation_rules")}):
            unattached["rotation_enabled"] = f"{e.block.address} rotates a secret not known here"
    # A join whose target is unknown may belong to any candidate: absence is not proven.
    for res in out.values():
        for key, reason in unattached.items():
            if (key == "web_acl" and res.kind == "LoadBalancer" and key not in res.body) or (
                    key == "rotation_enabled" and res.kind == "SecretsManagerSecret"
                    and res.body.get(key) is False):
                res.body[key] = Unknown(reason)
    return list(out.values())


def _has_dynamic(block: Block, name: str) -> bool:
    dynamic = block.attrs.get("dynamic")
    blocks = dynamic if isinstance(dynamic, list) else [dynamic]
    return any(isinstance(d, dict) and name in d for d in blocks)


def _name(e: Evaluated, kind: str) -> str:
    value = e.attrs.get(NAME_ATTR.get(kind, "name"))
    return value if isinstance(value, str) and value else e.block.address


def _refs(value: Any, sg_names: dict[str, str]) -> Any:
    """References become names (security groups) or ``address.attribute`` strings."""
    if isinstance(value, Ref):
        if value.address in sg_names and value.attribute in ("id", "name"):
            return sg_names[value.address]
        return f"{value.address}.{value.attribute}"
    if isinstance(value, dict):
        return {k: _refs(v, sg_names) for k, v in value.items()}
    if isinstance(value, list):
        return [_refs(v, sg_names) for v in value]
    return value


def _fold_blocks(body: dict[str, Any]) -> dict[str, Any]:
    for key in SINGLE_BLOCKS & body.keys():
        if isinstance(body[key], list) and len(body[key]) == 1:
            body[key] = body[key][0]
    return body


def _locations(block: Block) -> dict[Path, Location]:
    out: dict[Path, Location] = {(): Location(block.file, block.line)}
    for path, line in block.lines.items():
        if len(path) >= 2 and path[0] in SINGLE_BLOCKS and path[1] == 0:
            path = (path[0], *path[2:])
        out[path] = Location(block.file, line)
    return out


def _rule(raw: dict[str, Any], sg_names: dict[str, str]) -> dict[str, Any]:
    protocol = raw.get("protocol", raw.get("ip_protocol"))
    if isinstance(protocol, str):
        protocol = {"all": "-1", "6": "tcp", "17": "udp"}.get(protocol.lower(), protocol.lower())
    groups: Any = raw.get("security_groups")
    groups = groups if isinstance(groups, Unknown) else list(groups or [])
    for key in ("source_security_group_id", "referenced_security_group_id"):
        if raw.get(key) is not None and isinstance(groups, list):
            groups.append(raw[key])
    return {
        "protocol": protocol, "from_port": raw.get("from_port"),
        "to_port": raw.get("to_port", raw.get("from_port")),
        "cidr_blocks": _listed(raw.get("cidr_blocks"), raw.get("cidr_ipv4")),
        "ipv6_cidr_blocks": _listed(raw.get("ipv6_cidr_blocks"), raw.get("cidr_ipv6")),
        "security_groups": groups if isinstance(groups, Unknown) else
        [sg_names.get(g, g) if isinstance(g, str) else g for g in groups],
        "self": raw.get("self", False), "description": raw.get("description", ""),
    }


def _listed(many: Any, one: Any) -> Any:
    if isinstance(many, Unknown):
        return many
    return [*(many if many is not None else []), *([one] if one is not None else [])]


def _attach_rule(e: Evaluated, out: dict[str, Resource], sg_names: dict[str, str]) -> None:
    target = _target(e.attrs.get("security_group_id"), out)
    if target is None:
        return
    direction = e.attrs.get("type") or ("egress" if e.type.endswith("egress_rule") else "ingress")
    rules = target.body.setdefault(str(direction), [])
    index = len(rules)
    rules.append(_rule(_refs(e.attrs, sg_names), sg_names))
    target.field_locations[(str(direction), index)] = Location(e.block.file, e.block.line)
    for path, line in e.block.lines.items():
        target.field_locations[(str(direction), index, *path)] = Location(e.block.file, line)


def _attach(e: Evaluated, out: dict[str, Resource], ref_attr: str, key: str, value: Any,
            extra: dict[str, Any] | None = None) -> bool:
    target = _target(e.attrs.get(ref_attr), out)
    if target is None:
        return False
    target.body[key] = _refs(value, {})
    target.body.update(_fold_blocks(_refs(extra or {}, {})))
    target.field_locations[(key,)] = Location(e.block.file, e.block.line)
    return True


def _target(ref: Any, out: dict[str, Resource]) -> Resource | None:
    return out.get(ref.address) if isinstance(ref, Ref) else None


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
