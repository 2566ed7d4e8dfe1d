"""Records examples/chess-ai/live-snapshot.json: the example's prod, as `auditor snapshot` reads it.

Nothing in the file is written by hand. The script runs the example's production as local
fakes and records it with the real collection code (``pipeline.snapshot_state`` and
``snapshot.dump``, what ``auditor snapshot`` runs):

- Kubernetes: the fake API server of tests/live/k8s_api.py serving the chart's objects
  (rendered by ``pipeline.declared_inventory``) as kube-apiserver holds them (defaults,
  canonical quantities, uid/resourceVersion/managedFields, status), plus the objects the
  chart does not render (Helm's release Secret, cert-manager's Certificate and Secret);
- AWS: moto's server holding the stack the example's Terraform declares, built with boto3
  by tests/live/chess_ai_aws.py (the AWS collector's tests build the same stack);
- TLS: a local server with a trustme certificate for chess-ai.example.com, which the
  script's resolver maps to 127.0.0.1 (as an /etc/hosts line would), trusted through
  SSL_CERT_FILE.

Then the runbook's emergency commands are applied to the fakes, as on-call ran them:
``kubectl patch hpa`` (minReplicas 5), ``helm upgrade --set resources.limits.memory=12Gi``,
``kubectl set env deployment/chess-ai LOG_LEVEL=debug`` (every container: no ``-c``),
``aws ec2 authorize-security-group-ingress`` (5432 from 10.0.0.0/8 on the db group),
``aws rds modify-db-parameter-group`` (max_connections 500, pending a reboot that has not
happened: the instance reports its parameter group ``pending-reboot``), ``aws eks
update-nodegroup-config`` (maxSize 12, desiredSize 8) and the target group's health check
path changed to /health/ready; the database Secret the pods read is gone, one pod fails
its readiness check (so its ALB target is unhealthy), the newest RDS snapshot is three days
old and the served certificate expires in 12 days.

The recording is made reproducible: the ids moto draws at random are replaced by ids derived
from the objects' names (so neither moto's seed nor its version changes them), Kubernetes
uids derive from the object's identity, and every time in it is moved by one offset so
that ``collected_at`` is
the pinned moment (``--collected-at`` or ``RECORD_COLLECTED_AT``; ages and remaining
validity are exactly as recorded). The local endpoint's port is rewritten to the example's
real ``https://chess-ai.example.com``. The script fails if any planted secret value, or
anything local (127.0.0.1, the temp dir), reached the file, or if a container's env value,
args, command or a ConfigMap's data is there as anything but a hash marker.

Run from the repository root: ``.venv/bin/python scripts/record_example_snapshot.py``.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import trustme
import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: the repository's packages come from here
    sys.path.insert(0, str(REPO))

from auditor import config as config_mod  # noqa: E402
from auditor import pipeline, snapshot  # noqa: E402
from auditor.live import markers  # noqa: E402
from auditor.live.markers import is_marker  # noqa: E402
from tests.live import chess_ai_aws  # noqa: E402
from tests.live.chess_ai_aws import DB_PASSWORD, Stack, pending_reboot  # noqa: E402
from tests.live.cloudtrail_fixture import CloudTrailServer  # noqa: E402
from tests.live.fields_v1 import manage  # noqa: E402
from tests.live.k8s_api import RESOURCES, FakeKubeApi  # noqa: E402
from tests.live.k8s_fixtures import CONTEXT, write_kubeconfig  # noqa: E402
from tests.live.tls_fixtures import LocalServer, TlsHandler  # noqa: E402

EXAMPLE = REPO / "examples" / "chess-ai"
OUTPUT = EXAMPLE / "live-snapshot.json"
NAMESPACE = "chess-ai"
HOST = "chess-ai.example.com"
REGION = chess_ai_aws.REGION
COLLECTED_AT = "2026-11-27T07:45:00Z"  # the default pinned moment of the recording
CERT_DAYS_LEFT = 12
MOTO_SEED = 20261127  # the script's own runs repeat exactly; the ids do not depend on it
# The hash markers' salt, pinned so that a recording repeats (a real snapshot draws its own).
RECORDING_SALT = "c0ffee0fc0ffee0fc0ffee0fc0ffee0f"
NOT_READY_POD_IP = "10.40.2.47"  # the pod whose /health/ready answers 503
# Planted in the fakes where real prod holds secrets: none may reach the recording.
SECRETS = (DB_PASSWORD, "tls-private-key-never-recorded",
           "helm-release-manifest-never-recorded")
# EC2's id shapes: any in the recording must be one of the stable ids, not one moto drew.
_EC2_ID = re.compile(r"\b(?:sg|sgr|subnet|vpc|eni|rtb|igw|nat|acl|vol|snap|ami|i)-[0-9a-f]{8,17}\b")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


@dataclass
class World:
    """The fakes, running, and a copy of the example whose auditor.yaml points at them."""

    root: Path  # the example's copy; its auditor.yaml names the fakes
    kube: FakeKubeApi
    tls: LocalServer
    moment: datetime  # the clock when the world was built (to the second)
    aws: Stack  # what moto assigned (its ids are replaced by stable ones in a recording)
    trail: CloudTrailServer  # CloudTrail's LookupEvents, holding the fixes' events


@contextmanager
def live_world(tmp: Path, moto_url: str, params: dict[str, Any] | None = None,
               seed: int = MOTO_SEED) -> Iterator[World]:
    """The example's prod after the night's fixes. AWS_ENDPOINT_URL and dummy credentials
    must already point at ``moto_url`` (an empty moto, running in this process: its health
    and clock hooks are patched here). ``params`` go into the copied auditor.yaml; ``seed``
    is moto's (the ids it draws change with it, the recording does not)."""
    moment = datetime.now(UTC).replace(microsecond=0)
    with ExitStack() as stack:
        stack.enter_context(_moto_hooks())
        _post(f"{moto_url}/moto-api/seed?a={seed}")
        aws = chess_ai_aws.build(moment)
        chess_ai_aws.apply_runbook_fixes(aws)
        trail = stack.enter_context(CloudTrailServer())
        trail.upstream = moto_url  # DescribeTrails and the rest: moto's
        trail.events += chess_ai_aws.runbook_fix_events(aws, moment - timedelta(hours=9))
        stack.enter_context(_env("AWS_ENDPOINT_URL_CLOUDTRAIL", trail.url))
        stack.enter_context(pending_reboot("chess-ai-prod"))  # nobody rebooted it since
        declared = pipeline.declared_inventory(config_mod.load(str(EXAMPLE)), "prod")
        kube = FakeKubeApi()
        kube.add(*kube_objects([r.body for r in declared.resources if "apiVersion" in r.body],
                               moment))
        kube.start()
        stack.callback(kube.stop)
        ca = trustme.CA(organization_name="Example Issuing CA",
                        organization_unit_name="chess-ai recording")
        leaf = ca.issue_cert(HOST, common_name=HOST, organization_name="chess-ai",
                             organization_unit_name="platform",
                             not_before=moment - timedelta(days=90 - CERT_DAYS_LEFT),
                             not_after=moment + timedelta(days=CERT_DAYS_LEFT))
        tls = LocalServer(TlsHandler(leaf)).start()
        stack.callback(tls.stop)
        ca.cert_pem.write_to_path(str(tmp / "ca.pem"))
        stack.enter_context(_env("SSL_CERT_FILE", str(tmp / "ca.pem")))
        stack.enter_context(_resolving(HOST, "127.0.0.1"))
        root = write_config(tmp, write_kubeconfig(tmp / "kubeconfig", kube.url), tls.port,
                            params or {})
        yield World(root=root, kube=kube, tls=tls, moment=moment, aws=aws, trail=trail)


def record(world: World, collected_at: str = COLLECTED_AT) -> str:
    """What `auditor snapshot` writes for the world, rebased to ``collected_at``, with the
    example's real endpoint and stable ids for moto's random ones; checked to hold nothing
    secret or local."""
    config = config_mod.load(str(world.root))
    with _salt(RECORDING_SALT):
        state = pipeline.snapshot_state(config, pipeline.ScanOptions())
        doc = json.loads(snapshot.dump(config.service, state))
    pinned = datetime.fromisoformat(collected_at.replace("Z", "+00:00")).astimezone(UTC)
    doc = _rebase(doc, pinned - world.moment)
    doc = _replace_ids(doc, world.aws.stable_ids())
    doc["collected_at"] = pinned.isoformat()
    for env in doc["environments"].values():
        for r in env["resources"]:
            if r["kind"] == "TLSEndpoint":
                r["name"] = f"{HOST}:443"
                r["body"].update(url=f"https://{HOST}", port=443)
    text = json.dumps(doc, indent=1) + "\n"
    check_clean(text, world)
    return text


def check_clean(text: str, world: World) -> None:
    planted = [*SECRETS, *(base64.b64encode(s.encode()).decode() for s in SECRETS)]
    leaks = [s for s in planted if s in text]
    leaks += [s for s in ("127.0.0.1", "localhost", str(world.root.parent),
                          f":{world.tls.port}") if s in text]
    assert not leaks, f"the recording holds what it must not: {leaks}"
    known = {*world.aws.stable_ids().values(), chess_ai_aws.VPC_ID}
    drawn = sorted({m.group() for m in _EC2_ID.finditer(text)} - known)
    assert not drawn, (f"the recording holds ids moto drew at random: {drawn} (give them "
                       "stable ids in tests/live/chess_ai_aws.py, Stack.stable_ids)")
    doc = json.loads(text)
    for env in doc["environments"].values():
        assert not env["unavailable"], f"kinds not read: {env['unavailable']}"
        for r in env["resources"]:
            body = r["body"]
            if r["kind"] == "Secret":
                assert set(body) <= {"apiVersion", "kind", "metadata", "type"}, r["name"]
            if r["kind"] == "ConfigMap":
                assert set(body) <= {"apiVersion", "kind", "metadata", "data", "binaryData",
                                     "immutable"}, r["name"]
                assert all(is_marker(v) for k in ("data", "binaryData")
                           for v in (body.get(k) or {}).values()), r["name"]
            pod = (body.get("spec") or {}).get("template", {}).get("spec") or {}
            for c in [*pod.get("containers", []), *pod.get("initContainers", [])]:
                assert all(is_marker(v) for v in [*c.get("args", []), *c.get("command", []),
                                                  *(e["value"] for e in c.get("env", [])
                                                    if "value" in e)]), r["name"]


def _replace_ids(value: Any, ids: dict[str, str]) -> Any:
    """Every occurrence of a key of ``ids`` in a string replaced by its value."""
    if isinstance(value, dict):
        return {k: _replace_ids(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_ids(v, ids) for v in value]
    if isinstance(value, str):
        for drawn, stable in ids.items():
            value = value.replace(drawn, stable)
    return value


def _rebase(value: Any, offset: timedelta) -> Any:
    """Every ISO 8601 time moved by ``offset``, in its own spelling."""
    if isinstance(value, dict):
        return {k: _rebase(v, offset) for k, v in value.items()}
    if isinstance(value, list):
        return [_rebase(v, offset) for v in value]
    if isinstance(value, str) and _TIME.match(value):
        moved = datetime.fromisoformat(value.replace("Z", "+00:00")) + offset
        return (moved.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value.endswith("Z")
                else moved.isoformat())
    return value


# ---- the example's copy, pointed at the fakes ---------------------------------------------

def write_config(tmp: Path, kubeconfig: Path, tls_port: int, params: dict[str, Any]) -> Path:
    root = tmp / "chess-ai"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("live-snapshot.json"))
    doc = yaml.safe_load((EXAMPLE / "auditor.yaml").read_text(encoding="utf-8"))
    env = doc["environments"]["prod"]
    env["kubernetes"] = {"context": CONTEXT, "kubeconfig": str(kubeconfig)}
    env["endpoints"] = [f"https://{HOST}:{tls_port}"]
    env["params"] = {**env.get("params", {}), **params}
    (root / "auditor.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return root


# ---- Kubernetes: the chart's objects as the API server holds them ------------------------

def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def kube_objects(rendered: list[dict[str, Any]], moment: datetime) -> list[dict[str, Any]]:
    installed, fixed = moment - timedelta(days=212), moment - timedelta(hours=9)
    served = [_served(body, installed) for body in rendered if body["kind"] in RESOURCES]
    by_kind = {o["kind"]: o for o in served}
    # kubectl patch hpa chess-ai -p '{"spec":{"minReplicas":5}}'
    hpa = by_kind["HorizontalPodAutoscaler"]
    hpa["spec"]["minReplicas"] = 5
    manage(hpa, "kubectl-patch", {"spec": {"minReplicas": 5}}, fixed)
    hpa["status"] = {
        "currentReplicas": 5, "desiredReplicas": 5, "lastScaleTime": _ts(fixed),
        "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageUtilization": 41, "averageValue": "1642m"}}}],
        "conditions": [
            _condition("AbleToScale", "True", "ReadyForNewScale", fixed),
            _condition("ScalingActive", "True", "ValidMetricFound", fixed),
            _condition("ScalingLimited", "True", "TooFewReplicas", fixed,
                       "the desired replica count is less than the minimum replica count")]}
    dep = by_kind["Deployment"]
    containers = dep["spec"]["template"]["spec"]["containers"]
    # helm upgrade chess-ai ./helm/chess-ai --set resources.limits.memory=12Gi
    main = next(c for c in containers if c["name"] == "chess-ai")
    main["resources"]["limits"]["memory"] = "12Gi"
    manage(dep, "helm", _spec_of(containers, "chess-ai", resources={"limits": {
        "memory": "12Gi"}}), fixed - timedelta(minutes=40))
    # kubectl set env deployment/chess-ai LOG_LEVEL=debug (no -c: every container)
    debug = {"name": "LOG_LEVEL", "value": "debug"}
    for c in containers:
        c.setdefault("env", []).append(debug)
        manage(dep, "kubectl-set", _spec_of(containers, c["name"], env=[debug]), fixed)
    dep["metadata"]["generation"] = 14
    dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "14"
    dep["spec"]["replicas"] = 5  # the HPA's count
    manage(dep, "kube-controller-manager", {"spec": {"replicas": 5}}, fixed,
           subresource="scale")
    dep["status"] = {
        "observedGeneration": 14, "replicas": 5, "updatedReplicas": 5, "readyReplicas": 4,
        "availableReplicas": 4, "unavailableReplicas": 1,
        "conditions": [
            _condition("Available", "True", "MinimumReplicasAvailable", fixed,
                       "Deployment has minimum availability."),
            _condition("Progressing", "True", "NewReplicaSetAvailable", fixed,
                       'ReplicaSet "chess-ai-6d9f7c5b8d" has successfully progressed.')]}
    # Not rendered by the chart: Helm's release record, cert-manager's certificate and its
    # Secret, the CA bundle every namespace gets, EKS's default StorageClass, another
    # namespace. The Secret chess-ai-db (External Secrets) is gone: the pods need it.
    extra = [
        _secret("sh.helm.release.v1.chess-ai.v14", "helm.sh/release.v1", ("release",),
                installed, labels={"name": "chess-ai", "owner": "helm", "status": "deployed",
                                   "version": "14"}),
        _secret("chess-ai-tls", "kubernetes.io/tls", ("tls.crt", "tls.key"), installed,
                annotations={"cert-manager.io/certificate-name": "chess-ai-tls",
                             "cert-manager.io/issuer-name": "letsencrypt-prod",
                             "cert-manager.io/issuer-kind": "ClusterIssuer"}),
        _certificate(moment),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "kube-root-ca.crt", "namespace": NAMESPACE},
         "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\n(cluster CA)\n"}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {
            "name": "gp2", "annotations": {
                "storageclass.kubernetes.io/is-default-class": "true"}},
         "provisioner": "kubernetes.io/aws-ebs", "parameters": {"fsType": "ext4", "type": "gp2"},
         "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
            "name": "coredns", "namespace": "kube-system"}, "spec": {"replicas": 2}},
    ]
    return served + [_identify(o, installed) for o in extra]


def _served(declared: dict[str, Any], created: datetime) -> dict[str, Any]:
    body = _identify(copy.deepcopy(declared), created)
    meta, kind = body["metadata"], body["kind"]
    spec: dict[str, Any] = body.get("spec") or {}
    meta["labels"] = {**meta.get("labels", {}), "app.kubernetes.io/managed-by": "Helm"}
    meta["annotations"] = {**meta.get("annotations", {}), "meta.helm.sh/release-name":
                           "chess-ai", "meta.helm.sh/release-namespace": NAMESPACE}
    # What Helm applied: the rendered object (the name is its identity, not a field).
    fields = {k: v for k, v in body.items() if k not in ("apiVersion", "kind", "status")}
    fields["metadata"] = {k: meta[k] for k in ("labels", "annotations") if k in meta}
    manage(body, "helm", fields, created)
    if kind == "Deployment":
        spec.setdefault("progressDeadlineSeconds", 600)
        template = spec["template"]
        template["metadata"]["creationTimestamp"] = None
        _pod_defaults(template["spec"])
    elif kind == "Service":
        spec.update(clusterIP="172.20.87.14", clusterIPs=["172.20.87.14"],
                    ipFamilies=["IPv4"], ipFamilyPolicy="SingleStack",
                    internalTrafficPolicy="Cluster", sessionAffinity="None")
        body["status"] = {"loadBalancer": {}}
    elif kind == "HorizontalPodAutoscaler":
        spec.setdefault("behavior", {
            "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15}]},
            "scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                          "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}})
    elif kind == "Ingress":
        body["status"] = {"loadBalancer": {"ingress": [
            {"hostname": "chess-ai-prod-alb-1180273645.us-east-1.elb.amazonaws.com"}]}}
    elif kind == "PersistentVolumeClaim":
        spec.update(volumeName=f"pvc-{meta['uid']}", volumeMode="Filesystem")
        meta["annotations"].update({"pv.kubernetes.io/bind-completed": "yes",
                                    "volume.kubernetes.io/storage-provisioner":
                                    "ebs.csi.aws.com"})
        body["status"] = {"phase": "Bound", "accessModes": spec.get("accessModes"),
                          "capacity": {"storage": "100Gi"}}
    elif kind == "StorageClass":
        body.setdefault("volumeBindingMode", "Immediate")
    return body


def _pod_defaults(pod: dict[str, Any]) -> None:
    pod.update(dnsPolicy="ClusterFirst", restartPolicy="Always",
               schedulerName="default-scheduler", terminationGracePeriodSeconds=30,
               serviceAccount=pod.get("serviceAccountName", "default"))
    for c in pod["containers"]:
        image = c["image"].rsplit("/", 1)[-1]
        c.setdefault("imagePullPolicy", "IfNotPresent" if ":" in image else "Always")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            if probe in c:
                c[probe].setdefault("successThreshold", 1)
                c[probe].get("httpGet", {}).setdefault("scheme", "HTTP")
        requests = c["resources"].get("requests", {})
        if requests.get("cpu") == "1000m":
            requests["cpu"] = "1"  # the API server's canonical spelling of the quantity


def _identify(body: dict[str, Any], created: datetime) -> dict[str, Any]:
    """uid (derived from the object's identity, so re-recording is stable),
    resourceVersion, creationTimestamp and the namespace of namespaced kinds."""
    meta = body.setdefault("metadata", {})
    if RESOURCES[body["kind"]][2]:
        meta.setdefault("namespace", NAMESPACE)
    ident = f"{body['kind']}/{meta.get('namespace', '')}/{meta['name']}"
    meta["uid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"chess-ai-prod/{ident}"))
    meta["resourceVersion"] = str(48_000_000 + int(meta["uid"][:5], 16))
    meta["creationTimestamp"] = _ts(created)
    meta.setdefault("generation", 1)
    return body


def _spec_of(containers: list[dict[str, Any]], name: str, **fields: Any) -> dict[str, Any]:
    """A Deployment fragment that sets ``fields`` of container ``name``."""
    assert any(c["name"] == name for c in containers)
    return {"spec": {"template": {"spec": {"containers": [{"name": name, **fields}]}}}}


def _condition(kind: str, status: str, reason: str, at: datetime,
               message: str = "") -> dict[str, Any]:
    return {"type": kind, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": _ts(at)}


def _secret(name: str, kind: str, keys: tuple[str, ...], created: datetime,
            **meta: dict[str, str]) -> dict[str, Any]:
    values = {"release": SECRETS[2], "tls.key": SECRETS[1]}
    data = {k: base64.b64encode(values.get(k, SECRETS[0]).encode()).decode() for k in keys}
    return {"apiVersion": "v1", "kind": "Secret", "type": kind,
            "metadata": {"name": name, "namespace": NAMESPACE, **meta}, "data": data}


def _certificate(moment: datetime) -> dict[str, Any]:
    """cert-manager's Certificate for the Ingress: renewal has failed for 18 days."""
    renewal = moment - timedelta(days=18)
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {
        "name": "chess-ai-tls", "namespace": NAMESPACE,
        "ownerReferences": [{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                             "name": "chess-ai", "controller": True}]},
        "spec": {"secretName": "chess-ai-tls", "dnsNames": [HOST], "usages": [
            "digital signature", "key encipherment"], "issuerRef": {
            "group": "cert-manager.io", "kind": "ClusterIssuer", "name": "letsencrypt-prod"}},
        "status": {
            "notBefore": _ts(moment - timedelta(days=90 - CERT_DAYS_LEFT)),
            "notAfter": _ts(moment + timedelta(days=CERT_DAYS_LEFT)),
            "renewalTime": _ts(renewal), "failedIssuanceAttempts": 6,
            "lastFailureTime": _ts(moment - timedelta(hours=5)),
            "conditions": [
                _condition("Ready", "True", "Ready", renewal,
                           "Certificate is up to date and has not expired"),
                _condition("Issuing", "False", "Failed", moment - timedelta(hours=5),
                           "The certificate request has failed to complete and will be "
                           "retried: ACME DNS-01 challenge for chess-ai.example.com failed")]}}


# ---- hooks into the fakes and the process ------------------------------------------------

@contextmanager
def _moto_hooks() -> Iterator[None]:
    """What moto cannot be asked for over HTTP: a target failing its health check (moto
    reports every registered IP healthy). The services' models are imported first, before
    the seed: some draw from moto's random numbers on import, so the script's own runs
    would otherwise depend on what the process imported before."""
    import importlib

    from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup

    for service in ("ec2", "rds", "eks", "elbv2", "acm", "cloudwatch", "secretsmanager",
                    "guardduty", "s3", "cloudtrail", "wafv2"):
        importlib.import_module(f"moto.{service}.models")

    original = FakeTargetGroup.health_for

    def health_for(self: FakeTargetGroup, target: dict[str, Any], ec2: Any) -> Any:
        status = original(self, target, ec2)
        if target.get("Id") == NOT_READY_POD_IP and status.status == "healthy":
            return FakeHealthStatus(target["Id"], status.port, status.health_check_port,
                                    "unhealthy", "Target.ResponseCodeMismatch",
                                    "Health checks failed with these codes: [503]")
        return status

    FakeTargetGroup.health_for = health_for  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        FakeTargetGroup.health_for = original  # type: ignore[method-assign]


@contextmanager
def _salt(salt: str) -> Iterator[None]:
    previous = markers.salt()
    markers.use_salt(salt)
    try:
        yield
    finally:
        markers.use_salt(previous)


@contextmanager
def _resolving(host: str, address: str) -> Iterator[None]:
    """``host`` resolves to ``address`` in this process (an /etc/hosts line, scoped)."""
    original = socket.getaddrinfo

    def getaddrinfo(name: Any, *args: Any, **kwargs: Any) -> Any:
        return original(address if name == host else name, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.getaddrinfo = original


@contextmanager
def _env(name: str, value: str | None) -> Iterator[None]:
    before = os.environ.get(name)
    _set(name, value)
    try:
        yield
    finally:
        _set(name, before)


def _set(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _post(url: str) -> None:
    with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10) as r:
        assert r.status == 200, f"{url}: HTTP {r.status}"


# ---- the script ----------------------------------------------------------------------------

def _aws_env(moto_url: str, tmp: Path) -> Callable[[], None]:
    """Only moto, with dummy credentials: nothing can reach a real account. Returns what
    puts the environment back."""
    saved = dict(os.environ)
    for name in [k for k in os.environ if k.startswith(("AWS_", "BOTO_"))
                 or k.lower().endswith("_proxy")]:
        del os.environ[name]
    os.environ.update({
        "AWS_ENDPOINT_URL": moto_url, "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true"})

    def restore() -> None:
        os.environ.clear()
        os.environ.update(saved)

    return restore


@contextmanager
def local_aws(tmp: Path) -> Iterator[str]:
    """moto's server on 127.0.0.1, in this process, with this process's AWS settings
    pointing at it (dummy credentials, no config files) until the block ends."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    url = f"http://127.0.0.1:{moto.get_host_and_port()[1]}"
    restore = _aws_env(url, tmp)
    try:
        yield url
    finally:
        restore()
        moto.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collected-at", default=os.environ.get("RECORD_COLLECTED_AT",
                                                                 COLLECTED_AT),
                        help=f"the recording's moment, ISO 8601 [default: {COLLECTED_AT}]")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--moto-seed", type=int, default=MOTO_SEED,
                        help="moto's seed (the recording is the same for any seed)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="record-chess-ai-") as tmp_dir:
        tmp = Path(tmp_dir)
        with local_aws(tmp) as url, live_world(tmp, url, seed=args.moto_seed) as world:
            text = record(world, args.collected_at)
    args.output.write_text(text, encoding="utf-8")
    doc = json.loads(text)
    kinds = sorted({r["kind"] for e in doc["environments"].values() for r in e["resources"]})
    print(f"wrote {args.output} ({len(text) // 1024} KiB, collected_at "
          f"{doc['collected_at']}): {', '.join(kinds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
