"""Security group drift: rules compared as sets of grants (protocol, ports, one source),
so order, grouping and descriptions mean nothing.

A group Terraform declares with inline rules owns its whole rule set: a live-only grant
is drift, and ``terraform apply`` revokes it. A group whose rules in a direction come only
from standalone rule resources (``aws_security_group_rule``,
``aws_vpc_security_group_*_rule``; the shape lists them under ``standalone_rules``) does
not: another stack may attach its own rules there, so a live-only grant is ``unknown``
(its undoing is ``aws ec2 revoke-security-group-*``, which no apply would run), while a
declared rule missing live is still drift, restored by applying that rule resource.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

from auditor.checks.base import Outcome
from auditor.drift.commands import sg_cause
from auditor.drift.compare import Difference
from auditor.drift.findings import finding, passed
from auditor.models import Provenance, Resource
from auditor.paths import MISSING, Path
from auditor.quantities import port_number
from auditor.unknown import Unknown

RuleKey = tuple[str, int, int, str]
_PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}
_SOURCES = (("cidr_blocks", ""), ("ipv6_cidr_blocks", ""), ("prefix_list_ids", "pl:"),
            ("security_groups", "sg:"))


def compare_group(declared: Resource, live: Resource, fix: str,
                  ignored: tuple[Path, ...] = (),
                  trace: Callable[[Difference], Provenance | None] = lambda d: None
                  ) -> list[Outcome]:
    out: list[Outcome] = []
    group_id = str(live.body.get("id") or "<sg-id>")
    standalone = declared.body.get("standalone_rules")
    standalone = standalone if isinstance(standalone, dict) else {}
    for direction in ("ingress", "egress"):
        if () in ignored or (direction,) in ignored:
            continue  # lifecycle.ignore_changes: Terraform leaves these rules alone
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
        rules = standalone.get(direction)
        owned = rules is None and not declared.body.get("declared_elsewhere")
        for key in sorted(want.keys() - have.keys()):
            d = Difference((direction, want[key]), rule_label(direction, key),
                           _grant(direction, key), MISSING)
            out.append(finding(declared, d, sg_cause("revoke", direction, group_id, key),
                               _rule_fix(fix, rules, want[key]), trace(d)))
        for key in sorted(have.keys() - want.keys()):
            label = rule_label(direction, key)
            d = Difference((direction,), label, MISSING, _grant(direction, key))
            one = finding(declared, d, sg_cause("authorize", direction, group_id, key),
                          fix if owned else sg_cause("revoke", direction, group_id, key),
                          trace(d))
            if not owned:  # another stack's rule, or one made by hand: not known which
                one.status = "unknown"
                one.reason = (f"live {label} is not managed by this Terraform: "
                              f"{declared.address or declared.name} takes its {direction} "
                              "rules from standalone rule resources, and another stack may "
                              "attach this one")
            out.append(one)
    return out or [passed(declared)]


def _rule_fix(fix: str, rules: Any, index: int) -> str:
    """Applying the group does not recreate a standalone rule: apply the rule resource."""
    if not isinstance(rules, list) or index >= len(rules) or not rules[index]:
        return fix
    head = fix.split(" apply -target=", 1)[0] if " apply -target=" in fix else "terraform"
    return f"{head} apply -target={shlex.quote(str(rules[index]))}"


def _grant(direction: str, key: RuleKey) -> str:
    return rule_label(direction, key).removeprefix(direction)[1:-1]


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
