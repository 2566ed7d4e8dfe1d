"""Per-kind comparison rules: which subtrees are compared, which objects are closed, and
what the Kubernetes API server and AWS fill in for a field the declared side omits.

The Kubernetes defaults are the API's own (a probe's ``timeoutSeconds: 1``, a Deployment's
25 % surge); the AWS ones are the provider's (a target group's health check). A value the
server allocates (a Service's clusterIP) is ``ANY``; a default that depends on the live
object (imagePullPolicy by image tag, a health check's timeout by its protocol) is a
function of its parent.
"""

from __future__ import annotations

from typing import Any

from auditor import k8s
from auditor.drift.normalize import ANY, Default, Pattern, Rules


def _pull_policy(live_container: Any) -> str:
    """The API's default: Always for ``:latest`` or an untagged image, else IfNotPresent."""
    image = str(live_container.get("image", "")) if isinstance(live_container, dict) else ""
    name = image.rsplit("/", 1)[-1]
    if "@" in name:
        return "IfNotPresent"
    return "Always" if ":" not in name or name.endswith(":latest") else "IfNotPresent"


def _target_port(live_port: Any) -> Any:
    return live_port.get("port") if isinstance(live_port, dict) else None


_PROBE = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
          "failureThreshold": 3, "initialDelaySeconds": 0}
_CONTAINER: dict[Pattern, Default] = {
    ("terminationMessagePath",): "/dev/termination-log", ("terminationMessagePolicy",): "File",
    ("imagePullPolicy",): _pull_policy, ("resources",): {}, ("ports", "*", "protocol"): "TCP",
    ("env", "*", "valueFrom", "fieldRef", "apiVersion"): "v1",
    **{(probe, key): value for probe in ("livenessProbe", "readinessProbe", "startupProbe")
       for key, value in _PROBE.items()},
    **{(probe, "httpGet", "scheme"): "HTTP"
       for probe in ("livenessProbe", "readinessProbe", "startupProbe")},
}  # fmt: skip
_CONTAINER_CLOSED: list[Pattern] = [
    (), ("resources",), ("resources", "limits"), ("resources", "requests"), ("ports", "*"),
    *[(probe, *sub) for probe in ("livenessProbe", "readinessProbe", "startupProbe")
      for sub in ((), ("httpGet",))],
]
_POD: dict[Pattern, Default] = {
    ("dnsPolicy",): "ClusterFirst", ("restartPolicy",): "Always",
    ("schedulerName",): "default-scheduler", ("securityContext",): {},
    ("terminationGracePeriodSeconds",): 30, ("enableServiceLinks",): True,
    ("serviceAccount",): ANY,  # the deprecated mirror of serviceAccountName
    **{("volumes", "*", source, "defaultMode"): 0o644
       for source in ("configMap", "secret", "projected")},
}  # fmt: skip
_WORKLOAD_SPEC: dict[str, dict[Pattern, Default]] = {
    "Deployment": {("revisionHistoryLimit",): 10, ("progressDeadlineSeconds",): 600,
                   ("minReadySeconds",): 0, ("strategy",): {
                       "type": "RollingUpdate",
                       "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}},
    "StatefulSet": {("revisionHistoryLimit",): 10, ("podManagementPolicy",): "OrderedReady",
                    ("updateStrategy",): {"type": "RollingUpdate",
                                          "rollingUpdate": {"partition": 0}},
                    ("persistentVolumeClaimRetentionPolicy",): ANY, ("minReadySeconds",): 0},
    "DaemonSet": {("revisionHistoryLimit",): 10, ("minReadySeconds",): 0, ("updateStrategy",): {
        "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}},
}  # fmt: skip


def _workload(kind: str) -> Rules:
    pod = tuple(str(p) for p in k8s.pod_spec_path(kind) or ())
    containers = [(*pod, "containers", "*"), (*pod, "initContainers", "*")]
    defaults: dict[Pattern, Default] = {("spec", "replicas"): 1}
    defaults |= {("spec", *p): v for p, v in _WORKLOAD_SPEC.get(kind, {}).items()}
    defaults |= {(*pod, *p): v for p, v in _POD.items()}
    defaults |= {(*c, *p): v for c in containers for p, v in _CONTAINER.items()}
    closed = {("spec",), pod, (*pod, "nodeSelector")}
    closed |= {(*c, *p) for c in containers for p in _CONTAINER_CLOSED}
    return Rules(roots=(("spec",),), closed=frozenset(closed), defaults=defaults,
                 skip=frozenset({("spec", "replicas")}))


HELM_RULES: dict[str, Rules] = {
    **{kind: _workload(kind) for kind in ("Deployment", "StatefulSet", "DaemonSet")},
    "Service": Rules(
        roots=(("spec",),),
        closed=frozenset({("spec",), ("spec", "ports", "*"), ("spec", "selector")}),
        defaults={("spec", "type"): "ClusterIP", ("spec", "sessionAffinity"): "None",
                  ("spec", "internalTrafficPolicy"): "Cluster",
                  ("spec", "ports", "*", "protocol"): "TCP",
                  ("spec", "ports", "*", "targetPort"): _target_port,
                  **{("spec", k): ANY for k in (
                      "clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy",
                      "externalTrafficPolicy", "healthCheckNodePort", "sessionAffinityConfig",
                      "allocateLoadBalancerNodePorts", "loadBalancerClass")},
                  ("spec", "ports", "*", "nodePort"): ANY}),
    "ConfigMap": Rules(roots=(("data",), ("binaryData",)),
                       closed=frozenset({("data",), ("binaryData",)})),
    "Ingress": Rules(roots=(("metadata", "annotations"), ("spec",))),
    "PersistentVolumeClaim": Rules(
        roots=(("spec",),), closed=frozenset({("spec", "resources", "requests")}),
        defaults={("spec", "volumeMode"): "Filesystem", ("spec", "volumeName"): ANY,
                  ("spec", "storageClassName"): ANY}),
    "PodDisruptionBudget": Rules(roots=(("spec",),)),
}

HPA_RULES = Rules(
    roots=(("spec", "minReplicas"), ("spec", "maxReplicas"), ("spec", "metrics")),
    closed=frozenset({("spec", "metrics", "*", "resource", "target"),
                      ("spec", "metrics", "*", "pods", "target"),
                      ("spec", "metrics", "*", "object", "target"),
                      ("spec", "metrics", "*", "external", "target"),
                      ("spec", "metrics", "*", "containerResource", "target")}),
    defaults={("spec", "minReplicas"): 1})
REPLICA_RULES = Rules(roots=(("spec", "replicas"),), defaults={("spec", "replicas"): 1})

_HTTP = ("HTTP", "HTTPS")


def _http(live_check: Any) -> bool:
    protocol = live_check.get("protocol", "HTTP") if isinstance(live_check, dict) else "HTTP"
    return str(protocol).upper() in _HTTP


def _timeout(live_check: Any) -> Any:
    """The provider leaves the timeout to AWS: 5 s for an HTTP(S) check of instance or IP
    targets, 10 s for TCP; what else it is (Lambda targets) is not known here."""
    protocol = live_check.get("protocol", "HTTP") if isinstance(live_check, dict) else "HTTP"
    return 5 if str(protocol).upper() in _HTTP else 10 if str(protocol).upper() in (
        "TCP", "TLS", "UDP", "TCP_UDP") else ANY


# What the AWS provider sends for a `health_check {}` block that omits them (its own
# defaults, 3 and 3, not the API's 5 and 2); matcher and path only mean something for HTTP.
_HEALTH_CHECK: dict[str, Default] = {
    "enabled": True, "port": "traffic-port", "protocol": "HTTP", "interval": 30,
    "healthy_threshold": 3, "unhealthy_threshold": 3, "timeout": _timeout,
    "matcher": lambda live: "200" if _http(live) else ANY,
    "path": lambda live: "/" if _http(live) else ANY}
TERRAFORM_RULES: dict[str, Rules] = {
    "DBParameterGroup": Rules(roots=(("parameters",),), closed=frozenset({("parameters",)})),
    "Nodegroup": Rules(roots=(("scaling_config",),), closed=frozenset({("scaling_config",)})),
    "TargetGroup": Rules(roots=(("port",), ("health_check",)),
                         closed=frozenset({("health_check",)}),
                         defaults={("health_check", k): v for k, v in _HEALTH_CHECK.items()}),
    "StorageClass": Rules(roots=(("allowVolumeExpansion",),),
                          defaults={("allowVolumeExpansion",): False}),
    # publicly_accessible: the runbook's "could not connect" shortcut that exposes the DB;
    # vpc_security_group_ids: a group added to (or swapped on) the database by hand.
    "DBInstance": Rules(roots=(("backup_retention_period",), ("deletion_protection",),
                               ("multi_az",), ("instance_class",), ("publicly_accessible",),
                               ("vpc_security_group_ids",)),
                        defaults={("deletion_protection",): False, ("multi_az",): False,
                                  ("publicly_accessible",): False}),
    # Access logs switched off, or the WAF taken off, by hand (web_acl compares as present:
    # Terraform holds a reference where AWS holds the ARN; see normalize.clean).
    "LoadBalancer": Rules(roots=(("access_logs",), ("web_acl",)),
                          defaults={("access_logs", "enabled"): False,
                                    ("access_logs", "prefix"): ""}),
    # Rotation configured (or cancelled) by CLI, as the runbook's breach procedure does.
    "SecretsManagerSecret": Rules(roots=(("rotation_enabled",),),
                                  defaults={("rotation_enabled",): False}),
    # multi_az: a replica in another zone (derived from the declared cluster instances).
    "DBCluster": Rules(roots=(("backup_retention_period",), ("deletion_protection",),
                              ("multi_az",), ("vpc_security_group_ids",)),
                       defaults={("deletion_protection",): False,
                                 ("backup_retention_period",): 1}),
}
