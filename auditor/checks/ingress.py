"""What a security group's ingress rules admit: which ports, from the whole world or not.

Rules are in the normalised Terraform shape (``from_port``, ``to_port``, ``protocol``,
``cidr_blocks``, ``ipv6_cidr_blocks``, ``security_groups``: names of source groups), the
same for declared and live security groups. Any value that is not known offline (a
variable without a value, a ``dynamic`` block) makes the affected outcome ``unknown`` with
the reason, never a pass.
"""

from __future__ import annotations

from typing import Any

from auditor.checks.base import Outcome
from auditor.models import Resource
from auditor.quantities import port_number
from auditor.unknown import Unknown, shown

WORLD = ("0.0.0.0/0", "::/0")


def covers(rule: dict[str, Any], port: int) -> bool | Unknown:
    """Whether an ingress rule admits TCP traffic to ``port``."""
    protocol = rule.get("protocol")
    lo, hi = rule.get("from_port"), rule.get("to_port")
    for v in (protocol, lo, hi):
        if isinstance(v, Unknown):
            return v
    if str(protocol) in ("-1", "all"):
        return True
    if str(protocol) not in ("tcp", "6"):
        return False
    low, high = port_number(lo), port_number(hi)  # Terraform accepts "22" for 22
    if low is None or high is None:
        return Unknown(f"port range {lo!r}-{hi!r} is not numeric")
    return low <= port <= high


def rule_key(rule: dict[str, Any]) -> str:
    """A world-open rule's identity by content (``tcp/22-22 from 0.0.0.0/0``): rule order
    means nothing, and neither do its other sources or the spelling of its protocol, so
    none of them may change a finding's fingerprint."""
    protocol = shown(rule.get("protocol")).lower()
    protocol = {"6": "tcp", "17": "udp", "all": "-1"}.get(protocol, protocol)
    ports = "-".join(str(p) if (p := port_number(rule.get(k))) is not None else "?"
                     for k in ("from_port", "to_port"))
    world = world_sources(rule)
    sources = ",".join(sorted(world)) if isinstance(world, list) and world else "?"
    return f"{protocol if protocol != 'none' else '?'}/{ports} from {sources}"


def world_sources(rule: dict[str, Any]) -> list[str] | Unknown:
    """The world-wide CIDRs (0.0.0.0/0, ::/0) among a rule's sources."""
    found = []
    for key in ("cidr_blocks", "ipv6_cidr_blocks"):
        blocks = rule.get(key)
        if isinstance(blocks, Unknown):
            return blocks
        for block in blocks if isinstance(blocks, list) else []:
            if isinstance(block, Unknown):
                return block
            if block in WORLD:
                found.append(block)
    return found


def ingress_rules(sg: Resource) -> list[dict[str, Any]] | Unknown:
    """A group's ingress rules, or Unknown when some are not known offline."""
    rules = sg.body.get("ingress")
    if isinstance(rules, Unknown):
        return rules
    dynamic = sg.body.get("dynamic")
    if isinstance(dynamic, list) and any(isinstance(d, dict) and "ingress" in d
                                         for d in dynamic):
        return Unknown(f"security group {sg.name} builds ingress rules in a dynamic block, "
                       "which is not expanded offline")
    return [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []


def hidden_rules(sg: Resource) -> Unknown | None:
    """Why the group may have ingress rules not seen here (a rule of its module attaches
    to a group that is not resolved offline), or None."""
    why = sg.body.get("unresolved_rules")
    return why if isinstance(why, Unknown) else None


def hidden_in(groups: list[Resource]) -> Unknown | None:
    """The first of ``groups`` that may have rules not seen here, as :func:`hidden_rules`."""
    return next((h for sg in groups if (h := hidden_rules(sg)) is not None), None)


def any_world_rule(sg: Resource) -> bool:
    """Whether some ingress rule of the group admits the whole world, on any port."""
    rules = ingress_rules(sg)
    return isinstance(rules, list) and any(
        isinstance(w, list) and bool(w) for w in map(world_sources, rules))


def open_rules(groups: list[Resource], ports: list[int], db_name: str | None = None
               ) -> list[Outcome]:
    """A fail (or unknown) outcome per rule that opens one of ``ports`` to the world."""
    out = []
    for sg in groups:
        rules = ingress_rules(sg)
        if isinstance(rules, Unknown):
            out.append(Outcome(sg, "unknown", path=("ingress",), reason=rules,
                               vars={"db": db_name}))
            continue
        for i, rule in enumerate(rules):
            hits = [(port, covers(rule, port)) for port in ports]
            port = next((p for p, hit in hits if hit is True), None)
            doubt = next((hit for _, hit in hits if isinstance(hit, Unknown)), None)
            if port is None and doubt is None:
                continue  # none of the ports: whoever the sources are, nothing to report
            world = world_sources(rule)
            if isinstance(world, Unknown):
                out.append(Outcome(sg, "unknown", item=rule_key(rule), path=("ingress", i),
                                   reason=world, vars={"db": db_name}))
            elif not world:
                continue
            elif port is not None:
                out.append(Outcome(sg, "fail", item=rule_key(rule), path=("ingress", i),
                                   vars={"port": port, "cidr": ", ".join(world),
                                         "db": db_name, **_rule_facts(rule, world)}))
            elif doubt is not None:
                out.append(Outcome(sg, "unknown", item=rule_key(rule), path=("ingress", i),
                                   reason=doubt, vars={"db": db_name}))
    return out


def _rule_facts(rule: dict[str, Any], world: list[str]) -> dict[str, Any]:
    """What a revoke command needs to name the rule exactly."""
    protocol = str(rule.get("protocol"))
    facts: dict[str, Any] = {"protocol": protocol, "from_port": rule.get("from_port"),
                             "to_port": rule.get("to_port")}
    ranges = [f"IpRanges=[{{CidrIp={c}}}]" for c in world if ":" not in c]
    ranges += [f"Ipv6Ranges=[{{CidrIpv6={c}}}]" for c in world if ":" in c]
    ports = "" if protocol in ("-1", "all") else (
        f"FromPort={rule.get('from_port')},ToPort={rule.get('to_port')},")
    facts["ip_permissions"] = f"IpProtocol={protocol},{ports}{','.join(ranges)}"
    return facts
