"""Drift checks: what the runbook's emergency commands change live without changing Git.

Each runs on the drift side (live resources, with the declared inventory as baseline) and
returns one finding per drifted field, keyed by the field so its fingerprint is stable,
or a pass per object that matches. ``helm_drift`` owns the Helm-declared workload, Service,
ConfigMap, Ingress, PVC and PDB fields; ``hpa_drift`` owns HPA ranges and metrics and the
replica count of workloads no HPA manages; ``terraform_drift`` owns the AWS attributes the
runbook's ``aws ... modify/authorize/update`` commands touch, and StorageClass expansion.
Each finding names the field, both values, the declared file:line, the likely command and
the restoring one (see :mod:`auditor.drift.commands`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from auditor.checks.base import CheckContext, Outcome
from auditor.drift.commands import (
    WORKLOADS,
    aws_cause,
    helm_cause,
    hpa_cause,
    kubectl,
    restore,
    sg_cause,
)
from auditor.drift.compare import Difference, diff, render
from auditor.drift.defaults import HELM_RULES, HPA_RULES, REPLICA_RULES, TERRAFORM_RULES
from auditor.drift.normalize import Rules, clean
from auditor.drift.pairing import pairs
from auditor.models import Inventory, Resource
from auditor.paths import MISSING, get
from auditor.quantities import port_number
from auditor.unknown import Unknown

OBJECT = "(object)"  # the item of a finding about a whole object missing live
Cause = Callable[[Inventory, Resource, Resource, Difference], str]


def helm_drift(ctx: CheckContext) -> list[Outcome]:
    inv = ctx.inventory
    out: list[Outcome] = []
    for declared, live in _compared(inv, set(HELM_RULES), out):
        if live is None:
            out.append(missing(declared, kubectl(declared, "delete"), restore(declared, inv)))
        elif declared.kind == "ConfigMap" and not {"data", "binaryData"} & live.body.keys():
            continue  # only its existence was read: the content cannot be compared
        else:
            out += _compare(inv, declared, live, HELM_RULES[declared.kind], helm_cause)
    return out


def hpa_drift(ctx: CheckContext) -> list[Outcome]:
    inv = ctx.inventory
    out: list[Outcome] = []
    managed = {_target(r) for r in [*inv.resources, *_baseline(inv)]
               if r.kind == "HorizontalPodAutoscaler"}
    for declared, live in _compared(inv, {"HorizontalPodAutoscaler", *WORKLOADS}, out):
        if declared.kind in WORKLOADS:
            if (declared.namespace, declared.kind, declared.name) in managed or live is None:
                continue  # the HPA owns the count; a missing workload is helm-drift's
            out += _compare(inv, declared, live, REPLICA_RULES, hpa_cause)
        elif live is None:
            out.append(missing(declared, kubectl(declared, "delete"), restore(declared, inv)))
        else:
            out += _compare(inv, declared, live, HPA_RULES, hpa_cause)
    return out


def terraform_drift(ctx: CheckContext) -> list[Outcome]:
    inv = ctx.inventory
    out: list[Outcome] = []
    for declared, live in _compared(inv, {"SecurityGroup", *TERRAFORM_RULES}, out):
        if live is None:
            out.append(missing(declared, "deleted outside Terraform (console or CLI)",
                               restore(declared, inv)))
        elif declared.kind == "SecurityGroup":
            out += _security_group(inv, declared, live)
        else:
            out += _compare(inv, declared, live, TERRAFORM_RULES[declared.kind], aws_cause)
    return out


def _compare(inv: Inventory, declared: Resource, live: Resource, rules: Rules,
             cause: Cause) -> list[Outcome]:
    diffs = diff(rules, clean(declared.kind, declared.body), clean(live.kind, live.body))
    fix = restore(declared, inv)
    return [finding(declared, d, cause(inv, declared, live, d), fix) for d in diffs] or [
        passed(declared)]


def _baseline(inv: Inventory) -> list[Resource]:
    return inv.baseline.resources if inv.baseline else []


def _target(hpa: Resource) -> tuple[str | None, str, str]:
    ref = get(hpa.body, ("spec", "scaleTargetRef"))
    ref = ref if isinstance(ref, dict) else {}
    return hpa.namespace, str(ref.get("kind", "Deployment")), str(ref.get("name"))


def _compared(inv: Inventory, kinds: set[str], out: list[Outcome]
              ) -> Iterator[tuple[Resource, Resource | None]]:
    """The pairs to compare; an ``error`` into ``out`` where a kind could not be read."""
    for declared, live, why in pairs(inv, kinds):
        if why is None:
            yield declared, live
        else:
            out.append(Outcome(declared, "error", reason=f"live {declared.kind} objects could "
                               f"not be read: {why}", vars={"restore": restore(declared, inv)}))


def finding(declared: Resource, d: Difference, cause: str, fix: str) -> Outcome:
    """One drifted field: both values, where Git says it, what did it, how to undo it."""
    where = declared.locate(d.path)
    value = render(d.declared, d.field)
    if d.from_default:
        value = f"{value} (the default; not set in Git)"
    elif d.declared is MISSING:  # only live has it
        value = "(not declared)"
    facts = {"field": d.field, "declared": value, "live": render(d.live, d.field),
             "declared_at": str(where or declared.source), "cause": cause, "restore": fix}
    if d.unknown is not None:
        return Outcome(declared, "unknown", item=d.field, path=d.path, location=where,
                       reason=f"live {d.field} is not known: {d.unknown}", vars=facts)
    return Outcome(declared, "fail", item=d.field, path=d.path, location=where, vars=facts)


def missing(declared: Resource, cause: str, fix: str) -> Outcome:
    return Outcome(declared, "fail", item=OBJECT, location=declared.location, vars={
        "field": f"{declared.kind} {declared.name}", "declared": "declared",
        "live": "(absent)", "declared_at": str(declared.location or declared.source),
        "cause": cause, "restore": fix})


def passed(declared: Resource) -> Outcome:
    return Outcome(declared, "pass", location=declared.location)


# ---- security groups: rules as sets of grants ----------------------------------------------

def _security_group(inv: Inventory, declared: Resource, live: Resource) -> list[Outcome]:
    out: list[Outcome] = []
    fix = restore(declared, inv)
    group_id = str(live.body.get("id") or "<sg-id>")
    for direction in ("ingress", "egress"):
        want, doubt = sg_rules(declared.body.get(direction))
        have, live_doubt = sg_rules(live.body.get(direction))
        if doubt is not None:  # an unresolved rule could grant anything
            extra = sorted(have.keys() - want.keys())
            if extra:
                out.append(Outcome(declared, "unknown", item=direction, path=(direction,),
                                   reason=f"{direction} rules are not known offline ({doubt}),"
                                   f" so live {rule_label(direction, extra[0])} may or may "
                                   "not be declared", vars={"restore": fix}))
            continue
        if live_doubt is not None:
            out.append(Outcome(declared, "unknown", item=direction, path=(direction,),
                               reason=f"live {direction} rules are not known: {live_doubt}",
                               vars={"restore": fix}))
            continue
        if direction == "egress" and not want and (direction,) not in declared.field_locations:
            have = {k: i for k, i in have.items()  # AWS's default allow-all egress
                    if not (k[0] == "-1" and k[3] in ("0.0.0.0/0", "::/0"))}
        for key in sorted(want.keys() - have.keys()):
            d = Difference((direction, want[key]), rule_label(direction, key),
                           _grant(direction, key), MISSING)
            out.append(finding(declared, d, sg_cause("revoke", direction, group_id, key), fix))
        for key in sorted(have.keys() - want.keys()):
            d = Difference((direction,), rule_label(direction, key), MISSING,
                           _grant(direction, key))
            out.append(finding(declared, d, sg_cause("authorize", direction, group_id, key),
                               fix))
    return out or [passed(declared)]


def _grant(direction: str, key: tuple[str, int, int, str]) -> str:
    return rule_label(direction, key).removeprefix(direction)[1:-1]


# ---- what a security group grants: (protocol, from, to, one source) ------------------------

RuleKey = tuple[str, int, int, str]
_PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}
_SOURCES = (("cidr_blocks", ""), ("ipv6_cidr_blocks", ""), ("prefix_list_ids", "pl:"),
            ("security_groups", "sg:"))


def sg_rules(rules: Any) -> tuple[dict[RuleKey, int], str | None]:
    """{(protocol, from, to, source): index of the rule that grants it}, and why the set is
    not fully known (a rule built from unresolved values), if it is not. One rule with two
    CIDR blocks is two grants, as AWS stores them; the description is not part of a grant."""
    if isinstance(rules, Unknown):
        return {}, rules.reason
    out: dict[RuleKey, int] = {}
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, dict):
            return out, f"rule {i} is not known offline"
        doubt = next((v.reason for k, v in rule.items()  # a description grants nothing
                      if isinstance(v, Unknown) and k != "description"), None)
        if doubt is not None:
            return out, doubt
        proto = str(rule.get("protocol", "-1")).lower()
        proto = _PROTOCOLS.get(proto, proto)
        low, high = port_number(rule.get("from_port")), port_number(rule.get("to_port"))
        if proto == "-1" or low is None or high is None:  # all traffic: ports mean nothing
            low, high = (0, 0) if proto == "-1" else (low or 0, high or 0)
        for attr, prefix in _SOURCES:
            values = rule.get(attr)
            if isinstance(values, Unknown) or (isinstance(values, list) and any(
                    isinstance(v, Unknown) for v in values)):
                return out, f"the {attr} of rule {i} are not known offline"
            for value in values if isinstance(values, list) else []:
                out.setdefault((proto, low, high, f"{prefix}{value}"), i)
        if rule.get("self") is True:
            out.setdefault((proto, low, high, "self"), i)
    return out, None


def rule_label(direction: str, key: RuleKey) -> str:
    proto, low, high, source = key
    ports = "all" if proto == "-1" else str(low) if low == high else f"{low}-{high}"
    word = "from" if direction == "ingress" else "to"
    return f"{direction}[{'all' if proto == '-1' else proto} {ports} {word} {source}]"
