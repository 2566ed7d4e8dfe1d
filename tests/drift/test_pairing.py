"""What is compared at all: unreadable kinds, platforms never read, objects gone live."""

from __future__ import annotations

from auditor.models import Inventory, Resource
from auditor.unknown import Unknown
from tests.drift.live import find, run


def test_a_kind_that_could_not_be_read_is_an_error_not_a_pass(declared: Inventory,
                                                              live: list[Resource]) -> None:
    live = [r for r in live if r.kind != "Deployment"]
    out = run("helm-drift", declared, live, {"Deployment": "403 Forbidden (deployments.apps)"})
    [error] = [o for o in out if o.resource.kind == "Deployment"]
    assert error.status == "error"
    assert error.reason == "live Deployment objects could not be read: 403 Forbidden " \
                           "(deployments.apps)"
    assert {o.status for o in out if o.resource.kind != "Deployment"} == {"pass"}


def test_nothing_is_compared_on_a_platform_that_was_not_read(declared: Inventory,
                                                             live: list[Resource]) -> None:
    aws_only = [r for r in live if "apiVersion" not in r.body]
    assert run("helm-drift", declared, aws_only) == []
    assert run("hpa-drift", declared, aws_only) == []
    k8s_only = [r for r in live if "apiVersion" in r.body]
    assert {o.resource.kind for o in run("terraform-drift", declared, k8s_only)} == {
        "StorageClass"}
    assert run("terraform-drift", declared.__class__("prod", "declared"), live) == []


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
