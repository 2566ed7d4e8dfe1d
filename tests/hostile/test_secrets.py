"""Secrets planted in every field of a live object that can hold one: a probe's
Authorization header, exec probe and lifecycle hook commands, env values, args, annotations
(the last-applied copy of the whole object included), ConfigMap and Secret data. The audit
runs against a local Kubernetes API server; every report format, the snapshot, the table
on the terminal and the built site (pages and search index) are searched for them, in
clear and in base64, and for a plain SHA-256 of any of them."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CliResult
from tests.live.k8s_api import FakeKubeApi
from tests.live.k8s_fixtures import CONTEXT, write_kubeconfig

Run = Callable[..., CliResult]
NS = "shop"
SECRETS = {
    "header": "Bearer hdr-7Qx9-live-token", "exec": "exec-pw-31f9", "hook": "hook-pw-77ab",
    "annotation": "anno-pw-c3d2", "last_applied": "lastapplied-pw-90aa",
    "template_annotation": "vault-tok-11ee", "env": "env-pw-5b5b", "arg": "arg-pw-6c6c",
    "command": "cmd-pw-7d7d", "configmap": "cm-pw-8e8e", "secret": "secret-pw-9f9f",
    "short": "pw12", "probe_query": "PROBE-TOKEN-1111", "snippet": "Basic c25pcHBldA-2222",
    "auth_url": "u:authpw-3333", "checksum": "f" * 40 + "checksum-4444",
    "storage_key": "restkey-5555", "mount": "mountpw-6666", "probe_host": "hostpw-7777",
}


def _deployment(header: str, probe: str, hook: str, env: str, arg: str, command: str
                ) -> dict[str, Any]:
    container = {
        "name": "web", "image": "web:1.2.3", "command": ["/web", command], "args": [arg],
        "env": [{"name": "TOKEN", "value": env},
                {"name": "DB", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}],
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080, "httpHeaders": [
            {"name": "Authorization", "value": header}]}},
        "livenessProbe": {"exec": {"command": ["check", probe]}},
        "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", f"logout {hook}"]}}},
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"},
                      "requests": {"cpu": "1", "memory": "1Gi"}}}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": NS}, "spec": {
                "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                             "spec": {"containers": [container]}}}}


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A service whose Git says one thing and whose cluster holds the secrets."""
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "HTTP_PROXY", "HTTPS_PROXY",
                 "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    declared = _deployment("Bearer git-token", "git", "git", "git", "git", "git")
    configmap = {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "web-config", "namespace": NS}, "data": {"KEY": "git"}}
    root = tmp_path / "svc"
    (root / "k8s").mkdir(parents=True)
    (root / "k8s" / "app.yaml").write_text(yaml.safe_dump_all([declared, configmap]))
    live = _deployment(SECRETS["header"], SECRETS["exec"], SECRETS["hook"], SECRETS["env"],
                       SECRETS["arg"], SECRETS["command"])
    live["metadata"]["annotations"] = {
        "example.com/api-key": SECRETS["annotation"],
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
            {"env": SECRETS["last_applied"], "short": SECRETS["short"]})}
    live["spec"]["template"]["metadata"]["annotations"] = {
        "vault.example.com/token": SECRETS["template_annotation"],
        "checksum/secret": SECRETS["checksum"]}
    live["metadata"]["annotations"].update({
        "nginx.ingress.kubernetes.io/configuration-snippet":
            f'more_set_headers "Authorization: {SECRETS["snippet"]}";',
        "nginx.ingress.kubernetes.io/auth-url": f"https://{SECRETS['auth_url']}@auth/x"})
    probe = live["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]
    probe.update(path=f"/ready?token={SECRETS['probe_query']}", host=SECRETS["probe_host"])
    api = FakeKubeApi().start()
    api.add(live, {**copy.deepcopy(configmap), "data": {"KEY": SECRETS["configmap"]}},
            {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
             "metadata": {"name": "fast"}, "provisioner": "kubernetes.io/glusterfs",
             "parameters": {"type": "gp3", "restuserkey": SECRETS["storage_key"],
                            "secretName": "named-ok",
                            "csi.storage.k8s.io/provisioner-secret-name": "also-a-name"},
             "mountOptions": [f"password={SECRETS['mount']}"]},
            {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
             "metadata": {"name": "db", "namespace": NS},
             "data": {"pw": base64.b64encode(SECRETS["secret"].encode()).decode()}})
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url)
    (root / "auditor.yaml").write_text(yaml.safe_dump({
        "service": "web", "environments": {"prod": {
            "manifests": ["k8s"],
            "kubernetes": {"kubeconfig": str(kubeconfig), "context": CONTEXT,
                           "namespace": NS}}}}))
    yield root
    api.stop()


def _forms(secret: str) -> list[str]:
    """The secret as it could leak: itself, base64, and a plain SHA-256 (which would let
    anyone confirm a guess)."""
    return [secret, base64.b64encode(secret.encode()).decode(),
            hashlib.sha256(secret.encode()).hexdigest()[:12]]


def _assert_clean(text: str, where: str) -> None:
    for name, secret in SECRETS.items():
        for form in _forms(secret):
            assert form not in text, f"{name} ({form!r}) leaked into {where}"


def test_no_planted_secret_reaches_any_output(run_cli: Run, hostile: Path,
                                              tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    formats = ("json", "sarif", "markdown", "junit", "github", "table")
    for fmt in formats:
        result = run_cli("audit", "--config", str(hostile), "--format", fmt,
                         "--output", str(out / f"report.{fmt}"))
        assert result.exit_code == 1, result.stderr
        _assert_clean(result.stderr, f"stderr of --format {fmt}")
    shown = run_cli("audit", "--config", str(hostile), "--format", "table")
    _assert_clean(shown.stdout + shown.stderr, "the terminal")
    snap = run_cli("snapshot", "--config", str(hostile), "--output", str(out / "snap.json"))
    assert snap.exit_code == 0, snap.stderr
    replayed = run_cli("audit", "--config", str(hostile), "--live", str(out / "snap.json"),
                       "--format", "json", "--output", str(out / "replayed.json"))
    assert replayed.exit_code == 1
    site = run_cli("site", "build", "--config", str(hostile), "--report",
                   str(out / "report.json"), "--output", str(tmp_path / "site"))
    assert site.exit_code == 0, site.stderr
    written = [*out.iterdir(), *(p for p in (tmp_path / "site").rglob("*") if p.is_file())]
    assert any(p.name == "search_index.json" for p in written)
    for path in written:
        _assert_clean(path.read_text(encoding="utf-8", errors="replace"), str(path))

    # Not vacuous: drift was found at the very fields that hold the secrets, and said so.
    report = json.loads((out / "report.json").read_text())
    drift = {f["item"]: f for f in report["findings"] if f["side"] == "drift"}
    for field in ("readinessProbe.httpGet.httpHeaders[0].value",
                  "livenessProbe.exec.command", "lifecycle.preStop.exec.command",
                  "env[TOKEN].value", "args", "command"):
        (item,) = [k for k in drift if k.endswith(f"containers[web].{field}")]
        assert "(hidden)" in drift[item]["message"], drift[item]["message"]
    assert "data.KEY" in drift
    assert any("readinessProbe.httpGet.path" in k for k in drift)  # the query was there
    recorded = (out / "snap.json").read_text()
    assert '"also-a-name"' in recorded and '"gp3"' in recorded  # names and sizes are kept
    assert {(f["item"], f["status"]) for f in json.loads(
        (out / "replayed.json").read_text())["findings"] if f["side"] == "drift"} == {
        (f["item"], f["status"]) for f in report["findings"] if f["side"] == "drift"}
