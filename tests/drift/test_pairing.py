"""What is compared at all: unreadable kinds, platforms never read, objects gone live."""

from __future__ import annotations

import pytest

from auditor.checks.base import CheckContext
from auditor.models import Inventory, Resource
from auditor.unknown import Unknown
from tests.drift.live import CHECKS, find, run


def test_a_kind_that_could_not_be_read_is_an_error_not_a_pass(declared: Inventory,
                                                              live: list[Resource]) -> None:
    live = [r for r in live if r.kind != "Deployment"]
    out = run("helm-drift", declared, live, {"Deployment": "403 Forbidden (deployments.apps)"})
    [error] = [o for o in out if o.resource.kind == "Deployment"]
    assert error.status == "error"
    assert error.reason == "live Deployment objects could not be read: 403 Forbidden " \
                           "(deployments.apps)"
    assert {o.status for o in out if o.resource.kind != "Deployment"} == {"pass"}


def test_a_platform_that_was_not_read_leaves_each_declared_object_unknown(
        declared: Inventory, live: list[Resource]) -> None:
    aws_only = [r for r in live if "apiVersion" not in r.body]
    helm = run("helm-drift", declared, aws_only)
    assert {(o.resource.kind, o.status, o.item) for o in helm} == {
        (kind, "unknown", "(object)") for kind in (
            "Deployment", "Service", "ConfigMap", "Ingress", "PersistentVolumeClaim")}
    assert all(o.reason == "not found live, and nothing of its namespace was read (no live "
               "Kubernetes object at all)" for o in helm)
    # The HPA is hpa-drift's; the Deployment is helm-drift's to report, not twice.
    assert [(o.resource.kind, o.status) for o in run("hpa-drift", declared, aws_only)] == [
        ("HorizontalPodAutoscaler", "unknown")]
    k8s_only = [r for r in live if "apiVersion" in r.body]
    tf = run("terraform-drift", declared, k8s_only)
    assert {(o.resource.kind, o.status) for o in tf} == {
        ("StorageClass", "pass"), *{(k, "unknown") for k in (
            "SecurityGroup", "TargetGroup", "Nodegroup", "DBParameterGroup", "DBInstance",
                "LoadBalancer", "SecretsManagerSecret")}}
    assert {o.reason for o in tf if o.status == "unknown"} == {
        "not found live, and nothing of AWS was read"}
    assert run("terraform-drift", declared.__class__("prod", "declared"), live) == []


def test_an_emptied_namespace_is_drift_not_silence(declared: Inventory,
                                                   live: list[Resource]) -> None:
    # `helm uninstall` or a deleted namespace: only cluster-scoped objects remain live.
    left = [r for r in live if not ("apiVersion" in r.body and r.namespace)]
    assert any("apiVersion" in r.body for r in left)  # the StorageClass: the cluster was read
    out = run("helm-drift", declared, left) + run("hpa-drift", declared, left)
    assert {(o.resource.kind, o.status, o.item) for o in out} == {
        (kind, "fail", "(object)") for kind in ("Deployment", "Service", "ConfigMap", "Ingress",
                                                "PersistentVolumeClaim",
                                                "HorizontalPodAutoscaler")}
    # A namespace the collector did not read (not the environment's) is not known either way.
    other = [r for r in declared.resources if r.kind == "Service"]
    other[0].namespace = "elsewhere"
    [svc] = [o for o in run("helm-drift", declared, left) if o.resource.kind == "Service"]
    assert (svc.status, svc.reason) == (
        "unknown", "not found live, and nothing of its namespace (elsewhere) was read")


def test_an_environment_missing_from_the_snapshot_is_an_error(declared: Inventory,
                                                              live: list[Resource]) -> None:
    out = run("helm-drift", declared, [], {"*": "environment prod is not in the snapshot"})
    assert {o.status for o in out} == {"error"} and len(out) == 5


def test_a_deleted_object_is_drift_when_its_namespace_was_read(declared: Inventory,
                                                               live: list[Resource]) -> None:
    live.remove(find(live, "Service"))
    [out] = [o for o in run("helm-drift", declared, live) if o.status != "pass"]
    assert (out.status, out.item, str(out.location)) == (
        "fail", "(object)", "helm/chess-ai/templates/service.yaml:1")
    assert out.vars["cause"] == "kubectl delete service chess-ai -n chess-ai"
    live.remove(find(live, "SecurityGroup", "chess-ai-prod-bastion"))
    [gone] = [o for o in run("terraform-drift", declared, live) if o.status != "pass"]
    assert (gone.resource.name, gone.item) == ("chess-ai-prod-bastion", "(object)")
    assert gone.vars["restore"] == ("terraform -chdir=infrastructure/terraform/aws apply "
                                    "-target=aws_security_group.bastion")


def test_a_live_value_not_known_is_unknown(declared: Inventory, live: list[Resource]) -> None:
    find(live, "Nodegroup").body["scaling_config"]["max_size"] = Unknown("throttled")
    [out] = [o for o in run("terraform-drift", declared, live) if o.status != "pass"]
    assert (out.status, out.item) == ("unknown", "scaling_config.max_size")
    assert "throttled" in out.reason


def test_node_groups_pair_by_cluster_too(declared: Inventory, live: list[Resource]) -> None:
    other = find(live, "Nodegroup")
    twin = Resource("Nodegroup", "general", {**other.body, "cluster_name": "staging",
                                             "scaling_config": {"min_size": 1, "max_size": 2,
                                                                "desired_size": 1}}, "aws")
    live.insert(0, twin)
    assert {o.status for o in run("terraform-drift", declared, live)} == {"pass"}


def test_security_group_rules_terraform_cannot_resolve(declared: Inventory,
                                                       live: list[Resource]) -> None:
    db = next(r for r in declared.resources if r.name == "chess-ai-prod-db")
    db.body["ingress"] = Unknown("aws_security_group.db builds its ingress with a dynamic block")
    [out] = [o for o in run("terraform-drift", declared, live) if o.status != "pass"]
    assert (out.status, out.resource.name, out.item) == ("unknown", "chess-ai-prod-db", "ingress")
    assert "ingress[tcp 5432 from sg:chess-ai-prod-app] may or may not be declared" in out.reason
    find(live, "SecurityGroup", "chess-ai-prod-db").body["ingress"] = []
    assert {o.status for o in run("terraform-drift", declared, live)} == {"pass"}


def test_a_platform_the_environment_does_not_read_has_no_drift() -> None:
    """An audit configured for Kubernetes only says nothing about Terraform's resources
    (no silence problem: nothing was asked of AWS), instead of an unknown per resource."""
    from auditor.drift.pairing import pairs
    from auditor.models import Inventory, Resource

    db = Resource("DBInstance", "shop", {"identifier": "shop"}, "terraform tf")
    declared = Inventory("prod", "declared", [db])
    live = Inventory("prod", "drift", [], names={"live_platforms": "kubernetes"},
                     baseline=declared)
    assert list(pairs(live, {"DBInstance"})) == []
    live.names["live_platforms"] = "kubernetes,aws"
    assert len(list(pairs(live, {"DBInstance"}))) == 1


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_a_live_inventory_without_a_declared_side_has_nothing_to_compare(check: str) -> None:
    # A plugin or a caller may hand a drift check a bare live inventory: no crash, no result.
    hpa = Resource(kind="HorizontalPodAutoscaler", name="web", namespace="shop", source="k8s",
                   body={"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                                  "maxReplicas": 5}})
    web = Resource(kind="Deployment", name="web", namespace="shop", source="k8s",
                   body={"spec": {"replicas": 2}})
    inventory = Inventory("prod", "drift", [hpa, web])
    assert inventory.baseline is None
    assert CHECKS[check](CheckContext(inventory, {})) == []
