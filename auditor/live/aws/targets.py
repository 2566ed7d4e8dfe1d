"""What to describe: the names Terraform declares, plus the names ``auditor.yaml`` lists.

Only names Terraform resolves to a plain string count: a name that is only known after
apply (:class:`~auditor.unknown.Unknown`), a generated one (``name_prefix``) or a group
known only through its rules cannot be looked up, and guessing would read the wrong
object. A name listed twice is described once. Each name remembers where it came from (the
Terraform resource, or its line in ``auditor.yaml``) for the problems about it, and the
names ``auditor.yaml`` lists are kept apart: one that does not exist is an error, as there
is no declared resource whose drift would say so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from auditor.config import AwsConfig
from auditor.models import Location, Resource


@dataclass
class Targets:
    security_groups: list[str] = field(default_factory=list)  # names, or sg- ids
    db_instances: list[str] = field(default_factory=list)
    db_clusters: list[str] = field(default_factory=list)
    parameter_groups: list[str] = field(default_factory=list)
    nodegroups: list[tuple[str, str]] = field(default_factory=list)  # (cluster, node group)
    clusters: list[str] = field(default_factory=list)  # every node group of these
    target_groups: list[str] = field(default_factory=list)
    load_balancers: list[str] = field(default_factory=list)
    certificates: list[str] = field(default_factory=list)  # domain names or ARNs
    alarms: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)  # names or ARNs
    security_group_vpcs: dict[str, str] = field(default_factory=dict)  # name -> vpc-id
    # (config key, name) -> where the name comes from, for problems about it
    origins: dict[tuple[str, str], Location] = field(default_factory=dict)
    configured: list[tuple[str, str]] = field(default_factory=list)  # (aws: key, name)

    def note(self, key: str, name: str, where: Location) -> None:
        self.origins.setdefault((key, name), where)


# kind -> (Targets field, body attribute holding the AWS name)
_NAMED = {
    "SecurityGroup": ("security_groups", "name"),
    "DBInstance": ("db_instances", "identifier"),
    "DBCluster": ("db_clusters", "cluster_identifier"),
    "DBParameterGroup": ("parameter_groups", "name"),
    "TargetGroup": ("target_groups", "name"),
    "LoadBalancer": ("load_balancers", "name"),
    "ACMCertificate": ("certificates", "domain_name"),
    "MetricAlarm": ("alarms", "alarm_name"),
    "SecretsManagerSecret": ("secrets", "name"),
}


# Where an ``aws:`` entry of auditor.yaml is: (key, index or None) -> its location.
Origin = Callable[[str, int | None], Location]


def targets(aws: AwsConfig, declared: list[Resource], origin: Origin | None = None
            ) -> Targets:
    out = Targets()
    at = origin or (lambda key, index: Location("auditor.yaml"))
    vpcs: dict[str, set[Any]] = {}
    for r in declared:
        if r.body.get("declared_elsewhere"):  # named by its rules' reference, not by AWS
            continue
        where = r.location or Location(r.address or r.source)
        if r.kind in _NAMED:
            attr, key = _NAMED[r.kind]
            _add(getattr(out, attr), r.body.get(key))
            if _named(r.body.get(key)):
                out.note(attr, r.body[key], where)
        if r.kind == "SecurityGroup" and _named(r.body.get("name")):
            vpcs.setdefault(r.body["name"], set()).add(r.body.get("vpc_id"))
        if r.kind == "DBInstance":  # its group holds max_connections
            _add(out.parameter_groups, r.body.get("parameter_group_name"))
        if r.kind == "Nodegroup":
            cluster, group = r.body.get("cluster_name"), r.body.get("node_group_name")
            if _named(cluster) and _named(group) and (cluster, group) not in out.nodegroups:
                out.nodegroups.append((cluster, group))
    # A VPC only when every declaration of the name agrees on one that is known.
    out.security_group_vpcs = {name: vpc for name, found in vpcs.items() if len(found) == 1
                               and isinstance(vpc := next(iter(found)), str)
                               and vpc.startswith("vpc-")}
    for attr in ("security_groups", "db_instances", "db_clusters", "parameter_groups",
                 "target_groups",
                 "load_balancers", "certificates", "secrets"):
        for index, name in enumerate(getattr(aws, attr)):
            _add(getattr(out, attr), name)
            if _named(name):
                out.note(attr, name, at(attr, index))
                out.configured.append((attr, name))
    if _named(aws.eks_cluster):
        out.note("eks_cluster", aws.eks_cluster, at("eks_cluster", None))
        for index, group in enumerate(aws.nodegroups):
            out.note("nodegroups", group, at("nodegroups", index))
            out.configured.append(("nodegroups", group))
            if (aws.eks_cluster, group) not in out.nodegroups:
                out.nodegroups.append((aws.eks_cluster, group))
        if not aws.nodegroups:
            out.clusters.append(aws.eks_cluster)
    return out


def _named(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value.strip())


def _add(names: list[str], value: Any) -> None:
    if _named(value) and value not in names:
        names.append(value)
