"""The engine: per-resource names in commands, per-item errors, unknown never passes."""

from __future__ import annotations

import pytest

from auditor import engine
from auditor.models import Inventory, Resource
from auditor.pipeline import PLACEHOLDERS
from auditor.policies import PACK_DIR, load_file
from auditor.unknown import Unknown

pytestmark = pytest.mark.clock  # date-sensitive: `make clock` runs it with the clock moved


def _inv(*resources: Resource) -> Inventory:
    names = {**PLACEHOLDERS, "db_identifier": "orders-db"}  # the environment's first DB
    return Inventory("prod", "declared", list(resources), [], names)


def test_commands_name_the_findings_own_resource() -> None:
    policy = load_file(PACK_DIR / "rds-backups.yaml")
    inv = _inv(Resource("DBInstance", "orders-db", {"backup_retention_period": 14}, "tf"),
               Resource("DBInstance", "chess-db", {"backup_retention_period": 1}, "tf"))
    (fail,) = [r for r in engine.evaluate([policy], inv, {}) if r.status == "fail"]
    assert fail.name == "chess-db"
    assert "--db-instance-identifier chess-db" in fail.commands[0]


def test_an_odd_value_is_an_error_for_that_item_only() -> None:
    policy = load_file(PACK_DIR / "cpu-limits.yaml")

    def deployment(name: str, resources: object) -> Resource:
        body = {"spec": {"template": {"spec": {"containers": [
            {"name": "app", "resources": resources}]}}}}
        return Resource("Deployment", name, body, "manifest")

    class Weird:  # a value no comparison understands
        def __lt__(self, other: object) -> bool:
            raise RuntimeError("weird")

    inv = _inv(deployment("bad", {"requests": {"cpu": Weird()}, "limits": {"cpu": "1"}}),
               deployment("real", {"requests": {"cpu": "300m"}, "limits": {"cpu": "200m"}}))
    statuses = {r.name: r.status for r in engine.evaluate([policy], inv, {})}
    assert statuses["real"] == "fail"  # the genuine violation is not hidden
    assert statuses["bad"] in ("error", "unknown")


def test_unknown_values_never_pass() -> None:
    policy = load_file(PACK_DIR / "rds-deletion-protection.yaml")
    inv = _inv(Resource("DBInstance", "db", {"deletion_protection": Unknown("var x")}, "tf"))
    (result,) = engine.evaluate([policy], inv, {})
    assert result.status == "unknown" and "var x" in result.message


def test_alarm_dimension_reference_names_its_load_balancer() -> None:
    """With two load balancers, an alarm whose dimension is aws_lb.api.arn_suffix (only
    known after apply) still watches aws_lb.api and not aws_lb.web."""
    policy = load_file(PACK_DIR / "error-rate-alarm.yaml")
    dim = Unknown("aws_lb.api.arn_suffix is only known after apply", ref="aws_lb.api.arn_suffix")
    alarm = Resource("MetricAlarm", "api-5xx", {
        "namespace": "AWS/ApplicationELB", "metric_name": "HTTPCode_Target_5XX_Count",
        "comparison_operator": "GreaterThanThreshold", "threshold": 10,
        "alarm_actions": [Unknown("aws_sns_topic.pager.arn is only known after apply")],
        "dimensions": {"LoadBalancer": dim}}, "tf", address="aws_cloudwatch_metric_alarm.api")
    api = Resource("LoadBalancer", "api", {"load_balancer_type": "application"}, "tf",
                   address="aws_lb.api")
    web = Resource("LoadBalancer", "web", {"load_balancer_type": "application"}, "tf",
                   address="aws_lb.web")
    results = {r.name: r.status for r in engine.evaluate([policy], _inv(alarm, api, web), {})}
    assert results == {"api-5xx": "pass", "web": "fail"}


def test_health_check_path_only_applies_to_http_checks() -> None:
    policy = load_file(PACK_DIR / "health-check-path.yaml")
    body = {"spec": {"template": {"spec": {"containers": [{
        "name": "web", "ports": [{"containerPort": 8000}],
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8000}}}]}}}}
    web = Resource("Deployment", "web", body, "helm")
    groups = [
        Resource("TargetGroup", "tcp", {"protocol": "TCP", "health_check": {"protocol": "TCP"}},
                 "tf"),
        Resource("TargetGroup", "off", {"protocol": "HTTP", "health_check": {"enabled": False}},
                 "tf"),
        Resource("TargetGroup", "fn", {"target_type": "lambda"}, "tf"),
        Resource("TargetGroup", "http", {"protocol": "HTTP", "health_check": {"path": "/"}},
                 "tf"),
    ]
    results = {r.name: r.status for r in engine.evaluate([policy], _inv(web, *groups), {})}
    assert results == {"http": "fail"}


def test_a_value_whose_read_failed_is_an_error_not_unknown() -> None:
    policy = load_file(PACK_DIR / "nodegroup-capacity.yaml")
    denied = Unknown("ec2 DescribeInstanceTypes: AccessDenied (HTTP 403)", failed=True)
    ng = Resource("Nodegroup", "general", {
        "instance_types": ["m6i.xlarge"], "instance_capacity": denied,
        "scaling_config": {"min_size": 1, "max_size": 3, "desired_size": 2}}, "aws")
    dep = Resource("Deployment", "web", {"spec": {"replicas": 2, "template": {"spec": {
        "containers": [{"name": "web", "resources": {"requests": {"cpu": "1"}}}]}}}}, "k8s")
    inv = Inventory("prod", "live", [ng, dep], [], dict(PLACEHOLDERS))
    (result,) = engine.evaluate([policy], inv, {})
    assert result.status == "error" and "AccessDenied" in result.message


def test_a_partial_policy_reports_what_was_read_and_errors_for_the_rest() -> None:
    policy = load_file(PACK_DIR / "cert-expiry.yaml")
    endpoint = Resource("TLSEndpoint", "chess-ai.example.com:443", {
        "url": "https://chess-ai.example.com/", "reachable": True, "verified": True,
        "not_after": "2026-12-01T00:00:00Z"}, "tls")
    inv = Inventory("prod", "live", [endpoint], [], dict(PLACEHOLDERS),
                    unavailable={"ACMCertificate": "acm ListCertificates: AccessDenied"})
    results = engine.evaluate([policy], inv, {"now": "2026-11-27T00:00:00Z"})
    assert sorted(r.status for r in results) == ["error", "fail"]
    assert any("AccessDenied" in r.message for r in results if r.status == "error")


def _live(*resources: Resource, unavailable: dict[str, str]) -> Inventory:
    return Inventory("prod", "live", list(resources), [], dict(PLACEHOLDERS), unavailable)


def _needs_secret(name: str, kind: str = "Deployment") -> Resource:
    pod = {"containers": [{"name": "app", "image": "app:1", "env": [{"name": "DB_PASSWORD",
           "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}]}
    return Resource(kind, name, {"apiVersion": "apps/v1", "kind": kind, "metadata": {
        "name": name, "namespace": "shop"}, "spec": {"template": {"spec": pod}}},
        "kubernetes", "shop")


def test_an_unreadable_kind_costs_only_its_part_of_a_check() -> None:
    """A cluster that refuses to list DaemonSets: the Deployments' references are still
    checked (a missing Secret fails), the DaemonSets are an error naming why."""
    policy = load_file(PACK_DIR / "config-refs-exist.yaml")
    inv = _live(_needs_secret("api"), unavailable={"DaemonSet": "forbidden (403)"})
    results = engine.evaluate([policy], inv, {})
    (error,) = [r for r in results if r.status == "error"]
    assert error.message == ("DaemonSet could not be read: forbidden (403) (the other kinds "
                             "were checked)")
    assert [(r.status, r.name) for r in results if r.status != "error"] == [("fail", "api")]


def test_a_kind_a_check_looks_things_up_in_is_needed_whole() -> None:
    """Without the Secrets, no reference can be judged: one error, no fail and no pass."""
    policy = load_file(PACK_DIR / "config-refs-exist.yaml")
    inv = _live(_needs_secret("api"), unavailable={"Secret": "forbidden (403)"})
    (result,) = engine.evaluate([policy], inv, {})
    assert result.status == "error" and result.message == "Secret could not be read: " \
        "forbidden (403)"


def test_a_conditions_kinds_are_each_judged_alone() -> None:
    policy = load_file(PACK_DIR / "image-pinned.yaml")
    inv = _live(_needs_secret("api"), unavailable={"CronJob": "timed out"})
    statuses = sorted((r.status, r.kind) for r in engine.evaluate([policy], inv, {}))
    assert statuses == [("error", "Policy"), ("pass", "Deployment")]
