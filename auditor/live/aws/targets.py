"""What to describe: the names Terraform declares, plus the names ``auditor.yaml`` lists.

Only names Terraform resolves to a plain string count: a name that is only known after
apply (:class:`~auditor.unknown.Unknown`), a generated one (``name_prefix``) or a group
known only through its rules cannot be looked up, and guessing would read the wrong
object. A name listed twice is described once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeGuard

from auditor.config import AwsConfig
from auditor.models import Resource


@dataclass
class Targets:
    security_groups: list[str] = field(default_factory=list)  # names, or sg- ids
    db_instances: list[str] = field(default_factory=list)
    parameter_groups: list[str] = field(default_factory=list)
    nodegroups: list[tuple[str, str]] = field(default_factory=list)  # (cluster, node group)
    clusters: list[str] = field(default_factory=list)  # every node group of these
    target_groups: list[str] = field(default_factory=list)
    load_balancers: list[str] = field(default_factory=list)
    certificates: list[str] = field(default_factory=list)  # domain names or ARNs
    alarms: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)  # names or ARNs


# kind -> (Targets field, body attribute holding the AWS name)
_NAMED = {
    "SecurityGroup": ("security_groups", "name"),
    "DBInstance": ("db_instances", "identifier"),
    "DBParameterGroup": ("parameter_groups", "name"),
    "TargetGroup": ("target_groups", "name"),
    "LoadBalancer": ("load_balancers", "name"),
    "ACMCertificate": ("certificates", "domain_name"),
    "MetricAlarm": ("alarms", "alarm_name"),
    "SecretsManagerSecret": ("secrets", "name"),
}


def targets(aws: AwsConfig, declared: list[Resource]) -> Targets:
    out = Targets()
    for r in declared:
        if r.body.get("declared_elsewhere"):  # named by its rules' reference, not by AWS
            continue
        if r.kind in _NAMED:
            attr, key = _NAMED[r.kind]
            _add(getattr(out, attr), r.body.get(key))
        if r.kind == "DBInstance":  # its group holds max_connections
            _add(out.parameter_groups, r.body.get("parameter_group_name"))
        if r.kind == "Nodegroup":
            cluster, group = r.body.get("cluster_name"), r.body.get("node_group_name")
            if _named(cluster) and _named(group) and (cluster, group) not in out.nodegroups:
                out.nodegroups.append((cluster, group))
    for attr in ("security_groups", "db_instances", "parameter_groups", "target_groups",
                 "load_balancers", "certificates", "secrets"):
        for name in getattr(aws, attr):
            _add(getattr(out, attr), name)
    if _named(aws.eks_cluster):
        for group in aws.nodegroups:
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
