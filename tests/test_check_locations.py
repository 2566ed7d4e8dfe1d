"""What an example cannot pin: where a finding points when the fix is not in the resource
judged (a PodDisruptionBudget that lets every pod go, the values key that renders the
missing one), and that one resource a check cannot judge never hides the next one (an
example expects one status besides passes)."""

from __future__ import annotations

from typing import Any

from auditor import engine
from auditor.models import Inventory, Location, Resource
from auditor.policies import PACK_DIR, load_file
from auditor.unknown import Unknown

PDB_PRESENT = load_file(PACK_DIR / "pdb-present.yaml")


def _deployment() -> Resource:
    return Resource(kind="Deployment", name="web", namespace="shop", source="chart",
                    location=Location("templates/web.yaml", 1),
                    body={"apiVersion": "apps/v1", "kind": "Deployment",
                          "metadata": {"name": "web"},
                          "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                                   "template": {"metadata": {"labels": {"app": "web"}}}}})


def _evaluate(resources: list[Resource], params: dict[str, Any] | None = None) -> Location | None:
    (result,) = engine.evaluate([PDB_PRESENT], Inventory("prod", "declared", resources),
                                {"pdb-present": params or {}})
    assert result.status == "fail"
    return result.location


def test_a_budget_that_lets_every_pod_go_is_fixed_where_the_budget_says_so() -> None:
    pdb = Resource(kind="PodDisruptionBudget", name="web", namespace="shop", source="chart",
                   location=Location("templates/pdb.yaml", 1),
                   field_locations={("spec",): Location("templates/pdb.yaml", 5)},
                   body={"spec": {"maxUnavailable": "100%",
                                  "selector": {"matchLabels": {"app": "web"}}}})
    assert str(_evaluate([_deployment(), pdb])) == "templates/pdb.yaml:5"


def test_a_missing_budget_points_at_the_values_key_that_renders_it() -> None:
    values = Resource(kind="HelmValues", name="web", source="chart", body={},
                      location=Location("values.yaml", 1),
                      field_locations={(): Location("values.yaml", 1),
                                       ("pdb", "enabled"): Location("values.yaml", 12)})
    resources = [_deployment(), values]
    assert str(_evaluate(resources, {"pdb_values_key": "pdb.enabled"})) == "values.yaml:12"
    # No key, an empty one, or one the values do not set: the workload itself.
    for key in (None, "", "pdb.missing"):
        assert str(_evaluate(resources, {"pdb_values_key": key})) == "templates/web.yaml:1"


def test_a_database_that_cannot_be_judged_does_not_hide_the_next_one() -> None:
    policy = load_file(PACK_DIR / "db-ingress-from-app.yaml")
    unsure = Resource(kind="DBInstance", name="a-db", source="tf", body={
        "engine": "postgres", "port": Unknown("variable port has no value"),
        "vpc_security_group_ids": ["a-db"]})
    open_db = Resource(kind="DBInstance", name="b-db", source="tf", body={
        "engine": "postgres", "port": 5432, "vpc_security_group_ids": ["b-db"]})
    groups = [Resource(kind="SecurityGroup", name=name, source="tf", body={"ingress": []})
              for name in ("a-db", "b-db")]
    results = engine.evaluate([policy], Inventory("prod", "declared",
                                                  [unsure, open_db, *groups]), {})
    assert sorted((r.name, r.status) for r in results) == [("a-db", "unknown"),
                                                           ("b-db", "fail")]


def test_an_annotation_to_add_is_placed_beside_the_annotations_already_there() -> None:
    policy = load_file(PACK_DIR / "waf-on-alb.yaml")
    annotations = {"alb.ingress.kubernetes.io/scheme": "internet-facing"}
    ingress = Resource(kind="Ingress", name="web", namespace="shop", source="chart",
                       location=Location("templates/ingress.yaml", 1), body={
                           "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                           "metadata": {"name": "web", "annotations": annotations},
                           "spec": {"ingressClassName": "alb"}})
    ingress.field_locations[("metadata", "annotations")] = Location("templates/ingress.yaml", 6)
    (result,) = engine.evaluate([policy], Inventory("prod", "declared", [ingress]), {})
    assert result.status == "fail"
    assert "to the Ingress's annotations (templates/ingress.yaml:6)" in result.remediation_text


def test_an_alarm_whose_actions_are_not_known_is_the_one_the_finding_names() -> None:
    policy = load_file(PACK_DIR / "error-rate-alarm.yaml")
    lb = Resource(kind="LoadBalancer", name="web", source="tf",
                  body={"load_balancer_type": "application"})

    def alarm(name: str, actions: Any) -> Resource:
        return Resource(kind="MetricAlarm", name=name, source="tf", body={
            "namespace": "AWS/ApplicationELB", "metric_name": "HTTPCode_Target_5XX_Count",
            "threshold": 10, "comparison_operator": "GreaterThanThreshold",
            "alarm_actions": actions})

    silent, unsure = alarm("web-5xx-silent", []), alarm(
        "web-5xx-paging", Unknown("variable pager_topic has no value"))
    results = engine.evaluate([policy], Inventory("prod", "declared", [lb, silent, unsure]), {})
    assert [(r.status, r.name, r.message) for r in results] == [
        ("unknown", "web-5xx-paging", "cannot be evaluated: variable pager_topic has no value")]


def test_an_alarm_names_its_load_balancer_by_terraform_address() -> None:
    # Examples carry no Terraform address; a dimension written as the reference does.
    policy = load_file(PACK_DIR / "latency-alarm.yaml")
    web, admin = (Resource(kind="LoadBalancer", name=n, source="tf", address=f"aws_lb.{n}",
                           body={"load_balancer_type": "application"}) for n in ("web", "admin"))
    alarm = Resource(kind="MetricAlarm", name="web-latency", source="tf", body={
        "namespace": "AWS/ApplicationELB", "metric_name": "TargetResponseTime",
        "threshold": 0.4, "alarm_actions": ["arn:aws:sns:us-east-1:123456789012:on-call"],
        "dimensions": {"LoadBalancer": "aws_lb.web.arn_suffix"}})
    results = engine.evaluate([policy], Inventory("prod", "declared", [web, admin, alarm]), {})
    assert sorted((r.status, r.kind, r.name) for r in results) == [
        ("fail", "LoadBalancer", "admin"), ("pass", "MetricAlarm", "web-latency")]
