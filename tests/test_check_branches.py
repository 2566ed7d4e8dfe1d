"""Branches of the named checks that no example reaches: values not known offline, shapes
the sources can produce that are not what a check expects, and the parameters that narrow
a check. Each test pins the status, the exact reason and the item, so a changed string,
condition or return value shows."""

from __future__ import annotations

from typing import Any

import pytest

from auditor import engine
from auditor.checks.alb_ingress import alb_ingresses, annotation, fix_vars, group_name
from auditor.checks.capacity import class_memory_gib, eval_formula
from auditor.models import Inventory, Location, Resource, Result
from auditor.paths import Path
from auditor.policies import PACK_DIR, load_file
from auditor.sources.manifests import to_resource
from auditor.unknown import Unknown

A = "alb.ingress.kubernetes.io/"
SET = "values key {} is set by --set at deploy time"


def _k8s(body: dict[str, Any]) -> Resource:
    return to_resource(body, "chart", "shop", {})


def _evaluate(policy_id: str, resources: list[Resource],
              params: dict[str, Any] | None = None) -> list[Result]:
    policy = load_file(PACK_DIR / f"{policy_id}.yaml")
    return engine.evaluate([policy], Inventory("prod", "declared", resources),
                           {policy_id: params or {}})


def _by_item(results: list[Result]) -> dict[str | None, tuple[str, str]]:
    out: dict[str | None, tuple[str, str]] = {r.item: (r.status, r.message) for r in results}
    assert len(out) == len(results), results
    return out


# ---- nodegroup-capacity (node_capacity.py, capacity.py) ----------------------------------

NODE = {"m6i.xlarge": {"cpu": "4", "memory": "16Gi"}}
NOT_OFFLINE = ("cannot be evaluated: the capacity of instance type {} is not known offline "
               "(the live audit reads it; offline, give its allocatable cpu and memory in the "
               "policy's instance_types parameter)")


def _nodegroup(**body: Any) -> Resource:
    return Resource(kind="Nodegroup", name="general", source="tf", body={
        "instance_types": ["m6i.xlarge"],
        "scaling_config": {"min_size": 1, "max_size": 6, "desired_size": 2}, **body})


def _container(name: str, cpu: Any = "1", memory: Any = "1Gi") -> dict[str, Any]:
    return {"name": name, "resources": {"requests": {"cpu": cpu, "memory": memory}}}


def _workload(name: str, replicas: Any = 20, kind: str = "Deployment",
              containers: list[dict[str, Any]] | None = None) -> Resource:
    spec: dict[str, Any] = {"template": {"spec": {
        "containers": containers if containers is not None else [_container(name)]}}}
    if kind != "DaemonSet":
        spec["replicas"] = replicas
    return _k8s({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name},
                 "spec": spec})


def _hpa(name: str, spec: Any, namespace: str | None = None) -> Resource:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return _k8s({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                 "metadata": metadata, "spec": spec})


def _capacity(*resources: Resource, **params: Any) -> dict[str | None, tuple[str, str]]:
    results = _evaluate("nodegroup-capacity", list(resources),
                        {"instance_types": NODE, **params})
    assert all(r.name == "general" and r.kind == "Nodegroup" for r in results)
    return _by_item(results)


def test_a_daemonset_with_unknown_requests_makes_every_workload_unknown() -> None:
    agent = _workload("agent", kind="DaemonSet",
                      containers=[_container("agent", cpu=Unknown(SET.format("agent.cpu")))])
    # Each fits alone (20 <= 4 x 6) and together they would not: no "all workloads" either.
    found = _capacity(_nodegroup(), agent, _workload("api"), _workload("worker"))
    reason = ("cannot be evaluated: the requests of DaemonSet agent, which runs on every "
              "node, are not known: values key agent.cpu is set by --set at deploy time")
    assert found == {"api": ("unknown", reason), "worker": ("unknown", reason)}


def test_a_container_whose_requests_map_is_unknown_makes_the_workload_unknown() -> None:
    api = _workload("api", containers=[{"name": "api", "resources": {
        "requests": Unknown(SET.format("resources.requests"))}}])
    assert _capacity(_nodegroup(), api) == {"api": (
        "unknown", "cannot be evaluated: values key resources.requests is set by --set at "
        "deploy time")}


def test_unknown_replicas_make_the_workload_unknown() -> None:
    api = _workload("api", replicas=Unknown(SET.format("replicaCount")))
    assert _capacity(_nodegroup(), api) == {"api": (
        "unknown", "cannot be evaluated: values key replicaCount is set by --set at deploy "
        "time")}


@pytest.mark.parametrize("unknown", ["replicas", "requests"])
def test_a_workload_not_known_leaves_no_all_workloads_outcome(unknown: str) -> None:
    # worker and batch fit alone (20 <= 24) but not together (40 CPU > 24): with a third
    # workload not known, the sum is not known either, and its own outcome says why.
    doubt = Unknown(SET.format("api"))
    api = (_workload("api", replicas=doubt) if unknown == "replicas" else
           _workload("api", containers=[_container("api", cpu=doubt)]))
    found = _capacity(_nodegroup(), _workload("worker"), _workload("batch"), api)
    assert {k: v[0] for k, v in found.items()} == {"worker": "pass", "batch": "pass",
                                                    "api": "unknown"}
    assert found["api"][1] == "cannot be evaluated: values key api is set by --set at deploy time"


def test_the_together_outcome_still_comes_without_the_unknown_workload() -> None:
    # The contrast: the same two workloads alone do not fit together.
    found = _capacity(_nodegroup(), _workload("worker"), _workload("batch"))
    assert found["all workloads"][0] == "fail"
    assert found["all workloads"][1].startswith(
        "node group general: its 2 workloads at full scale-out request 40 CPU of 24 that "
        "max_size 6 nodes offer after the DaemonSets")


def test_an_unknown_max_size_makes_the_workload_unknown() -> None:
    group = _nodegroup(scaling_config=[{"min_size": 1, "desired_size": 2,
                                        "max_size": Unknown("variable max_nodes has no value")}])
    assert _capacity(group, _workload("api")) == {"api": (
        "unknown", "cannot be evaluated: variable max_nodes has no value")}


@pytest.mark.parametrize("max_size", ["6", True, 6.0, None])
def test_a_max_size_that_is_not_an_integer_is_not_known(max_size: Any) -> None:
    group = _nodegroup(scaling_config={"min_size": 1, "max_size": max_size})
    # replicas 1: a max_size read as 1 (True) or 6 would pass
    assert _capacity(group, _workload("api", replicas=1)) == {"api": (
        "unknown", "cannot be evaluated: the node group's max_size is not known")}


def test_unknown_instance_types_make_the_workload_unknown() -> None:
    group = _nodegroup(instance_types=Unknown("variable instance_types has no value"))
    assert _capacity(group, _workload("api")) == {"api": (
        "unknown", "cannot be evaluated: variable instance_types has no value")}


@pytest.mark.parametrize(("failed", "status"), [(True, "error"), (False, "unknown")])
def test_live_capacity_not_read_keeps_its_reason_over_the_parameter(failed: bool,
                                                                   status: str) -> None:
    denied = Unknown("ec2 DescribeInstanceTypes was denied: AccessDenied", failed=failed)
    assert _capacity(_nodegroup(instance_capacity=denied), _workload("api")) == {"api": (
        status, "cannot be evaluated: ec2 DescribeInstanceTypes was denied: AccessDenied")}


@pytest.mark.parametrize("given", [{"cpu": "4"}, {"memory": "16Gi"},
                                   {"cpu": "four", "memory": "16Gi"},
                                   {"cpu": "4", "memory": True}])
def test_an_instance_types_entry_that_is_not_a_cpu_memory_pair(given: dict[str, Any]) -> None:
    found = _capacity(_nodegroup(), _workload("api"), instance_types={"m6i.xlarge": given})
    assert found == {"api": ("unknown", "cannot be evaluated: the capacity given for "
                             "m6i.xlarge is not a cpu/memory pair")}


def test_live_capacity_per_type_wins_over_the_parameter() -> None:
    # Collected 2 CPU per node (the parameter says 4): 2 pods per node, 12 < 20.
    group = _nodegroup(instance_capacity={"m6i.xlarge": {"cpu": "2", "memory": "8Gi"}})
    (status, message), = _capacity(group, _workload("api")).values()
    assert status == "fail"
    assert message.startswith(
        "node group general: 2 pod(s) of api (1 CPU, 1Gi requested) fit on one m6i.xlarge "
        "node, 12 on max_size 6 nodes, but 20 may run at full scale-out")


def test_live_capacity_per_type_with_several_types_the_smallest_decides() -> None:
    group = _nodegroup(instance_types=["m6i.xlarge", "m6i.large"], instance_capacity={
        "m6i.xlarge": {"cpu": "4", "memory": "16Gi"}, "m6i.large": {"cpu": "2", "memory": "8Gi"}})
    (status, message), = _capacity(group, _workload("api"), instance_types={}).values()
    assert status == "fail"
    assert message.startswith(
        "node group general: 2 pod(s) of api (1 CPU, 1Gi requested) fit on one m6i.large "
        "node, 12 on max_size 6 nodes, but 20 may run at full scale-out")


def test_live_capacity_of_other_types_falls_back_to_the_parameter() -> None:
    group = _nodegroup(instance_capacity={"m6i.large": {"cpu": "2", "memory": "8Gi"}})
    assert _capacity(group, _workload("api")) == {"api": (
        "pass", "The node group at max size can hold the HPA's maximum number of pods")}
    assert _capacity(group, _workload("api"), instance_types={}) == {"api": (
        "unknown", NOT_OFFLINE.format("m6i.xlarge"))}


def test_one_live_capacity_for_several_types_is_not_used() -> None:
    # A single {cpu, memory} is the capacity of the one type listed, not of each.
    flat = {"cpu": "4", "memory": "16Gi"}
    several = _nodegroup(instance_types=["m6i.xlarge", "m6i.large"], instance_capacity=flat)
    assert _capacity(several, _workload("api"), instance_types={}) == {"api": (
        "unknown", NOT_OFFLINE.format("m6i.xlarge"))}
    one = _nodegroup(instance_capacity=flat)
    assert _capacity(one, _workload("api"), instance_types={})["api"][0] == "pass"


@pytest.mark.parametrize("spec", [
    {"scaleTargetRef": {"kind": "Deployment", "name": Unknown("the HPA's target is unknown")},
     "maxReplicas": 2},
    {"scaleTargetRef": {"kind": Unknown("the HPA's target is unknown"), "name": "api"},
     "maxReplicas": 2},
    {"scaleTargetRef": Unknown("the HPA's target is unknown"), "maxReplicas": 2},
    Unknown("the HPA's target is unknown"),
])
def test_an_hpa_whose_target_is_unknown_makes_the_workload_unknown(spec: Any) -> None:
    found = _capacity(_nodegroup(), _workload("api", replicas=2), _hpa("api-hpa", spec))
    assert found == {"api": ("unknown", "cannot be evaluated: whether HPA api-hpa scales api "
                             "is not known: the HPA's target is unknown")}


def test_an_hpa_of_another_namespace_or_target_leaves_the_workload_judged() -> None:
    elsewhere = _hpa("elsewhere", {"scaleTargetRef": {
        "kind": "Deployment", "name": Unknown("the HPA's target is unknown")},
        "maxReplicas": 2}, namespace="other")
    worker = _hpa("worker", {"scaleTargetRef": {"kind": "Deployment", "name": "worker"},
                             "maxReplicas": 2})
    # replicas 30 > 24 fail, unless an HPA were (wrongly) read as its own
    (status, message), = _capacity(_nodegroup(), _workload("api", replicas=30), elsewhere,
                                   worker).values()
    assert status == "fail"
    assert "24 on max_size 6 nodes, but 30 may run at full scale-out" in message


@pytest.mark.parametrize(("replicas", "hpa_max", "shown"), [
    ("3", None, "'3'"), (True, None, "True"), (2.5, None, "2.5"), (2, "20", "'20'")])
def test_a_replica_count_that_is_not_a_number_is_not_known(replicas: Any, hpa_max: Any,
                                                           shown: str) -> None:
    extra = [_hpa("api", {"scaleTargetRef": {"kind": "Deployment", "name": "api"},
                          "maxReplicas": hpa_max})] if hpa_max is not None else []
    found = _capacity(_nodegroup(), _workload("api", replicas=replicas), *extra)
    assert found == {"api": ("unknown", f"cannot be evaluated: the replica count {shown} of "
                             "api is not a number")}


@pytest.mark.parametrize(("instance_class", "gib"), [
    ("db.c5.large", None), ("db.q1.xlarge", None), ("db.serverless", None),
    ("r6g.large", None), ("db.r6g.large.x", None), ("db.r6g.large", 16),
    ("db.x2g.large", 64), ("db.m5.2xlarge", 32), ("db.t3.small", 2)])
def test_class_memory_of_a_class_not_listed_is_not_known(instance_class: str,
                                                          gib: int | None) -> None:
    assert class_memory_gib(instance_class) == gib


@pytest.mark.parametrize(("formula", "memory", "value"), [
    ("GREATEST(10,{DBInstanceClassMemory/1000})", 50_000, 50),
    ("GREATEST(100, {DBInstanceClassMemory/1000})", 50_000, 100),
    ("SUM(1,{DBInstanceClassMemory/100},3)", 1000, 14),
    ("LEAST(10,{DBInstanceClassMemory/1000})", 50_000, 10),
    ("SUM(1,x)", 1000, None),
    ("GREATEST({log(DBInstanceClassMemory/805306368)*45},5)", 2**33, None),
])
def test_formulas_greatest_and_sum(formula: str, memory: int, value: int | None) -> None:
    assert eval_formula(formula, memory) == value


# ---- ALB Ingresses (alb_ingress.py) -------------------------------------------------------

def _ingress(name: str, annotations: Any = None, class_name: str | None = "alb",
             backend: dict[str, Any] | None = None, **spec: Any) -> Resource:
    metadata: dict[str, Any] = {"name": name}
    if annotations is not None:
        metadata["annotations"] = annotations
    body_spec: dict[str, Any] = {**spec}
    if class_name is not None:
        body_spec["ingressClassName"] = class_name
    body_spec.setdefault("defaultBackend", backend or {"service": {
        "name": "web", "port": {"name": "http"}}})
    return _k8s({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                 "metadata": metadata, "spec": body_spec})


def _ingress_class(name: str, controller: str = "ingress.k8s.aws/alb",
                   params: str | None = None, default: bool = False) -> Resource:
    spec: dict[str, Any] = {"controller": controller}
    if params is not None:
        spec["parameters"] = {"apiGroup": "elbv2.k8s.aws", "kind": "IngressClassParams",
                              "name": params}
    metadata: dict[str, Any] = {"name": name}
    if default:
        metadata["annotations"] = {"ingressclass.kubernetes.io/is-default-class": "true"}
    return _k8s({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                 "metadata": metadata, "spec": spec})


def _class_params(name: str, **spec: Any) -> Resource:
    return _k8s({"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "IngressClassParams",
                 "metadata": {"name": name}, "spec": spec})


def _waf(*resources: Resource) -> dict[str | None, tuple[str, str]]:
    results = _evaluate("waf-on-alb", list(resources))
    assert all(r.kind == "Ingress" for r in results)
    return {r.name: (r.status, r.message) for r in results}


def test_annotations_not_known_are_the_unknown_of_every_annotation() -> None:
    doubt = Unknown(SET.format("ingress.annotations"))
    assert annotation(_ingress("web", doubt), "scheme") == doubt
    assert annotation(_ingress("web", doubt), "kubernetes.io/ingress.class") == doubt


@pytest.mark.parametrize(("value", "text"), [(True, "true"), (False, "false"), (80, "80")])
def test_an_annotation_given_as_a_bool_or_number_reads_as_its_text(value: Any,
                                                                    text: str) -> None:
    assert annotation(_ingress("web", {A + "ssl-redirect": value}), "ssl-redirect") == text


@pytest.mark.parametrize("value", [["internet-facing"], {"value": "internet-facing"}])
def test_an_annotation_that_is_a_list_or_map_is_not_text(value: Any) -> None:
    found = annotation(_ingress("web", {A + "scheme": value}), "scheme")
    assert found == Unknown("alb.ingress.kubernetes.io/scheme of Ingress web is not text")
    assert _waf(_ingress("web", {A + "scheme": value})) == {"web": (
        "unknown", "cannot be evaluated: alb.ingress.kubernetes.io/scheme of Ingress web is "
        "not text")}


def test_an_ingress_of_another_controllers_class_is_not_judged() -> None:
    resources = [_ingress_class("nginx", controller="k8s.io/ingress-nginx", default=True),
                 _ingress_class("public"),
                 _ingress("shop", {A + "scheme": "internet-facing"}, class_name="nginx"),
                 _ingress("unnamed", {A + "scheme": "internet-facing"}, class_name=None),
                 _ingress("web", {A + "scheme": "internet-facing"}, class_name="public")]
    assert [a.ingress.name for a in alb_ingresses(Inventory("prod", "declared", resources))
            ] == ["web"]
    assert {k: v[0] for k, v in _waf(*resources).items()} == {"web": "fail"}


def test_the_group_of_an_ingress_class_params_joins_its_ingresses() -> None:
    # The class's group wins over an Ingress's own group.name: both share one ALB, and
    # the web ACL on one covers the other.
    resources = [_ingress_class("public", params="shared"),
                 _class_params("shared", group={"name": "shop"}, scheme="internet-facing"),
                 _ingress("web", {A + "wafv2-acl-arn": "arn:aws:wafv2:acl/blocked"},
                          class_name="public"),
                 _ingress("admin", {A + "group.name": "admin"}, class_name="public")]
    inv = Inventory("prod", "declared", resources)
    assert [group_name(a) for a in alb_ingresses(inv)] == ["shop", "shop"]
    assert {k: v[0] for k, v in _waf(*resources).items()} == {"web": "pass", "admin": "pass"}


def test_an_ingress_class_params_group_names_the_group_in_the_finding() -> None:
    resources = [_ingress_class("public", params="shared"),
                 _class_params("shared", group={"name": "shop"}, scheme="internet-facing"),
                 _ingress("web", class_name="public"), _ingress("admin", class_name="public")]
    found = _waf(*resources)
    assert found["web"][0] == "fail"
    assert found["web"][1].startswith(
        "the internet-facing ALB of Ingress web (alb.ingress.kubernetes.io/scheme: "
        "internet-facing (set by IngressClassParams shared)) has no WAF web ACL (no "
        "alb.ingress.kubernetes.io/wafv2-acl-arn on it or on the other Ingresses of its "
        "IngressGroup here (admin); only the Ingresses of IngressGroup shop in this "
        "environment were read)")


def test_an_empty_group_of_the_class_params_leaves_the_annotations_group() -> None:
    resources = [_ingress_class("public", params="shared"),
                 _class_params("shared", group={"name": ""}),
                 _ingress("web", {A + "group.name": "shop"}, class_name="public")]
    (a,) = alb_ingresses(Inventory("prod", "declared", resources))
    assert group_name(a) == "shop"


def test_a_group_name_not_known_makes_the_ingress_unknown() -> None:
    doubt = Unknown(SET.format("ingress.groupName"))
    web = _ingress("web", {A + "scheme": "internet-facing", A + "group.name": doubt})
    message = "cannot be evaluated: values key ingress.groupName is set by --set at deploy time"
    assert _waf(web) == {"web": ("unknown", message)}
    (logs,) = _evaluate("alb-access-logs", [web])
    assert (logs.status, logs.message) == ("unknown", message)


def test_a_group_member_whose_class_params_are_not_declared_leaves_the_group_unknown() -> None:
    resources = [_ingress_class("private", params="private-settings"),
                 _ingress("web", {A + "scheme": "internet-facing", A + "group.name": "shop"}),
                 _ingress("admin", {A + "group.name": "shop"}, class_name="private")]
    message = ("cannot be evaluated: IngressClass private takes settings from "
               "IngressClassParams private-settings, which is not declared here (it may set "
               "the scheme, the group, the WAF web ACL and the load balancer attributes)")
    assert _waf(*resources) == {"web": ("unknown", message), "admin": ("unknown", message)}


SCHEME = A + "scheme"
ANNOTATIONS = ("metadata", "annotations")


def _located(locations: dict[Path, Location]) -> Resource:
    r = _ingress("web", {SCHEME: "internet-facing", A + "group.name": "shop"})
    r.field_locations.update(locations)
    return r


def test_an_annotations_values_key_that_does_not_parse_is_passed_over() -> None:
    r = _located({ANNOTATIONS: Location("templates/ingress.yaml", 6, key="ingress..annotations"),
                  (*ANNOTATIONS, SCHEME): Location(
                      "values.yaml", 4, key=f'ingress.annotations["{SCHEME}"]')})
    found = fix_vars(r, Inventory("prod", "declared", [r]), "wafv2-acl-arn", ["arn:acl"])
    assert found == {
        "where": "templates/ingress.yaml:6", "annotations_key": "ingress.annotations",
        "annotate": "alb.ingress.kubernetes.io/wafv2-acl-arn=arn:acl",
        "helm_set": "'ingress.annotations.alb\\.ingress\\.kubernetes\\.io/wafv2-acl-arn="
                    "arn:acl'"}


def test_an_annotation_set_from_a_values_key_of_its_own_is_not_the_annotations_map() -> None:
    # scheme: {{ .Values.ingress.scheme }}: ingress.scheme is not under the map the
    # annotations come from, so its parent (ingress) is not that map.
    own = Location("values.yaml", 4, key="ingress.scheme")
    alone = _located({(*ANNOTATIONS, SCHEME): own})
    found = fix_vars(alone, Inventory("prod", "declared", [alone]), "wafv2-acl-arn", ["arn"])
    assert (found["annotations_key"], found["helm_set"]) == (None, None)
    group = A + "group.name"
    both = _located({(*ANNOTATIONS, SCHEME): own, (*ANNOTATIONS, group): Location(
        "values.yaml", 7, key=f'ingress.annotations["{group}"]')})
    found = fix_vars(both, Inventory("prod", "declared", [both]), "wafv2-acl-arn", ["arn"])
    assert found["annotations_key"] == "ingress.annotations"


# ---- health-check-path on ALB Ingresses (alb_health.py) -----------------------------------

def _deployment(name: str, containers: list[dict[str, Any]],
                init: list[dict[str, Any]] | None = None) -> Resource:
    pod: dict[str, Any] = {"containers": containers}
    if init is not None:
        pod["initContainers"] = init
    return _k8s({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
                 "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
                     "metadata": {"labels": {"app": "web"}}, "spec": pod}}})


def _serving(name: str, ready: str | None, ports: list[dict[str, Any]] | None = None,
             **extra: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, **extra}
    if ports is not None:
        c["ports"] = ports
    if ready is not None:
        c["readinessProbe"] = {"httpGet": {"path": ready, "port": 8080}}
    return c


HTTP = [{"name": "http", "containerPort": 8080}]


def _service(annotations: dict[str, Any] | None = None, target: Any = "http",
             ports: list[Any] | None = None, selector: Any = None,
             name: str = "web") -> Resource:
    metadata: dict[str, Any] = {"name": name}
    if annotations:
        metadata["annotations"] = annotations
    return _k8s({"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": {
        "selector": selector if selector is not None else {"app": "web"},
        "ports": ports if ports is not None else [
            {"name": "http", "port": 80, "targetPort": target}]}})


def _health(*resources: Resource, **params: Any) -> dict[str | None, tuple[str, str]]:
    results = _evaluate("health-check-path", list(resources), params)
    assert all(r.kind == "Ingress" and r.name == "web" for r in results)
    return _by_item(results)


def _health_message(path: str, ready: str, health_from: str = "") -> str:
    return (f"the ALB of Ingress web health-checks Service web port http on {path} "
            f"({health_from or A + 'healthcheck-path on the Ingress'}), but the readiness "
            f"probe's path is {ready}: the ALB and Kubernetes disagree on which pods can "
            "serve, so targets flap, or take traffic before the application can answer")


def test_backends_without_a_service_port_are_not_target_groups() -> None:
    rules = [{"http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {
            "name": "ssl-redirect", "port": {"name": "use-annotation"}}}},
        {"path": "/a", "pathType": "Prefix", "backend": {"service": {"name": "noport"}}},
        {"path": "/b", "pathType": "Prefix", "backend": {"service": {
            "name": Unknown(SET.format("ingress.service")), "port": {"number": 80}}}},
        {"path": "/c", "pathType": "Prefix", "backend": {"service": {
            "name": "web", "port": {"name": "http"}}}}]}}]
    web = _ingress("web", {A + "healthcheck-path": "/readyz"}, rules=rules,
                   backend={"resource": {"kind": "Bucket", "name": "static"}})
    found = _health(web, _service(), _deployment("web", [_serving("web", "/readyz", HTTP)]))
    assert found == {"web:http": (
        "pass", "The ALB target group's health check asks the service's ready path")}


def test_the_deployment_parameter_picks_the_workload_behind_the_service() -> None:
    resources = [_ingress("web", {A + "healthcheck-path": "/canary-ready"}), _service(),
                 _deployment("web", [_serving("web", "/readyz", HTTP)]),
                 _deployment("canary", [_serving("canary", "/canary-ready", HTTP)])]
    assert _health(*resources)["web:http"][0] == "pass"  # either workload's path
    assert _health(*resources, deployment="web") == {"web:http": (
        "fail", _health_message("/canary-ready", "/readyz"))}
    assert _health(*resources, deployment="other") == {}


def test_a_health_check_port_not_known_makes_the_backend_unknown() -> None:
    doubt = Unknown(SET.format("ingress.healthcheckPort"))
    resources = [_ingress("web", {A + "healthcheck-path": "/readyz",
                                  A + "healthcheck-port": doubt}),
                 _service(), _deployment("web", [_serving("web", "/readyz", HTTP)])]
    assert _health(*resources) == {"web:http": (
        "unknown", "cannot be evaluated: values key ingress.healthcheckPort is set by --set at "
        "deploy time")}
    # The service's own ready path does not depend on the port.
    assert _health(*resources, ready_path="/readyz")["web:http"][0] == "pass"


def test_no_container_declaring_the_port_falls_back_to_the_serving_container() -> None:
    resources = [_ingress("web", {A + "healthcheck-path": "/readyz"}),
                 _service(target=8080),
                 _deployment("web", [_serving("sidecar", "/sidecar-ready"),
                                     _serving("web", "/readyz")])]
    assert _health(*resources)["web:http"][0] == "pass"
    assert _health(*resources, serving_container="sidecar") == {"web:http": (
        "fail", _health_message("/readyz", "/sidecar-ready"))}


def test_an_init_container_declaring_the_port_does_not_serve_it() -> None:
    migrate = {"name": "migrate", "ports": [{"containerPort": 8080}]}
    resources = [_ingress("web", {A + "healthcheck-path": "/readyz"}), _service(target=8080),
                 _deployment("web", [_serving("web", "/readyz")], init=[migrate])]
    assert _health(*resources)["web:http"][0] == "pass"


def test_a_native_sidecar_declaring_the_port_serves_it() -> None:
    proxy = _serving("proxy", "/proxy-ready", [{"containerPort": 8080}],
                     restartPolicy="Always")
    resources = [_ingress("web", {A + "healthcheck-path": "/readyz"}), _service(target=8080),
                 _deployment("web", [_serving("web", "/readyz")], init=[proxy])]
    assert _health(*resources) == {"web:http": (
        "fail", _health_message("/readyz", "/proxy-ready"))}


# ---- port-consistency and health-check-path (traffic.py) ----------------------------------

def _ports(*resources: Resource, **params: Any) -> dict[tuple[str, str | None], tuple[str, str]]:
    results = _evaluate("port-consistency", list(resources), params)
    out: dict[tuple[str, str | None], tuple[str, str]] = {
        (r.name, r.item): (r.status, r.message) for r in results}
    assert len(out) == len(results)
    return out


def test_a_service_that_selects_no_workload_is_not_compared() -> None:
    resources = [_deployment("web", [_serving("web", "/readyz", HTTP)]),
                 _service(name="gone", selector={"app": "gone"}, target="nope"),
                 _service(name="external", selector={}, target="nope"),
                 _service(target="http")]
    assert {k: v[0] for k, v in _ports(*resources).items()} == {("web", "http"): "pass"}


def test_a_service_port_that_is_not_a_mapping_is_passed_over() -> None:
    resources = [_deployment("web", [_serving("web", "/readyz", HTTP)]),
                 _service(ports=["http", {"port": 80, "targetPort": 8080}])]
    assert {k: v[0] for k, v in _ports(*resources).items()} == {("web", "1"): "pass"}


def test_a_target_port_not_known_is_unknown_and_the_next_port_is_judged() -> None:
    doubt = Unknown(SET.format("service.targetPort"))
    resources = [_deployment("web", [_serving("web", "/readyz", HTTP)]),
                 _service(ports=[{"name": "http", "port": 80, "targetPort": doubt},
                                 {"name": "admin", "port": 81, "targetPort": 8080}])]
    results = _evaluate("port-consistency", resources)
    assert [(r.item, r.status, r.message, r.path) for r in results] == [
        ("http", "unknown", "cannot be evaluated: values key service.targetPort is set by "
         "--set at deploy time", ("spec", "ports", 0, "targetPort")),
        ("admin", "pass", "Service target ports and the ALB target group port reach a port "
         "the pods declare", ("spec", "ports", 1, "targetPort"))]


def test_containers_that_declare_no_ports_leave_a_numbered_target_unknown() -> None:
    resources = [_deployment("web", [_serving("web", "/readyz")]),
                 _deployment("canary", [_serving("canary", "/readyz")]),
                 _service(ports=[{"name": "http", "port": 80, "targetPort": 8080},
                                 {"name": "named", "port": 81, "targetPort": "http"}])]
    assert _ports(*resources) == {
        ("web", "http"): ("unknown", "cannot be evaluated: targetPort 8080: the containers of "
                          "web, canary declare no ports to compare"),
        # A name no container declares cannot be reached, declared ports or not.
        ("web", "named"): ("fail", "Service web targets port http, which no container of "
                           "web, canary declares (container ports: none): the ALB's targets "
                           "stay unhealthy and clients get 503")}


def test_a_workload_without_containers_has_no_readiness_path() -> None:
    group = Resource(kind="TargetGroup", name="web", source="tf", body={
        "port": 8080, "protocol": "HTTP", "target_type": "ip",
        "health_check": [{"path": "/readyz"}]})
    empty = _deployment("empty", [])
    results = _evaluate("health-check-path", [group, empty])
    assert [(r.name, r.status, r.message) for r in results] == [
        ("web", "unknown", "cannot be evaluated: no readiness probe with an HTTP path to "
         "compare")]
    results = _evaluate("health-check-path", [group, empty,
                                              _deployment("web", [_serving("web", "/readyz")])])
    assert [(r.name, r.status) for r in results] == [("web", "pass")]


# ---- readiness-probe-timing (probes.py) ---------------------------------------------------

CONTAINER = ("spec", "template", "spec", "containers", 0)


def _timing(*containers: list[dict[str, Any]], **params: Any) -> list[Result]:
    workloads = [_deployment(f"w{i}", c) for i, c in enumerate(containers)]
    return _evaluate("readiness-probe-timing", workloads, params)


def _ready(**probe: Any) -> dict[str, Any]:
    return {"httpGet": {"path": "/readyz", "port": 8080}, **probe}


@pytest.mark.parametrize(("probe", "value", "reason"), [
    ("startupProbe", "thirty", "failureThreshold 'thirty' is not a number"),
    ("startupProbe", Unknown(SET.format("startup.failureThreshold")),
     SET.format("startup.failureThreshold")),
    ("livenessProbe", "thirty", "failureThreshold 'thirty' is not a number"),
])
def test_a_probe_that_may_kill_the_container_with_a_count_not_known(probe: str, value: Any,
                                                                    reason: str) -> None:
    web = {"name": "web", "readinessProbe": _ready(initialDelaySeconds=60),
           probe: {"httpGet": {"path": "/livez", "port": 8080}, "failureThreshold": value}}
    (result,) = _timing([web], time_to_ready=30)
    assert (result.status, result.item, result.path, result.message) == (
        "unknown", "web", (*CONTAINER, probe), f"cannot be evaluated: {reason}")


def test_a_workload_without_containers_is_not_judged() -> None:
    web = {"name": "web", "readinessProbe": _ready(periodSeconds=30)}
    results = _timing([], [web], max_probe_period=10)
    assert [(r.name, r.item, r.status) for r in results] == [("w1", "web", "fail")]


@pytest.mark.parametrize(("period", "reason"), [
    (Unknown(SET.format("readiness.periodSeconds")), SET.format("readiness.periodSeconds")),
    ("often", "periodSeconds 'often' is not a number")])
def test_a_readiness_period_not_known_is_unknown(period: Any, reason: str) -> None:
    web = {"name": "web", "readinessProbe": _ready(periodSeconds=period)}
    (result,) = _timing([web], max_probe_period=10)
    assert (result.status, result.item, result.path, result.message) == (
        "unknown", "web", (*CONTAINER, "readinessProbe", "periodSeconds"),
        f"cannot be evaluated: {reason}")
