"""The Kubernetes collector, through the official client over real HTTP against the local
fake API server: what it keeps, how it pages, that it never reads Secret data or writes,
and how every failure becomes an unavailable kind with its reason."""

from __future__ import annotations

import base64
import copy
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

import auditor.live
from auditor import snapshot
from auditor.config import Config, Environment, load
from auditor.live import k8s_client, k8s_logs, redact
from auditor.live import kubernetes as kc
from auditor.live.base import LiveCollected
from auditor.live.collect import collect as collect_all
from auditor.live.markers import marker, matches
from auditor.models import Resource
from auditor.sources import helm
from auditor.unknown import Unknown
from tests.conftest import EXAMPLE, REPO
from tests.live.k8s_api import PARTIAL, FakeKubeApi
from tests.live.k8s_fixtures import CONTEXT, TOKEN, write_kubeconfig

pytestmark = pytest.mark.clock  # date-sensitive: `make clock` runs it with the clock moved

NS = "chess-ai"
MakeEnv = Callable[..., tuple[Config, Environment]]
PASSWORD = "hunter2-prod-db-password"
CREATED = "2026-11-20T08:00:00Z"


@cache
def _declared_json() -> str:
    config = load(str(EXAMPLE))
    found = helm.collect(config, "prod", config.environments["prod"])
    assert not found.problems
    return json.dumps([{"kind": r.kind, "name": r.name, "body": r.body}
                       for r in found.resources if r.kind != "HelmValues"])


def declared() -> list[Resource]:
    """The chess-ai example's objects, rendered from its chart (a fresh copy each time)."""
    return [Resource(kind=r["kind"], name=r["name"], body=r["body"], source="helm",
                     namespace=r["body"]["metadata"].get("namespace"))
            for r in json.loads(_declared_json())]


def as_live(body: dict[str, Any], **spec_changes: Any) -> dict[str, Any]:
    """A declared object as the API server holds it: server metadata, kubectl's
    last-applied annotation, managed fields, status, plus whatever drifted."""
    obj = copy.deepcopy(body)
    meta = obj["metadata"]
    meta.update(creationTimestamp=CREATED, generation=4, managedFields=[{
        "manager": "helm", "operation": "Update", "apiVersion": obj["apiVersion"],
        "time": CREATED, "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}])
    meta["annotations"] = {**meta.get("annotations", {}),
                           "kubectl.kubernetes.io/last-applied-configuration": json.dumps(body),
                           "meta.helm.sh/release-name": "chess-ai"}
    if spec_changes:
        obj["spec"].update(spec_changes)
    if obj["kind"] == "Deployment":
        obj["status"] = {"replicas": 5, "readyReplicas": 5, "observedGeneration": 4}
    if obj["kind"] == "Service":
        obj["spec"].update(clusterIP="10.100.12.34", clusterIPs=["10.100.12.34"])
    return obj


def chess_ai_namespace(api: FakeKubeApi) -> None:
    """The example's release as it runs after a night of runbook fixes, plus what the
    chart does not declare: the DB secret, the cert-manager certificate, a PDB, and other
    namespaces' objects that must not be read."""
    for r in declared():
        if r.kind == "HorizontalPodAutoscaler":  # kubectl patch hpa ... minReplicas: 2
            api.add(as_live(r.body, minReplicas=2))
        elif r.kind == "Deployment":  # kubectl scale --replicas=5
            api.add(as_live(r.body, replicas=5))
        else:
            api.add(as_live(r.body))
    secret_data = {"username": "chess", "password": PASSWORD}
    api.add(
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {
            "name": "chess-ai-db", "namespace": NS, "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
                    {"stringData": secret_data})}},
         "data": {k: base64.b64encode(v.encode()).decode() for k, v in secret_data.items()}},
        {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {
            "name": "chess-ai-tls", "namespace": NS},
         "spec": {"secretName": "chess-ai-tls", "dnsNames": ["chess-ai.example.com"],
                  "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}},
         "status": {"notAfter": "2027-01-02T00:00:00Z"}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {
            "name": "chess-ai", "namespace": NS}, "spec": {"minAvailable": 2}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
            "name": "coredns", "namespace": "kube-system"}, "spec": {"replicas": 2}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {
            "name": "other", "namespace": "kube-system"}, "data": {"token": "c2VjcmV0"}},
    )


def run(make_env: MakeEnv, declared_resources: list[Resource] | None = None,
        **kw: Any) -> LiveCollected:
    config, env = make_env(**kw)
    return kc.collect(config, "prod", env, declared_resources or [])


def by_ident(found: LiveCollected) -> dict[tuple[str, str], Resource]:
    return {(r.kind, r.name): r for r in found.resources}


@pytest.fixture
def chess_ai(kube_api: FakeKubeApi, kubeconfig: Path, make_kube_env: MakeEnv
             ) -> Callable[..., LiveCollected]:
    chess_ai_namespace(kube_api)
    return lambda **kw: run(make_kube_env, **{"kubeconfig": str(kubeconfig), **kw})


# ---- a realistic namespace ---------------------------------------------------------------

def test_collects_the_chess_ai_namespace_as_the_api_returns_it(
        chess_ai: Callable[..., LiveCollected], kube_api: FakeKubeApi) -> None:
    found = chess_ai()
    assert found.unavailable == {}
    got = by_ident(found)
    assert set(got) == {
        ("Deployment", "chess-ai"), ("HorizontalPodAutoscaler", "chess-ai"),
        ("Service", "chess-ai"), ("Ingress", "chess-ai"), ("ConfigMap", "chess-ai"),
        ("PersistentVolumeClaim", "chess-ai-data"), ("StorageClass", "chess-ai-gp3"),
        ("Secret", "chess-ai-db"), ("Certificate", "chess-ai-tls"),
        ("PodDisruptionBudget", "chess-ai"), ("ServiceAccount", "chess-ai")}  # not kube-system's
    for (kind, _), r in got.items():
        assert r.source == f"kubernetes {CONTEXT}"
        assert r.namespace == (None if kind == "StorageClass" else NS)
        assert r.body["kind"] == kind and r.body["apiVersion"]  # filled in on list items
        meta = r.body["metadata"]
        # Who wrote what, as field names (drift provenance); a Secret's would list its keys.
        assert meta.get("managedFields") in (None, [{
            "manager": "helm", "operation": "Update", "time": CREATED, "fields": ["spec"]}])
        assert kind != "Secret" or "managedFields" not in meta
        assert "kubectl.kubernetes.io/last-applied-configuration" not in meta.get(
            "annotations", {})
    assert got[("Deployment", "chess-ai")].body["metadata"]["managedFields"]
    deployment = got[("Deployment", "chess-ai")].body
    spec_by_name = {r.name: r.body for r in declared() if r.kind == "Deployment"}
    # Kept as the server sent it, through the allow-list (auditor.live.redact): the
    # template is the chart's (its env values and args as hash markers), the drift is
    # there, the timestamps are untouched, other annotations and the status stay.
    assert deployment["spec"]["template"] == redact.kubernetes(
        "Deployment", spec_by_name["chess-ai"])["spec"]["template"]
    assert deployment["spec"]["replicas"] == 5
    assert deployment["status"]["readyReplicas"] == 5
    assert deployment["metadata"]["creationTimestamp"] == CREATED
    assert deployment["metadata"]["annotations"] == {"meta.helm.sh/release-name": "chess-ai"}
    assert got[("HorizontalPodAutoscaler", "chess-ai")].body["spec"]["minReplicas"] == 2
    assert got[("Service", "chess-ai")].body["spec"]["clusterIP"] == "10.100.12.34"
    assert got[("Certificate", "chess-ai-tls")].body["status"]["notAfter"] == "2027-01-02T00:00:00Z"
    assert set(got[("ConfigMap", "chess-ai")].body) == {"apiVersion", "kind", "metadata"}
    assert found.names == {"namespace": NS, "deployment": "chess-ai"}
    assert {r.method for r in kube_api.requests} == {"GET"}
    assert {r.authorization for r in kube_api.requests} == {f"Bearer {TOKEN}"}
    assert all(r.query.get("limit") == "500" for r in kube_api.requests)


def test_one_list_per_kind_in_the_release_namespace(
        chess_ai: Callable[..., LiveCollected], kube_api: FakeKubeApi) -> None:
    chess_ai()
    paths = sorted(r.path for r in kube_api.requests)
    assert len(paths) == len(kc.KINDS) == len(set(paths))  # no per-object requests
    assert "/apis/storage.k8s.io/v1/storageclasses" in paths
    assert all(f"/namespaces/{NS}/" in p for p in paths if "storageclasses" not in p)


def test_known_deployment_name_is_left_to_the_declared_side(
        chess_ai: Callable[..., LiveCollected]) -> None:
    assert "deployment" not in chess_ai(declared_resources=declared()).names


def test_runs_through_the_live_registry(chess_ai: Callable[..., LiveCollected],
                                        kubeconfig: Path, make_kube_env: MakeEnv) -> None:
    config, env = make_kube_env(kubeconfig=str(kubeconfig))
    assert auditor.live.LIVE_SOURCES["kubernetes"] == kc.__name__
    found = collect_all(config, "prod", env, [], progress=lambda _: None)
    assert ("HorizontalPodAutoscaler", "chess-ai") in by_ident(found)


# ---- namespaces, kubeconfig and contexts -------------------------------------------------

@pytest.mark.parametrize(("namespace", "helm_namespace", "expected"), [
    ("payments", "chess-ai", "payments"),  # kubernetes.namespace wins
    (None, "chess-ai", "chess-ai"),  # else the Helm release's
    (None, None, "default"),
])
def test_namespace(kube_api: FakeKubeApi, kubeconfig: Path, make_kube_env: MakeEnv,
                   namespace: str | None, helm_namespace: str | None, expected: str) -> None:
    found = run(make_kube_env, kubeconfig=str(kubeconfig), namespace=namespace,
                helm_namespace=helm_namespace)
    assert found.names["namespace"] == expected
    assert len(kube_api.reads("deployments")) == 1
    assert kube_api.reads("deployments")[0].path == (
        f"/apis/apps/v1/namespaces/{expected}/deployments")


def test_kubeconfig_relative_to_the_config_file_and_from_KUBECONFIG(
        kube_api: FakeKubeApi, kubeconfig: Path, make_kube_env: MakeEnv,
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(make_kube_env, kubeconfig=kubeconfig.name).unavailable == {}
    monkeypatch.setenv("KUBECONFIG", f"/nonexistent/kubeconfig:{kubeconfig}")
    found = run(make_kube_env, context=None)  # KUBECONFIG's current-context
    assert found.unavailable == {}
    assert len(kube_api.reads("deployments")) == 2


def test_current_context_names_the_source(kube_api: FakeKubeApi, make_kube_env: MakeEnv,
                                          tmp_path: Path) -> None:
    kube_api.add({"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": "web", "namespace": NS}, "spec": {"ports": [{"port": 80}]}})
    path = write_kubeconfig(tmp_path / "kc", kube_api.url, context="eks-prod", current="eks-prod")
    found = run(make_kube_env, kubeconfig=str(path), context=None)
    assert [r.source for r in found.resources] == ["kubernetes eks-prod"]


@pytest.mark.parametrize(("setup", "expected"), [
    ("unknown-context", "context 'staging' is not in kubeconfig"),
    ("missing-file", "no kubeconfig at"),
    ("malformed-file", "cannot be read"),
    ("no-current-context", "has no current-context; set kubernetes.context"),
    ("unreachable", "cannot reach the API server at http://127.0.0.1:"),
])
def test_no_cluster_makes_every_kind_unavailable(
        kube_api: FakeKubeApi, make_kube_env: MakeEnv, tmp_path: Path, setup: str,
        expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig", kube_api.url, current=None)
    context: str | None = CONTEXT
    if setup == "unknown-context":
        context = "staging"
    elif setup == "missing-file":
        path = tmp_path / "absent"
    elif setup == "malformed-file":
        path.write_text("clusters: [unclosed\n  - {", encoding="utf-8")
    elif setup == "no-current-context":
        context = None
    else:
        context = "closed-port"
    started = time.monotonic()
    found = run(make_kube_env, kubeconfig=str(path), context=context)
    assert time.monotonic() - started < 10
    assert set(found.unavailable) == set(kc.KINDS)
    assert all(expected in reason for reason in found.unavailable.values()), found.unavailable
    assert found.resources == []
    assert kube_api.requests == []
    if setup == "unknown-context":  # says which contexts there are
        assert f"it has: {CONTEXT}, closed-port" in found.unavailable["Deployment"]
    if setup == "unreachable":
        assert "connection refused" in found.unavailable["Deployment"]


def test_default_kubeconfig_location(kube_api: FakeKubeApi, make_kube_env: MakeEnv,
                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(k8s_client, "DEFAULT_KUBECONFIG", str(tmp_path / "nothing-here"))
    found = run(make_kube_env)
    assert set(found.unavailable) == set(kc.KINDS)
    assert "no kubeconfig at" in found.unavailable["Service"]
    assert "set kubernetes.kubeconfig or KUBECONFIG" in found.unavailable["Service"]


def test_in_cluster_without_a_service_account_is_a_reason_not_a_crash(
        kube_api: FakeKubeApi, make_kube_env: MakeEnv, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import kubernetes.config.incluster_config as incluster

    monkeypatch.setattr(incluster, "SERVICE_TOKEN_FILENAME", str(tmp_path / "token"))
    monkeypatch.setattr(incluster, "SERVICE_CERT_FILENAME", str(tmp_path / "ca.crt"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "6443")
    found = run(make_kube_env, context=None)
    assert set(found.unavailable) == set(kc.KINDS)
    assert "in-cluster config" in found.unavailable["Deployment"]
    assert "token" in found.unavailable["Deployment"].lower()


def _plugin_kubeconfig(path: Path, server: str, script: str) -> Path:
    """A kubeconfig whose user gets its token from an exec credential plugin (as EKS's
    ``aws eks get-token`` or ``aws sso`` set ups do), the plugin being ``sh -c script``."""
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": CONTEXT,
        "clusters": [{"name": "fake", "cluster": {"server": server}}],
        "users": [{"name": "sso", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "sh",
            "args": ["-c", script]}}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": "fake", "user": "sso"}}]}),
        encoding="utf-8")
    return path


@pytest.mark.parametrize(("script", "expected"), [
    # What the plugin printed may hold a credential, however short: never shown.
    ("echo 'Error when retrieving token from sso: Token has expired' >&2; exit 255",
     "exec: process returned 255 (its error output is not shown: it may hold credentials; "
     "run the plugin's command to see it)"),
    ("echo 'auth failed for password hunter2' >&2; exit 1",
     "exec: process returned 1 (its error output is not shown"),
    ("echo 'not json'", "exec: failed to decode process output"),
    ("echo '{\"apiVersion\": \"client.authentication.k8s.io/v1beta1\", "
     "\"kind\": \"ExecCredential\", \"status\": {}}'",
     "exec: missing token or clientCertificateData field in plugin output"),
])
def test_a_failing_credential_plugin_makes_every_kind_unavailable(
        kube_api: FakeKubeApi, make_kube_env: MakeEnv, tmp_path: Path,
        caplog: pytest.LogCaptureFixture, script: str, expected: str) -> None:
    """The client only logs a failing plugin and sends every request unauthenticated:
    the collector says the plugin failed instead, and sends nothing."""
    caplog.set_level(logging.DEBUG)
    path = _plugin_kubeconfig(tmp_path / "kc", kube_api.url, script)
    found = run(make_kube_env, kubeconfig=str(path))
    assert set(found.unavailable) == set(kc.KINDS)
    reason = found.unavailable["Deployment"]
    assert f"context {CONTEXT}: the kubeconfig's credential plugin failed: {expected}" \
        in reason, reason
    assert "hunter2" not in reason and "Token has expired" not in reason
    assert kube_api.requests == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # not on stderr


def test_a_working_credential_plugin_is_used(kube_api: FakeKubeApi, make_kube_env: MakeEnv,
                                             tmp_path: Path) -> None:
    script = ("echo '{\"apiVersion\": \"client.authentication.k8s.io/v1beta1\", "
              "\"kind\": \"ExecCredential\", \"status\": {\"token\": \"from-sso\"}}'")
    path = _plugin_kubeconfig(tmp_path / "kc", kube_api.url, script)
    found = run(make_kube_env, kubeconfig=str(path))
    assert found.unavailable == {}
    assert {r.authorization for r in kube_api.requests} == {"Bearer from-sso"}


def test_the_clients_logging_stays_off_the_terminal(
        kube_api: FakeKubeApi, make_kube_env: MakeEnv, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """urllib3 logs each retry of a refused connection as a warning: the reason already
    says it, and ``--quiet`` must be quiet. The levels are restored afterwards."""
    caplog.set_level(logging.DEBUG)
    before = [logging.getLogger(n).level for n in k8s_logs.QUIET_LOGGERS]
    path = write_kubeconfig(tmp_path / "kubeconfig", kube_api.url)
    found = run(make_kube_env, kubeconfig=str(path), context="closed-port")
    assert "connection refused" in found.unavailable["Deployment"]
    assert [r.getMessage() for r in caplog.records
            if r.name.split(".")[0] in ("urllib3", "kubernetes", "root")] == []
    assert [logging.getLogger(n).level for n in k8s_logs.QUIET_LOGGERS] == before
    logging.getLogger("urllib3.connectionpool").warning("after the collection")
    assert caplog.records[-1].getMessage() == "after the collection"


# ---- pagination --------------------------------------------------------------------------

def _configmaps(n: int) -> list[dict[str, Any]]:
    return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": f"cm-{i:04d}", "namespace": NS}, "data": {"k": str(i)}} for i in range(n)]


def test_lists_follow_continue_past_the_limit(kube_api: FakeKubeApi, kubeconfig: Path,
                                              make_kube_env: MakeEnv) -> None:
    kube_api.add(*_configmaps(1203))
    found = run(make_kube_env, kubeconfig=str(kubeconfig))
    names = [r.name for r in found.resources if r.kind == "ConfigMap"]
    assert names == [f"cm-{i:04d}" for i in range(1203)]  # all, once, in order
    pages = kube_api.reads("configmaps")
    assert [p.query.get("limit") for p in pages] == ["500", "500", "500"]
    assert "continue" not in pages[0].query
    assert pages[1].query["continue"] != pages[2].query["continue"]
    assert all(PARTIAL in p.accept for p in pages)


def test_a_server_may_return_fewer_items_than_the_limit(
        kube_api: FakeKubeApi, kubeconfig: Path, make_kube_env: MakeEnv) -> None:
    kube_api.page_cap = 7  # the continue token, not the page size, says there is more
    kube_api.add(*[{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
        "name": f"d{i:02d}", "namespace": NS}, "spec": {"replicas": i}} for i in range(20)])
    found = run(make_kube_env, kubeconfig=str(kubeconfig))
    assert [r.body["spec"]["replicas"] for r in found.resources
            if r.kind == "Deployment"] == list(range(20))
    assert len(kube_api.reads("deployments")) == 3


# ---- Secrets and ConfigMaps: existence only --------------------------------------------

@pytest.mark.parametrize("server_honours_metadata_only", [True, False])
def test_secret_data_is_never_fetched_or_kept(
        chess_ai: Callable[..., LiveCollected], kube_api: FakeKubeApi,
        server_honours_metadata_only: bool) -> None:
    kube_api.honour_metadata_only = server_honours_metadata_only
    found = chess_ai()
    secret = by_ident(found)[("Secret", "chess-ai-db")]
    assert secret.body == {"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "chess-ai-db", "namespace": NS,
        "resourceVersion": secret.body["metadata"]["resourceVersion"],
        "uid": secret.body["metadata"]["uid"]}}
    everything = json.dumps([r.body for r in found.resources])
    assert PASSWORD not in everything
    assert base64.b64encode(PASSWORD.encode()).decode() not in everything
    reads = kube_api.reads("secrets")
    assert reads and all(r.accept == kc.METADATA_ONLY for r in reads)


def test_configmap_content_is_not_read(chess_ai: Callable[..., LiveCollected],
                                       kube_api: FakeKubeApi) -> None:
    chess_ai()  # nothing declared: no ConfigMap is read by name
    assert all(r.accept == kc.METADATA_ONLY for r in kube_api.reads("configmaps"))
    assert kube_api.gets("configmaps") == []
    assert all(r.accept == kc.JSON for r in kube_api.requests
               if r.path.rsplit("/", 1)[-1] not in ("configmaps", "secrets"))


def _planted_configmaps(api: FakeKubeApi) -> dict[str, str]:
    """The release's ConfigMap as edited live (`kubectl edit configmap`), with a value that
    must not be kept, and another team's ConfigMap in the namespace."""
    path = "/api/v1/namespaces/chess-ai/configmaps"
    mine = next(o for o in api.objects[path] if o["metadata"]["name"] == "chess-ai")
    mine["data"] = {**mine["data"], "LOG_LEVEL": "debug", "DATABASE_URL": PASSWORD}
    mine["binaryData"] = {"blob": base64.b64encode(PASSWORD.encode()).decode()}
    api.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "other-team", "namespace": NS}, "data": {"token": PASSWORD}})
    data: dict[str, str] = mine["data"]
    return data


def test_declared_configmaps_are_read_in_one_list_and_kept_as_hashes(
        chess_ai: Callable[..., LiveCollected], kube_api: FakeKubeApi) -> None:
    data = _planted_configmaps(kube_api)
    found = chess_ai(declared_resources=declared())
    assert found.unavailable == {}
    got = by_ident(found)
    body = got[("ConfigMap", "chess-ai")].body
    assert body["data"] == {k: marker(v) for k, v in data.items()}
    assert matches("debug", body["data"]["LOG_LEVEL"]) and not matches("info",
                                                                         body["data"]["LOG_LEVEL"])
    assert set(body["binaryData"]) == {"blob"}
    assert body["metadata"]["name"] == "chess-ai"
    assert [m["manager"] for m in body["metadata"]["managedFields"]] == ["helm"]
    # Not declared: existence only, its content never asked for.
    assert set(got[("ConfigMap", "other-team")].body) == {"apiVersion", "kind", "metadata"}
    # One metadata-only list, one list with content: no read per declared ConfigMap.
    assert kube_api.gets("configmaps") == []
    assert sorted(r.accept for r in kube_api.reads("configmaps")) == sorted(
        [kc.METADATA_ONLY, kc.JSON])
    everything = json.dumps([r.body for r in found.resources], default=str)
    assert PASSWORD not in everything and "debug" not in everything
    assert base64.b64encode(PASSWORD.encode()).decode() not in everything
    recorded = snapshot.dump("chess-ai", {"prod": found})
    assert PASSWORD not in recorded
    cm = next(r for r in json.loads(recorded)["environments"]["prod"]["resources"]
              if r["kind"] == "ConfigMap" and r["name"] == "chess-ai")
    assert cm["body"]["data"] == body["data"]  # the markers are what is recorded


@pytest.mark.parametrize(("status", "kept"), [(403, True), (500, True), (None, False)])
def test_a_declared_configmap_whose_content_cannot_be_read(
        chess_ai: Callable[..., LiveCollected], kube_api: FakeKubeApi, status: int | None,
        kept: bool) -> None:
    _planted_configmaps(kube_api)
    # The list with content fails, or (None) no longer has it: deleted after the first.
    kube_api.fail("configmaps:content", status, drop=None if status else "chess-ai")
    found = chess_ai(declared_resources=declared())
    assert "ConfigMap" not in found.unavailable  # the others' existence was read
    got = by_ident(found)
    assert ("ConfigMap", "other-team") in got
    if not kept:  # deleted between the list and the read: not there
        assert ("ConfigMap", "chess-ai") not in got
        return
    content = got[("ConfigMap", "chess-ai")].body["data"]
    assert isinstance(content, Unknown) and content.failed  # an error, never a pass
    assert content.reason.startswith("the content of ConfigMap chess-ai was not read: ")
    assert ("forbidden (403)" if status == 403 else "API server error 500") in content.reason


def test_container_values_are_hashes_from_the_start_and_in_a_snapshot(
        kube_api: FakeKubeApi, kubeconfig: Path, make_kube_env: MakeEnv) -> None:
    """Env values, args and commands carry passwords and database URLs: they are hash
    markers as soon as they are collected (drift compares the declared values with them),
    and so in the recording."""
    url = f"postgres://app:{PASSWORD}@db:5432/app"
    container = {"name": "app", "image": "app:1", "command": ["/app", f"--token={PASSWORD}"],
                 "args": [f"--db-password={PASSWORD}"],
                 "env": [{"name": "DATABASE_URL", "value": url},
                         {"name": "DB_USER", "valueFrom": {"secretKeyRef": {
                             "name": "db", "key": "user"}}}]}
    init = {"name": "migrate", "image": "app:1", "args": ["migrate", PASSWORD],
            "env": [{"name": "DB_PASSWORD", "value": PASSWORD}]}
    kube_api.add({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
        "name": "app", "namespace": NS}, "spec": {"template": {"spec": {
            "containers": [container], "initContainers": [init]}}}})
    found = run(make_kube_env, kubeconfig=str(kubeconfig))
    live = by_ident(found)[("Deployment", "app")].body["spec"]["template"]["spec"]
    assert PASSWORD not in json.dumps(live)
    recorded = snapshot.dump("chess-ai", {"prod": found})
    assert PASSWORD not in recorded
    doc = json.loads(recorded)["environments"]["prod"]["resources"][0]["body"]
    for spec in (live, doc["spec"]["template"]["spec"]):
        main, first = spec["containers"][0], spec["initContainers"][0]
        assert main["env"][1] == container["env"][1]  # a reference: kept as it is
        assert main["env"][0]["name"] == "DATABASE_URL" and matches(url, main["env"][0]["value"])
        assert [matches(a, m) for a, m in zip([f"--db-password={PASSWORD}"], main["args"],
                                              strict=True)] == [True]
        assert all(matches(a, m) for a, m in zip(container["command"], main["command"],
                                                 strict=True))
        assert all(matches(a, m) for a, m in zip(init["args"], first["args"], strict=True))
        assert matches(PASSWORD, first["env"][0]["value"])
        assert (main["name"], main["image"]) == ("app", "app:1")


# ---- cert-manager ------------------------------------------------------------------------

def test_missing_cert_manager_crd_is_no_kind_not_an_error(
        chess_ai: Callable[..., LiveCollected], kube_api: FakeKubeApi) -> None:
    kube_api.crds = False
    found = chess_ai()
    assert found.unavailable == {}
    assert not [r for r in found.resources if r.kind == "Certificate"]
    assert ("Deployment", "chess-ai") in by_ident(found)
    assert len(kube_api.reads("certificates")) == 1  # it asked, and got a 404


def test_forbidden_certificates_are_unavailable(
        chess_ai: Callable[..., LiveCollected], kube_api: FakeKubeApi) -> None:
    kube_api.fail("certificates", 403)  # only a 404 means "no such kind"
    found = chess_ai()
    assert set(found.unavailable) == {"Certificate"}
    assert found.unavailable["Certificate"].startswith("forbidden (403)")


# ---- failures cost only their kind -------------------------------------------------------

def test_server_error_on_deployments(chess_ai: Callable[..., LiveCollected],
                                     kube_api: FakeKubeApi) -> None:
    kube_api.fail("deployments", 500)
    found = chess_ai()
    assert set(found.unavailable) == {"Deployment"}
    reason = found.unavailable["Deployment"]
    assert reason.startswith("API server error 500: ")
    assert "etcdserver: request timed out" in reason  # the Status message
    got = by_ident(found)
    assert ("Deployment", "chess-ai") not in got
    assert {("HorizontalPodAutoscaler", "chess-ai"), ("Service", "chess-ai"),
            ("Secret", "chess-ai-db"), ("StorageClass", "chess-ai-gp3")} <= set(got)
    assert len(kube_api.reads("deployments")) == 1  # a 500 without Retry-After: no retry
    assert "deployment" not in found.names  # no live Deployment was read


def test_forbidden(chess_ai: Callable[..., LiveCollected], kube_api: FakeKubeApi) -> None:
    kube_api.fail("horizontalpodautoscalers", 403)
    found = chess_ai()
    assert set(found.unavailable) == {"HorizontalPodAutoscaler"}
    assert found.unavailable["HorizontalPodAutoscaler"] == (
        'forbidden (403): horizontalpodautoscalers is forbidden: User '
        '"system:serviceaccount:default:auditor" cannot list resource '
        '"horizontalpodautoscalers" in the namespace')


def test_unauthorized(chess_ai: Callable[..., LiveCollected], kube_api: FakeKubeApi) -> None:
    kube_api.fail("services", 401, message="Unauthorized")
    reason = chess_ai().unavailable["Service"]
    assert reason.startswith("unauthorized (401): the cluster refused the kubeconfig")


@pytest.mark.usefixtures("fast_kube_timeouts")
def test_timeout(chess_ai: Callable[..., LiveCollected], kube_api: FakeKubeApi) -> None:
    kube_api.fail("deployments", status=None, delay=5.0)
    started = time.monotonic()
    found = chess_ai()
    assert time.monotonic() - started < 3  # the read timeout (0.5 s), not the server's 5 s
    assert set(found.unavailable) == {"Deployment"}
    assert found.unavailable["Deployment"] == (
        f"timed out: the API server at {kube_api.url} did not answer within 0.5s")
    assert len(kube_api.reads("deployments")) == 1  # a read timeout is not retried
    assert ("Service", "chess-ai") in by_ident(found)


@pytest.mark.usefixtures("fast_kube_timeouts")
@pytest.mark.parametrize(("status", "retry_after", "times", "reads", "available"), [
    (429, 1, None, 3, False),  # throttled on every attempt: bounded, then unavailable
    (429, None, 2, 3, True),  # throttled twice, then answered
    (503, 1, 1, 2, True),  # a 5xx with Retry-After is worth one more try
    (503, None, None, 1, False),  # a 5xx without it is not
])
def test_throttling_is_retried_a_bounded_number_of_times(
        chess_ai: Callable[..., LiveCollected], kube_api: FakeKubeApi, status: int,
        retry_after: int | None, times: int | None, reads: int, available: bool) -> None:
    kube_api.fail("deployments", status, retry_after=retry_after, times=times)
    found = chess_ai()
    assert len(kube_api.reads("deployments")) == reads
    assert (("Deployment", "chess-ai") in by_ident(found)) is available
    if status == 429 and not available:
        assert found.unavailable["Deployment"].startswith(
            "throttled by the API server (429) after 3 attempts: Too many requests")


def test_a_continue_token_the_server_rejects(
        kube_api: FakeKubeApi, kubeconfig: Path, make_kube_env: MakeEnv) -> None:
    kube_api.page_cap = 2
    kube_api.add(*_configmaps(5))
    kube_api.fail("configmaps", 410, message="The provided continue parameter is too old",
                  continued_only=True)
    found = run(make_kube_env, kubeconfig=str(kubeconfig))
    assert found.unavailable == {"ConfigMap": "API error 410: The provided continue "
                                              "parameter is too old"}
    assert not [r for r in found.resources if r.kind == "ConfigMap"]  # no partial list
    assert len(kube_api.reads("configmaps")) == 2


def test_an_answer_that_is_not_json(chess_ai: Callable[..., LiveCollected],
                                    kube_api: FakeKubeApi) -> None:
    kube_api.fail("services", None, raw="<html><body>502 Bad Gateway</body></html>")
    found = chess_ai()
    assert set(found.unavailable) == {"Service"}
    assert found.unavailable["Service"].startswith(
        f"unreadable answer from the API server at {kube_api.url}: /api/v1/namespaces/"
        f"{NS}/services: not JSON")


# ---- strictly read-only ------------------------------------------------------------------

def test_the_fake_rejects_and_records_writes(kube_api: FakeKubeApi) -> None:
    """So the read-only check at every kube_api teardown is not vacuous."""
    url = f"{kube_api.url}/apis/apps/v1/namespaces/{NS}/deployments/chess-ai"
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        request = urllib.request.Request(url, data=b"{}", method=method,
                                         headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=5)
        assert err.value.code == 405
        assert json.loads(err.value.read())["reason"] == "MethodNotAllowed"
    assert [r.method for r in kube_api.rejected] == ["POST", "PUT", "PATCH", "DELETE"]
    kube_api.rejected.clear()


def test_rbac_grants_exactly_what_the_collector_reads() -> None:
    docs = [d for d in yaml.safe_load_all((REPO / "deploy" / "rbac.yaml").read_text()) if d]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
    assert set(by_kind) == {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role",
                            "RoleBinding"}
    (account,), (cluster_role,), (role,) = (by_kind["ServiceAccount"], by_kind["ClusterRole"],
                                            by_kind["Role"])
    granted: dict[str, set[tuple[str, str]]] = {}
    for r in (cluster_role, role):
        granted[r["kind"]] = set()
        for rule in r["rules"]:
            assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule
            assert "*" not in rule["apiGroups"] + rule["resources"] + rule["verbs"], rule
            assert not rule.get("nonResourceURLs")
            granted[r["kind"]] |= {(g, res) for g in rule["apiGroups"] for res in rule["resources"]}
    assert granted["ClusterRole"] == {(k.group, k.plural) for k in kc.TABLE if not k.namespaced}
    assert granted["Role"] == {(k.group, k.plural) for k in kc.TABLE if k.namespaced}
    # Declared ConfigMaps are read by name: that takes `get`, not only `list`.
    assert any("get" in rule["verbs"] and "configmaps" in rule["resources"]
               for rule in role["rules"])
    ns = account["metadata"]["namespace"]
    assert role["metadata"]["namespace"] == ns
    subject = {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": ns}
    for binding, target in ((by_kind["RoleBinding"][0], role),
                            (by_kind["ClusterRoleBinding"][0], cluster_role)):
        assert binding["subjects"] == [subject]
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io",
                                      "kind": target["kind"],
                                      "name": target["metadata"]["name"]}
    assert by_kind["RoleBinding"][0]["metadata"]["namespace"] == ns
