"""A local Kubernetes API server for tests: the real REST paths, List and Status JSON, over
real HTTP on 127.0.0.1, so the official client is exercised end to end.

It serves the collections of :data:`RESOURCES` per namespace (list items without
``kind``/``apiVersion``, as kube-apiserver sends them, except for custom resources),
honours ``limit`` and ``continue`` with opaque tokens (and may cap pages below ``limit``,
as servers may), answers ``PartialObjectMetadataList`` when the client asks for it, serves
single objects by name (``.../configmaps/NAME``, a 404 Status when there is none) and the
discovery documents. Faults are injected per resource (status, delay, Retry-After, how
many times), or per object as ``plural/name``. Every request is recorded; anything but GET
is rejected with 405 and recorded in :attr:`FakeKubeApi.rejected`.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# kind -> (groupVersion, plural, namespaced)
RESOURCES: dict[str, tuple[str, str, bool]] = {
    "Deployment": ("apps/v1", "deployments", True),
    "StatefulSet": ("apps/v1", "statefulsets", True),
    "DaemonSet": ("apps/v1", "daemonsets", True),
    "CronJob": ("batch/v1", "cronjobs", True),
    "Job": ("batch/v1", "jobs", True),
    "HorizontalPodAutoscaler": ("autoscaling/v2", "horizontalpodautoscalers", True),
    "Service": ("v1", "services", True),
    "ServiceAccount": ("v1", "serviceaccounts", True),
    "ConfigMap": ("v1", "configmaps", True),
    "Secret": ("v1", "secrets", True),
    "PersistentVolumeClaim": ("v1", "persistentvolumeclaims", True),
    "Ingress": ("networking.k8s.io/v1", "ingresses", True),
    "PodDisruptionBudget": ("policy/v1", "poddisruptionbudgets", True),
    "StorageClass": ("storage.k8s.io/v1", "storageclasses", False),
    "Certificate": ("cert-manager.io/v1", "certificates", True),
}
CRD_GROUPS = {"cert-manager.io"}
PARTIAL = "as=PartialObjectMetadataList"
REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
           405: "MethodNotAllowed", 410: "Expired", 429: "TooManyRequests",
           500: "InternalError", 503: "ServiceUnavailable"}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    accept: str
    authorization: str | None


@dataclass
class Fault:
    status: int | None = 500  # None: answer normally after the delay
    delay: float = 0.0
    message: str | None = None
    retry_after: int | None = None
    times: int | None = None  # None: every request
    continued_only: bool = False  # only on the pages after the first (a stale token)
    raw: str | None = None  # a body that is not JSON (a proxy's error page), sent as is
    drop: str | None = None  # with status None: this name is left out (deleted meanwhile)


@dataclass
class FakeKubeApi:
    crds: bool = True  # is cert-manager's Certificate CRD installed?
    page_cap: int | None = None  # the most items per page, whatever the client's limit
    honour_metadata_only: bool = True  # False: a server that ignores the Accept header
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    faults: dict[str, Fault] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    rejected: list[Request] = field(default_factory=list)
    resource_version: int = 1000
    latency: float = 0.0  # seconds added to every answer (a remote API server's round trip)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None

    # ---- setup ----------------------------------------------------------------------

    def add(self, *objs: dict[str, Any]) -> None:
        """Stores objects as the API server would hold them (kind and namespace decide
        the collection)."""
        for obj in objs:
            gv, plural, namespaced = RESOURCES[obj["kind"]]
            meta = obj.setdefault("metadata", {})
            self.resource_version += 1
            meta.setdefault("resourceVersion", str(self.resource_version))
            meta.setdefault("uid", f"uid-{self.resource_version}")
            path = collection(gv, plural, meta.get("namespace") if namespaced else None)
            self.objects.setdefault(path, []).append(obj)

    def fail(self, plural: str, status: int | None = 500, **kw: Any) -> None:
        self.faults[plural] = Fault(status, **kw)

    def start(self) -> FakeKubeApi:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in an injected delay
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def url(self) -> str:
        assert self._httpd
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # ---- what happened ----------------------------------------------------------------

    def reads(self, plural: str) -> list[Request]:
        """The list requests of a collection."""
        return [r for r in self.requests if r.path.rsplit("/", 1)[-1] == plural]

    def gets(self, plural: str) -> list[Request]:
        """The requests for single objects of a collection."""
        return [r for r in self.requests if self._object(r.path) is not None
                and r.path.rsplit("/", 2)[-2] == plural]

    # ---- serving ----------------------------------------------------------------------

    def answer(self, req: Request) -> tuple[int, dict[str, Any], dict[str, str]]:
        """(status, JSON body, extra headers) for one GET."""
        if self.latency:
            self._stopping.wait(self.latency)
        single = self._object(req.path)
        plural = "/".join(req.path.rsplit("/", 2)[-2:]) if single else req.path.rsplit("/", 1)[-1]
        # "<plural>:content": a fault only for lists that ask for the objects' content
        # (not metadata-only), as the collector's second list of ConfigMaps does.
        if not single and "PartialObjectMetadata" not in req.accept \
                and f"{plural}:content" in self.faults:
            plural = f"{plural}:content"
        fault = self._take_fault(plural, "continue" in req.query)
        if fault:
            self._stopping.wait(fault.delay)
            if fault.raw is not None:
                return fault.status or 200, {"$raw": fault.raw}, {}
            if fault.status is not None:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                return fault.status, status_body(fault.status, fault.message or
                                                 _default_message(fault.status, req)), headers
        discovered = self._discovery(req.path)
        if discovered is not None:
            return 200, discovered, {}
        if single is not None:
            gv, kind, name = single
            held = [o for o in self._matching(req.path.rsplit("/", 1)[0], gv, kind)
                    if o["metadata"].get("name") == name]
            if not held:
                plural_name = req.path.rsplit("/", 2)[-2]
                return 404, status_body(404, f'{plural_name} "{name}" not found'), {}
            obj = copy.deepcopy(held[0])
            obj.setdefault("kind", kind)
            obj.setdefault("apiVersion", gv)
            return 200, obj, {}
        served = self._collection(req.path)
        if served is None:
            return 404, status_body(404, "the server could not find the requested resource"), {}
        gv, kind = served
        status, body, headers = self._list(req, gv, kind)
        if fault and fault.drop and isinstance(body.get("items"), list):
            body["items"] = [o for o in body["items"]
                             if o.get("metadata", {}).get("name") != fault.drop]
        return status, body, headers

    def _take_fault(self, plural: str, continued: bool) -> Fault | None:
        with self._lock:
            fault = self.faults.get(plural)
            if fault and fault.continued_only and not continued:
                return None
            if fault and fault.times is not None:
                fault.times -= 1
                if fault.times < 0:
                    return None
            return fault

    def _served(self) -> dict[str, tuple[str, str, bool]]:
        return {k: v for k, v in RESOURCES.items()
                if self.crds or v[0].split("/")[0] not in CRD_GROUPS}

    def _collection(self, path: str) -> tuple[str, str] | None:
        for kind, (gv, plural, namespaced) in self._served().items():
            root = "/api/v1" if gv == "v1" else f"/apis/{gv}"
            parts = path.removeprefix(root + "/").split("/")
            if path.startswith(root + "/") and (
                    parts == [plural] or (namespaced and len(parts) == 3
                                          and parts[0] == "namespaces" and parts[2] == plural)):
                return gv, kind
        return None

    def _object(self, path: str) -> tuple[str, str, str] | None:
        """(groupVersion, kind, name) when ``path`` names one namespaced object."""
        collection_path, _, name = path.rpartition("/")
        served = self._collection(collection_path) if name else None
        if served is None or "/namespaces/" not in collection_path:
            return None
        return served[0], served[1], name

    def _list(self, req: Request, gv: str, kind: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        everything = self._matching(req.path, gv, kind)
        start = 0
        if req.query.get("continue"):
            try:
                token = json.loads(base64.urlsafe_b64decode(req.query["continue"]))
                assert token["path"] == req.path
                start = int(token["offset"])
            except Exception:
                return 400, status_body(400, "continue key is not valid"), {}
        sizes = [n for n in (int(req.query.get("limit") or 0), self.page_cap or 0) if n > 0]
        end = min([start + n for n in sizes] + [len(everything)])
        meta: dict[str, Any] = {"resourceVersion": str(self.resource_version)}
        if end < len(everything):
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(
                {"path": req.path, "offset": end}).encode()).decode()
            meta["remainingItemCount"] = len(everything) - end
        items = [copy.deepcopy(o) for o in everything[start:end]]
        if PARTIAL in req.accept and self.honour_metadata_only:
            return 200, {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                         "metadata": meta, "items": [
                             {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                              "metadata": o["metadata"]} for o in items]}, {}
        if gv.split("/")[0] not in CRD_GROUPS:  # typed lists leave these out of the items
            for o in items:
                o.pop("kind", None)
                o.pop("apiVersion", None)
        return 200, {"kind": f"{kind}List", "apiVersion": gv, "metadata": meta,
                     "items": items}, {}

    def _matching(self, path: str, gv: str, kind: str) -> list[dict[str, Any]]:
        _, plural, namespaced = RESOURCES[kind]
        if "/namespaces/" in path or not namespaced:
            return self.objects.get(path, [])
        # all namespaces: /api/v1/secrets lists every namespace's secrets
        return [o for p, objs in sorted(self.objects.items())
                if p.endswith("/" + plural) and p.startswith(_root(gv)) for o in objs]

    def _discovery(self, path: str) -> dict[str, Any] | None:
        served = self._served()
        versions = sorted({gv for gv, _, _ in served.values() if gv != "v1"})
        if path == "/version":
            return {"major": "1", "minor": "30", "gitVersion": "v1.30.0-fake"}
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"]}
        if path == "/apis":
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": gv.split("/")[0], "versions": [{"groupVersion": gv,
                                                         "version": gv.split("/")[1]}],
                 "preferredVersion": {"groupVersion": gv, "version": gv.split("/")[1]}}
                for gv in versions]}
        for gv in ["v1", *versions]:
            if path == _root(gv):
                return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                        "resources": [{"name": plural, "kind": kind, "namespaced": ns,
                                       "verbs": ["get", "list", "watch"]}
                                      for kind, (g, plural, ns) in served.items() if g == gv]}
        return None


def collection(gv: str, plural: str, namespace: str | None) -> str:
    return f"{_root(gv)}/namespaces/{namespace}/{plural}" if namespace else (
        f"{_root(gv)}/{plural}")


def _root(gv: str) -> str:
    return "/api/v1" if gv == "v1" else f"/apis/{gv}"


def status_body(code: int, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": REASONS.get(code, "Unknown"), "details": {},
            "code": code}


def _default_message(status: int, req: Request) -> str:
    plural = req.path.rsplit("/", 1)[-1]
    if status == 403:
        return (f'{plural} is forbidden: User "system:serviceaccount:default:auditor" '
                f'cannot list resource "{plural}" in the namespace')
    if status == 429:
        return "Too many requests, please try again later."
    return (f'an error on the server ("etcdserver: request timed out") has prevented the '
            f"request from succeeding (get {plural})")


def _handler(api: FakeKubeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _request(self) -> Request:
            split = urlsplit(self.path)
            return Request(self.command, split.path, dict(parse_qsl(split.query)),
                           self.headers.get("Accept", ""), self.headers.get("Authorization"))

        def do_GET(self) -> None:
            req = self._request()
            with api._lock:
                api.requests.append(req)
            status, body, headers = api.answer(req)
            self._send(status, body, headers)

        def __getattr__(self, name: str) -> Any:
            if name.startswith("do_"):  # every other method: a write, or not for us
                return self._reject
            raise AttributeError(name)

        def _reject(self) -> None:
            req = self._request()
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.close_connection = True
            with api._lock:
                api.requests.append(req)
                api.rejected.append(req)
            self._send(405, status_body(405, f"{self.command} is not allowed: this API "
                                             "server is read-only"), {})

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
            data = (body["$raw"] if "$raw" in body else json.dumps(body)).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
