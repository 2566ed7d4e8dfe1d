"""Drift through the real pipeline: the policy files, the engine's messages and commands,
a recorded snapshot, and fingerprints that survive reordering."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from auditor import engine, snapshot
from auditor.config import load
from auditor.examples import run_examples
from auditor.live.base import LiveCollected
from auditor.models import Inventory, Report, Resource
from auditor.pipeline import ScanOptions, audit
from auditor.policies import PACK_DIR, load_all, load_file
from tests.conftest import EXAMPLE
from tests.drift.live import drift_inventory, find

DRIFT_POLICIES = ("helm-drift", "hpa-drift", "terraform-drift")


@pytest.mark.parametrize("policy_id", DRIFT_POLICIES)
def test_policy_examples_behave(policy_id: str) -> None:
    policy = load_file(PACK_DIR / f"{policy_id}.yaml")
    assert policy.sides == ["drift"]
    assert run_examples(policy) == []


def drifted(live: list[Resource]) -> list[Resource]:
    dep = find(live, "Deployment").body["spec"]
    main = next(c for c in dep["template"]["spec"]["containers"] if c["name"] == "chess-ai")
    main["resources"]["limits"]["memory"] = "16Gi"
    find(live, "HorizontalPodAutoscaler").body["spec"]["minReplicas"] = 5
    find(live, "DBParameterGroup").body["parameters"]["max_connections"] = "400"
    return live


def test_the_engine_renders_field_values_location_cause_and_restore(
        declared: Inventory, live: list[Resource]) -> None:
    policies = [p for p in load_all([]) if p.id in DRIFT_POLICIES]
    results = engine.evaluate(policies, drift_inventory(declared, drifted(live)), {})
    fails = {r.policy_id: r for r in results if r.status != "pass"}
    assert set(fails) == set(DRIFT_POLICIES)
    assert all(r.side == "drift" for r in results)
    helm = fails["helm-drift"]
    assert helm.message == (
        "Deployment chess-ai: spec.template.spec.containers[chess-ai].resources.limits.memory "
        "is 16Gi live but 8Gi in Git (helm/values-prod.yaml:21); most likely changed by "
        "`helm upgrade chess-ai ./helm/chess-ai --set resources.limits.memory=16Gi -n "
        "chess-ai`")
    assert helm.commands == [
        "helm upgrade chess-ai ./helm/chess-ai -f helm/values-prod.yaml -n chess-ai"]
    assert "commit 16Gi to helm/values-prod.yaml:21" in helm.remediation_text
    assert (helm.details["declared"], helm.details["live"]) == ("8Gi", "16Gi")
    tf = fails["terraform-drift"]
    assert str(tf.location) == "infrastructure/terraform/aws/rds.tf:16"
    assert tf.address == "aws_db_parameter_group.main"
    assert tf.commands == ["terraform -chdir=infrastructure/terraform/aws apply "
                           "-target=aws_db_parameter_group.main"]
    assert "kubectl patch hpa chess-ai -n chess-ai" in fails["hpa-drift"].message


def test_fingerprints_name_the_field_not_its_position(declared: Inventory,
                                                     live: list[Resource]) -> None:
    policies = [p for p in load_all([]) if p.id == "helm-drift"]
    main = next(c for c in find(live, "Deployment").body["spec"]["template"]["spec"][
        "containers"] if c["name"] == "chess-ai")
    main["env"].append({"name": "DB_HOST", "value": "restored"})
    first = engine.evaluate(policies, drift_inventory(declared, live), {})
    shuffled = copy.deepcopy(live)
    pod = find(shuffled, "Deployment").body["spec"]["template"]["spec"]
    pod["containers"].reverse()
    for c in pod["containers"]:
        c.get("env", []).reverse()
    second = engine.evaluate(policies, drift_inventory(declared, shuffled), {})
    prints = [{r.fingerprint for r in results if r.status == "fail"}
              for results in (first, second)]
    assert prints[0] == prints[1] and len(prints[0]) == 1


def audited(tmp_path: Path, live: list[Resource]) -> Report:
    recorded = tmp_path / "live.json"
    recorded.write_text(snapshot.dump("chess-ai", {"prod": LiveCollected(resources=live)}))
    config = load(str(EXAMPLE / "auditor.yaml"))
    return audit(config, load_all([]), ScanOptions(live_file=recorded))


def test_audit_of_a_recorded_snapshot_reports_drift_side_findings(
        tmp_path: Path, declared: Inventory, live: list[Resource]) -> None:
    clean_report = audited(tmp_path, copy.deepcopy(live))
    assert not [f for f in clean_report.findings if f.side == "drift"]
    passes = {(p.policy, p.resource.kind) for p in clean_report.passed if p.side == "drift"}
    assert ("helm-drift", "Deployment") in passes and ("terraform-drift", "SecurityGroup") \
        in passes

    report = audited(tmp_path, drifted(live))
    drift = {f.policy: f for f in report.findings if f.side == "drift"}
    assert set(drift) == set(DRIFT_POLICIES)
    tf = drift["terraform-drift"]
    assert (tf.item, tf.location and (tf.location.file, tf.location.line)) == (
        "parameters.max_connections", ("infrastructure/terraform/aws/rds.tf", 16))
    assert tf.details["cause"].startswith("aws rds modify-db-parameter-group")
    assert drift["hpa-drift"].remediation.commands == [
        "helm upgrade chess-ai ./helm/chess-ai -f helm/values-prod.yaml -n chess-ai"]
