"""CEL conditions: compiled at load, evaluated out of process, failing closed; and two of
the pack's named checks ported to CEL give their verdicts on their own examples."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor import cel_worker, engine
from auditor.errors import PolicyError
from auditor.examples import inventory, run_examples
from auditor.models import Inventory, Resource
from auditor.policies import PACK_DIR, Policy, load_dir, load_file
from auditor.unknown import Unknown
from tests.conftest import REPO

PORTS = REPO / "docs" / "cel"

POLICY = """\
id: mine
title: t
severity: low
description: d
runbook: {section: s, anchor: a/#b}
sides: [declared, live]
parameters:
  floor: {default: 2, description: The floor.}
applies_to:
  kinds: [Deployment]
  RELATED
  EACH
condition:
  cel: 'EXPR'
message: "{{ kind }} {{ name }}"
remediation: {text: r}
examples:
  pass: [{name: p, resources: [{kind: Deployment, metadata: {name: a}, spec: {replicas: 3}}]}]
  fail: [{name: f, resources: [{kind: Deployment, metadata: {name: a}, spec: {replicas: 1}}]}]
"""


def _policy(tmp_path: Path, expr: str, *, each: str = "", related: str = "") -> Policy:
    text = (POLICY.replace("EXPR", expr.replace("'", "''"))
            .replace("  EACH\n", f"  each: {each}\n" if each else "")
            .replace("  RELATED\n", f"  related: [{related}]\n" if related else ""))
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    return load_file(path)


def _deployment(name: str, body: dict[str, Any], namespace: str = "web") -> Resource:
    return Resource(kind="Deployment", name=name, namespace=namespace, source="t",
                    body={"kind": "Deployment", "metadata": {"name": name}, **body})


def _run(policy: Policy, *resources: Resource, side: str = "declared",
         params: dict[str, Any] | None = None) -> list[tuple[str, str, str]]:
    inv = Inventory("prod", side, list(resources))  # type: ignore[arg-type]
    return [(r.name, r.status, r.message) for r in engine.evaluate([policy], inv, params or {})]


@pytest.mark.parametrize(("expr", "fragment"), [
    ("object.spec.replicas >= && 1", ":12: condition.cel: line 1, column 25: Syntax error"),
    ("object.spec.replicas + 1", "a CEL condition must be a boolean; this one is int"),
    ("nosuch > 1", "undeclared reference to 'nosuch'"),
    ("params.flor > 1", "parameter 'flor' is not declared under parameters"),
    ("x" * 5000, "at most 4096 characters"),
])
def test_a_bad_expression_is_a_load_error_at_its_line(tmp_path: Path, expr: str,
                                                      fragment: str) -> None:
    with pytest.raises(PolicyError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        _policy(tmp_path, expr)


def test_true_fails_false_passes_and_params_are_read(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "object.spec.replicas < params.floor")
    assert run_examples(policy) == []
    assert [s for _, s, _ in _run(policy, _deployment("a", {"spec": {"replicas": 2}}),
                                  params={"floor": 3})] == ["fail"]


@pytest.mark.parametrize(("body", "status", "why"), [
    ({"spec": {}}, "unknown", "has() tests a field"),  # absent: never a pass
    ({"spec": {"replicas": Unknown("known after apply")}}, "unknown", "known after apply"),
    ({"spec": {"replicas": {"$sha256": "ab", "$salt": "cd"}}}, "unknown", "hash"),
    ({"spec": {"replicas": "three"}}, "error", "No matching overloads"),
])
def test_what_cannot_be_read_is_unknown_and_a_type_error_is_an_error(
        tmp_path: Path, body: dict[str, Any], status: str, why: str) -> None:
    policy = _policy(tmp_path, "object.spec.replicas < 2")
    ((_, got, message),) = _run(policy, _deployment("a", body))
    assert got == status and why in message


def test_has_guards_an_absent_field(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "has(object.spec.replicas) && object.spec.replicas < 2")
    assert [s for _, s, _ in _run(policy, _deployment("a", {"spec": {}}))] == ["pass"]


def test_unknown_says_why_unless_the_result_does_not_depend_on_it(tmp_path: Path) -> None:
    policy = _policy(tmp_path, 'object.spec.replicas > 5 || unknown("no HPA in the config")')
    results = _run(policy, _deployment("a", {"spec": {"replicas": 9}}),
                   _deployment("b", {"spec": {"replicas": 1}}))
    assert [(n, s) for n, s, _ in results] == [("a", "fail"), ("b", "unknown")]
    assert "no HPA in the config" in results[1][2]


def test_each_item_is_item_and_object_is_the_resource(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "!has(item.resources) && object.metadata.name == 'a'",
                     each="containers")
    body = {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "resources": {}}, {"name": "sidecar"}]}}}}
    statuses = [s for _, s, _ in _run(policy, _deployment("a", body))]
    assert statuses == ["pass", "fail"]


def test_related_objects_are_those_of_the_resources_namespace(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "!related.ConfigMap.exists(c, c.metadata.name == 'settings')",
                     related="ConfigMap")
    config = Resource(kind="ConfigMap", name="settings", namespace="web", source="t",
                      body={"metadata": {"name": "settings"}})
    results = _run(policy, config, _deployment("a", {}, "web"), _deployment("b", {}, "other"))
    assert [(n, s) for n, s, _ in results] == [("a", "pass"), ("b", "fail")]


def test_a_related_kind_the_live_side_could_not_read_is_an_error(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "related.ConfigMap.size() == 0", related="ConfigMap")
    inv = Inventory("prod", "live", [_deployment("a", {})],
                    unavailable={"ConfigMap": "forbidden"})
    (result,) = engine.evaluate([policy], inv, {})
    assert result.status == "error" and "ConfigMap could not be read" in result.message


def test_the_iteration_budget_stops_a_long_expression(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, "
                               "[1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, "
                               "[1,2,3,4,5,6,7,8,9,10].all(e, a > 0)))))")
    ((_, status, message),) = _run(policy, _deployment("a", {}))
    assert status == "error" and "budget" in message.lower()


@pytest.fixture
def fresh_worker() -> Iterator[None]:
    cel_worker.CHILD.stop()
    yield
    cel_worker.CHILD.stop()


def test_an_expression_that_needs_too_much_memory_is_stopped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_worker: None) -> None:
    monkeypatch.setattr(cel_worker, "MEMORY", 512 * 2**20)
    bomb = "['ab']" + ".map(x, x + x + x + x)" * 16 + "[0].size() > 0"
    policy = _policy(tmp_path, bomb)
    ((_, status, message),) = _run(policy, _deployment("a", {}))
    assert status == "error" and "needed more than 0.5 GiB of memory" in message, message
    # The next batch gets a new worker.
    sane = _policy(tmp_path, "object.metadata.name == 'a'")
    assert [s for _, s, _ in _run(sane, _deployment("a", {}))] == ["fail"]


def test_a_batch_past_its_deadline_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               fresh_worker: None) -> None:
    monkeypatch.setattr(cel_worker, "TIMEOUT", 0.0001)
    ((_, status, message),) = _run(_policy(tmp_path, "true"), _deployment("a", {}))
    assert status == "error" and "took longer than" in message


# ---- two named checks of the pack, ported to CEL --------------------------------------------

def _verdicts(policy: Policy, inv: Inventory, kinds: set[str]) -> dict[str, str]:
    """Per resource of ``kinds``: fail if any result fails, else unknown/error, else pass."""
    order = {"fail": 3, "error": 2, "unknown": 1, "pass": 0}
    out: dict[str, str] = {}
    for r in engine.evaluate([policy], inv, {}):
        if r.kind in kinds:
            key = f"{r.kind}/{r.name}"
            if order[r.status] >= order.get(out.get(key, "pass"), 0):
                out[key] = "error" if r.status == "error" else r.status
    return out


@pytest.mark.parametrize(("named", "port", "kinds"), [
    ("storage-expandable", "pvc-expandable", {"PersistentVolumeClaim"}),
    ("config-refs-exist", "config-refs-present", {"Deployment", "StatefulSet", "DaemonSet"}),
])
def test_a_ported_named_check_gives_the_same_verdicts(named: str, port: str,
                                                      kinds: set[str]) -> None:
    pack = {p.id: p for p in load_dir(PACK_DIR)}
    ported = {p.id: p for p in load_dir(PORTS)}[port]
    assert run_examples(ported) == []
    original = pack[named]
    compared = 0
    groups = original.examples
    for example in [*groups.passing, *groups.failing, *groups.unknown, *groups.error,
                    *groups.not_applicable]:
        inv = inventory(example)
        if inv.side not in ported.sides:
            continue
        want = _verdicts(original, inventory(example), kinds)
        got = _verdicts(ported, inv, kinds)
        assert got == want, f"{named} example {example.name!r}"
        compared += len(want)
    assert compared >= 3  # the examples do exercise the ported kinds


def _pod_with(ref: str, name: str, optional: bool) -> dict[str, Any]:
    """A Deployment's body whose pod spec refers to ``name`` in the form ``ref``."""
    opt = {"optional": True} if optional else {}
    container: dict[str, Any] = {"name": "app"}
    volumes: list[Any] = []
    if ref == "volume-configmap":
        volumes = [{"name": "v", "configMap": {"name": name, **opt}}]
    elif ref == "volume-secret":
        volumes = [{"name": "v", "secret": {"secretName": name, **opt}}]
    elif ref == "projected-configmap":
        volumes = [{"name": "v", "projected": {"sources": [{"configMap": {"name": name, **opt}}]}}]
    elif ref == "projected-secret":
        volumes = [{"name": "v", "projected": {"sources": [{"secret": {"name": name, **opt}}]}}]
    elif ref == "env-configmap":
        container["env"] = [{"name": "E", "valueFrom": {"configMapKeyRef": {"name": name,
                                                                           "key": "k", **opt}}}]
    elif ref == "env-secret":
        container["env"] = [{"name": "E", "valueFrom": {"secretKeyRef": {"name": name,
                                                                        "key": "k", **opt}}}]
    elif ref == "envfrom-configmap":
        container["envFrom"] = [{"configMapRef": {"name": name, **opt}}]
    elif ref == "envfrom-secret":
        container["envFrom"] = [{"secretRef": {"name": name, **opt}}]
    spec: dict[str, Any] = {"containers": [container], **({"volumes": volumes} if volumes else {})}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "web"},
            "spec": {"template": {"spec": spec}}}


@pytest.mark.parametrize("ref", ["volume-configmap", "volume-secret", "projected-configmap",
                                 "projected-secret", "env-configmap", "env-secret",
                                 "envfrom-configmap", "envfrom-secret"])
@pytest.mark.parametrize("case", ["exists", "missing", "missing-optional", "other-namespace"])
def test_config_refs_port_agrees_on_every_reference_form(ref: str, case: str) -> None:
    pack = {p.id: p for p in load_dir(PACK_DIR)}
    ported = {p.id: p for p in load_dir(PORTS)}["config-refs-present"]
    kind = "Secret" if ref.endswith("secret") else "ConfigMap"
    objects = {"exists": [("web", "cfg")], "missing": [("web", "else")],
               "missing-optional": [], "other-namespace": [("other", "cfg")]}[case]
    resources = [Resource(kind=kind, name=n, namespace=ns, source="t",
                          body={"kind": kind, "metadata": {"name": n, "namespace": ns}})
                 for ns, n in objects]
    body = _pod_with(ref, "cfg", optional=case == "missing-optional")
    resources.append(Resource(kind="Deployment", name="api", namespace="web", source="t",
                              body=body))
    inv = Inventory("prod", "live", resources)
    want = _verdicts(pack["config-refs-exist"], inv, {"Deployment"})
    assert want == {"Deployment/api": "pass" if case in ("exists", "missing-optional")
                    else "fail"}
    assert _verdicts(ported, inv, {"Deployment"}) == want


@pytest.mark.parametrize("claim_class", ["gp3", None, ""])
@pytest.mark.parametrize("expansion", [True, False, "true", None])
@pytest.mark.parametrize("default", ["storageclass.kubernetes.io/is-default-class",
                                     "storageclass.beta.kubernetes.io/is-default-class", None])
@pytest.mark.parametrize("side", ["declared", "live"])
def test_storage_port_agrees_on_every_claim_and_class(claim_class: str | None, expansion: Any,
                                                      default: str | None, side: str) -> None:
    pack = {p.id: p for p in load_dir(PACK_DIR)}
    ported = {p.id: p for p in load_dir(PORTS)}["pvc-expandable"]
    meta: dict[str, Any] = {"name": "gp3"}
    if default:
        meta["annotations"] = {default: "true"}
    sc = {"kind": "StorageClass", "metadata": meta,
          **({"allowVolumeExpansion": expansion} if expansion is not None else {})}
    spec = {} if claim_class is None else {"storageClassName": claim_class}
    claim = {"kind": "PersistentVolumeClaim", "metadata": {"name": "data"}, "spec": spec}
    inv = Inventory("prod", side, [  # type: ignore[arg-type]
        Resource(kind="StorageClass", name="gp3", source="t", body=sc),
        Resource(kind="PersistentVolumeClaim", name="data", namespace="web", source="t",
                 body=claim)])
    want = _verdicts(pack["storage-expandable"], inv, {"PersistentVolumeClaim"})
    assert _verdicts(ported, inv, {"PersistentVolumeClaim"}) == want
