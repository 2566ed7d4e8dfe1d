"""Connecting to a Kubernetes cluster for read-only collection, and naming what went wrong.

The client is built from the environment's kubeconfig and context (``kubernetes.kubeconfig``
relative to the config file, else ``KUBECONFIG``, else ``~/.kube/config``) into a fresh
``Configuration``, never the client's global default, so environments collected at the same
time cannot leak into each other; inside a pod with nothing configured it uses the service
account (in-cluster config). The kubeconfig is never written back (token refreshes stay in
memory). Every failure becomes a one-line reason for the report, never an exception out
of the collector: :func:`connect` raises :class:`ConnectError` with it (also when an exec
or auth-provider credential plugin failed, which the client only logs before sending
requests without credentials), :func:`describe` turns a failed request into it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
import yaml
from kubernetes import client
from kubernetes import config as kube_config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)

from auditor.config import Config, KubernetesConfig
from auditor.live.k8s_logs import plugin_errors

DEFAULT_KUBECONFIG = "~/.kube/config"
IN_CLUSTER = "in-cluster"


class ConnectError(Exception):
    """Why no client could be made; the reason every Kubernetes kind is unavailable."""


@dataclass
class Cluster:
    api: client.ApiClient
    context: str  # the kubeconfig context, or "in-cluster"
    server: str  # the API server's URL, for messages


def connect(config: Config, settings: KubernetesConfig) -> Cluster:
    cfg = client.Configuration()
    if _in_cluster(settings):
        try:
            kube_config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=cfg)
        except Exception as exc:  # the loader raises several types; all mean "cannot"
            raise ConnectError(f"in-cluster config (KUBERNETES_SERVICE_HOST is set) cannot "
                               f"be loaded: {_one_line(exc)}") from None
        context = IN_CLUSTER
    else:
        path = _kubeconfig(config, settings)
        with plugin_errors() as logged:
            context = _load_kubeconfig(path, settings.context, cfg)
        _check_credentials(path, context, cfg, logged)
    # Connection errors are retried a little; a read that timed out is not (the server got
    # the request and did not answer in time: asking again only doubles the wait). Status
    # codes are handled by the collector, which retries throttling itself.
    cfg.retries = urllib3.Retry(total=2, connect=2, read=0, status=0, other=0,
                                backoff_factor=0.2, raise_on_status=False)
    return Cluster(client.ApiClient(cfg), context, str(cfg.host))


def _in_cluster(settings: KubernetesConfig) -> bool:
    """In a pod with no kubeconfig named anywhere: the pod's service account."""
    return (settings.kubeconfig is None and settings.context is None
            and not os.environ.get("KUBECONFIG")
            and bool(os.environ.get("KUBERNETES_SERVICE_HOST")))


def _kubeconfig(config: Config, settings: KubernetesConfig) -> str:
    """The kubeconfig file(s) to read; KUBECONFIG may list several, as kubectl reads it."""
    if settings.kubeconfig:
        path = str(config.path(os.path.expanduser(settings.kubeconfig)))
        where = "kubernetes.kubeconfig"
    else:
        path = os.environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG
        where = "KUBECONFIG" if os.environ.get("KUBECONFIG") else "the default location"
    files = [p for p in path.split(os.pathsep) if p]
    if not any(Path(os.path.expanduser(p)).is_file() for p in files):
        raise ConnectError(f"no kubeconfig at {path} ({where}); set kubernetes.kubeconfig "
                           "or KUBECONFIG, or run in a pod")
    return path


def _load_kubeconfig(path: str, wanted: str | None, cfg: client.Configuration) -> str:
    """Loads the context into ``cfg`` and returns its name."""
    context = wanted or _current_context(path)
    try:
        kube_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=path, context=context, client_configuration=cfg,
            persist_config=False)
    except Exception as exc:  # bad YAML, missing cert files, a failing exec plugin ...
        names = _context_names(path)
        if names is None:
            raise ConnectError(f"kubeconfig {path} cannot be read: {_one_line(exc)}") from None
        if context not in names:
            raise ConnectError(f"context {context!r} is not in kubeconfig {path} (it has: "
                               f"{', '.join(names) or 'no contexts'})") from None
        raise ConnectError(f"kubeconfig {path}, context {context}: {_one_line(exc)}") from None
    return context


_TOKENISH = re.compile(r"[A-Za-z0-9_\-.=+/]{24,}")
_PLUGIN_EXIT = re.compile(r"exec: process returned -?\d+")


def _check_credentials(path: str, context: str, cfg: client.Configuration,
                       logged: list[str]) -> None:
    """A user entry with a credential plugin that yielded nothing: the plugin failed (the
    client logs that and carries on, so every request would go out unauthenticated)."""
    user = _user_entry(path, context)
    plugin = next((k for k in ("exec", "auth-provider") if k in user), None)
    if plugin is None or any(cfg.api_key.values()) or cfg.cert_file:
        return
    why = _one_line(logged[-1]) if logged else f"its {plugin} entry returned no credentials"
    # The plugin's own error output may echo what it fetched, however short: it is not
    # shown (the client's words around it are), and anything token-like in those goes too.
    returned = _PLUGIN_EXIT.match(why)
    if returned:
        why = f"{returned.group(0)} (its error output is not shown: it may hold credentials; " \
              "run the plugin's command to see it)"
    why = _TOKENISH.sub("<redacted>", why)[:300]
    raise ConnectError(f"kubeconfig {path}, context {context}: the kubeconfig's credential "
                       f"plugin failed: {why}")


def _user_entry(path: str, context: str) -> dict[str, Any]:
    """The ``user`` mapping the context names (first definition wins, as kubectl merges)."""
    docs = []
    for file in (Path(os.path.expanduser(p)) for p in path.split(os.pathsep) if p):
        try:
            doc = yaml.safe_load(file.read_text(encoding="utf-8")) if file.is_file() else None
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if isinstance(doc, dict):
            docs.append(doc)

    def named(key: str, name: Any) -> dict[str, Any]:
        for doc in docs:
            for entry in doc.get(key) or []:
                if isinstance(entry, dict) and entry.get("name") == name:
                    return entry
        return {}

    user_name = (named("contexts", context).get("context") or {}).get("user")
    user = named("users", user_name).get("user") if user_name else None
    return user if isinstance(user, dict) else {}


def _current_context(path: str) -> str:
    try:
        _, active = kube_config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
            config_file=path)
        return str(active["name"])
    except Exception as exc:
        if "current-context" in str(exc) and _context_names(path) is not None:
            raise ConnectError(f"kubeconfig {path} has no current-context; set "
                               "kubernetes.context") from None
        raise ConnectError(f"kubeconfig {path} cannot be read: {_one_line(exc)}") from None


def _context_names(path: str) -> list[str] | None:
    """The contexts the kubeconfig file(s) define, for messages; None if unreadable."""
    names: list[str] = []
    for file in (Path(os.path.expanduser(p)) for p in path.split(os.pathsep) if p):
        if not file.is_file():
            continue
        try:
            doc = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return None
        contexts = doc.get("contexts") if isinstance(doc, dict) else None
        names += [str(c["name"]) for c in contexts or [] if isinstance(c, dict) and "name" in c]
    return names


def describe(exc: Exception, server: str, read_timeout: float, attempts: int) -> str:
    """A failed request as the reason a kind is unavailable."""
    if isinstance(exc, ApiException):
        status = exc.status or 0
        message = _status_message(exc.body) or str(exc.reason or "").strip()
        if status == 0:  # the client wraps TLS failures this way
            return f"cannot talk to the API server at {server}: {_one_line(message)}"
        labels = {401: "unauthorized (401): the cluster refused the kubeconfig credentials",
                  403: "forbidden (403)", 404: "not served by this cluster (404)",
                  429: f"throttled by the API server (429) after {attempts} attempts"}
        label = labels.get(status) or (f"API server error {status}" if status >= 500
                                       else f"API error {status}")
        return f"{label}: {message}" if message else label
    cause: BaseException = exc
    if isinstance(exc, MaxRetryError) and exc.reason is not None:
        cause = exc.reason
    if isinstance(cause, ReadTimeoutError | TimeoutError):
        return f"timed out: the API server at {server} did not answer within {read_timeout:g}s"
    # urllib3 makes NewConnectionError a ConnectTimeoutError: test for it first.
    if isinstance(cause, NewConnectionError | ConnectionError):
        return f"cannot reach the API server at {server}: {_connection_reason(cause)}"
    if isinstance(cause, ConnectTimeoutError):
        return f"timed out connecting to the API server at {server}"
    return f"cannot read from the API server at {server}: {_one_line(cause)}"


def _status_message(body: Any) -> str:
    """The ``message`` of a Kubernetes ``Status`` body, if that is what came back."""
    try:
        data = json.loads(body) if isinstance(body, str | bytes) else None
    except ValueError:
        return _one_line(body)[:200] if isinstance(body, str) else ""
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return _one_line(data["message"])
    return ""


def _connection_reason(exc: BaseException) -> str:
    text = str(exc)
    for known in ("Connection refused", "Name or service not known", "No route to host",
                  "Network is unreachable", "Connection reset"):
        if known.lower() in text.lower():
            return known.lower()
    return _one_line(exc)


def _one_line(value: object) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= 300 else text[:297] + "..."
