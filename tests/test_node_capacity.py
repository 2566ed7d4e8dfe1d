"""nodegroup-capacity at its boundary: pods that fill the node group exactly fit.

The scheduler's NodeResourcesFit filter rejects a node only when the pod's request is
*more* than allocatable minus what is already requested (``podRequest.MilliCPU >
allocatable - requested``), and kubelet's pod cap likewise only when the node already runs
maxPods. So requests equal to what a node offers fit, and one millicpu or one byte more
does not. The check counts whole pods per node (after one pod of each DaemonSet) times
max_size and compares that with the HPA's maxReplicas; with several workloads it also
compares their summed requests at full scale-out with what max_size nodes offer.
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor import engine
from auditor.models import Inventory, Resource
from auditor.pipeline import PLACEHOLDERS
from auditor.policies import PACK_DIR, load_file

POLICY = load_file(PACK_DIR / "nodegroup-capacity.yaml")
NODE = {"m6i.xlarge": {"cpu": "4", "memory": "16Gi"}}  # what one node offers pods
MAX_SIZE = 6
GI = 2**30


def _group() -> Resource:
    return Resource("Nodegroup", "general", {
        "instance_types": ["m6i.xlarge"],
        "scaling_config": {"min_size": 1, "max_size": MAX_SIZE, "desired_size": 2}}, "tf")


def _pods(kind: str, name: str, cpu: str, memory: str) -> Resource:
    return Resource(kind, name, {"spec": {"template": {"spec": {"containers": [
        {"name": name, "resources": {"requests": {"cpu": cpu, "memory": memory}}}]}}}}, "k8s")


def _hpa(name: str, max_replicas: int) -> Resource:
    return Resource("HorizontalPodAutoscaler", name, {"spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
        "minReplicas": 2, "maxReplicas": max_replicas}}, "k8s")


def _statuses(*resources: Resource, **params: Any) -> dict[str | None, str]:
    inv = Inventory("prod", "declared", [_group(), *resources], [], dict(PLACEHOLDERS))
    overrides = {"nodegroup-capacity": {"instance_types": NODE, **params}}
    return {r.item: r.status for r in engine.evaluate([POLICY], inv, overrides)}


def _one(cpu: str, memory: str, replicas: int, *daemons: Resource,
         **params: Any) -> dict[str | None, str]:
    return _statuses(_pods("Deployment", "api", cpu, memory), _hpa("api", replicas),
                     *daemons, **params)


@pytest.mark.parametrize(("cpu", "memory", "replicas", "status"), [
    # 4 pods of 1 CPU per 4-CPU node x 6 nodes = 24: exactly the HPA's maximum
    ("1", "1Gi", 24, "pass"),
    ("1", "1Gi", 25, "fail"),  # one replica more than fits
    ("1001m", "1Gi", 24, "fail"),  # one millicpu more: 3 per node, 18
    ("999m", "1Gi", 24, "pass"),
    # 4 pods of 4Gi per 16Gi node, memory deciding (CPU would fit 40)
    ("100m", "4Gi", 24, "pass"),
    ("100m", str(4 * GI + 1), 24, "fail"),  # one byte more: 3 per node, 18
    ("100m", str(4 * GI - 1), 24, "pass"),
])
def test_requests_equal_to_the_node_fit(cpu: str, memory: str, replicas: int,
                                        status: str) -> None:
    assert _one(cpu, memory, replicas) == {"api": status}


def test_exact_fit_message_counts_whole_pods() -> None:
    inv = Inventory("prod", "declared", [_group(), _pods("Deployment", "api", "1001m", "1Gi"),
                                         _hpa("api", 24)], [], dict(PLACEHOLDERS))
    (result,) = engine.evaluate([POLICY], inv, {"nodegroup-capacity": {"instance_types": NODE}})
    assert result.status == "fail"
    assert "3 pod(s) of api" in result.message and "18 on max_size 6" in result.message


# One DaemonSet pod per node takes 500m and 512Mi: 3.5 CPU and 15.5Gi are left, which
# 4 pods of 875m / 3968Mi fill exactly.
@pytest.mark.parametrize(("daemon", "cpu", "memory", "status"), [
    (("500m", "512Mi"), "875m", "3968Mi", "pass"),
    (("500m", "512Mi"), "876m", "3968Mi", "fail"),  # one millicpu more per pod
    (("500m", "512Mi"), "875m", str(3968 * 2**20 + 1), "fail"),  # one byte more per pod
    (("501m", "512Mi"), "875m", "3968Mi", "fail"),  # one millicpu more on the DaemonSet
    (("500m", str(512 * 2**20 + 1)), "875m", "3968Mi", "fail"),  # one byte more on it
])
def test_daemonsets_come_off_each_node_at_the_boundary(daemon: tuple[str, str], cpu: str,
                                                      memory: str, status: str) -> None:
    ds = _pods("DaemonSet", "node-exporter", *daemon)
    assert _one(cpu, memory, 24, ds) == {"api": status}


@pytest.mark.parametrize(("max_pods", "status"), [(5, "pass"), (4, "fail"), (6, "pass")])
def test_the_pod_cap_at_the_boundary(max_pods: int, status: str) -> None:
    """kubelet's maxPods counts the DaemonSet's pod: 5 leaves 4 per node, 24 in all."""
    ds = _pods("DaemonSet", "node-exporter", "10m", "16Mi")
    assert _one("10m", "16Mi", 24, ds, max_pods_per_node=max_pods) == {"api": status}


@pytest.mark.parametrize(("api", "worker", "together"), [
    # 23 + 1 CPU = 24 = what 6 nodes offer: no "all workloads" outcome
    (("1", "1Gi"), ("1", "1Gi"), None),
    (("1", "1Gi"), ("1001m", "1Gi"), "fail"),  # 24.001 > 24: one millicpu over
    # 23 x 4Gi + 4Gi = 96Gi = 6 x 16Gi
    (("100m", "4Gi"), ("100m", "4Gi"), None),
    (("100m", "4Gi"), ("100m", str(4 * GI + 1)), "fail"),  # one byte over
])
def test_all_workloads_together_at_the_boundary(api: tuple[str, str], worker: tuple[str, str],
                                                together: str | None) -> None:
    """23 pods of api and one of worker: each fits alone, and together they fill the
    group exactly when worker requests what api does."""
    statuses = _statuses(_pods("Deployment", "api", *api), _hpa("api", 23),
                         _pods("Deployment", "worker", *worker), _hpa("worker", 1))
    assert statuses.pop("all workloads", None) == together
    assert statuses == {"api": "pass", "worker": "pass"}
