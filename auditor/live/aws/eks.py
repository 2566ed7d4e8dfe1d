"""EKS managed node groups: scaling, instance types and what one node offers pods.

A node group takes the Terraform shape of ``aws_eks_node_group``. Its
``instance_capacity`` comes from ``ec2 describe-instance-types``: ``{cpu, memory, pods}``
for a single instance type, or one such entry per type when the group lists several (any
of them may be launched). Capacity that EC2 does not report is
:class:`~auditor.unknown.Unknown` with the reason, so the capacity check says ``unknown``
rather than passing on a guess; the node group itself still counts.
"""

from __future__ import annotations

from typing import Any

from auditor.live.aws import ec2
from auditor.live.aws.api import Api, CallFailed, read
from auditor.live.aws.targets import Targets
from auditor.live.base import LiveCollected
from auditor.models import Resource
from auditor.unknown import Unknown

KINDS = ("Nodegroup",)
SERVICES = ("eks", "ec2")


def wanted(t: Targets) -> tuple[str, ...]:
    return KINDS if t.nodegroups or t.clusters else ()


def collect(api: Api, t: Targets) -> LiveCollected:
    out = LiveCollected()
    read(out, KINDS, lambda: _nodegroups(api, t))
    return out


def _nodegroups(api: Api, t: Targets) -> list[Resource]:
    pairs = list(t.nodegroups)
    for cluster in t.clusters:
        names = api.pages("eks", "list_nodegroups", "nodegroups",
                          missing=("ResourceNotFoundException",), clusterName=cluster)
        pairs += [(cluster, n) for n in names if (cluster, n) not in pairs]
    found = []
    capacities: dict[str, dict[str, Any] | Unknown] = {}
    for cluster, name in pairs:
        response = api.call("eks", "describe_nodegroup", missing=("ResourceNotFoundException",),
                            clusterName=cluster, nodegroupName=name)
        group = (response or {}).get("nodegroup")
        if group:
            body = _body(group)
            types = body["instance_types"] or []
            for instance_type in types:
                if instance_type not in capacities:
                    capacities[instance_type] = _capacity(api, instance_type)
            body["instance_capacity"] = _combined(types, capacities)
            found.append(api.resource("Nodegroup", group["nodegroupName"], body))
    return found


def _body(group: dict[str, Any]) -> dict[str, Any]:
    scaling = group.get("scalingConfig") or {}
    return {
        "cluster_name": group.get("clusterName"), "node_group_name": group["nodegroupName"],
        "instance_types": list(group.get("instanceTypes") or []) or None,
        "scaling_config": {"min_size": scaling.get("minSize"),
                           "max_size": scaling.get("maxSize"),
                           "desired_size": scaling.get("desiredSize")},
        "status": group.get("status"),
    }


def _capacity(api: Api, instance_type: str) -> dict[str, Any] | Unknown:
    try:
        info = ec2.instance_type(api, instance_type)
    except CallFailed as exc:
        return Unknown(f"the capacity of {instance_type} was not read: {exc}")
    if info is None:
        return Unknown(f"ec2 DescribeInstanceTypes does not know {instance_type}")
    return ec2.capacity(info)


def _combined(types: list[str], capacities: dict[str, dict[str, Any] | Unknown]) -> Any:
    if not types:  # set by a launch template, which is not read
        return Unknown("the node group names no instance type (a launch template sets it)")
    doubt = next((capacities[t] for t in types if isinstance(capacities[t], Unknown)), None)
    if doubt is not None:
        return doubt
    return capacities[types[0]] if len(types) == 1 else {t: capacities[t] for t in types}
