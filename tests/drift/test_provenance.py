"""Drift provenance: who last changed a drifted field, from managedFields and CloudTrail."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from auditor.drift.provenance import aws, kubernetes
from auditor.live.field_managers import MAX_ENTRIES, MAX_FIELDS, compact
from auditor.live.redact import kubernetes as redact
from auditor.models import Inventory, Resource
from tests.live.fields_v1 import fields_v1, manage

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # an input, not today's date
PATCHED = T0 + timedelta(days=3, hours=3, minutes=12)
CONTAINER_MEMORY = "spec.template.spec.containers[app].resources.limits.memory"


def _deployment() -> dict[str, Any]:
    body = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{
                "name": "app", "image": "web:1", "args": ["--port", "8080"],
                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                "env": [{"name": "MODE", "value": "prod"}],
                "resources": {"limits": {"memory": "1Gi"}}}]}}}}
    manage(body, "helm", {k: v for k, v in body.items() if k == "spec"}, T0)
    return body


def _live(body: dict[str, Any]) -> Resource:
    return Resource(kind=body["kind"], name=body["metadata"]["name"],
                    body=redact(body["kind"], copy.deepcopy(body)), source="kubernetes ctx",
                    namespace=body["metadata"].get("namespace"))


def test_fields_v1_become_drift_labels_without_values() -> None:
    tree = fields_v1({"spec": {"template": {"spec": {"containers": [{
        "name": "app", "env": [{"name": "TOKEN", "value": "s3cret"}],
        "ports": [{"containerPort": 80}]}]}}, "finalizers": ["x"]}})
    tree["f:metadata"] = {"f:finalizers": {"v:\"s3cret-finalizer\"": {}},
                          "f:annotations": {"f:example.com/a.b": {}}}
    [entry] = compact([{"manager": "kubectl-edit", "operation": "Update",
                        "time": "2026-06-04T11:12:00Z", "fieldsV1": tree}])
    labels = set(entry["fields"])
    assert {"spec.template.spec.containers[app]",
            "spec.template.spec.containers[app].env[TOKEN].value",
            "spec.template.spec.containers[app].ports[80/TCP]",
            'metadata.annotations["example.com/a.b"]',
            "metadata.finalizers[*]"} <= labels
    assert "s3cret" not in repr(entry)  # a set member's value is not a field name
    assert compact([entry]) == [entry]  # a snapshot's compact form reads back the same


@pytest.mark.parametrize(("bad", "kept"), [
    ("not a list", 0),
    ([None, {"manager": 7}, {"manager": "x" * 200, "fieldsV1": {}},
      {"manager": "kubectl-patch\x1b]0;x\x07", "fieldsV1": {}}], 0),
    ([{"manager": "m", "fieldsV1": {"f:spec": {"k:not json": {}, "k:" + "[" * 5000: {},
                                               'k:{"name":{"a":1}}': {}}},
       "time": "yesterday", "operation": "Delete", "subresource": "exec"},
      {"manager": "m", "fieldsV1": {"f:spec": {}}, "time": "0001-01-01T00:00:00+05:00"}], 2)])
def test_malformed_entries_are_left_out_never_guessed(bad: Any, kept: int) -> None:
    out = compact(bad)
    assert len(out) == kept
    assert all(e["manager"] == "m" and e["time"] is None and e["operation"] is None
               and "subresource" not in e and e["fields"] == ["spec"] for e in out)


def test_what_an_attacker_can_make_large_is_bounded() -> None:
    wide = {f"f:k{i}": {} for i in range(3 * MAX_FIELDS)}
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(500):
        node["f:a"] = {}
        node = node["f:a"]
    entries = [{"manager": f"m{i}", "fieldsV1": wide} for i in range(2 * MAX_ENTRIES)]
    out = compact([{"manager": "deep", "fieldsV1": deep}, *entries])
    assert len(out) == MAX_ENTRIES
    assert sum(len(e["fields"]) for e in out) <= MAX_FIELDS
    assert all(len(label) <= 400 for e in out for label in e["fields"])


def test_a_field_patched_by_kubectl_names_kubectl_patch_and_its_time() -> None:
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "web", "namespace": "shop"},
           "spec": {"minReplicas": 2, "maxReplicas": 10}}
    manage(hpa, "helm", {"spec": hpa["spec"]}, T0)
    manage(hpa, "kubectl-patch", {"spec": {"minReplicas": 5}}, PATCHED)
    live = _live(hpa)
    found = kubernetes(live, "spec.minReplicas")
    assert found is not None
    assert (found.actor, found.via, found.by, found.at) == (
        "kubectl-patch", "kubectl patch hpa", "person", PATCHED)
    assert found.summary() == ("field manager kubectl-patch owns it, last write 2026-06-04 "
                               "11:12 UTC: looks like `kubectl patch hpa`")
    assert found.operation == "Update"
    # Helm still owns the rest: the maximum was not touched by hand.
    untouched = kubernetes(live, "spec.maxReplicas")
    assert untouched is not None and (untouched.actor, untouched.by) == ("helm", "helm")


def test_helm_and_the_hpa_controller_are_said_so() -> None:
    body = _deployment()
    manage(body, "helm", {"spec": {"template": {"spec": {"containers": [{
        "name": "app", "resources": {"limits": {"memory": "4Gi"}}}]}}}}, PATCHED)
    manage(body, "kube-controller-manager", {"spec": {"replicas": 7}}, PATCHED,
           subresource="scale")
    live = _live(body)
    memory = kubernetes(live, CONTAINER_MEMORY)
    assert memory is not None and (memory.via, memory.by) == ("helm upgrade", "helm")
    assert "values other than Git's" in memory.note
    replicas = kubernetes(live, "spec.replicas")
    assert replicas is not None and replicas.by == "controller"
    assert replicas.actor == "kube-controller-manager" and "scale subresource" in replicas.note


def test_kubectl_set_env_and_image_are_told_apart() -> None:
    body = _deployment()
    manage(body, "kubectl-set", {"spec": {"template": {"spec": {"containers": [{
        "name": "app", "env": [{"name": "DEBUG", "value": "1"}]}]}}}}, PATCHED)
    found = kubernetes(_live(body), "spec.template.spec.containers[app].env[DEBUG]")
    assert found is not None and found.via == "kubectl set env"


def test_a_removed_field_names_the_latest_write_as_a_guess() -> None:
    body = _deployment()
    manage(body, "kubectl-edit", {"metadata": {"labels": {"tier": "x"}}}, PATCHED)
    manage(body, "kube-controller-manager", {"status": {"replicas": 2}},
           PATCHED + timedelta(hours=1), subresource="status")
    found = kubernetes(_live(body), "spec.template.spec.containers[app].readinessProbe",
                       removed=True)
    assert found is not None and found.actor == "kubectl-edit"  # status writes do not count
    assert "no manager owns it" in found.note


def test_no_managed_fields_is_no_provenance() -> None:
    body = _deployment()
    del body["metadata"]["managedFields"]
    assert kubernetes(_live(body), CONTAINER_MEMORY) is None


def _trail(*events: dict[str, Any]) -> Resource:
    return Resource(kind="CloudTrailEvents", name="cloudtrail", source="aws us-east-1",
                    body={"events": list(events)})


def _event(target: str, at: datetime, fields: list[str], call: str = "ModifyDBParameterGroup",
           actor: str = "arn:aws:sts::1:assumed-role/oncall/ana") -> dict[str, Any]:
    return {"call": call, "via": "aws rds modify-db-parameter-group", "target": target,
            "target_kind": "DBParameterGroup", "at": at.isoformat(), "actor": actor,
            "fields": fields}


def test_cloudtrail_names_the_latest_call_that_changed_that_parameter() -> None:
    group = Resource("DBParameterGroup", "db-params", {"name": "db-params"}, "aws us-east-1")
    inv = Inventory("prod", "drift", resources=[group, _trail(
        _event("db-params", PATCHED, ["parameters.max_connections"], actor="arn:a/old"),
        _event("db-params", PATCHED + timedelta(hours=1), ["parameters.work_mem"]),
        _event("db-params", PATCHED + timedelta(minutes=5), ["parameters.max_connections"]),
        _event("other-params", PATCHED + timedelta(days=1), []))])
    found = aws(inv, group, group, "parameters.max_connections")
    assert found is not None
    assert (found.actor, found.call, found.at) == (
        "arn:aws:sts::1:assumed-role/oncall/ana", "ModifyDBParameterGroup",
        PATCHED + timedelta(minutes=5))
    # A reset of every parameter (no names) could be it too.
    inv.resources[1].body["events"].append(_event("db-params", PATCHED + timedelta(days=2), []))
    again = aws(inv, group, group, "parameters.max_connections")
    assert again is not None and again.at == PATCHED + timedelta(days=2)


def test_cloudtrail_not_read_or_silent_is_said_in_one_line() -> None:
    group = Resource("DBParameterGroup", "db-params", {"name": "db-params"}, "aws us-east-1")
    denied = Inventory("prod", "drift", resources=[group], unavailable={
        "CloudTrailEvents": "cloudtrail LookupEvents: AccessDeniedException (HTTP 400)"})
    found = aws(denied, group, group, "parameters.max_connections")
    assert found is not None and found.actor is None
    assert found.summary() == ("CloudTrail not read: cloudtrail LookupEvents: "
                               "AccessDeniedException (HTTP 400)")
    silent = aws(Inventory("prod", "drift", resources=[group, _trail()]), group, group,
                 "parameters.max_connections")
    assert silent is not None and "no matching CloudTrail event" in silent.note
    # Not looked up (an older snapshot): nothing is claimed either way.
    assert aws(Inventory("prod", "drift", resources=[group]), group, group, "x") is None
