"""The comparison and its normalisation rules, one behaviour at a time."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from auditor.checks.drift import sg_rules
from auditor.drift.compare import diff, render, same
from auditor.drift.defaults import HELM_RULES, HPA_RULES
from auditor.drift.normalize import Rules, clean
from auditor.live.markers import marker
from auditor.paths import MISSING
from auditor.unknown import Unknown

DEPLOYMENT = HELM_RULES["Deployment"]


def deployment(*containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app"},
            "spec": {**spec, "template": {"spec": {"containers": list(containers)}}}}


def fields(declared: dict[str, Any], live: dict[str, Any], rules: Rules = DEPLOYMENT,
           kind: str = "Deployment") -> dict[str, tuple[Any, Any]]:
    return {d.field.removeprefix("spec.template.spec."): (d.declared, d.live)
            for d in diff(rules, clean(kind, declared), clean(kind, live))}


@pytest.mark.parametrize(("a", "b", "pattern", "equal"), [
    ("1", "1000m", ("resources", "limits", "cpu"), True),
    ("8Gi", "8192Mi", ("resources", "requests", "memory"), True),
    ("8Gi", "8193Mi", ("resources", "requests", "memory"), False),
    ("5432", 5432, ("port",), True),
    ("true", True, ("multi_az",), True),
    ("1", "1.0", ("env", "*", "value"), True),  # numbers however spelt
    ("1k", "1000", ("env", "*", "value"), False),  # not a quantity field: text
    ("http", 8000, ("port",), False),
])
def test_scalars_compare_by_meaning(a: Any, b: Any, pattern: tuple[str, ...],
                                    equal: bool) -> None:
    assert same(a, b, pattern) is equal


def test_containers_and_env_pair_by_name_and_live_only_items_are_drift() -> None:
    declared = deployment({"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
                          {"name": "b", "image": "b:1"})
    live = deployment({"name": "b", "image": "b:1"},
                      {"name": "a", "image": "a:1", "env": [{"name": "Y", "value": "2"},
                                                            {"name": "X", "value": "1"}]},
                      {"name": "debug", "image": "busybox"})
    assert fields(declared, live) == {
        "containers[a].env[Y]": (MISSING, {"name": "Y", "value": "2"}),
        "containers[debug]": (MISSING, {"name": "debug", "image": "busybox"}),
    }


def test_a_declared_field_missing_live_is_drift_but_an_empty_one_is_not() -> None:
    declared = deployment({"name": "a", "image": "a:1", "args": ["--fast"], "env": [],
                           "resources": {"limits": {"memory": "1Gi"}}})
    live = deployment({"name": "a", "image": "a:1"})
    assert fields(declared, live) == {
        "containers[a].args": (["--fast"], MISSING),
        "containers[a].resources": ({"limits": {"memory": "1Gi"}}, MISSING)}


def test_server_defaults_hold_both_ways() -> None:
    declared = deployment({"name": "a", "image": "a:latest", "readinessProbe": {
        "httpGet": {"path": "/", "port": 80}, "timeoutSeconds": 1}})
    live = deployment({"name": "a", "image": "a:latest", "imagePullPolicy": "Always",
                       "readinessProbe": {"httpGet": {"path": "/", "port": 80, "scheme": "HTTP"},
                                          "periodSeconds": 10, "failureThreshold": 3}},
                      revisionHistoryLimit=10, progressDeadlineSeconds=600)
    assert fields(declared, live) == {}
    live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"
    live["spec"]["revisionHistoryLimit"] = 3
    assert fields(declared, live) == {"containers[a].imagePullPolicy": ("Always", "IfNotPresent"),
                                      "spec.revisionHistoryLimit": (10, 3)}


def test_replicas_are_never_helm_drift() -> None:
    assert fields(deployment(replicas=2), deployment(replicas=9)) == {}


def test_lists_whose_order_means_something_compare_in_order() -> None:
    declared = deployment({"name": "a", "image": "a", "args": ["-i", "tail"],
                           "securityContext": {"capabilities": {"drop": ["ALL", "NET_RAW"]}}})
    live = deployment({"name": "a", "image": "a", "args": ["tail", "-i"],
                       "securityContext": {"capabilities": {"drop": ["NET_RAW", "ALL"]}}})
    assert fields(declared, live) == {"containers[a].args": (["-i", "tail"], ["tail", "-i"])}


def test_unknown_declared_is_skipped_and_unknown_live_is_reported() -> None:
    declared = deployment({"name": "a", "image": Unknown("tag from CI"), "ports": [
        {"containerPort": 80}]})
    live = deployment({"name": "a", "image": "a:2", "ports": [
        {"containerPort": 80, "protocol": Unknown("not read")}]})
    [d] = diff(DEPLOYMENT, clean("Deployment", declared), clean("Deployment", live))
    # an unknown protocol cannot key the port: ports pair by position instead
    assert d.field.endswith("ports[0].protocol") and d.unknown == "not read"


def test_metadata_noise_and_status_are_dropped() -> None:
    body = {"metadata": {"name": "a", "uid": "u", "resourceVersion": "1", "managedFields": [],
                         "annotations": {"deployment.kubernetes.io/revision": "3",
                                         "team": "x"}},
            "spec": {"template": {"metadata": {"annotations": {
                "kubectl.kubernetes.io/restartedAt": "now", "checksum/config": "abc"}}}},
            "status": {"replicas": 1}}
    assert clean("Deployment", body) == {"metadata": {"name": "a", "annotations": {"team": "x"}},
                                         "spec": {"template": {"metadata": {"annotations": {}}}}}


def test_hpa_v1_and_no_metrics_compare_as_v2() -> None:
    v1 = {"spec": {"minReplicas": 2, "maxReplicas": 5, "targetCPUUtilizationPercentage": 80}}
    none = {"spec": {"minReplicas": 2, "maxReplicas": 5}}
    assert diff(HPA_RULES, clean("HorizontalPodAutoscaler", v1),
                clean("HorizontalPodAutoscaler", none)) == []
    none["spec"]["minReplicas"] = 1
    del v1["spec"]["minReplicas"]  # declared omits it: the default 1
    assert diff(HPA_RULES, clean("HorizontalPodAutoscaler", v1),
                clean("HorizontalPodAutoscaler", none)) == []


def test_security_group_grants_are_a_set() -> None:
    two = [{"protocol": "tcp", "from_port": 443, "to_port": 443,
            "cidr_blocks": ["10.0.0.0/8", "0.0.0.0/0"], "description": "a"}]
    split = [{"protocol": "6", "from_port": "443", "to_port": "443", "cidr_blocks": [c]}
             for c in ("0.0.0.0/0", "10.0.0.0/8")]
    assert sg_rules(two)[0].keys() == sg_rules(split)[0].keys()
    assert sg_rules([{"protocol": "-1", "from_port": -1, "to_port": -1, "self": True}])[0] == {
        ("-1", 0, 0, "self"): 0}
    assert sg_rules(Unknown("dynamic"))[1] == "dynamic"
    assert sg_rules([{**split[0], "description": Unknown("var.note")}])[1] is None
    assert sg_rules([{"protocol": "tcp", "from_port": 1, "to_port": 2,
                      "cidr_blocks": [Unknown("var.cidr")]}])[1] is not None


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(("value", "label"), [
    ("s3cr3t", "spec.template.spec.containers[a].env[API_TOKEN].value"),
    ({"name": "LOG_LEVEL", "value": "s3cr3t"}, "spec.template.spec.containers[a].env[LOG_LEVEL]"),
    ([{"name": "X", "value": "s3cr3t"}], "spec.template.spec.containers[a].env"),
    (["--db-password=s3cr3t"], "spec.template.spec.containers[a].args"),
    (["sh", "-c", "login s3cr3t"], "spec.template.spec.containers[a].command"),
    (["cat", "s3cr3t"], "spec.template.spec.containers[a].readinessProbe.exec.command"),
    ({"name": "debug", "image": "busybox", "args": ["s3cr3t"],
      "env": [{"name": "A", "value": "s3cr3t"}]}, "spec.template.spec.containers[debug]"),
    ("s3cr3t", "data.password"),
    ({"$sha256": sha("s3cr3t")}, "spec.anything"),
])
def test_env_values_args_commands_and_configmap_data_are_hidden(value: Any,
                                                                 label: str) -> None:
    """Not even a hash is shown: the hash of a weak secret would confirm a guess."""
    shown = render(value, label)
    assert "s3cr3t" not in shown and "(hidden)" in shown
    assert sha("s3cr3t")[:12] not in shown


def test_a_value_and_its_marker_read_the_same() -> None:
    label = "spec.template.spec.containers[a].env[X].value"
    assert render("debug", label) == render({"$sha256": sha("debug")}, label) == "(hidden)"
    assert render(marker("debug"), "spec.anything") == "(hidden)"
    args = "spec.template.spec.containers[a].args"
    assert render(["-v", "x"], args) == render([{"$sha256": sha("-v")}, {"$sha256": sha("x")}],
                                               args)
    assert render(MISSING) == "(absent)" and render(True) == "true"
    assert render("registry/app:1.2", "spec.template.spec.containers[a].image") == \
        "registry/app:1.2"  # what is not hidden is shown as it is


def test_values_a_snapshot_keeps_as_hashes_compare_by_hash() -> None:
    declared = deployment({"name": "a", "image": "a:1", "args": ["--port", "8080"],
                           "env": [{"name": "X", "value": "one"}, {"name": "Y", "value": "2"}]})
    live = deployment({"name": "a", "image": "a:1",
                       "args": [{"$sha256": sha("--port")}, {"$sha256": sha("8080")}],
                       "env": [{"name": "X", "value": {"$sha256": sha("one")}},
                               {"name": "Y", "value": {"$sha256": sha("2")}}]})
    assert fields(declared, live) == {}
    live["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = {"$sha256": sha("1")}
    live["spec"]["template"]["spec"]["containers"][0]["args"][1] = {"$sha256": sha("9090")}
    assert set(fields(declared, live)) == {"containers[a].env[X].value", "containers[a].args"}


def test_salted_markers_compare_by_their_own_salt() -> None:
    declared = deployment({"name": "a", "image": "a:1", "env": [{"name": "X", "value": "one"}]})
    live = deployment({"name": "a", "image": "a:1", "env": [{"name": "X", "value": marker("one")}]})
    salted = live["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"]
    assert set(salted) == {"$sha256", "$salt"} and salted["$sha256"] != sha("one")
    assert fields(declared, live) == {}
    salted["$salt"] = "00" * 16  # the same hash under another salt is another value
    assert set(fields(declared, live)) == {"containers[a].env[X].value"}


def test_a_redacted_live_value_is_unknown_not_silence() -> None:
    declared = deployment({"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]})
    live = deployment({"name": "a", "image": "a:1", "env": [{"name": "X", "value": "<redacted>"}]})
    [d] = diff(DEPLOYMENT, clean("Deployment", declared), clean("Deployment", live))
    assert d.field.endswith("env[X].value") and d.unknown is not None and "redacted" in d.unknown
