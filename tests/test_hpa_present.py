"""hpa-present at its floor: min_replicas is the lowest *acceptable* HPA minReplicas.

The policy's parameter says so ("Lowest acceptable HPA minReplicas", default 2) and so does
its purpose: two replicas keep one pod serving while the other restarts. So minReplicas
equal to the floor passes, one below fails, and an HPA without minReplicas has the API's
default of 1.
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor import engine
from auditor.models import Inventory, Resource
from auditor.pipeline import PLACEHOLDERS
from auditor.policies import PACK_DIR, load_file

POLICY = load_file(PACK_DIR / "hpa-present.yaml")


def _status(low: Any, **params: Any) -> tuple[str, str]:
    spec: dict[str, Any] = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                               "name": "app"}, "maxReplicas": 10}
    if low is not None:
        spec["minReplicas"] = low
    inv = Inventory("prod", "declared", [
        Resource("Deployment", "app", {"spec": {"replicas": 2}}, "k8s"),
        Resource("HorizontalPodAutoscaler", "app", {"spec": spec}, "k8s")],
        [], dict(PLACEHOLDERS))
    (result,) = engine.evaluate([POLICY], inv, {"hpa-present": params} if params else {})
    return result.status, result.message


@pytest.mark.parametrize(("low", "status"), [(1, "fail"), (2, "pass"), (3, "pass"),
                                             (None, "fail"), ("2", "pass"), ("1", "fail")])
def test_default_floor_of_two(low: Any, status: str) -> None:
    assert POLICY.params({})["min_replicas"] == 2
    assert _status(low)[0] == status


@pytest.mark.parametrize(("low", "status"), [(2, "fail"), (3, "pass"), (4, "pass")])
def test_a_raised_floor(low: int, status: str) -> None:
    assert _status(low, min_replicas=3)[0] == status


def test_below_the_floor_names_both_numbers() -> None:
    status, message = _status(2, min_replicas=3)
    assert status == "fail"
    assert "HPA app has minReplicas 2 (at least 3 keeps" in message
