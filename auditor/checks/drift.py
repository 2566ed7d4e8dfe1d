"""Drift checks: what the runbook's emergency commands change live without changing Git.

Each runs on the drift side (live resources, with the declared inventory as baseline) and
returns one finding per drifted field, keyed by the field so its fingerprint is stable,
or a pass per object that matches; a declared object is never passed over in silence
(missing live is drift, not read where it would be is unknown). ``helm_drift`` owns the
Helm-declared workload, Service, ConfigMap, Ingress, PVC and PDB fields; ``hpa_drift``
owns HPA ranges and metrics, the replica count of workloads no declared HPA manages (and
of those it does, when 0 or outside the HPA's bounds) and HPAs made live;
``terraform_drift`` owns the AWS attributes the runbook's ``aws ... modify/authorize/
update`` commands touch, and StorageClass expansion. Each finding names the field, both
values, the declared file:line, the likely command and the restoring one (see
:mod:`auditor.drift.commands`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Collection, Iterator

from auditor.checks.base import CheckContext, Outcome
from auditor.drift.commands import WORKLOADS, aws_cause, helm_cause, hpa_cause, kubectl, restore
from auditor.drift.compare import Difference, diff
from auditor.drift.defaults import HELM_RULES, HPA_RULES, REPLICA_RULES, TERRAFORM_RULES
from auditor.drift.findings import OBJECT, finding, missing, not_read, passed, unreadable
from auditor.drift.grants import compare_group, rule_label, sg_rules
from auditor.drift.normalize import Rules, clean
from auditor.drift.pairing import kubernetes, pairs
from auditor.drift.provenance import aws as aws_trace
from auditor.drift.provenance import kubernetes as k8s_trace
from auditor.drift.removal import needs_removal, removal
from auditor.drift.replicas import HPA, managed_replicas, target, undeclared
from auditor.live.aws.cloudtrail import KIND as CLOUDTRAIL
from auditor.models import Inventory, Provenance, Resource
from auditor.paths import MISSING, Path
from auditor.shell import Shell

__all__ = ["OBJECT", "helm_drift", "hpa_drift", "rule_label", "sg_rules", "terraform_drift"]
Cause = Callable[[Inventory, Resource, Resource, Difference], str]
DESIRED_SIZE = ("scaling_config", "desired_size")
# The live kinds each check reads (its policy lists no `requires`: it pairs objects itself).
READS: dict[str, frozenset[str]] = {
    "helm_drift": frozenset(HELM_RULES), "hpa_drift": frozenset({HPA, *WORKLOADS}),
    "terraform_drift": frozenset({"SecurityGroup", *TERRAFORM_RULES, CLOUDTRAIL}),
}


def helm_drift(ctx: CheckContext) -> list[Outcome]:
    inv = ctx.inventory
    out: list[Outcome] = []
    for declared, live in _compared(inv, set(HELM_RULES), out):
        if live is None:
            out.append(missing(declared, kubectl(declared, "delete"), restore(declared, inv)))
        elif declared.kind == "ConfigMap" and not {"data", "binaryData"} & live.body.keys() \
                and {"data", "binaryData"} & declared.body.keys():
            out.append(Outcome(declared, "unknown", item="data", path=("data",),
                               reason="content not read: the live ConfigMap was read "
                               "without its data, so its keys cannot be compared",
                               vars={"restore": restore(declared, inv)}))
        else:
            out += _compare(inv, declared, live, HELM_RULES[declared.kind], helm_cause)
    return out


def hpa_drift(ctx: CheckContext) -> list[Outcome]:
    inv = ctx.inventory
    out: list[Outcome] = []
    declared_hpas = [r for r in _baseline(inv) if r.kind == HPA]
    live_hpas = {(r.namespace, r.name): r for r in inv.resources if r.kind == HPA}
    managed = {target(r): r for r in declared_hpas}  # Git's HPAs: a live-only one is drift
    for declared, live in _compared(inv, {HPA, *WORKLOADS}, out, quiet=WORKLOADS):
        if declared.kind in WORKLOADS:
            if live is None:
                continue  # a missing workload is helm-drift's
            hpa = managed.get((declared.namespace, declared.kind, declared.name))
            if hpa is None:
                out += _compare(inv, declared, live, REPLICA_RULES, hpa_cause)
            else:
                    out.append(managed_replicas(declared, live, hpa,
                                            live_hpas.get((hpa.namespace, hpa.name)),
                                            k8s_trace(live, "spec.replicas")))
        elif live is None:
            out.append(missing(declared, kubectl(declared, "delete"), restore(declared, inv)))
        else:
            out += _compare(inv, declared, live, HPA_RULES, hpa_cause)
    workloads = {(r.namespace, r.kind, r.name): r for r in _baseline(inv)
                 if r.kind in WORKLOADS}
    known = {(r.namespace, r.name) for r in declared_hpas}
    for key, hpa in live_hpas.items():
        workload = workloads.get(target(hpa))
        if key not in known and workload is not None and HPA not in inv.unavailable:
            out.append(undeclared(hpa, workload, k8s_trace(hpa, "spec.maxReplicas")))
    return out


def terraform_drift(ctx: CheckContext) -> list[Outcome]:
    inv = ctx.inventory
    out: list[Outcome] = []
    desired = bool(ctx.params.get("compare_desired_size", False))
    for declared, live in _compared(inv, {"SecurityGroup", *TERRAFORM_RULES}, out):
        ignored = declared.ignore_changes
        if live is None and declared.body.get("declared_elsewhere"):
            out.append(not_read(declared, f"security group {declared.name} is only known "
                                "through rules attached to it here, and was not found live "
                                "under that name", restore(declared, inv)))
        elif live is None:
            out.append(missing(declared, "deleted outside Terraform (console or CLI)",
                               restore(declared, inv)))
        elif declared.kind == "SecurityGroup":
            out += compare_group(declared, live, restore(declared, inv), ignored,
                                 functools.partial(_trace, inv, declared, live))
        else:
            rules = TERRAFORM_RULES[declared.kind]
            if declared.kind == "Nodegroup" and not desired:  # the cluster autoscaler's
                rules = dataclasses.replace(rules, skip=rules.skip | {DESIRED_SIZE})
            out += _compare(inv, declared, live, rules, aws_cause, ignored)
    return out


def _compare(inv: Inventory, declared: Resource, live: Resource, rules: Rules,
             cause: Cause, ignored: tuple[Path, ...] = ()) -> list[Outcome]:
    diffs = [d for d in diff(rules, clean(declared.kind, declared.body),
                             clean(live.kind, live.body))
             if not any(d.path[:len(p)] == p for p in ignored)]
    fix = restore(declared, inv)
    return [finding(declared, d, cause(inv, declared, live, d),
                    Shell(f"{removal(declared, d)} && {fix}") if needs_removal(declared, d)
                    else fix, _trace(inv, declared, live, d))
            for d in diffs] or [passed(declared)]


def _trace(inv: Inventory, declared: Resource, live: Resource,
           d: Difference) -> Provenance | None:
    """Who last changed the field live: its field manager, or a CloudTrail event."""
    if kubernetes(live):
        return k8s_trace(live, d.field, removed=d.live is MISSING)
    return aws_trace(inv, declared, live, d.field)


def _baseline(inv: Inventory) -> list[Resource]:
    return inv.baseline.resources if inv.baseline else []


def _compared(inv: Inventory, kinds: set[str], out: list[Outcome],
              quiet: Collection[str] = ()) -> Iterator[tuple[Resource, Resource | None]]:
    """The pairs to compare (live None: missing where it was read); an ``error`` into
    ``out`` where a kind could not be read, an ``unknown`` where nothing was read where the
    object would be (unless another check reports it: ``quiet`` kinds)."""
    for pair in pairs(inv, kinds):
        if pair.unavailable is not None:
            out.append(unreadable(pair.declared, pair.unavailable, restore(pair.declared, inv)))
        elif pair.unread is not None:
            if pair.declared.kind not in quiet:
                out.append(not_read(pair.declared, pair.unread, restore(pair.declared, inv)))
        else:
            yield pair.declared, pair.live
