"""Behaviour of the named checks that mutation testing showed no test pinned: a default
that fills in what a resource leaves out, a reason or status an Unknown carries through, the
item, location or details of a finding, and the containers a check looks in. Each test
goes through the engine and pins the observable result a changed branch would alter."""

from __future__ import annotations

from typing import Any

from auditor import engine
from auditor.models import Inventory, Location, Resource, Result, Side
from auditor.policies import PACK_DIR, load_file
from auditor.sources.manifests import to_resource
from auditor.unknown import Unknown

A = "alb.ingress.kubernetes.io/"
SET = "values key {} is set by --set at deploy time"
HTTP = [{"name": "http", "containerPort": 8080}]


def _k8s(body: dict[str, Any]) -> Resource:
    return to_resource(body, "chart", "shop", {})


def _evaluate(policy_id: str, resources: list[Resource], params: dict[str, Any] | None = None,
              side: Side = "declared") -> list[Result]:
    policy = load_file(PACK_DIR / f"{policy_id}.yaml")
    return engine.evaluate([policy], Inventory("prod", side, resources),
                           {policy_id: params or {}})


def _one(policy_id: str, resources: list[Resource], params: dict[str, Any] | None = None,
         side: Side = "declared") -> Result:
    (result,) = _evaluate(policy_id, resources, params, side)
    return result


def _ingress(name: str, annotations: dict[str, Any] | None = None,
             class_name: str = "alb") -> Resource:
    metadata: dict[str, Any] = {"name": name}
    if annotations is not None:
        metadata["annotations"] = annotations
    return _k8s({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata,
                 "spec": {"ingressClassName": class_name, "defaultBackend": {"service": {
                     "name": "web", "port": {"name": "http"}}}}})


def _service(ports: list[dict[str, Any]]) -> Resource:
    return _k8s({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                 "spec": {"selector": {"app": "web"}, "ports": ports}})


def _deployment(name: str, containers: list[dict[str, Any]],
                init: list[dict[str, Any]] | None = None, **pod: Any) -> Resource:
    spec: dict[str, Any] = {"containers": containers, **pod}
    if init is not None:
        spec["initContainers"] = init
    return _k8s({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
                 "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
                     "metadata": {"labels": {"app": "web"}}, "spec": spec}}})


# ---- health-check-path on ALB Ingresses (alb_health.py) -----------------------------------

HEALTH_TITLE = "The ALB target group's health check asks the service's ready path"


def test_behind_port_a_readiness_probe_without_a_path_asks_the_root() -> None:
    """An httpGet readiness probe that names no path asks "/", which the ALB's default
    health check path matches."""
    web = {"name": "web", "ports": HTTP, "readinessProbe": {"httpGet": {"port": 8080}}}
    result = _one("health-check-path", [_ingress("web"), _service(
        [{"name": "http", "port": 80, "targetPort": "http"}]), _deployment("web", [web])])
    assert (result.status, result.item, result.message) == ("pass", "web:http", HEALTH_TITLE)


def test_checked_port_a_service_port_without_target_port_targets_its_own_port() -> None:
    """A Service port with no targetPort sends traffic to the same port number, so the
    container declaring that port is the one whose readiness path is compared."""
    sidecar = {"name": "sidecar", "readinessProbe": {"httpGet": {"path": "/sidecar-ready",
                                                                 "port": 9090}}}
    web = {"name": "main", "ports": [{"containerPort": 8080}],
           "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}}}
    result = _one("health-check-path", [
        _ingress("web", {A + "healthcheck-path": "/readyz"}),
        _service([{"name": "http", "port": 8080}]), _deployment("web", [sidecar, web])])
    assert (result.status, result.item, result.message) == ("pass", "web:http", HEALTH_TITLE)


# ---- db-connection-capacity (db_capacity.py) ----------------------------------------------

def test_db_connection_capacity_fitting_pool_can_be_one() -> None:
    """The pool size suggested to fit is the largest that fits: 1 connection per pod when
    max_connections equals the pod count."""
    result = _one("db-connection-capacity", [
        Resource(kind="HelmValues", name="shop", source="chart",
                 body={"database": {"pool": {"size": 5}}}),
        _k8s({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "shop"},
              "spec": {"replicas": 10}}),
        Resource(kind="DBInstance", name="shop-db", source="tf",
                 body={"engine": "postgres", "parameter_group_name": "shop-params"}),
        Resource(kind="DBParameterGroup", name="shop-params", source="tf",
                 body={"parameters": {"max_connections": "10"}})],
        {"db_pool_size_key": "database.pool.size", "headroom_percent": 0})
    assert result.status == "fail"
    assert (result.details["needed"], result.details["fitting_pool"]) == (50, 1)
    assert any("--set database.pool.size=1 " in c for c in result.commands), result.commands


# ---- image-pull-secrets-exist and config-refs-exist (live.py) -----------------------------

def test_image_pull_secrets_exist_a_service_account_read_that_failed_is_an_error() -> None:
    """A ServiceAccount name whose read failed makes the pull secrets' finding an error,
    not merely unknown."""
    failed = Unknown("the ServiceAccount field could not be read", failed=True)
    result = _one("image-pull-secrets-exist", [
        _deployment("web", [{"name": "web", "image": "registry.example/web:1"}],
                    serviceAccountName=failed)], side="live")
    assert (result.status, result.item, result.message) == (
        "error", "secret of its ServiceAccount", "cannot be evaluated: the pods' "
        "ServiceAccount is not known: the ServiceAccount field could not be read")


def test_config_references_an_init_containers_missing_secret_fails() -> None:
    """An init container's env secretKeyRef is a reference the pods need to start."""
    migrate = {"name": "migrate", "env": [{"name": "DB_PASSWORD", "valueFrom": {
        "secretKeyRef": {"name": "db-creds", "key": "password"}}}]}
    result = _one("config-refs-exist", [
        _deployment("web", [{"name": "web"}], init=[migrate])], side="live")
    assert (result.status, result.item, result.path) == (
        "fail", "secret/db-creds",
        ("spec", "template", "spec", "initContainers", 0, "env", 0, "valueFrom",
         "secretKeyRef"))


# ---- alb-access-logs and waf-on-alb (alb.py, alb_ingress.py) ------------------------------

def test_ingress_logs_attributes_not_known_keep_their_own_reason() -> None:
    """A load-balancer-attributes annotation not known offline is unknown with its own
    reason, not reported as text the controller refuses."""
    doubt = Unknown(SET.format("ingress.attributes"))
    result = _one("alb-access-logs", [_ingress("web", {A + "load-balancer-attributes": doubt})])
    assert (result.status, result.message) == (
        "unknown", "cannot be evaluated: values key ingress.attributes is set by --set at "
        "deploy time")


def test_ingress_waf_names_every_other_member_of_the_group() -> None:
    """The fail of an Ingress without a web ACL lists the other Ingresses of its group,
    comma-separated."""
    group = {A + "group.name": "shop"}
    results = _evaluate("waf-on-alb", [
        _ingress("web", {**group, A + "scheme": "internet-facing"}),
        _ingress("admin", group), _ingress("api", group)])
    web = next(r for r in results if r.name == "web")
    assert web.status == "fail"
    assert ("no alb.ingress.kubernetes.io/wafv2-acl-arn on it or on the other Ingresses of "
            "its IngressGroup here (admin, api);") in web.message


def test_explicit_reads_every_member_after_one_whose_class_params_set_it() -> None:
    """An IngressClassParams scheme of one member does not end the reading of the group:
    another member's conflicting annotation still makes the group unknown."""
    resources = [
        _k8s({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
              "metadata": {"name": "public"}, "spec": {
                  "controller": "ingress.k8s.aws/alb", "parameters": {
                      "apiGroup": "elbv2.k8s.aws", "kind": "IngressClassParams",
                      "name": "shared"}}}),
        _k8s({"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "IngressClassParams",
              "metadata": {"name": "shared"}, "spec": {"scheme": "internet-facing"}}),
        _ingress("web", {A + "group.name": "shop"}, class_name="public"),
        _ingress("admin", {A + "group.name": "shop", A + "scheme": "internal"})]
    message = ("cannot be evaluated: the Ingresses of its IngressGroup set conflicting schemes "
               "(internal, internet-facing): the controller builds no ALB")
    assert {(r.name, r.status, r.message) for r in _evaluate("waf-on-alb", resources)} == {
        ("web", "unknown", message), ("admin", "unknown", message)}


def test_fix_vars_points_at_the_annotation_itself_when_it_is_located() -> None:
    """The fix of an annotation already written points at its own line, not at the start
    of the annotations map."""
    ingress = _ingress("web", {A + "scheme": "internet-facing", A + "wafv2-acl-arn": "none"})
    ingress.field_locations.update({
        ("metadata", "annotations"): Location("templates/ingress.yaml", 6),
        ("metadata", "annotations", A + "wafv2-acl-arn"): Location("templates/ingress.yaml", 8)})
    result = _one("waf-on-alb", [ingress])
    assert (result.status, result.details["where"]) == ("fail", "templates/ingress.yaml:8")


# ---- storage-expandable (storage.py) ------------------------------------------------------

def test_storage_expandable_a_pvc_whose_class_expansion_is_unknown_has_no_item() -> None:
    """A PVC's unknown shares the identity of its pass and fail: no item."""
    storage_class = _k8s({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                          "metadata": {"name": "gp3"}, "provisioner": "ebs.csi.aws.com",
                          "allowVolumeExpansion": Unknown(SET.format("storage.expand"))})
    pvc = _k8s({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "data"}, "spec": {"storageClassName": "gp3"}})
    result = _one("storage-expandable", [storage_class, pvc])
    assert (result.status, result.name, result.item, result.message) == (
        "unknown", "data", None,
        "cannot be evaluated: values key storage.expand is set by --set at deploy time")


# ---- nodegroup-capacity (capacity.py, node_capacity.py) -----------------------------------

def _nodegroup() -> Resource:
    return Resource(kind="Nodegroup", name="general", source="tf", body={
        "instance_types": ["m6i.xlarge"],
        "scaling_config": {"min_size": 1, "max_size": 6, "desired_size": 2}})


def _workload(name: str, replicas: int, cpu: str = "1", memory: str = "1Gi") -> Resource:
    return _k8s({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
                 "spec": {"replicas": replicas, "template": {"spec": {"containers": [{
                     "name": name, "resources": {"requests": {"cpu": cpu,
                                                              "memory": memory}}}]}}}})


NODE = {"instance_types": {"m6i.xlarge": {"cpu": "4", "memory": "16Gi"}}}


def test_replicas_max_an_hpa_without_max_replicas_says_so() -> None:
    """An HPA that sets no maxReplicas leaves the workload's pod count unknown, and the
    reason names the HPA."""
    hpa = _k8s({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "api-hpa"}, "spec": {
                    "scaleTargetRef": {"kind": "Deployment", "name": "api"}}})
    result = _one("nodegroup-capacity", [_nodegroup(), _workload("api", 2), hpa], NODE)
    assert (result.status, result.item, result.message) == (
        "unknown", "api", "cannot be evaluated: HPA api-hpa sets no maxReplicas")


def test_together_the_nodes_needed_count_memory() -> None:
    """When memory is what runs out, the max_size suggested for all workloads together
    is the nodes their memory needs: 100Gi on 16Gi nodes is 7."""
    results = _evaluate("nodegroup-capacity", [
        _nodegroup(), _workload("api", 10, cpu="100m", memory="5Gi"),
        _workload("worker", 10, cpu="100m", memory="5Gi")], NODE)
    together = next(r for r in results if r.item == "all workloads")
    assert together.status == "fail"
    assert together.details["needed_nodes"] == 7
    assert any("--scaling-config maxSize=7" in c for c in together.commands), together.commands


# ---- hpa-present (scaling.py) -------------------------------------------------------------

def test_hpa_present_an_unknown_min_replicas_points_at_the_hpa() -> None:
    """An HPA minReplicas not known offline is unknown, located at the HPA's field."""
    workload = _workload("api", 2)
    workload.location = Location("templates/deployment.yaml", 1)
    hpa = _k8s({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "api"}, "spec": {
                    "scaleTargetRef": {"kind": "Deployment", "name": "api"},
                    "minReplicas": Unknown(SET.format("autoscaling.minReplicas")),
                    "maxReplicas": 5}})
    hpa.location = Location("templates/hpa.yaml", 1)
    hpa.field_locations[("spec", "minReplicas")] = Location("templates/hpa.yaml", 9)
    result = _one("hpa-present", [workload, hpa])
    assert (result.status, result.name, str(result.location)) == (
        "unknown", "api", "templates/hpa.yaml:9")


# ---- sg-no-world-admin and db-not-public (ingress.py) -------------------------------------

def test_rule_key_spells_protocol_all_as_minus_one() -> None:
    """A rule's protocol "all" and "-1" are the same rule: its item says -1."""
    sg = Resource(kind="SecurityGroup", name="bastion", source="tf", body={"ingress": [
        {"protocol": "all", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}]})
    result = _one("sg-no-world-admin", [sg])
    assert (result.status, result.item) == ("fail", "-1/0-0 from 0.0.0.0/0")


def test_open_rules_an_unknown_port_range_names_the_database() -> None:
    """A world-open rule whose ports are not numbers is unknown, and its details still
    name the database and the group."""
    db = Resource(kind="DBInstance", name="chess-ai-prod", source="tf", body={
        "engine": "postgres", "port": 5432, "vpc_security_group_ids": ["chess-ai-prod-db"]})
    sg = Resource(kind="SecurityGroup", name="chess-ai-prod-db", source="tf", body={
        "ingress": [{"protocol": "tcp", "from_port": "low", "to_port": "high",
                     "cidr_blocks": ["0.0.0.0/0"]}]})
    result = _one("db-not-public", [db, sg])
    assert (result.status, result.message) == (
        "unknown", "cannot be evaluated: port range 'low'-'high' is not numeric")
    assert result.details == {"db": "chess-ai-prod", "group": "chess-ai-prod-db"}


# ---- port-consistency (traffic.py) --------------------------------------------------------

def test_ports_of_a_native_sidecar_declares_a_reachable_port() -> None:
    """A port declared by a native sidecar (an init container with restartPolicy: Always)
    is one a Service can target."""
    proxy = {"name": "proxy", "restartPolicy": "Always",
             "ports": [{"name": "proxy", "containerPort": 9090}]}
    result = _one("port-consistency", [
        _deployment("web", [{"name": "web", "ports": HTTP}], init=[proxy]),
        _service([{"name": "proxy", "port": 80, "targetPort": "proxy"}])])
    assert (result.status, result.item) == ("pass", "proxy")
