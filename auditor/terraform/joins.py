"""Resources that only make sense attached to another: standalone security group rules,
WAF associations, secret rotations, Aurora cluster instances. Each is folded into its
target's body.

A rule whose group is not declared in the directory (a data source, a literal ``sg-...``
id, a variable) is still audited: the group is created once, named by what the rule says
of it and marked ``declared_elsewhere``, so its other rules are not known here.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.models import Location, Resource
from auditor.terraform.evaluated import Evaluated, fold_blocks
from auditor.terraform.expressions import Ref
from auditor.terraform.refs import base_address, reference_text, resolve
from auditor.unknown import Unknown

RULE_TYPES = ("aws_security_group_rule", "aws_vpc_security_group_ingress_rule",
              "aws_vpc_security_group_egress_rule")
WAF_TYPES = ("aws_wafv2_web_acl_association", "aws_wafregional_web_acl_association")
_INTEGER = re.compile(r"\s*-?\d+\s*")


def rule(raw: dict[str, Any]) -> dict[str, Any]:
    """One rule (inline block or standalone resource, references resolved) in the shared
    shape."""
    protocol = raw.get("protocol", raw.get("ip_protocol"))
    if isinstance(protocol, str):
        protocol = {"all": "-1", "6": "tcp", "17": "udp"}.get(protocol.lower(), protocol.lower())
    groups: Any = raw.get("security_groups")
    if not isinstance(groups, Unknown):
        groups = [groups] if isinstance(groups, str) else list(groups or [])
        groups += [raw[k] for k in ("source_security_group_id", "referenced_security_group_id")
                   if raw.get(k) is not None]
    return {
        "protocol": protocol, "from_port": _port(raw.get("from_port")),
        "to_port": _port(raw.get("to_port", raw.get("from_port"))),
        "cidr_blocks": _listed(raw.get("cidr_blocks"), raw.get("cidr_ipv4")),
        "ipv6_cidr_blocks": _listed(raw.get("ipv6_cidr_blocks"), raw.get("cidr_ipv6")),
        "security_groups": groups,
        "self": raw.get("self", False), "description": raw.get("description", ""),
    }


def _port(value: Any) -> Any:
    """Terraform converts a numeric string where a number is expected: "22" is 22."""
    return int(value) if isinstance(value, str) and _INTEGER.fullmatch(value) else value


def _listed(many: Any, one: Any) -> Any:
    if isinstance(many, Unknown):
        return many
    return [*(many if many is not None else []), *([one] if one is not None else [])]


RuleOwners = dict[tuple[int, str, int], str]  # (id of group, direction, index) -> rule address


def apply(items: list[Evaluated], out: dict[str, Resource], names: dict[str, str],
          source: str) -> RuleOwners:
    """Fold every join of ``items`` into its target among ``out`` (keyed by address);
    returns which standalone rule resource each folded rule came from."""
    owners: RuleOwners = {}
    elsewhere: dict[str, Resource] = {}  # groups only known through their rules
    unattached: dict[str, str] = {}  # joined key -> why a join could not find its target
    unresolved: list[tuple[str, str]] = []  # (module prefix, why) of rules with no group
    for e in items:
        if e.type in RULE_TYPES:
            egress = e.attrs.get("type", "egress" if e.type.endswith("egress_rule")
                                 else "ingress") == "egress"
            if not _attach_rule(e, out, names, elsewhere, source, owners) and not egress:
                unresolved.append((e.block.module, f"{e.address} adds a rule to "
                                   f"{_group_identity(e, e.attrs.get('security_group_id'))}, "
                                   "which is not resolved offline: it may be this group"))
        elif e.type in WAF_TYPES:
            if not _attach(e, out, "resource_arn", "web_acl", _acl(e)):
                unattached["web_acl"] = f"{e.address} targets a resource not known here"
        elif e.type == "aws_secretsmanager_secret_rotation" and not _attach(
                e, out, "secret_id", "rotation_enabled", True,
                extra={"rotation_rules": e.attrs.get("rotation_rules")}):
            unattached["rotation_enabled"] = f"{e.address} rotates a secret not known here"
    # A join whose target is unknown may belong to any candidate: absence is not proven.
    for res in out.values():
        for key, reason in unattached.items():
            if (key == "web_acl" and res.kind == "LoadBalancer" and key not in res.body) or (
                    key == "rotation_enabled" and res.kind == "SecretsManagerSecret"
                    and res.body.get(key) is False):
                res.body[key] = Unknown(reason)
    # A rule whose group is not known may belong to any group of its module: absence of
    # rules is not proven there (the rule itself stays visible on its pseudo-group).
    for res in out.values():
        if res.kind == "SecurityGroup" and res.address:
            why = next((w for module, w in unresolved if res.address.startswith(module)), None)
            if why is not None:
                res.body["unresolved_rules"] = Unknown(why)
    for identity, group in elsewhere.items():  # keyed apart from the declared addresses
        out[f"declared elsewhere: {identity}"] = group
    _cluster_members(items, out)
    return owners


def _cluster_members(items: list[Evaluated], out: dict[str, Resource]) -> None:
    """An Aurora cluster survives an AZ or host failure by failing over to a replica in
    another AZ: ``multi_az`` (as RDS reports it live) is whether its declared instances are
    at least two, not all pinned to one zone. A Multi-AZ DB cluster
    (``db_cluster_instance_class``) always spans three zones."""
    clusters = {a: r for a, r in out.items() if r.kind == "DBCluster"}
    by_name = {r.body.get("cluster_identifier"): r for r in clusters.values()
               if isinstance(r.body.get("cluster_identifier"), str)}
    members: dict[str, list[Evaluated]] = {a: [] for a in clusters}
    stray: list[str] = []  # members whose cluster is not known offline
    for e in items:
        if e.type != "aws_rds_cluster_instance" or e.block.kind != "resource":
            continue
        raw = e.attrs.get("cluster_identifier")
        target = _target(raw, out) or (by_name.get(raw) if isinstance(raw, str) else None)
        if target is not None and target.kind == "DBCluster":
            members[next(a for a, r in clusters.items() if r is target)].append(e)
        elif not isinstance(raw, str):
            stray.append(e.address)
    for address, cluster in clusters.items():
        if "multi_az" not in cluster.body:
            cluster.body["multi_az"] = _cluster_multi_az(cluster, members[address], stray)
            found = members[address]
            if found:
                block = found[-1].block
                cluster.field_locations[("multi_az",)] = Location(
                    block.file, block.lines.get(("count",), block.lines.get(("for_each",),
                                                                               block.line)))


def _cluster_multi_az(cluster: Resource, members: list[Evaluated], stray: list[str]) -> Any:
    if cluster.body.get("db_cluster_instance_class") is not None:
        return True
    unknown = next((m for m in members if m.instances is not None), None)
    if unknown is not None:  # expanded members are one instance each
        return Unknown(f"the number of instances of {unknown.address} is not known "
                       "offline")
    if len(members) >= 2:
        zones = [m.attrs.get("availability_zone") for m in members]
        # Instances all pinned to one zone fail over within it: not Multi-AZ.
        return not (all(isinstance(z, str) for z in zones) and len(set(zones)) == 1)
    if stray:
        return Unknown(f"{', '.join(sorted(stray))} may belong to this cluster (its cluster "
                       "is not known offline)")
    if not members:
        return Unknown("no aws_rds_cluster_instance in this configuration names the cluster: "
                       "its instances are declared elsewhere")
    return False


def _attach_rule(e: Evaluated, out: dict[str, Resource], names: dict[str, str],
                 elsewhere: dict[str, Resource], source: str, owners: RuleOwners) -> bool:
    """Attach the rule to its group; False when the group is not known offline (the rule
    then sits on a pseudo-group named by what the rule says of it)."""
    raw_target = e.attrs.get("security_group_id")
    target = _target(raw_target, out)
    # A reference, an sg- id or a data source names its group; an expression that could
    # not be evaluated names none.
    resolved = isinstance(raw_target, Ref) or (isinstance(raw_target, str) and bool(
        raw_target)) or (isinstance(raw_target, Unknown) and raw_target.ref is not None)
    if target is None or target.kind != "SecurityGroup":
        identity = _group_identity(e, raw_target)
        target = elsewhere.get(identity)
        if target is None:
            loc = Location(e.block.file, e.block.line)
            target = elsewhere[identity] = Resource(
                kind="SecurityGroup", name=identity, source=source, location=loc,
                field_locations={(): loc}, address=identity,
                body={"name": identity, "ingress": [], "egress": [], "declared_elsewhere": True})
    direction = e.attrs.get("type", "egress" if e.type.endswith("egress_rule") else "ingress")
    if not isinstance(direction, str):  # it may admit traffic: ingress is no longer known
        target.body["ingress"] = Unknown(f"{e.address} adds a rule whose type is not "
                                         "known offline")
        target.field_locations[("ingress",)] = Location(e.block.file, e.block.line)
        return resolved
    rules = target.body.setdefault(direction, [])
    if isinstance(rules, Unknown):
        return resolved  # the group's rules in that direction are already not known
    index = len(rules)
    rules.append(rule(resolve(e.attrs, names)))
    owners[(id(target), direction, index)] = e.address
    target.field_locations[(direction, index)] = Location(e.block.file, e.block.line)
    for path, line in e.block.lines.items():
        target.field_locations[(direction, index, *path)] = Location(e.block.file, line)
    return resolved


def _group_identity(e: Evaluated, target: Any) -> str:
    """What a rule says of a group not declared here: its address, its id, or the
    expression that names it."""
    if isinstance(target, Ref):
        return target.address
    if isinstance(target, str) and target:
        return target
    if isinstance(target, Unknown) and target.ref:
        return target.ref  # already a full address
    text = reference_text(e.block.attrs.get("security_group_id"))
    return e.block.module + text if text else f"unknown security group ({e.address})"


def _acl(e: Evaluated) -> Any:
    """The web ACL of an association: only its presence matters, so a reference keeps
    its text."""
    key = "web_acl_arn" if "web_acl_arn" in e.attrs else "web_acl_id"
    acl = e.attrs.get(key)
    if isinstance(acl, Ref):
        return str(acl)
    if isinstance(acl, Unknown):
        return acl.ref or reference_text(e.block.attrs.get(key)) or acl
    return acl


def _attach(e: Evaluated, out: dict[str, Resource], ref_attr: str, key: str, value: Any,
            extra: dict[str, Any] | None = None) -> bool:
    target = _target(e.attrs.get(ref_attr), out)
    if target is None:
        return False
    target.body[key] = value
    target.body.update(fold_blocks(resolve(extra or {}, {})))
    target.field_locations[(key,)] = Location(e.block.file, e.block.line)
    return True


def _target(ref: Any, out: dict[str, Resource]) -> Resource | None:
    if not isinstance(ref, Ref):
        return None
    return out.get(ref.address) or out.get(base_address(ref.address))
