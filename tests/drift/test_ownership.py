"""What Terraform does not own is not its drift: ``lifecycle.ignore_changes``, the node
count the cluster autoscaler sets, the rules other stacks attach to a group whose rules
are standalone resources, and health check settings the provider fills in itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from auditor.checks.base import CheckContext, Outcome
from auditor.checks.drift import terraform_drift
from auditor.config import load
from auditor.models import Inventory, Resource
from auditor.pipeline import declared_inventory
from tests.drift.live import drift_inventory, find, live_copy

TF_DIR = "infrastructure/terraform/aws"
TF = f"terraform -chdir={TF_DIR} apply -target="


def edited(example_copy: Path, file: str, old: str, new: str) -> Inventory:
    path = example_copy / TF_DIR / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return declared_inventory(load(str(example_copy / "auditor.yaml")), "prod")


def not_passing(declared: Inventory, live: list[Resource],
                params: dict[str, Any] | None = None) -> list[Outcome]:
    ctx = CheckContext(drift_inventory(declared, live), params or {})
    return [o for o in terraform_drift(ctx) if o.status != "pass"]


SCALING = "  scaling_config {"


@pytest.mark.parametrize("ignored", [
    "scaling_config[0].desired_size", "scaling_config[0]", "scaling_config", "all"])
def test_ignore_changes_paths_are_not_drift(example_copy: Path, ignored: str) -> None:
    declared = edited(example_copy, "eks.tf", SCALING,
                      f"  lifecycle {{\n    ignore_changes = [{ignored}]\n  }}\n\n{SCALING}")
    live = live_copy(declared)
    find(live, "Nodegroup").body["scaling_config"]["desired_size"] = 9
    assert not_passing(declared, live, {"compare_desired_size": True}) == []
    find(live, "Nodegroup").body["scaling_config"]["max_size"] = 12
    out = not_passing(declared, live)
    if ignored == "scaling_config[0].desired_size":  # only that attribute is Terraform's no more
        assert [o.item for o in out] == ["scaling_config.max_size"]
    else:
        assert out == []


def test_ignore_changes_is_kept_as_body_paths(example_copy: Path) -> None:
    declared = edited(example_copy, "alb.tf", "  health_check {",
                      '  lifecycle {\n    ignore_changes = [health_check[0].path, tags["Name"]]'
                      "\n    create_before_destroy = true\n  }\n\n  health_check {")
    tg = find(declared.resources, "TargetGroup")
    assert tg.ignore_changes == (("health_check", "path"), ("tags", "Name"))
    live = live_copy(declared)
    find(live, "TargetGroup").body["health_check"]["path"] = "/health/ready"
    assert not_passing(declared, live) == []
    assert find(declared.resources, "Nodegroup").ignore_changes == ()


def test_desired_size_is_the_cluster_autoscalers_unless_asked(declared: Inventory,
                                                              live: list[Resource]) -> None:
    find(live, "Nodegroup").body["scaling_config"]["desired_size"] = 8
    assert not_passing(declared, live) == []
    [out] = not_passing(declared, live, {"compare_desired_size": True})
    assert (out.item, out.vars["declared"], out.vars["live"]) == (
        "scaling_config.desired_size", "6", "8")
    find(live, "Nodegroup").body["scaling_config"]["min_size"] = 1  # min and max still count
    assert [o.item for o in not_passing(declared, live)] == ["scaling_config.min_size"]


def test_the_bastion_groups_rules_are_standalone_in_the_shape(declared: Inventory) -> None:
    bastion = find(declared.resources, "SecurityGroup", "chess-ai-prod-bastion")
    assert bastion.body["standalone_rules"] == {
        "ingress": ["aws_security_group_rule.bastion_ssh"],
        "egress": ["aws_security_group_rule.bastion_egress"]}
    assert all("standalone_rules" not in r.body for r in declared.resources
               if r.kind == "SecurityGroup" and r is not bastion)  # inline rules


def test_a_rule_another_stack_attaches_to_a_standalone_rule_group_is_unknown(
        declared: Inventory, live: list[Resource]) -> None:
    bastion = find(live, "SecurityGroup", "chess-ai-prod-bastion").body
    bastion["ingress"].append({"protocol": "tcp", "from_port": 22, "to_port": 22,
                              "cidr_blocks": ["10.99.0.0/16"], "description": "ops-vpn stack"})
    [out] = not_passing(declared, live)
    assert (out.status, out.item) == ("unknown", "ingress[tcp 22 from 10.99.0.0/16]")
    assert "not managed by this Terraform" in str(out.reason)
    assert out.vars["restore"] == (
        "aws ec2 revoke-security-group-ingress --group-id sg-0db5432aaaabbbbcc --protocol tcp "
        "--port 22 --cidr 10.99.0.0/16")
    # The same rule on a group with inline rules is drift, which an apply reverts.
    find(live, "SecurityGroup", "chess-ai-prod-db").body["ingress"].append(
        {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["10.99.0.0/16"]})
    db = [o for o in not_passing(declared, live) if o.resource.name == "chess-ai-prod-db"]
    assert [(o.status, o.vars["restore"]) for o in db] == [
        ("fail", TF + "aws_security_group.db")]


def test_a_standalone_rule_missing_live_is_drift_restored_by_applying_the_rule(
        declared: Inventory, live: list[Resource]) -> None:
    find(live, "SecurityGroup", "chess-ai-prod-bastion").body["ingress"] = []
    [out] = not_passing(declared, live)
    assert (out.status, out.item) == ("fail", "ingress[tcp 22 from 0.0.0.0/0]")
    assert out.vars["restore"] == TF + "aws_security_group_rule.bastion_ssh"


HEALTHY = "    healthy_threshold   = 2\n"
UNHEALTHY = "    unhealthy_threshold = 3\n"


def test_health_check_thresholds_left_to_the_provider(example_copy: Path) -> None:
    declared = edited(example_copy, "alb.tf", HEALTHY + UNHEALTHY, "")
    live = live_copy(declared)
    check = find(live, "TargetGroup").body["health_check"]
    check.update(healthy_threshold=3, unhealthy_threshold=3)  # what the provider sent
    assert not_passing(declared, live) == []
    check.update(healthy_threshold=5, unhealthy_threshold=2)  # the API's own defaults
    out = not_passing(declared, live)
    assert {(o.item, o.vars["declared"]) for o in out} == {
        ("health_check.healthy_threshold", "3 (the default; not set in Git)"),
        ("health_check.unhealthy_threshold", "3 (the default; not set in Git)")}


def test_health_check_settings_neither_side_states_are_not_drift(
        declared: Inventory, live: list[Resource]) -> None:
    check = find(live, "TargetGroup").body["health_check"]
    stated = find(declared.resources, "TargetGroup").body["health_check"]
    for key in ("matcher", "timeout", "port", "healthy_threshold"):
        check.pop(key, None)
        stated.pop(key, None)
    assert not_passing(declared, live) == []
    tcp = find(declared.resources, "TargetGroup")
    tcp.body["health_check"] = {"protocol": "TCP"}  # matcher and path mean nothing for TCP
    check.clear()
    check.update(protocol="TCP", timeout=10, interval=30, healthy_threshold=3,
                 unhealthy_threshold=3, port="traffic-port")
    assert not_passing(declared, live) == []
    check["timeout"] = 6
    assert [o.item for o in not_passing(declared, live)] == ["health_check.timeout"]
