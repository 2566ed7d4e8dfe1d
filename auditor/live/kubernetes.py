"""Live Kubernetes objects of one environment's namespace, read with list calls only.

Each kind in :data:`TABLE` is one paginated list (``limit`` and ``continue``) of its REST
collection, sent through the official client's ``ApiClient`` (its auth, TLS and proxy
handling) with a per-request timeout. Bodies are kept as the API server's JSON, as
``kubectl get -o json`` prints them (``apiVersion``/``kind`` filled in on list items, which
the server omits), but only the fields on :mod:`auditor.live.redact`'s allow-list as read:
every other value is a hash marker, ``metadata.managedFields`` and the last-applied
annotation are dropped. ConfigMaps and Secrets are
listed metadata-only (``PartialObjectMetadataList``), so their data is never fetched; only
metadata is kept even from a server that ignores that request. The ConfigMaps the release
declares then have their content read, in one more list of the namespace's ConfigMaps (not
one read per ConfigMap), so drift can compare it: each value is kept as a hash marker
(:mod:`auditor.live.markers`), never as text, and the other ConfigMaps' data is dropped
page by page. A missing cert-manager CRD
(404) means there are no Certificates, not an error; any other failed list puts its kind
into ``unavailable`` with the reason, and the other kinds are still read. Jobs a listed
CronJob started are left out (the CronJob is what to fix, as Polaris reports it); the
ServiceAccounts are read for the imagePullSecrets they give pods that name none.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from auditor.config import Config, Environment, KubernetesConfig
from auditor.live import k8s_client, k8s_logs, redact
from auditor.live.base import LiveCollected
from auditor.live.markers import mark_values
from auditor.models import Resource
from auditor.unknown import Unknown


@dataclass(frozen=True)
class Kind:
    kind: str
    group_version: str  # "v1" for the core group
    plural: str
    namespaced: bool = True
    metadata_only: bool = False  # existence is what checks need: never fetch the content
    optional: bool = False  # served by a CRD that may not be installed

    @property
    def group(self) -> str:
        return self.group_version.rpartition("/")[0]

    def path(self, namespace: str) -> str:
        root = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        return (f"{root}/namespaces/{namespace}/{self.plural}" if self.namespaced
                else f"{root}/{self.plural}")


TABLE: tuple[Kind, ...] = (
    Kind("Deployment", "apps/v1", "deployments"),
    Kind("StatefulSet", "apps/v1", "statefulsets"),
    Kind("DaemonSet", "apps/v1", "daemonsets"),
    Kind("CronJob", "batch/v1", "cronjobs"),
    Kind("Job", "batch/v1", "jobs"),
    Kind("HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers"),
    Kind("Service", "v1", "services"),
    Kind("ServiceAccount", "v1", "serviceaccounts"),  # imagePullSecrets pods inherit
    Kind("Ingress", "networking.k8s.io/v1", "ingresses"),
    Kind("PersistentVolumeClaim", "v1", "persistentvolumeclaims"),
    Kind("PodDisruptionBudget", "policy/v1", "poddisruptionbudgets"),
    Kind("StorageClass", "storage.k8s.io/v1", "storageclasses", namespaced=False),
    Kind("ConfigMap", "v1", "configmaps", metadata_only=True),
    Kind("Secret", "v1", "secrets", metadata_only=True),
    Kind("Certificate", "cert-manager.io/v1", "certificates", optional=True),
)
KINDS: tuple[str, ...] = tuple(k.kind for k in TABLE)
CONFIGMAP = next(k for k in TABLE if k.kind == "ConfigMap")

JSON = "application/json"
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
PAGE_SIZE = 500
MAX_PAGES = 1000  # 500,000 objects of one kind: past that the server is looping
REQUEST_TIMEOUT: tuple[float, float] = (5.0, 20.0)  # (connect, read) seconds per request
THROTTLE_RETRIES = 2  # after a 429 (or a 5xx with Retry-After), as client-go does
THROTTLE_MAX_WAIT = 5.0  # seconds; a longer Retry-After is cut short, the retries bounded
WORKERS = 6  # kinds listed at once: a slow kind does not hold up the others


class _Unreadable(Exception):
    """A response that is not a Kubernetes list."""


def collect(config: Config, env_name: str, env: Environment,
            declared: list[Resource], kinds: frozenset[str] | None = None) -> LiveCollected:
    settings = env.kubernetes or KubernetesConfig.model_validate({})
    namespace = settings.namespace or (env.helm.namespace if env.helm else None) or "default"
    out = LiveCollected(names={"namespace": namespace})
    with k8s_logs.quiet():  # failures become reasons; the client's logging is noise
        try:
            cluster = k8s_client.connect(config, settings)
        except k8s_client.ConnectError as exc:
            out.unavailable = {kind: str(exc) for kind in KINDS}
            return out
        source = f"kubernetes {cluster.context}"
        table = [k for k in TABLE if kinds is None or k.kind in kinds]
        with cluster.api, ThreadPoolExecutor(WORKERS, thread_name_prefix="k8s") as pool:
            results = list(pool.map(lambda kind: _read(cluster, kind, namespace), table))
            for kind, result in zip(table, results, strict=True):
                if isinstance(result, str):
                    out.unavailable[kind.kind] = result
                else:
                    out.resources.extend(_resource(kind, item, namespace, source)
                                         for item in result if isinstance(item, dict))
            out.resources = _without_cronjob_runs(out.resources)
            wanted = {r.name for r in declared if r.kind == "ConfigMap"
                      and r.namespace in (None, namespace)}
            mine = [r for r in out.resources if r.kind == "ConfigMap" and r.name in wanted]
            contents = _contents(cluster, namespace, {r.name for r in mine}) if mine else {}
    gone = set()
    for r in mine:
        if isinstance(contents, str):  # the content is unknown: an error, not a pass
            r.body = {**r.body, "data": Unknown(
                f"the content of ConfigMap {r.name} was not read: {contents}", failed=True)}
        elif r.name in contents:
            r.body = contents[r.name]
        else:
            gone.add(r.name)  # deleted since it was listed
    out.resources = [r for r in out.resources if not (r.kind == "ConfigMap" and r.name in gone)]
    live_deployments = [r.name for r in out.resources if r.kind == "Deployment"]
    if live_deployments and not any(r.kind == "Deployment" for r in declared):
        out.names["deployment"] = live_deployments[0]
    return out


def _without_cronjob_runs(resources: list[Resource]) -> list[Resource]:
    """Leaves out the Jobs a collected CronJob started: each is a copy of the CronJob's job
    template under a generated name, so its findings would be the CronJob's again. A Job
    whose CronJob was not read (or is gone) is kept: it is all there is to check."""
    def meta(r: Resource) -> dict[str, Any]:
        value = r.body.get("metadata")
        return value if isinstance(value, dict) else {}

    cronjobs = {meta(r).get("uid") for r in resources if r.kind == "CronJob"}
    cronjobs.discard(None)

    def started_by_cronjob(job: Resource) -> bool:
        owners = meta(job).get("ownerReferences")
        return isinstance(owners, list) and any(
            isinstance(o, dict) and o.get("kind") == "CronJob"
            and isinstance(o.get("uid"), str) and o["uid"] in cronjobs for o in owners)

    return [r for r in resources if not (r.kind == "Job" and started_by_cronjob(r))]


def _read(cluster: k8s_client.Cluster, kind: Kind, namespace: str) -> list[Any] | str:
    """The kind's objects, or why they could not be read."""
    try:
        return _list(cluster.api, kind, namespace)
    except ApiException as exc:
        if kind.optional and exc.status == 404:  # the CRD is not installed: no such kind
            return []
        return _reason(exc, cluster)
    except _Unreadable as exc:
        return f"unreadable answer from the API server at {cluster.server}: {exc}"
    except Exception as exc:  # urllib3 and socket errors: timeouts, refused connections
        return _reason(exc, cluster)


def _contents(cluster: k8s_client.Cluster, namespace: str, names: set[str]
              ) -> dict[str, dict[str, Any]] | str:
    """The bodies of the ConfigMaps ``names``, their content as hash markers, from one
    list of the namespace's ConfigMaps (each page converted as it comes: the data of the
    others is not kept); or why they could not be read."""
    def content(item: Any) -> dict[str, Any] | None:
        meta = item.get("metadata") if isinstance(item, dict) else None
        if not isinstance(meta, dict) or meta.get("name") not in names:
            return None
        body = _body(CONFIGMAP, item)
        for key in ("data", "binaryData"):
            if isinstance(item.get(key), dict):
                body[key] = mark_values(item[key])
        if isinstance(item.get("immutable"), bool):
            body["immutable"] = item["immutable"]
        return body

    try:
        bodies = _list(cluster.api, CONFIGMAP, namespace, JSON, content)
    except _Unreadable as exc:
        return f"unreadable answer from the API server at {cluster.server}: {exc}"
    except Exception as exc:  # API errors, timeouts, refused connections
        return _reason(exc, cluster)
    return {str(b["metadata"]["name"]): b for b in bodies}


def _reason(exc: Exception, cluster: k8s_client.Cluster) -> str:
    return k8s_client.describe(exc, cluster.server, REQUEST_TIMEOUT[1], 1 + THROTTLE_RETRIES)


def _list(api: ApiClient, kind: Kind, namespace: str, accept: str | None = None,
          keep: Callable[[Any], Any] | None = None) -> list[Any]:
    """Every item of the kind's collection, page by page; with ``keep``, what it makes of
    each item (None: dropped), as each page comes."""
    items: list[Any] = []
    token: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        query: list[tuple[str, Any]] = [("limit", PAGE_SIZE)]
        if token:
            query.append(("continue", token))
        page = _get(api, kind.path(namespace), query,
                    accept or (METADATA_ONLY if kind.metadata_only else JSON))
        listed = page.get("items") or []
        items.extend(listed if keep is None else
                     (kept for item in listed if (kept := keep(item)) is not None))
        meta = page.get("metadata")
        token = meta.get("continue") if isinstance(meta, dict) else None
        if not token:
            return items
        if token in seen:
            raise _Unreadable(f"{kind.plural}: the continue token repeats")
        seen.add(token)
    raise _Unreadable(f"{kind.plural}: more than {MAX_PAGES} pages")


def _get(api: ApiClient, path: str, query: list[tuple[str, Any]],
         accept: str) -> dict[str, Any]:
    """One page; throttling is retried a bounded number of times with bounded waits."""
    for attempt in range(THROTTLE_RETRIES + 1):
        try:
            return _request(api, path, query, accept)
        except ApiException as exc:
            wait = _throttle_wait(exc)
            if wait is None or attempt == THROTTLE_RETRIES:
                raise
            time.sleep(wait)
    raise AssertionError("unreachable")  # the loop returns or raises


def _request(api: ApiClient, path: str, query: list[tuple[str, Any]],
             accept: str) -> dict[str, Any]:
    method, url, headers, _, _ = api.param_serialize(
        method="GET", resource_path=path, query_params=query,
        header_params={"Accept": accept}, auth_settings=["BearerToken"])
    response = api.call_api(method, url, header_params=headers,
                            _request_timeout=REQUEST_TIMEOUT)
    response.read()  # type: ignore[no-untyped-call]
    if not 200 <= response.status <= 299:
        raise ApiException.from_response(http_resp=response, body=None, data=None)
    try:
        page = json.loads(response.data or b"")
    except ValueError as exc:
        raise _Unreadable(f"{path}: not JSON ({exc})") from None
    if not isinstance(page, dict) or not isinstance(page.get("items") or [], list):
        raise _Unreadable(f"{path}: not a list")
    return page


def _throttle_wait(exc: ApiException) -> float | None:
    """Seconds to wait before asking again, or None when asking again will not help."""
    retry_after = (exc.headers or {}).get("Retry-After")
    if exc.status != 429 and not (retry_after and (exc.status or 0) >= 500):
        return None
    try:
        wait = float(retry_after) if retry_after else 1.0
    except ValueError:  # an HTTP date: not worth parsing for a bounded wait
        wait = 1.0
    return max(0.0, min(wait, THROTTLE_MAX_WAIT))


def _resource(kind: Kind, item: dict[str, Any], namespace: str, source: str) -> Resource:
    body = _body(kind, item)
    meta = body["metadata"]
    return Resource(kind=kind.kind, name=str(meta.get("name", "")), body=body, source=source,
                    namespace=(meta.get("namespace") or namespace) if kind.namespaced else None)


def _body(kind: Kind, item: dict[str, Any]) -> dict[str, Any]:
    """The object as kept: its allow-listed fields as read, every other value hashed."""
    meta = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
    head = {"apiVersion": kind.group_version, "kind": kind.kind, "metadata": meta}
    if kind.metadata_only:  # whatever the server sent, keep nothing but the metadata
        return redact.kubernetes(kind.kind, head)
    rest = {k: v for k, v in item.items() if k not in head}
    return redact.kubernetes(kind.kind, {
        "apiVersion": item.get("apiVersion") or kind.group_version,
        "kind": item.get("kind") or kind.kind, "metadata": meta, **rest})
