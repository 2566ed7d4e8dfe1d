"""Security groups, and the EC2 facts other services need (group names, instance sizes).

A group takes the Terraform shape of ``aws_security_group``: one rule per IpPermission,
built by the function the Terraform source uses for its rules, so protocols and ports
normalise alike on both sides, plus the managed prefix lists it admits
(``prefix_list_ids``). Referenced groups are named (one describe of the groups the rules
reference, by id), a reference to the group itself is ``self``, and a group of another
account keeps Terraform's ``account/sg-id`` form. AWS keeps a description per source; a
rule takes the first one, as Terraform has one per rule. Names are unique per VPC only: a
group is looked up in the VPC Terraform declares for it when that is known, and a name that
still matches several groups is not guessed: its contents are unknown (an error) and a
problem says why. Instance types give the vCPUs and memory of a node and how many pods the
VPC CNI can place on it.
"""

from __future__ import annotations

import json
from typing import Any

from auditor.live.aws.api import Api, read, unique
from auditor.live.aws.targets import Targets
from auditor.live.base import LiveCollected
from auditor.models import Location, Problem, Resource
from auditor.terraform import joins
from auditor.unknown import Unknown

KINDS = ("SecurityGroup",)
SERVICES = ("ec2",)
_CHUNK = 100  # filter values per request, well inside EC2's limit


def wanted(t: Targets) -> tuple[str, ...]:
    return KINDS if t.security_groups else ()


def collect(api: Api, t: Targets) -> LiveCollected:
    out = LiveCollected()
    found = read(out, KINDS, lambda: security_groups(api, t.security_groups,
                                                     t.security_group_vpcs))
    for r in found:
        if isinstance(r.body.get("ingress"), Unknown):  # a name several groups carry
            where = t.origins.get(("security_groups", r.name)) or Location("auditor.yaml")
            out.problems.append(Problem("aws", r.body["ingress"].reason, where))
    return out


def security_groups(api: Api, wanted: list[str], vpcs: dict[str, str] | None = None
                    ) -> list[Resource]:
    """The groups ``wanted`` (names, or sg- ids); a name is looked up in its VPC of
    ``vpcs`` when known. A name several groups carry gives one resource whose contents
    are unknown, never one of them."""
    ids = [w for w in wanted if w.startswith("sg-")]
    by_vpc: dict[str | None, list[str]] = {}
    for name in (w for w in wanted if not w.startswith("sg-")):
        by_vpc.setdefault((vpcs or {}).get(name), []).append(name)
    named: dict[str, list[dict[str, Any]]] = {}
    for vpc, names in by_vpc.items():
        # By filter, not GroupNames: GroupNames only finds groups of the default VPC.
        for g in _describe(api, "group-name", names, vpc):
            named.setdefault(g["GroupName"], []).append(g)
    groups = {g["GroupId"]: g for g in _describe(api, "group-id", ids)}
    groups.update({found[0]["GroupId"]: found[0] for found in named.values()
                   if len(found) == 1})
    known = {gid: g["GroupName"] for gid, g in groups.items()}
    referenced = sorted({pair["GroupId"] for g in groups.values() for perm in _permissions(g)
                         for pair in perm.get("UserIdGroupPairs") or []
                         if pair.get("GroupId") and pair["GroupId"] not in known})
    known.update(group_names(api, referenced))
    return [*(api.resource("SecurityGroup", g["GroupName"], _group(g, known))
              for g in groups.values()),
            *(_ambiguous(api, name, found) for name, found in named.items()
              if len(found) > 1)]


def _ambiguous(api: Api, name: str, found: list[dict[str, Any]]) -> Resource:
    where = ", ".join(f"{g['GroupId']} in {g.get('VpcId')}" for g in found)
    doubt = Unknown(f"{len(found)} security groups are named {name} in {api.region} "
                    f"({where}) and the VPC Terraform declares for it is not known, so "
                    "none of them was compared", failed=True)
    return api.resource("SecurityGroup", name, {  # no id: there is not one
        "name": name, "description": doubt, "vpc_id": doubt, "ingress": doubt,
        "egress": doubt})


def group_names(api: Api, ids: list[str]) -> dict[str, str]:
    """Group id -> name for the ``ids`` that exist (others are simply left out)."""
    return {g["GroupId"]: g["GroupName"] for g in _describe(api, "group-id", ids)}


TYPES = 100  # instance types per DescribeInstanceTypes call (the most it takes)


def instance_types(api: Api, names: list[str]) -> dict[str, dict[str, Any] | None]:
    """EC2's description of each instance type in ``names``, None for one EC2 does not
    know (a call naming an unknown type fails whole: that batch is asked one by one)."""
    names = unique(names)
    found = {info.get("InstanceType"): info for info in api.batched(
        "ec2", "describe_instance_types", "InstanceTypes", "InvalidInstanceType",
        "InstanceTypes", names, TYPES)}
    return {name: found.get(name) for name in names}


def capacity(info: dict[str, Any]) -> dict[str, Any]:
    """``{cpu, memory, pods}`` of one node: vCPUs, memory as ``<n>Mi``, and the pods the
    VPC CNI can address (ENIs x (IPv4 per ENI - 1) + 2), capped as EKS caps max-pods."""
    cpus = int(info.get("VCpuInfo", {}).get("DefaultVCpus", 0))
    network = info.get("NetworkInfo", {})
    enis = int(network.get("MaximumNetworkInterfaces", 0))
    ips = int(network.get("Ipv4AddressesPerInterface", 0))
    pods = min(enis * (ips - 1) + 2, 110 if cpus < 30 else 250)
    return {"cpu": cpus, "memory": f"{int(info.get('MemoryInfo', {}).get('SizeInMiB', 0))}Mi",
            "pods": pods}


def _describe(api: Api, key: str, values: list[str], vpc: str | None = None
              ) -> list[dict[str, Any]]:
    """The groups whose ``key`` is one of ``values``: _CHUNK values a filter, the chunks
    described Api.PER_OBJECT at a time (each is its own paged call), in order."""
    in_vpc = [{"Name": "vpc-id", "Values": [vpc]}] if vpc else []
    chunks = [values[start:start + _CHUNK] for start in range(0, len(values), _CHUNK)]
    pages = api.each(lambda chunk: api.pages(
        "ec2", "describe_security_groups", "SecurityGroups",
        Filters=[{"Name": key, "Values": chunk}, *in_vpc]), chunks)
    return [group for page in pages for group in page]


def _permissions(group: dict[str, Any]) -> list[dict[str, Any]]:
    return [*(group.get("IpPermissions") or []), *(group.get("IpPermissionsEgress") or [])]


def _group(g: dict[str, Any], known: dict[str, str]) -> dict[str, Any]:
    return {
        "name": g["GroupName"], "description": g.get("Description", ""),
        "vpc_id": g.get("VpcId"),
        "ingress": _rules(g.get("IpPermissions"), g, known),
        "egress": _rules(g.get("IpPermissionsEgress"), g, known),
        "id": g["GroupId"],
    }


def _rules(permissions: Any, group: dict[str, Any], known: dict[str, str]
           ) -> list[dict[str, Any]]:
    rules = [_rule(p, group, known) for p in permissions or []]
    return sorted(rules, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def _rule(perm: dict[str, Any], group: dict[str, Any], known: dict[str, str]
          ) -> dict[str, Any]:
    pairs = perm.get("UserIdGroupPairs") or []
    ranges, ranges6 = perm.get("IpRanges") or [], perm.get("Ipv6Ranges") or []
    own = group["GroupId"]
    lists = perm.get("PrefixListIds") or []
    described = (s.get("Description") for s in [*ranges, *ranges6, *pairs, *lists])
    return {**joins.rule({
        "protocol": perm.get("IpProtocol"),
        # AWS omits the ports of an all-traffic rule; Terraform writes 0 and 0.
        "from_port": perm.get("FromPort", 0), "to_port": perm.get("ToPort", 0),
        "cidr_blocks": [r["CidrIp"] for r in ranges if r.get("CidrIp")],
        "ipv6_cidr_blocks": [r["CidrIpv6"] for r in ranges6 if r.get("CidrIpv6")],
        "security_groups": [_reference(p, group, known) for p in pairs
                            if p.get("GroupId") != own],
        "self": any(p.get("GroupId") == own for p in pairs),
        "description": next((d for d in described if d), ""),
    }), "prefix_list_ids": [p["PrefixListId"] for p in lists if p.get("PrefixListId")]}


def _reference(pair: dict[str, Any], group: dict[str, Any], known: dict[str, str]) -> str:
    gid = str(pair.get("GroupId"))
    account = pair.get("UserId")
    if account and group.get("OwnerId") and account != group["OwnerId"]:
        return f"{account}/{gid}"  # how Terraform names a group of another account
    return known.get(gid, gid)
