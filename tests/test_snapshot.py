"""The snapshot file: what is recorded (no secret values, hash markers where drift needs
to compare), how it is written (owner-only), and how a damaged or foreign file is refused
in one line before any audit runs."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auditor import engine, snapshot
from auditor.errors import AuditorError, ExitCode, InputError
from auditor.live.base import LiveCollected
from auditor.live.markers import matches
from auditor.models import Inventory, Location, Problem, Resource
from auditor.policies import PACK_DIR, load_file
from auditor.unknown import Unknown

pytestmark = pytest.mark.clock  # date-sensitive: `make clock` runs it with the clock moved

PASSWORD = "hunter2-prod-pw"


def sha(text: str) -> dict[str, str]:
    return {"$sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def _marks(markers: list[Any], values: list[str]) -> bool:
    return len(markers) == len(values) and all(
        matches(v, m) for v, m in zip(values, markers, strict=True))


def container(name: str) -> dict[str, Any]:
    return {"name": name, "image": "app:1", "command": ["/bin/app"],
            "args": [f"--db-password={PASSWORD}", "--verbose"],
            "env": [{"name": "DB_PASSWORD", "value": PASSWORD},
                    {"name": "EMPTY", "value": ""},
                    {"name": "DB_USER", "valueFrom": {"secretKeyRef": {"name": "db",
                                                                       "key": "user"}}}]}


def pod_spec() -> dict[str, Any]:
    return {"containers": [container("app")], "initContainers": [container("migrate")]}


def workload(kind: str) -> Resource:
    spec: dict[str, Any] = {"template": {"spec": pod_spec()}}
    if kind == "CronJob":
        spec = {"schedule": "@daily", "jobTemplate": {"spec": spec}}
    elif kind == "Pod":
        spec = pod_spec()
    return Resource(kind, "app", {"apiVersion": "v1", "kind": kind,
                                  "metadata": {"name": "app"}, "spec": spec},
                    "kubernetes prod", namespace="shop")


def pod_of(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = body["spec"]
    if kind == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec if kind == "Pod" else spec["template"]["spec"]


# ---- what is recorded --------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob",
                                  "Pod"])
def test_container_values_become_hash_markers(kind: str) -> None:
    live = workload(kind)
    collected = copy.deepcopy(live.body)
    recorded = snapshot.redact(live)
    assert live.body == collected  # what drift compares in memory is left as collected
    for c in (pod_of(kind, recorded.body)["containers"][0],
              pod_of(kind, recorded.body)["initContainers"][0]):
        assert _marks(c["command"], ["/bin/app"])
        assert _marks(c["args"], [f"--db-password={PASSWORD}", "--verbose"])
        assert c["env"][0]["name"] == "DB_PASSWORD" and matches(PASSWORD, c["env"][0]["value"])
        assert c["env"][1:] == [{"name": "EMPTY", "value": ""},  # nothing to hide
                                container("x")["env"][2]]  # a reference is no value
        assert c["image"] == "app:1"
    assert PASSWORD not in json.dumps(recorded.body)
    assert snapshot.redact(recorded).body == recorded.body  # markers stay markers


def test_a_configmap_keeps_hashes_of_its_data_and_a_secret_only_its_metadata() -> None:
    meta = {"name": "app", "annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps({"data": PASSWORD}),
        "team": "chess"}}
    configmap = Resource("ConfigMap", "app", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "immutable": False,
        "data": {"DATABASE_URL": PASSWORD, "LOG_LEVEL": sha("info")},
        "binaryData": {"blob": "aHVudGVyMg=="}}, "kubernetes prod")
    secret = Resource("Secret", "db", {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                       "metadata": meta, "data": {"password": PASSWORD}},
                      "kubernetes prod")
    cm, sec = snapshot.redact(configmap).body, snapshot.redact(secret).body
    assert matches(PASSWORD, cm["data"]["DATABASE_URL"])
    assert cm["data"]["LOG_LEVEL"] == sha("info")  # a marker stays as it was
    assert matches("aHVudGVyMg==", cm["binaryData"]["blob"])
    assert cm["immutable"] is False
    assert set(sec) == {"apiVersion", "kind", "type", "metadata"}
    for body in (cm, sec):
        annotations = body["metadata"]["annotations"]
        assert set(annotations) == {"team"} and matches("chess", annotations["team"])
        assert PASSWORD not in json.dumps(body)
    unread = Unknown("the content of ConfigMap app was not read: forbidden (403)", failed=True)
    kept = snapshot.redact(Resource("ConfigMap", "app", {**configmap.body, "data": unread},
                                    "kubernetes prod")).body
    assert kept["data"] is unread  # why the content is not known, not "<redacted>"


def state(*resources: Resource, **extra: Any) -> dict[str, LiveCollected]:
    return {"prod": LiveCollected(resources=list(resources), **extra)}


def test_unknown_values_round_trip_with_why_and_whether_a_read_failed(tmp_path: Path) -> None:
    body = {"identifier": "db",
            "max_connections": Unknown("500 pending reboot; the value in effect is not known"),
            "instance_memory_bytes": Unknown("the memory of db.r6g.large was not read: ec2 "
                                             "DescribeInstanceTypes: AccessDenied (HTTP 403)",
                                             failed=True),
            "arn": Unknown("after apply", ref="aws_db_instance.main.arn")}
    path = tmp_path / "s.json"
    path.write_text(snapshot.dump("shop", state(Resource("DBInstance", "db", body, "aws"))))
    loaded, _ = snapshot.load(path)
    assert loaded["prod"].resources[0].body == body


# ---- how it is written -------------------------------------------------------------------

def test_the_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    fresh, existing = tmp_path / "fresh.json", tmp_path / "existing.json"
    existing.write_text("old and longer than the new content " * 10)
    existing.chmod(0o644)
    for path in (fresh, existing):
        snapshot.write(path, '{"format": 1}\n')
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text() == '{"format": 1}\n'
    with pytest.raises(AuditorError, match=r"^.*/missing/s\.json: cannot write: No such file"):
        snapshot.write(tmp_path / "missing" / "s.json", "{}")


# ---- how it is read ----------------------------------------------------------------------

def recorded(tmp_path: Path) -> dict[str, Any]:
    live = state(workload("Deployment"),
                 Resource("DBInstance", "db", {"identifier": "db"}, "aws us-east-1"),
                 unavailable={"Certificate": "forbidden (403)"},
                 problems=[Problem("aws", "configured db_instances dbb was not found in "
                                          "us-east-1", Location("auditor.yaml", 7))])
    doc: dict[str, Any] = json.loads(snapshot.dump("shop", live))
    return doc


def write_doc(tmp_path: Path, doc: Any) -> Path:
    path = tmp_path / "live.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_a_recorded_snapshot_reads_back(tmp_path: Path) -> None:
    doc = recorded(tmp_path)
    loaded, collected_at = snapshot.load(write_doc(tmp_path, doc), service="shop")
    assert collected_at == doc["collected_at"]
    prod = loaded["prod"]
    assert [r.ident for r in prod.resources] == ["Deployment/shop/app", "DBInstance/db"]
    assert prod.resources[1].source == "aws us-east-1"
    assert prod.unavailable == {"Certificate": "forbidden (403)"}
    assert prod.problems == [Problem("aws", "configured db_instances dbb was not found in "
                                            "us-east-1", Location("auditor.yaml", 7))]


def test_an_older_snapshot_loads_with_the_kinds_it_never_recorded_unread(
        tmp_path: Path) -> None:
    """Version 1 read no CronJobs, Jobs or ServiceAccounts, nor Aurora clusters: in such a
    file they are not read (the checks that need them end in error), not absent from the
    namespace or the account."""
    doc = recorded(tmp_path)
    doc["version"] = 1
    doc["environments"]["aws-only"] = {"resources": [
        {"kind": "DBInstance", "name": "db", "source": "aws us-east-1",
         "body": {"identifier": "db"}}]}
    loaded, _ = snapshot.load(write_doc(tmp_path, doc), service="shop")
    assert [r.ident for r in loaded["prod"].resources] == ["Deployment/shop/app", "DBInstance/db"]
    def unread(*kinds: str) -> dict[str, str]:
        return {kind: f"not in the snapshot (version 1, recorded before {kind}s were read): "
                      "record it again with `auditor snapshot`" for kind in kinds}

    assert loaded["prod"].unavailable == {"Certificate": "forbidden (403)", **unread(
        "CronJob", "Job", "ServiceAccount", "DBCluster", "DBClusterInstance")}
    # It never read Kubernetes at all.
    assert loaded["aws-only"].unavailable == unread("DBCluster", "DBClusterInstance")
    inventory = Inventory("prod", "live", loaded["prod"].resources, [], {},
                          loaded["prod"].unavailable)
    results = engine.evaluate([load_file(PACK_DIR / "image-pull-secrets-exist.yaml")],
                              inventory, {})
    assert {(r.kind, r.status) for r in results} == {("Policy", "error"), ("Deployment", "error")}


Env = dict[str, Any]


def _env(doc: Env) -> Env:
    env: Env = doc["environments"]["prod"]
    return env


MALFORMED: dict[str, tuple[Callable[[Env], None], str]] = {
    "unavailable is a list": (
        lambda d: _env(d).__setitem__("unavailable", ["DBInstance"]),
        "environments.prod.unavailable: Input should be a valid dictionary"),
    "an unavailable reason is not text": (
        lambda d: _env(d)["unavailable"].__setitem__("DBInstance", {"why": 1}),
        "environments.prod.unavailable.DBInstance: Input should be a valid string"),
    "an environment is null": (
        lambda d: d["environments"].__setitem__("prod", None),
        "environments.prod: Input should be a valid dictionary"),
    "resources is an object": (
        lambda d: _env(d).__setitem__("resources", {}),
        "environments.prod.resources: Input should be a valid list"),
    "a body is a list": (
        lambda d: _env(d)["resources"][1].__setitem__("body", []),
        "environments.prod.resources.1.body: Input should be a valid dictionary"),
    "a body is null": (
        lambda d: _env(d)["resources"][0].__setitem__("body", None),
        "environments.prod.resources.0.body: Input should be a valid dictionary"),
    "a body is an unknown value": (
        lambda d: _env(d)["resources"][1].__setitem__("body", {"$unknown": "x"}),
        "environments.prod.resources.1.body: a body must be an object, not an unknown value"),
    "a resource without a kind": (
        lambda d: _env(d)["resources"][0].pop("kind"),
        "environments.prod.resources.0.kind: Field required"),
    "a name that is a number": (
        lambda d: _env(d)["resources"][0].__setitem__("name", 5),
        "environments.prod.resources.0.name: Input should be a valid string"),
    "a problem without its file": (
        lambda d: _env(d)["problems"][0].pop("file"),
        "environments.prod.problems.0.file: Field required"),
    "a problem of an unknown status": (
        lambda d: _env(d)["problems"][0].__setitem__("status", "fine"),
        "environments.prod.problems.0.status: Input should be 'error' or 'unknown'"),
    "no environments": (
        lambda d: d.pop("environments"), "environments: Field required"),
    "no service": (lambda d: d.pop("service"), "service: Field required"),
    "a key this auditor does not know": (
        lambda d: _env(d).__setitem__("resourcse", []),
        "environments.prod.resourcse: Extra inputs are not permitted"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_snapshot_is_one_line_naming_the_field(tmp_path: Path, case: str) -> None:
    mutate, expected = MALFORMED[case]
    doc = recorded(tmp_path)
    mutate(doc)
    path = write_doc(tmp_path, doc)
    with pytest.raises(InputError) as err:
        snapshot.load(path)
    assert err.value.format_message() == f"{path}: malformed snapshot: {expected}"
    assert err.value.exit_code == ExitCode.CANNOT_START


@pytest.mark.parametrize(("doc", "expected"), [
    ([], "not a runbook-auditor snapshot (no format: runbook-auditor-snapshot)"),
    ({"format": "other"}, "not a runbook-auditor snapshot"),
    ({"format": snapshot.FORMAT, "version": 3}, "snapshot version 3 is not supported"),
])
def test_a_file_that_is_no_snapshot_of_this_version(tmp_path: Path, doc: Any,
                                                    expected: str) -> None:
    with pytest.raises(InputError, match=re.escape(expected)):
        snapshot.load(write_doc(tmp_path, doc))


def test_a_snapshot_of_another_service_is_refused(tmp_path: Path) -> None:
    path = write_doc(tmp_path, recorded(tmp_path))
    with pytest.raises(InputError) as err:
        snapshot.load(path, service="billing-api")
    assert err.value.format_message() == (
        f"{path}: the snapshot records service 'shop', not 'billing-api' (the config's "
        "service)")
    assert snapshot.load(path)[0]  # without a service to check, it reads
