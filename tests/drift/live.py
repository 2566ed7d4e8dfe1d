"""Live copies of declared objects, as the collectors return them with nothing changed.

Kubernetes objects get what the API server adds (defaults, canonical quantities, allocated
IPs, bookkeeping metadata, status) and come back in another order, a ConfigMap's data as
the hash markers a snapshot keeps; AWS resources get the collector's live-only extras and
AWS's own spelling. Auditing such a copy against its declared original must find no
drift: every test of real drift starts from one and changes exactly one thing.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from auditor.checks.base import CheckContext, Outcome
from auditor.checks.drift import helm_drift, hpa_drift, terraform_drift
from auditor.models import Inventory, Resource

CHECKS = {"helm-drift": helm_drift, "hpa-drift": hpa_drift, "terraform-drift": terraform_drift}
_PROBE = {"successThreshold": 1}


def live_copy(declared: Inventory) -> list[Resource]:
    out = []
    for r in declared.resources:
        if r.kind == "HelmValues":
            continue
        body = copy.deepcopy(r.body)
        if "apiVersion" in body:
            _server_side(r.kind, body)
            source = "kubernetes chess-ai-prod"
        else:
            body.update(_AWS_EXTRAS.get(r.kind, {}))
            _aws_spelling(r.kind, body)
            source = "aws us-east-1"
        out.append(Resource(kind=r.kind, name=r.name, namespace=r.namespace, body=body,
                            source=source))
    out.append(Resource(kind="AWSAccount", name="us-east-1", source="aws us-east-1",
                        body={"region": "us-east-1", "guardduty_detectors": [], "trails": []}))
    return out


def drift_inventory(declared: Inventory, live: list[Resource],
                    unavailable: dict[str, str] | None = None) -> Inventory:
    return Inventory(declared.environment, "drift", live, [], dict(declared.names),
                     dict(unavailable or {}), baseline=declared)


def run(check: str, declared: Inventory, live: list[Resource],
        unavailable: dict[str, str] | None = None) -> list[Outcome]:
    return CHECKS[check](CheckContext(drift_inventory(declared, live, unavailable), {}))


def find(live: list[Resource], kind: str, name: str | None = None) -> Resource:
    return next(r for r in live if r.kind == kind and (name is None or r.name == name))


def _server_side(kind: str, body: dict[str, Any]) -> None:
    meta = body["metadata"]
    meta.update(uid="6f1c2d0e-8b1a-4c55-9d3e-2b7f0a9c4e11", resourceVersion="9133442",
                generation=4, creationTimestamp="2024-05-02T10:11:12Z",
                managedFields=[{"manager": "helm", "operation": "Update"}])
    meta["annotations"] = {**meta.get("annotations", {}),
                           "meta.helm.sh/release-name": "chess-ai",
                           "meta.helm.sh/release-namespace": "chess-ai",
                           "kubectl.kubernetes.io/last-applied-configuration": "{}"}
    body["status"] = {"observedGeneration": 4}
    spec = body.get("spec")
    if kind == "Deployment":
        meta["annotations"]["deployment.kubernetes.io/revision"] = "4"
        spec.setdefault("replicas", 7)  # the HPA's current count
        spec.setdefault("progressDeadlineSeconds", 600)
        template = spec["template"]
        template["metadata"]["creationTimestamp"] = None
        template["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] = \
            "2024-05-03T08:00:00Z"  # `kubectl rollout restart` is not a config change
        _pod(template["spec"])
        body["status"] = {"replicas": 7, "readyReplicas": 7, "availableReplicas": 7}
    elif kind == "Service":
        spec.update(clusterIP="172.20.14.3", clusterIPs=["172.20.14.3"], ipFamilies=["IPv4"],
                    ipFamilyPolicy="SingleStack", internalTrafficPolicy="Cluster",
                    sessionAffinity="None")
        body["status"] = {"loadBalancer": {}}
    elif kind == "HorizontalPodAutoscaler":
        spec["behavior"]["scaleUp"] = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                                       "policies": [{"type": "Pods", "value": 4,
                                                     "periodSeconds": 15}]}
        body["status"] = {"currentReplicas": 7, "desiredReplicas": 7}
    elif kind == "PersistentVolumeClaim":
        spec.update(volumeName="pvc-0d5c6b2a-3f1e-4a7b-9c8d-1e2f3a4b5c6d",
                    volumeMode="Filesystem")
        body["status"] = {"phase": "Bound", "capacity": {"storage": "100Gi"}}
    elif kind == "StorageClass" and body.get("allowVolumeExpansion") is False:
        del body["allowVolumeExpansion"]  # the API omits an unset false
    elif kind == "ConfigMap":  # its content as a snapshot keeps it: a hash per key
        body["data"] = {k: {"$sha256": hashlib.sha256(str(v).encode()).hexdigest()}
                        for k, v in body.get("data", {}).items()}


def _pod(pod: dict[str, Any]) -> None:
    pod.update(dnsPolicy="ClusterFirst", restartPolicy="Always",
               schedulerName="default-scheduler", terminationGracePeriodSeconds=30,
               serviceAccount=pod.get("serviceAccountName"))
    for c in pod["containers"]:
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("imagePullPolicy", "Always" if ":" not in c["image"].rsplit("/", 1)[-1]
                     else "IfNotPresent")
        c.setdefault("resources", {})
        for probe in ("readinessProbe", "livenessProbe"):
            if probe in c:
                c[probe].update(_PROBE)
                c[probe]["httpGet"]["scheme"] = "HTTP"
        requests = c["resources"].get("requests", {})
        if requests.get("cpu") == "1000m":
            requests["cpu"] = "1"  # the API's canonical spelling
        if isinstance(c.get("env"), list):
            c["env"].reverse()
    pod["containers"].reverse()


_AWS_EXTRAS: dict[str, dict[str, Any]] = {
    "SecurityGroup": {"id": "sg-0db5432aaaabbbbcc"},
    "Nodegroup": {"status": "ACTIVE",
                  "instance_capacity": {"cpu": 4, "memory": "16384Mi", "pods": 58}},
    "TargetGroup": {"targets": [{"id": "10.40.1.15", "port": 8000, "state": "healthy"}]},
    "DBInstance": {"status": "available", "instance_memory_bytes": 17179869184,
                   # last night's backup, whenever the test runs
                   "latest_snapshot_time": (datetime.now(UTC).replace(microsecond=0)
                                            - timedelta(hours=9)).isoformat()},
}


def _aws_spelling(kind: str, body: dict[str, Any]) -> None:
    if kind == "SecurityGroup":
        body.pop("standalone_rules", None)  # the declared shape's own marker
        for direction in ("ingress", "egress"):
            rules = body.get(direction) or []
            rules.reverse()
            for rule in rules:
                rule["description"] = None  # AWS keeps descriptions per source, not per rule
    elif kind == "TargetGroup":
        body["health_check"].pop("enabled", None)  # not in the live shape
    elif kind == "DBParameterGroup":
        body["parameters"] = {k: int(v) if str(v).isdigit() else v
                              for k, v in reversed(body["parameters"].items())}
