"""No false drift: the chess-ai chart rendered by Helm against live copies that differ only
in what the API server, AWS or the collectors add or spell differently."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from auditor.models import Inventory, Resource
from auditor.unknown import Unknown
from tests.drift.live import find, run

ALL = ("helm-drift", "hpa-drift", "terraform-drift")


def not_passing(declared: Inventory, live: list[Resource]) -> list[tuple[str, str, Any]]:
    return [(check, o.resource.ident, o.item or o.reason) for check in ALL
            for o in run(check, declared, live) if o.status != "pass"]


def container(live: list[Resource], name: str = "chess-ai") -> dict[str, Any]:
    pod = find(live, "Deployment").body["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == name)


def test_an_unchanged_live_copy_passes_object_by_object(declared: Inventory,
                                                        live: list[Resource]) -> None:
    assert not_passing(declared, live) == []
    passed = {(check, o.resource.ident) for check in ALL for o in run(check, declared, live)}
    assert passed == {
        ("helm-drift", "Deployment/chess-ai/chess-ai"), ("helm-drift", "Service/chess-ai/chess-ai"),
        ("helm-drift", "Ingress/chess-ai/chess-ai"),
        ("helm-drift", "PersistentVolumeClaim/chess-ai/chess-ai-data"),
        ("helm-drift", "ConfigMap/chess-ai/chess-ai"),  # its data as hash markers
        ("hpa-drift", "HorizontalPodAutoscaler/chess-ai/chess-ai"),
        ("hpa-drift", "Deployment/chess-ai/chess-ai"),  # 7 replicas: within the HPA's bounds
        ("terraform-drift", "StorageClass/chess-ai-gp3"),
        ("terraform-drift", "TargetGroup/chess-ai-prod-tg"),
        ("terraform-drift", "Nodegroup/general"),
        ("terraform-drift", "DBParameterGroup/chess-ai-params"),
        ("terraform-drift", "DBInstance/chess-ai-prod"),
        ("terraform-drift", "LoadBalancer/chess-ai-prod-alb"),
        ("terraform-drift", "SecretsManagerSecret/chess-ai/prod/database"),
        *{("terraform-drift", f"SecurityGroup/chess-ai-prod-{n}")
          for n in ("alb", "app", "db", "bastion")},
    }  # fmt: skip
    # The copy really carries what the server adds (or the traps below would be empty).
    main, sidecar = container(live), container(live, "log-shipper")
    assert main["readinessProbe"]["successThreshold"] == 1
    assert main["resources"]["requests"]["cpu"] == "1"  # declared as 1000m
    assert sidecar["imagePullPolicy"] == "Always"  # untagged image
    assert find(live, "Service").body["spec"]["clusterIP"] == "172.20.14.3"
    assert find(live, "Deployment").body["spec"]["replicas"] == 7  # the chart sets none
    assert "allowVolumeExpansion" not in find(live, "StorageClass").body


def _quantities(live: list[Resource], declared: Inventory) -> None:
    limits = container(live)["resources"]["limits"]
    limits.update(memory="8192Mi", cpu="4000m")  # 8Gi and 4 as spelt by --set
    container(live)["resources"]["requests"]["memory"] = "4096Mi"


def _ports_as_strings(live: list[Resource], declared: Inventory) -> None:
    container(live)["ports"][0]["containerPort"] = "8000"
    find(live, "TargetGroup").body["port"] = "8000"
    for rule in find(live, "SecurityGroup", "chess-ai-prod-db").body["ingress"]:
        rule.update(from_port="5432", to_port="5432", protocol="6")


def _reordered(live: list[Resource], declared: Inventory) -> None:
    pod = find(live, "Deployment").body["spec"]["template"]["spec"]
    pod["volumes"].reverse()
    container(live)["volumeMounts"].reverse()
    container(live)["securityContext"]["capabilities"]["drop"] = ["ALL"]


def _explicit_defaults_omitted_live(live: list[Resource], declared: Inventory) -> None:
    # The chart states failureThreshold 3 (the default): a live object may omit it.
    del container(live)["readinessProbe"]["failureThreshold"]
    find(live, "Deployment").body["spec"]["template"]["spec"]["securityContext"] = {
        "fsGroup": 10001, "runAsNonRoot": True, "runAsUser": 10001}


def _more_server_fields(live: list[Resource], declared: Inventory) -> None:
    spec = find(live, "Deployment").body["spec"]
    spec["template"]["spec"]["enableServiceLinks"] = True
    for c in spec["template"]["spec"]["containers"]:
        c["terminationMessagePolicy"] = "File"
    find(live, "PersistentVolumeClaim").body["spec"]["storageClassName"] = "chess-ai-gp3"
    find(live, "Service").body["spec"]["ports"][0]["protocol"] = "TCP"


def _hpa_scaled(live: list[Resource], declared: Inventory) -> None:
    find(live, "Deployment").body["spec"]["replicas"] = 14  # the HPA's business


def _configmap_read(live: list[Resource], declared: Inventory) -> None:
    data = next(r for r in declared.resources if r.kind == "ConfigMap").body["data"]
    find(live, "ConfigMap").body["data"] = {k: str(data[k]) for k in reversed(data)}


def _aws_regrouped(live: list[Resource], declared: Inventory) -> None:
    db = find(live, "SecurityGroup", "chess-ai-prod-db").body
    db["egress"] = [{"protocol": "-1", "from_port": 0, "to_port": 0,
                     "cidr_blocks": ["0.0.0.0/0"]}]  # AWS's default; Terraform declares none
    app = find(live, "SecurityGroup", "chess-ai-prod-app").body
    app["egress"][0].update(protocol="all", from_port=-1, to_port=-1)
    db_instance = find(live, "DBInstance").body
    db_instance.update(multi_az="true", deletion_protection=True, instance_class="db.r6g.large")


Trap = Callable[[list[Resource], Inventory], None]
TRAPS: dict[str, Trap] = {
    "quantities by value": _quantities,
    "int and string ports, protocol numbers": _ports_as_strings,
    "lists matched by key or as sets": _reordered,
    "a stated default omitted live": _explicit_defaults_omitted_live,
    "more server-filled fields": _more_server_fields,
    "replicas an HPA manages": _hpa_scaled,
    "a ConfigMap whose content was read": _configmap_read,
    "AWS spelling and its default egress rule": _aws_regrouped,
}


@pytest.mark.parametrize("mutate", TRAPS.values(), ids=TRAPS.keys())
def test_no_false_drift(declared: Inventory, live: list[Resource], mutate: Trap) -> None:
    mutate(live, declared)
    assert not_passing(declared, live) == []
    if mutate is _configmap_read:  # its content was compared, key by key
        assert [o.status for o in run("helm-drift", declared, live)
                if o.resource.kind == "ConfigMap"] == ["pass"]


def test_a_declared_value_not_known_offline_is_never_drift(declared: Inventory,
                                                           live: list[Resource]) -> None:
    dep = next(r for r in declared.resources if r.kind == "Deployment")
    containers = dep.body["spec"]["template"]["spec"]["containers"]
    containers[0]["image"] = Unknown("image.tag is set by --set in CI")
    group = next(r for r in declared.resources if r.name == "chess-ai-params")
    group.body["parameters"]["max_connections"] = Unknown("var.max_connections has no value")
    container(live)["image"] = "chess-ai:anything"
    find(live, "DBParameterGroup").body["parameters"]["max_connections"] = "999"
    assert not_passing(declared, live) == []


def test_a_manifest_service_gets_the_default_target_port(declared: Inventory) -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "x"},
           "spec": {"selector": {"app": "api"}, "ports": [{"port": 8080}]}}
    base = Inventory("prod", "declared", [Resource("Service", "api", svc, "manifest s.yaml",
                                                   "x")], names=declared.names)
    live_svc = {**svc, "spec": {"selector": {"app": "api"}, "type": "ClusterIP",
                                "clusterIP": "10.0.0.9", "sessionAffinity": "None",
                                "ports": [{"port": 8080, "targetPort": 8080, "protocol": "TCP"}]}}
    live = [Resource("Service", "api", live_svc, "kubernetes", "x")]
    assert [o.status for o in run("helm-drift", base, live)] == ["pass"]
    live_svc["spec"]["ports"][0]["targetPort"] = 9090  # not the default any more
    [out] = run("helm-drift", base, live)
    assert (out.status, out.item) == ("fail", "spec.ports[8080/TCP].targetPort")
    assert out.vars["declared"] == "8080 (the default; not set in Git)"
