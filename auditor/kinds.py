"""The kinds a policy may name: what the sources produce, and custom resources by group.

A policy's ``kinds`` are matched by name, so a typo (``Deploymnet``) would match nothing
and report nothing: the loader rejects a kind that is neither one of these nor written
``Kind.group`` (a custom resource, as ``kubectl get`` names it:
``ServiceMonitor.monitoring.coreos.com``), which matches objects of that kind whose
apiVersion is in that group.
"""

from __future__ import annotations

import difflib
from typing import Any

# Built-in Kubernetes kinds (the API server's own groups).
KUBERNETES = frozenset({
    "Pod", "Service", "ConfigMap", "Secret", "ServiceAccount", "Namespace", "Node",
    "PersistentVolume", "PersistentVolumeClaim", "Endpoints", "Event", "LimitRange",
    "ResourceQuota", "ReplicationController", "PodTemplate",
    "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ControllerRevision",
    "Job", "CronJob", "Ingress", "IngressClass", "NetworkPolicy", "PodDisruptionBudget",
    "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "HorizontalPodAutoscaler",
    "StorageClass", "VolumeAttachment", "CSIDriver", "CSINode", "CSIStorageCapacity",
    "VolumeAttributesClass", "PriorityClass", "RuntimeClass", "Lease", "EndpointSlice",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
    "CustomResourceDefinition", "APIService", "CertificateSigningRequest",
    "ClusterTrustBundle", "FlowSchema", "PriorityLevelConfiguration",
    "ResourceClaim", "ResourceClaimTemplate", "DeviceClass", "ResourceSlice",
})  # fmt: skip
# What the tool's own sources make: chart values, Terraform and AWS, TLS endpoints, and the
# custom resources its live collector reads by name (cert-manager's Certificate).
TOOL = frozenset({
    "Certificate", "HelmValues", "TLSEndpoint", "AWSAccount", "SecurityGroup", "DBInstance",
    "DBCluster", "DBClusterInstance", "DBParameterGroup", "DBClusterParameterGroup", "Nodegroup",
    "TargetGroup", "LoadBalancer", "ACMCertificate", "MetricAlarm", "SecretsManagerSecret",
    "CloudTrailEvents",
})  # fmt: skip
KNOWN = KUBERNETES | TOOL
# What the live side reads (the Kubernetes, AWS and TLS collectors, and the chart values it
# is given): a live policy on another kind would check nothing, silently.
LIVE = frozenset({
    "Certificate", "ConfigMap", "CronJob", "DaemonSet", "Deployment",
    "HorizontalPodAutoscaler", "Ingress", "Job", "PersistentVolumeClaim",
    "PodDisruptionBudget", "Secret", "Service", "ServiceAccount", "StatefulSet",
    "StorageClass", "ACMCertificate", "AWSAccount", "DBCluster", "DBClusterInstance",
    "DBInstance", "DBParameterGroup", "LoadBalancer", "MetricAlarm", "Nodegroup",
    "SecretsManagerSecret", "SecurityGroup", "TargetGroup", "TLSEndpoint", "HelmValues",
    "CloudTrailEvents",
})  # fmt: skip


def problem(kind: str) -> str | None:
    """Why a policy may not name ``kind``, or None."""
    if kind in KNOWN:
        return None
    name, dot, group = kind.partition(".")
    if dot and name[:1].isupper() and name.isalnum() and group and "." in group:
        return None  # Kind.group: a custom resource
    close = difflib.get_close_matches(kind, sorted(KNOWN), n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return (f"unknown kind {kind!r}: {hint}a custom resource is written Kind.group, e.g. "
            "ServiceMonitor.monitoring.coreos.com")


def matches(pattern: str, kind: str, body: Any) -> bool:
    """Whether an object of ``kind`` (with ``body``) is one a policy's ``pattern`` names."""
    name, dot, group = pattern.partition(".")
    if not dot:
        return kind == pattern
    api = body.get("apiVersion") if isinstance(body, dict) else None
    return kind == name and isinstance(api, str) and api.rpartition("/")[0] == group
