"""ALBs the AWS Load Balancer Controller makes from Ingress annotations: their health
check path, WAF web ACL and access logs, judged like the ALBs Terraform declares."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auditor import config as config_mod
from auditor import engine, pipeline, policies
from auditor.models import Inventory, Location, Resource, Result, Side
from auditor.policies import PACK_DIR, load_file
from auditor.sources.manifests import to_resource
from auditor.unknown import Unknown

POLICIES = ("health-check-path", "waf-on-alb", "alb-access-logs")
A = "alb.ingress.kubernetes.io/"

# One web service behind an ALB Ingress; its annotations, and the Service's, from values.
CHART = {
    "shop/Chart.yaml": """
        apiVersion: v2
        name: shop
        version: 0.1.0
        """,
    "shop/values.yaml": """
        ingress:
          className: alb
          annotations:
            alb.ingress.kubernetes.io/scheme: internet-facing
        service:
          annotations: {}
        """,
    "shop/templates/web.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: 2
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
                - name: web
                  image: shop-web:1.4.2
                  ports: [{name: http, containerPort: 8080}]
                  readinessProbe:
                    httpGet: {path: /readyz, port: http}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          {{- with .Values.service.annotations }}
          annotations:
            {{- toYaml . | nindent 4 }}
          {{- end }}
        spec:
          selector: {app: web}
          ports: [{name: http, port: 80, targetPort: http}]
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: web
          {{- with .Values.ingress.annotations }}
          annotations:
            {{- toYaml . | nindent 4 }}
          {{- end }}
        spec:
          ingressClassName: {{ .Values.ingress.className }}
          rules:
            - host: shop.example.org
              http:
                paths:
                  - path: /
                    pathType: Prefix
                    backend:
                      service:
                        name: web
                        port: {name: http}
        """,
}

CONFIG = """
service: shop
environments:
  prod:
    helm:
      chart: shop
      release: shop
      namespace: shop
      values: [values-prod.yaml]
"""


def _scan(project: Callable[[dict[str, str]], Path], values: str) -> list[Result]:
    """Every result of the three policies on the chart's Ingress, passes included."""
    root = project({**CHART, "values-prod.yaml": values, "auditor.yaml": CONFIG})
    inventory = pipeline.declared_inventory(config_mod.load(str(root)), "prod")
    assert not inventory.problems, inventory.problems
    pack = [p for p in policies.load_all([]) if p.id in POLICIES]
    return [r for r in engine.evaluate(pack, inventory, {}) if r.kind == "Ingress"]


def _one(results: list[Result], policy: str) -> Result:
    (found,) = [r for r in results if r.policy_id == policy]
    return found


def test_the_controllers_default_path_fails_against_the_readiness_path(
        project: Callable[[dict[str, str]], Path]) -> None:
    finding = _one(_scan(project, "{}"), "health-check-path")
    assert (finding.status, finding.item) == ("fail", "web:http")
    message = finding.message
    assert "health-checks Service web port http on / (no " + A + "healthcheck-path" in message
    assert "the controller's default" in message and "is /readyz" in message
    # The annotations come from the chart's values: the fix goes there, as --set-string.
    assert finding.location == Location("shop/values.yaml", 3, "ingress.annotations")
    assert "under ingress.annotations in the chart's values" in finding.remediation_text
    commands = finding.commands
    assert commands[0] == ("helm upgrade shop ./shop --reuse-values --set-string "
                           "'ingress.annotations.alb\\.ingress\\.kubernetes\\.io/"
                           "healthcheck-path=/readyz' -n shop")
    assert commands[1] == ("kubectl annotate ingress web -n shop --overwrite "
                           f"{A}healthcheck-path=/readyz")


def test_an_annotation_on_the_readiness_path_passes(
        project: Callable[[dict[str, str]], Path]) -> None:
    values = f"""
        ingress:
          annotations:
            {A}healthcheck-path: /readyz
        """
    assert _one(_scan(project, values), "health-check-path").status == "pass"


def test_the_services_annotation_wins_over_the_ingresss(
        project: Callable[[dict[str, str]], Path]) -> None:
    wrong = f"""
        ingress:
          annotations:
            {A}healthcheck-path: /readyz
        service:
          annotations:
            {A}healthcheck-path: /healthz
        """
    finding = _one(_scan(project, wrong), "health-check-path")
    assert finding.status == "fail"
    assert f"on /healthz ({A}healthcheck-path on Service web, which wins" in finding.message
    # The Service's annotation is where to change it.
    assert finding.location is not None and (finding.location.file, finding.location.line) == (
        "values-prod.yaml", 6)
    assert finding.commands[1] == (
        f"kubectl annotate service web -n shop --overwrite {A}healthcheck-path=/readyz")
    right = f"""
        ingress:
          annotations:
            {A}healthcheck-path: /
        service:
          annotations:
            {A}healthcheck-path: /readyz
        """
    assert _one(_scan(project, right), "health-check-path").status == "pass"


def test_an_internet_facing_alb_needs_a_waf_and_an_internal_one_does_not(
        project: Callable[[dict[str, str]], Path]) -> None:
    finding = _one(_scan(project, "{}"), "waf-on-alb")
    assert finding.status == "fail"
    assert f"({A}scheme: internet-facing) has no WAF web ACL (no {A}wafv2-acl-arn" in (
        finding.message)
    assert finding.commands[0].startswith(
        "helm upgrade shop ./shop --reuse-values --set-string "
        "'ingress.annotations.alb\\.ingress\\.kubernetes\\.io/wafv2-acl-arn='<web-acl-arn>")
    internal = f"""
        ingress:
          annotations:
            {A}scheme: internal
        """
    assert _one(_scan(project, internal), "waf-on-alb").status == "pass"
    # Without a scheme annotation (null deletes the chart's) the controller's is internal.
    default = f"ingress:\n  annotations:\n    {A}scheme: null\n"
    assert _one(_scan(project, default), "waf-on-alb").status == "pass"
    protected = f"""
        ingress:
          annotations:
            {A}wafv2-acl-arn: arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/edge/0f1e
        """
    assert _one(_scan(project, protected), "waf-on-alb").status == "pass"


@pytest.mark.parametrize(("attributes", "status", "reason"), [
    (None, "fail", f"(no {A}load-balancer-attributes)"),
    ("idle_timeout.timeout_seconds=60", "fail", "sets no access_logs.s3.enabled=true"),
    ("access_logs.s3.enabled=false,access_logs.s3.bucket=shop-logs", "fail",
     "sets access_logs.s3.enabled=false"),
    ("access_logs.s3.enabled=true", "fail", "names no access_logs.s3.bucket"),
    (" access_logs.s3.enabled = true , access_logs.s3.bucket=shop-logs,"
     "access_logs.s3.prefix=prod", "pass", ""),
    ("access_logs.s3.enabled=true,access_logs.s3.bucket", "unknown",
     "'access_logs.s3.bucket' is not key=value (the controller refuses it)"),
])
def test_access_logs_are_read_from_the_attributes_list(
        project: Callable[[dict[str, str]], Path], attributes: str | None, status: str,
        reason: str) -> None:
    values = "{}" if attributes is None else f"""
        ingress:
          annotations:
            {A}load-balancer-attributes: "{attributes}"
        """
    finding = _one(_scan(project, values), "alb-access-logs")
    assert finding.status == status
    assert reason in finding.message
    if status == "fail" and attributes:
        # The fix keeps the attributes already listed, commas escaped for Helm.
        helm = finding.commands[0]
        assert "access_logs.s3.enabled=true\\,access_logs.s3.bucket=" in helm
        if attributes.startswith("idle"):
            assert "load-balancer-attributes=idle_timeout.timeout_seconds=60\\," in helm


def test_an_ingress_of_another_controller_is_not_judged(
        project: Callable[[dict[str, str]], Path]) -> None:
    judged = {r.policy_id for r in _scan(project, "ingress:\n  className: alb\n")}
    assert judged == set(POLICIES)
    assert _scan(project, "ingress:\n  className: nginx\n") == []


def _ingress(name: str, annotations: dict[str, Any], cls: str | None = "alb",
             hostname: str | None = None) -> Resource:
    body: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"ingressClassName": cls,
                 "defaultBackend": {"service": {"name": name, "port": {"number": 80}}}}}
    if hostname:
        body["status"] = {"loadBalancer": {"ingress": [{"hostname": hostname}]}}
    return to_resource(body, "k8s", "shop", {})


def _statuses(policy_id: str, resources: list[Resource], side: Side = "declared"
              ) -> dict[str, str]:
    policy = load_file(PACK_DIR / f"{policy_id}.yaml")
    results = engine.evaluate([policy], Inventory("prod", side, resources), {})
    return {f"{r.kind}/{r.name}": r.status for r in results}


def test_an_ingressgroup_shares_one_alb_and_its_web_acl() -> None:
    web = _ingress("web", {A + "group.name": "shop", A + "scheme": "internet-facing"})
    acl = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/edge/0f1e"
    api = _ingress("api", {A + "group.name": "shop", A + "wafv2-acl-arn": acl})
    assert _statuses("waf-on-alb", [web, api]) == {"Ingress/web": "pass", "Ingress/api": "pass"}
    # Another group's web ACL is another ALB's.
    other = _ingress("api", {A + "group.name": "admin", A + "wafv2-acl-arn": acl})
    assert _statuses("waf-on-alb", [web, other]) == {"Ingress/web": "fail",
                                                      "Ingress/api": "pass"}
    # Two web ACLs for one ALB: the controller associates neither.
    clash = _ingress("admin", {A + "group.name": "shop", A + "wafv2-acl-arn": acl + "0"})
    assert _statuses("waf-on-alb", [web, api, clash])["Ingress/web"] == "unknown"


def test_the_legacy_class_annotation_and_a_declared_ingressclass_count() -> None:
    legacy = _ingress("web", {"kubernetes.io/ingress.class": "alb",
                              A + "scheme": "internet-facing"}, cls=None)
    assert _statuses("waf-on-alb", [legacy]) == {"Ingress/web": "fail"}
    custom = _ingress("web", {A + "scheme": "internet-facing"}, cls="public")
    assert _statuses("waf-on-alb", [custom]) == {}  # whose class "public" is, nothing says
    public = to_resource({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                          "metadata": {"name": "public"},
                          "spec": {"controller": "ingress.k8s.aws/alb"}}, "k8s", "shop", {})
    assert _statuses("waf-on-alb", [custom, public]) == {"Ingress/web": "fail"}


def test_a_terraform_alb_is_judged_as_before_and_an_internal_one_needs_no_waf() -> None:
    public = Resource("LoadBalancer", "edge", {"load_balancer_type": "application"}, "tf")
    private = Resource("LoadBalancer", "billing", {"load_balancer_type": "application",
                                                   "internal": True}, "tf")
    assert _statuses("waf-on-alb", [public, private]) == {
        "LoadBalancer/edge": "fail", "LoadBalancer/billing": "pass"}


def test_live_an_ingress_whose_alb_aws_describes_is_judged_there() -> None:
    host = "k8s-shop-web-1a2b3c4d5e-1180273645.eu-west-1.elb.amazonaws.com"
    web = _ingress("web", {A + "scheme": "internet-facing"}, hostname=host)
    alb = Resource("LoadBalancer", "k8s-shop-web-1a2b3c4d5e", {
        "load_balancer_type": "application", "internal": False,
        "web_acl": "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/edge/0f1e",
        "access_logs": {"enabled": True, "bucket": "shop-logs"}}, "aws")
    for policy in ("waf-on-alb", "alb-access-logs"):
        assert _statuses(policy, [web, alb], "live") == {"LoadBalancer/" + alb.name: "pass"}
        # Its ALB not read: the Ingress's own annotations are what there is to judge.
        assert _statuses(policy, [web], "live") == {"Ingress/web": "fail"}


def test_live_annotations_kept_only_as_a_hash_are_unknown_not_guessed() -> None:
    hashed = {"$sha256": "9f86d081884c7d65", "$salt": "00"}
    web = _ingress("web", {A + "scheme": "internet-facing",
                           A + "load-balancer-attributes": hashed,
                           A + "wafv2-acl-name": hashed})
    assert _statuses("alb-access-logs", [web], "live") == {"Ingress/web": "unknown"}
    assert _statuses("waf-on-alb", [web], "live") == {"Ingress/web": "unknown"}


def test_attribute_lists_are_parsed_as_the_controller_parses_them_and_bounded() -> None:
    from auditor.checks.alb_ingress import MAX_VALUE, annotation, parse_attributes

    assert parse_attributes("a=1, b = 2 ,c=x\\,y") == {"a": "1", "b": "2", "c": "x,y"}
    assert parse_attributes("tags=k1=v1,k2") == "'k2' is not key=value"
    assert parse_attributes("") == {}
    assert parse_attributes("a=b\\") == {"a": "b\\"}  # a backslash at the end escapes nothing
    assert parse_attributes("=1") == "'=1' is not key=value"
    assert isinstance(parse_attributes(",".join(f"k{i}=v" for i in range(65))), str)
    web = _ingress("web", {A + "load-balancer-attributes": "a=" + "x" * MAX_VALUE})
    long = annotation(web, "load-balancer-attributes")
    assert isinstance(long, Unknown) and "longer than" in long.reason
    assert _statuses("alb-access-logs", [web]) == {"Ingress/web": "unknown"}


def test_access_logs_its_class_switches_off_are_fixed_in_the_class_not_the_ingress() -> None:
    public = to_resource({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                          "metadata": {"name": "alb"},
                          "spec": {"controller": "ingress.k8s.aws/alb", "parameters": {
                              "kind": "IngressClassParams", "name": "public"}}}, "k8s", None, {})
    params = to_resource({"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "IngressClassParams",
                          "metadata": {"name": "public"},
                          "spec": {"loadBalancerAttributes": [
                              {"key": "access_logs.s3.enabled", "value": "false"}]}},
                         "k8s", None, {})
    params.field_locations[("spec", "loadBalancerAttributes")] = Location("params.yaml", 7)
    web = _ingress("web", {A + "load-balancer-attributes":
                           "access_logs.s3.enabled=true,access_logs.s3.bucket=logs"})
    policy = load_file(PACK_DIR / "alb-access-logs.yaml")
    (result,) = engine.evaluate([policy], Inventory("prod", "declared", [public, params, web]),
                                {})
    assert result.status == "fail" and str(result.location) == "params.yaml:7"
    assert "IngressClassParams public" in result.remediation_text
    assert "annotating the Ingress changes nothing" in result.remediation_text
    assert not any("annotate" in c or "helm" in c for c in result.commands)
    # Without the class's switch, the Ingress's own annotation decides and is the fix.
    params.body["spec"]["loadBalancerAttributes"] = [{"key": "access_logs.s3.bucket",
                                                      "value": "logs"}]
    web.body["metadata"]["annotations"][A + "load-balancer-attributes"] = (
        "access_logs.s3.enabled=false")
    (result,) = engine.evaluate([policy], Inventory("prod", "declared", [public, params, web]),
                                {})
    assert result.status == "fail" and "IngressClassParams" not in result.message
    assert any(c.startswith("kubectl annotate ingress web") for c in result.commands)
