"""What of a live Kubernetes object is kept as read: an allow-list, everything else hashed.

Anyone with access to the cluster can write into an object (an annotation, a probe's
``Authorization`` header, a hook's command), and what is kept ends up in drift messages,
every report format, the site and snapshots. So only fields known to hold names, numbers,
references and settings are kept verbatim (:data:`KEPT`, per kind; annotations by key);
every other value becomes a salted hash marker (:mod:`auditor.live.markers`), which drift
can still compare with the declared value but nobody can read. The
``kubectl.kubernetes.io/last-applied-configuration`` annotation, a copy of a whole object,
is dropped; ``managedFields`` is kept in the compact form of
:mod:`auditor.live.field_managers` (managers, times and field names: who last wrote what).
An object nested deeper than a real one can be has its deep part replaced by an unknown
value.
"""

from __future__ import annotations

from typing import Any

from auditor.limits import MAX_DEPTH
from auditor.live.field_managers import compact
from auditor.live.markers import is_marker, marker
from auditor.unknown import Unknown

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Annotations kept as they are: controllers' bookkeeping and settings the checks read, by
# exact key or by a prefix whose every key is a name or a number. Ingress controllers'
# prefixes are not among them (an nginx `configuration-snippet` or `auth-url` can carry a
# credential), nor `checksum/*` (a plain hash of a rendered Secret).
SAFE_ANNOTATIONS = (
    "deployment.kubernetes.io/", "meta.helm.sh/", "cert-manager.io/", "pv.kubernetes.io/",
    "volume.kubernetes.io/", "volume.beta.kubernetes.io/", "storageclass.kubernetes.io/",
    "storageclass.beta.kubernetes.io/",
)
SAFE_ANNOTATION_KEYS = frozenset({
    "helm.sh/chart", "helm.sh/hook", "helm.sh/hook-weight", "helm.sh/hook-delete-policy",
    "helm.sh/resource-policy", "kubernetes.io/ingress.class",
    "kubectl.kubernetes.io/restartedAt", "kubectl.kubernetes.io/default-container",
    *(f"alb.ingress.kubernetes.io/{k}" for k in (
        "certificate-arn", "scheme", "target-type", "listen-ports", "ssl-redirect",
        "ssl-policy", "group.name", "load-balancer-name", "wafv2-acl-arn", "backend-protocol",
        "success-codes", "healthcheck-path", "healthcheck-port", "healthcheck-protocol",
        "healthcheck-interval-seconds", "healthcheck-timeout-seconds",
        "healthy-threshold-count", "unhealthy-threshold-count", "security-groups",
        "subnets", "ip-address-type",
        # Bucket and ACL names: what waf-on-alb and alb-access-logs read, no secret.
        "load-balancer-attributes", "wafv2-acl-name", "waf-acl-id")),
})
# StorageClass parameters that are sizes, types and references (never a key or password).
SAFE_PARAMETERS = frozenset({
    "type", "fsType", "csi.storage.k8s.io/fstype", "encrypted", "kmsKeyId", "iopsPerGB",
    "iops", "throughput", "allowAutoIOPSPerGBIncrease", "blockExpress", "blockSize",
    "replication-type", "skuName", "storageaccounttype", "kind", "zones", "zone",
})
_SAFE_PARAMETER_SUFFIXES = ("-secret-name", "-secret-namespace")

_META = ("metadata.name", "metadata.namespace", "metadata.uid", "metadata.resourceVersion",
         "metadata.generation", "metadata.creationTimestamp", "metadata.deletionTimestamp",
         "metadata.labels.*", "metadata.ownerReferences.**", "metadata.finalizers.*",
         "apiVersion", "kind", "status.**")
# httpGet.path is kept only without a query string or user info (see _probe_paths).
_PROBE = ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold",
          "failureThreshold", "terminationGracePeriodSeconds", "httpGet.path", "httpGet.port",
          "httpGet.scheme", "httpGet.httpHeaders.*.name", "tcpSocket.**", "grpc.**")
_CONTAINER = ("name", "image", "imagePullPolicy", "ports.**", "resources.**",
              "securityContext.**", "volumeMounts.**", "volumeDevices.**", "env.*.name",
              "env.*.valueFrom.**", "envFrom.**", "workingDir", "terminationMessagePath",
              "terminationMessagePolicy", "stdin", "stdinOnce", "tty", "restartPolicy",
              "resizePolicy.**",
              *(f"{probe}.{field}" for probe in ("readinessProbe", "livenessProbe",
                                                 "startupProbe") for field in _PROBE))
_POD = ("serviceAccountName", "serviceAccount", "automountServiceAccountToken",
        "nodeSelector.*", "affinity.**", "tolerations.**", "topologySpreadConstraints.**",
        "priorityClassName", "priority", "terminationGracePeriodSeconds", "dnsPolicy",
        "restartPolicy", "schedulerName", "securityContext.**", "imagePullSecrets.*.name",
        "hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace", "enableServiceLinks",
        "preemptionPolicy", "runtimeClassName", "activeDeadlineSeconds",
        "volumes.*.name", "volumes.*.configMap.**", "volumes.*.secret.**",
        "volumes.*.persistentVolumeClaim.**", "volumes.*.emptyDir.**",
        "volumes.*.projected.**", "volumes.*.downwardAPI.**", "volumes.*.hostPath.**",
        "volumes.*.ephemeral.**", "volumes.*.csi.driver", "volumes.*.csi.readOnly",
        *(f"{group}.*.{field}" for group in ("containers", "initContainers",
                                             "ephemeralContainers") for field in _CONTAINER))
_TEMPLATE = ("metadata.labels.*", *(f"spec.{field}" for field in _POD))
_WORKLOAD = ("spec.replicas", "spec.selector.**", "spec.strategy.**", "spec.updateStrategy.**",
             "spec.minReadySeconds", "spec.revisionHistoryLimit", "spec.progressDeadlineSeconds",
             "spec.paused", "spec.serviceName", "spec.podManagementPolicy",
             "spec.volumeClaimTemplates.**", "spec.persistentVolumeClaimRetentionPolicy.**",
             "spec.ordinals.**", *(f"spec.template.{field}" for field in _TEMPLATE))
_JOB = ("spec.backoffLimit", "spec.completions", "spec.parallelism", "spec.completionMode",
        "spec.activeDeadlineSeconds", "spec.ttlSecondsAfterFinished", "spec.suspend",
        "spec.selector.**", "spec.manualSelector", "spec.podFailurePolicy.**",
        *(f"spec.template.{field}" for field in _TEMPLATE))
_CRONJOB = ("spec.schedule", "spec.timeZone", "spec.concurrencyPolicy", "spec.suspend",
            "spec.startingDeadlineSeconds", "spec.successfulJobsHistoryLimit",
            "spec.failedJobsHistoryLimit", *(f"spec.jobTemplate.{f}" for f in _JOB))
# Kinds whose spec holds names, ports, sizes and references only.
_WHOLE_SPEC = ("spec.**",)
KEPT: dict[str, tuple[str, ...]] = {
    "Deployment": _WORKLOAD, "StatefulSet": _WORKLOAD, "DaemonSet": _WORKLOAD,
    "ReplicaSet": _WORKLOAD, "Job": _JOB, "CronJob": _CRONJOB,
    "Pod": tuple(f"spec.{field}" for field in _POD),
    "HorizontalPodAutoscaler": _WHOLE_SPEC, "Service": _WHOLE_SPEC, "Ingress": _WHOLE_SPEC,
    "PersistentVolumeClaim": _WHOLE_SPEC, "PodDisruptionBudget": _WHOLE_SPEC,
    "Certificate": _WHOLE_SPEC,
    "StorageClass": ("provisioner", "reclaimPolicy", "allowVolumeExpansion",
                     "volumeBindingMode", "allowedTopologies.**"),  # parameters: see below
    "ConfigMap": ("immutable",), "Secret": ("type", "immutable"),
    # The pull secrets' names the account gives pods; its `secrets` (token Secrets) are not
    # shown, not even by name.
    "ServiceAccount": ("imagePullSecrets.*.name", "automountServiceAccountToken"),
}


# Branches of the tree where each key decides whether its value is kept (see _BY_KEY).
_ANNOTATIONS, _PARAMETERS = "annotations", "parameters"


def _tree(patterns: tuple[str, ...]) -> dict[str, Any]:
    """Patterns as a tree of path segments (``*``: any key or item). A pattern's last
    segment (or ``**``) keeps everything below it."""
    root: dict[str, Any] = {}
    for pattern in patterns:
        steps = pattern.removesuffix(".**").split(".")
        node = root
        for step in steps[:-1]:
            child = node.setdefault(step, {})
            if not isinstance(child, dict):
                break  # already kept whole (or annotations): nothing more to add
            node = child
        else:
            node[steps[-1]] = True
    return root


def _by_key(tree: dict[str, Any], branch: str, *paths: tuple[str, ...]) -> dict[str, Any]:
    """``tree`` with ``branch`` (a _BY_KEY name) placed at each of ``paths``."""
    for path in paths:
        node: Any = tree
        for step in path:
            node = node.setdefault(step, {}) if isinstance(node, dict) else None
        if isinstance(node, dict):  # (under a branch kept whole there is nothing to add)
            node[branch] = branch
    return tree


_METADATA = (("metadata",), ("spec", "template", "metadata"),
             ("spec", "jobTemplate", "spec", "template", "metadata"))
_TREES = {kind: _by_key(_tree((*_META, *kept)), _ANNOTATIONS, *_METADATA)
          for kind, kept in KEPT.items()}
_by_key(_TREES["StorageClass"], _PARAMETERS, ())
_DEFAULT = _by_key(_tree(_META), _ANNOTATIONS, ("metadata",))


def kubernetes(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``body`` with every value not on the kind's allow-list hashed."""
    meta = body.get("metadata")
    managed = None
    if isinstance(meta, dict) and "managedFields" in meta:  # compacted, not hashed
        # A Secret's would list its data keys, which nothing else of it shows.
        managed = compact(meta["managedFields"]) if kind != "Secret" else None
        body = {**body, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    out: dict[str, Any] = _walk(body, _TREES.get(kind, _DEFAULT), 1)
    _probe_paths(out.get("spec"))
    if managed and isinstance(out.get("metadata"), dict):
        out["metadata"]["managedFields"] = managed
    return out


def annotations_of(annotations: dict[str, Any]) -> dict[str, Any]:
    """Safe keys as they are, others hashed, the last-applied copy of the object dropped."""
    return {k: (v if str(k) in SAFE_ANNOTATION_KEYS or str(k).startswith(SAFE_ANNOTATIONS)
                else marker(v)) for k, v in annotations.items() if k != LAST_APPLIED}


def _parameters(params: dict[str, Any]) -> dict[str, Any]:
    """A StorageClass's parameters: known sizes, types and secret *names* as they are."""
    return {k: (v if str(k) in SAFE_PARAMETERS or str(k).endswith(_SAFE_PARAMETER_SUFFIXES)
                else marker(v)) for k, v in params.items()}


_BY_KEY = {_ANNOTATIONS: annotations_of, _PARAMETERS: _parameters}


def _probe_paths(value: Any) -> None:
    """A probe path with a query string or user info (``/healthz?token=...``) is hashed:
    only a plain path is a name."""
    if isinstance(value, dict):
        get = value.get("httpGet")
        if isinstance(get, dict) and isinstance(get.get("path"), str) and (
                "?" in get["path"] or "@" in get["path"] or "#" in get["path"]):
            get["path"] = marker(get["path"])
        for item in value.values():
            _probe_paths(item)
    elif isinstance(value, list):
        for item in value:
            _probe_paths(item)


def _walk(value: Any, allowed: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        return _TOO_DEEP
    if isinstance(allowed, str) and isinstance(value, dict):
        return _bounded(_BY_KEY[allowed](value), depth)
    if allowed is True or is_marker(value) or isinstance(value, Unknown):
        return _bounded(value, depth)
    branch = allowed if isinstance(allowed, dict) else {}
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            child = branch.get(str(key), branch.get("*", {}))
            walked = _walk(item, child, depth + 1)
            if not (child == _ANNOTATIONS and walked == {}):  # only the last-applied copy
                out[key] = walked
        return out
    if isinstance(value, list):
        return [_walk(v, branch.get("*", {}), depth + 1) for v in value]
    return value if value is None or value == "" else marker(value)  # nothing to hide


_TOO_DEEP = Unknown(f"nested more than {MAX_DEPTH} levels deep: not read", failed=True)


def _bounded(value: Any, depth: int) -> Any:
    """A kept value as it is, unless it nests past the limit."""
    if depth > MAX_DEPTH:
        return _TOO_DEEP
    if isinstance(value, dict) and not is_marker(value):
        return {k: _bounded(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_bounded(v, depth + 1) for v in value]
    return value
