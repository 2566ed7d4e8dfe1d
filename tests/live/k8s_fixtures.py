"""Kubernetes fixtures: a running fake API server, a kubeconfig pointing at it, and a
factory for the config and environment the collector is called with."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.config import Config, Environment, HelmConfig, KubernetesConfig
from auditor.live import kubernetes as kube_collector
from tests.live.k8s_api import FakeKubeApi
from tests.live.ports import refused_port

__all__ = ["fast_kube_timeouts", "kube_api", "kube_env", "kubeconfig", "make_kube_env",
           "write_kubeconfig"]

CONTEXT = "chess-ai-prod"
TOKEN = "test-token-not-a-secret"


@pytest.fixture
def kube_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ambient kubeconfig, pod or proxy settings leak in from the machine."""
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT",
                 "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def kube_api(kube_env: None) -> Iterator[FakeKubeApi]:
    """A started fake API server. At teardown it asserts that no request but GET reached
    it, in every test that uses it (a test that sends writes on purpose clears them)."""
    server = FakeKubeApi().start()
    yield server
    server.stop()
    assert server.rejected == [], f"write requests reached the API server: {server.rejected}"


def write_kubeconfig(path: Path, server: str, context: str = CONTEXT,
                     current: str | None = CONTEXT) -> Path:
    doc: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "fake", "cluster": {"server": server}},
                     {"name": "closed", "cluster": {"server": f"http://127.0.0.1:{refused_port()}"}}],
        "users": [{"name": "auditor", "user": {"token": TOKEN}}],
        "contexts": [{"name": context, "context": {"cluster": "fake", "user": "auditor"}},
                     {"name": "closed-port", "context": {"cluster": "closed",
                                                         "user": "auditor"}}],
    }
    if current:
        doc["current-context"] = current
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


@pytest.fixture
def kubeconfig(kube_api: FakeKubeApi, tmp_path: Path) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig", kube_api.url)


@pytest.fixture
def make_kube_env(tmp_path: Path) -> Callable[..., tuple[Config, Environment]]:
    """(config, environment) for the collector: the Helm release's namespace is chess-ai;
    ``kubeconfig`` is passed through as the config file would hold it."""

    def make(kubeconfig: str | None = None, context: str | None = CONTEXT,
             namespace: str | None = None, helm_namespace: str | None = "chess-ai",
             ) -> tuple[Config, Environment]:
        helm = (HelmConfig(chart="chart", release="chess-ai", namespace=helm_namespace)
                if helm_namespace else None)
        env = Environment(helm=helm, kubernetes=KubernetesConfig(
            context=context, kubeconfig=kubeconfig, namespace=namespace))
        config = Config.model_validate({"service": "chess-ai", "environments": {"prod": env}})
        config.base_dir = tmp_path
        return config, env

    return make


@pytest.fixture
def fast_kube_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Timeouts and throttling waits short enough for tests."""
    monkeypatch.setattr(kube_collector, "REQUEST_TIMEOUT", (1.0, 0.5))
    monkeypatch.setattr(kube_collector, "THROTTLE_MAX_WAIT", 0.01)


