"""The CloudTrail lookup of an environment's live state: only for the AWS resources that
drifted, only for the calls that make such a drift (see :mod:`auditor.live.aws.cloudtrail`).

Runs after collection, before the policies (``audit``, and ``snapshot``, which records the
events): the drift check is evaluated once here with its default parameters to learn what
drifted, the events join the live state as one ``CloudTrailEvents`` resource (or the kind
is unavailable, with why), and the drift findings then name who changed what.
"""

from __future__ import annotations

from auditor.checks.base import CheckContext, Outcome
from auditor.config import Config, Environment
from auditor.drift.pairing import pairs
from auditor.drift.provenance import identities
from auditor.live.aws.cloudtrail import TRACKED, Target
from auditor.live.base import LiveCollected
from auditor.models import Inventory, Resource

# (kind, what drifted) -> the calls that make it
_CALLS = {
    ("SecurityGroup", "ingress", "added"): ("AuthorizeSecurityGroupIngress",
                                           "ModifySecurityGroupRules"),
    ("SecurityGroup", "ingress", "removed"): ("RevokeSecurityGroupIngress",
                                             "ModifySecurityGroupRules"),
    ("SecurityGroup", "egress", "added"): ("AuthorizeSecurityGroupEgress",
                                          "ModifySecurityGroupRules"),
    ("SecurityGroup", "egress", "removed"): ("RevokeSecurityGroupEgress",
                                            "ModifySecurityGroupRules"),
    # A reset puts the family's default back: a changed value may come from either.
    ("DBParameterGroup", "parameters", "changed"): ("ModifyDBParameterGroup",
                                                    "ResetDBParameterGroup"),
    ("DBParameterGroup", "parameters", "removed"): ("ResetDBParameterGroup",),
    ("Nodegroup", "scaling_config", "changed"): ("UpdateNodegroupConfig",),
    ("TargetGroup", "health_check", "changed"): ("ModifyTargetGroup",),
}


def look_up(config: Config, env: Environment, declared: Inventory,
            live: LiveCollected) -> None:
    """Adds to ``live`` the CloudTrail events about its drifted AWS resources."""
    from auditor.live.aws import cloudtrail  # (boto3 only below, when there is a drift)

    if env.aws is None or not env.aws.cloudtrail:
        return
    targets = drifted(declared, live)
    if not targets:
        return
    from auditor.live.aws.api import Api, CallFailed

    try:
        api = Api(env.aws.profile, env.aws.region, cloudtrail.SERVICES)
        live.resources.append(cloudtrail.lookup(api, targets))
    except CallFailed as exc:
        live.unavailable[cloudtrail.KIND] = str(exc)


def drifted(declared: Inventory, live: LiveCollected) -> list[Target]:
    """The AWS resources of ``live`` that drifted from ``declared``, with the calls that
    could have done it."""
    from auditor.checks.drift import terraform_drift

    inventory = Inventory(declared.environment, "drift", live.resources, [],
                          {**declared.names, "live_platforms": "aws"}, live.unavailable,
                          baseline=declared)
    by_declared = {id(p.declared): p.live for p in pairs(inventory, set(TRACKED))
                   if p.live is not None}
    calls: dict[int, tuple[Resource, set[str]]] = {}
    for outcome in terraform_drift(CheckContext(inventory, {})):
        live_twin = by_declared.get(id(outcome.resource))
        how = _change(outcome)
        if live_twin is None or how is None or outcome.status == "pass":
            continue
        found = _CALLS.get((live_twin.kind, *how))
        if found:
            calls.setdefault(id(live_twin), (live_twin, set()))[1].update(found)
    return [Target(r.kind, frozenset(identities(r)), tuple(sorted(names)),
                   r.body.get("cluster_name") if r.kind == "Nodegroup" else None)
            for r, names in calls.values()]


def _change(outcome: Outcome) -> tuple[str, str] | None:
    """(the field group, added/removed/changed) of a drift finding."""
    item = outcome.item or ""
    head = item.split(".", 1)[0].split("[", 1)[0]
    if head not in ("ingress", "egress", "parameters", "scaling_config", "health_check"):
        return None
    declared, live = outcome.vars.get("declared"), outcome.vars.get("live")
    if head in ("ingress", "egress"):
        return head, "added" if declared == "(not declared)" else "removed"
    return head, "removed" if live == "(absent)" else "changed"
