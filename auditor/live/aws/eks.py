"""EKS managed node groups: scaling, instance types and what one node offers pods.

A node group takes the Terraform shape of ``aws_eks_node_group``. Its
``instance_capacity`` comes from ``ec2 describe-instance-types``: ``{cpu, memory, pods}``
for a single instance type, or one such entry per type when the group lists several (any
of them may be launched). Capacity that EC2 does not report is
:class:`~auditor.unknown.Unknown` with the reason, so the capacity check says ``unknown``
rather than passing on a guess; the node group itself still counts. A cluster named in
``auditor.yaml`` that does not exist is a problem (an error), not a cluster without node
groups.
"""

from __future__ import annotations

from typing import Any

from auditor.live.aws import ec2
from auditor.live.aws.api import Api, CallFailed, read
from auditor.live.aws.targets import Targets
from auditor.live.base import LiveCollected
from auditor.models import Location, Problem, Resource
from auditor.unknown import Unknown

KINDS = ("Nodegroup",)
SERVICES = ("eks", "ec2")
_MAX_PAGES = 100  # of node group names, 100 a page: far beyond any real cluster


def wanted(t: Targets) -> tuple[str, ...]:
    return KINDS if t.nodegroups or t.clusters else ()


def collect(api: Api, t: Targets) -> LiveCollected:
    out = LiveCollected()
    missing: list[str] = []
    read(out, KINDS, lambda: _nodegroups(api, t, missing))
    out.problems += [Problem("aws", f"configured eks_cluster {cluster} was not found in "
                             f"{api.region}", t.origins.get(("eks_cluster", cluster))
                             or Location("auditor.yaml")) for cluster in missing]
    return out


def _nodegroups(api: Api, t: Targets, missing: list[str]) -> list[Resource]:
    pairs = list(t.nodegroups)
    for cluster in t.clusters:
        names = _list(api, cluster)
        if names is None:
            missing.append(cluster)
        pairs += [(cluster, n) for n in names or [] if (cluster, n) not in pairs]
    # One node group per call: described Api.PER_OBJECT at a time, in order.
    responses = api.each(lambda pair: api.call(
        "eks", "describe_nodegroup", missing=("ResourceNotFoundException",),
        clusterName=pair[0], nodegroupName=pair[1]), pairs)
    groups = [g for r in responses if (g := (r or {}).get("nodegroup"))]
    bodies = [_body(g) for g in groups]
    capacities = _capacities(api, [t for b in bodies for t in b["instance_types"] or []])
    found = []
    for group, body in zip(groups, bodies, strict=True):
        body["instance_capacity"] = _combined(body["instance_types"] or [], capacities)
        found.append(api.resource("Nodegroup", group["nodegroupName"], body))
    return found


def _list(api: Api, cluster: str) -> list[str] | None:
    """The node groups of ``cluster``; None when there is no such cluster."""
    names: list[str] = []
    token: dict[str, str] = {}
    for _ in range(_MAX_PAGES):
        page = api.call("eks", "list_nodegroups", missing=("ResourceNotFoundException",),
                        clusterName=cluster, **token)
        if page is None:
            return None
        names += page.get("nodegroups") or []
        if not page.get("nextToken") or page["nextToken"] == token.get("nextToken"):
            break
        token = {"nextToken": page["nextToken"]}
    return names


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


def _capacities(api: Api, types: list[str]) -> dict[str, dict[str, Any] | Unknown]:
    """What one node of each instance type offers, all described in one call."""
    try:
        infos = ec2.instance_types(api, types) if types else {}
    except CallFailed as exc:  # an error to report, not a value unknown offline
        return {t: Unknown(f"the capacity of {t} was not read: {exc}", failed=True)
                for t in types}
    return {t: ec2.capacity(info) if info is not None else
            Unknown(f"ec2 DescribeInstanceTypes does not know {t}") for t, info in infos.items()}


def _combined(types: list[str], capacities: dict[str, dict[str, Any] | Unknown]) -> Any:
    if not types:  # set by a launch template, which is not read
        return Unknown("the node group names no instance type (a launch template sets it)")
    doubt = next((capacities[t] for t in types if isinstance(capacities[t], Unknown)), None)
    if doubt is not None:
        return doubt
    return capacities[types[0]] if len(types) == 1 else {t: capacities[t] for t in types}
