"""What both capacity checks reckon with, and the live RDS collector too.

The Kubernetes side: which workloads a check is about and the most pods each may run (its
HPA's maxReplicas). The AWS side: RDS's default max_connections formulas, the nominal
memory of an instance class, and the evaluation of a formula over it.
"""

from __future__ import annotations

import re
from typing import Any

from auditor import k8s
from auditor.checks.scaling import SCALABLE
from auditor.models import Inventory, Resource
from auditor.paths import MISSING, get
from auditor.unknown import Unknown

# RDS's defaults when the parameter group does not set max_connections.
DEFAULT_MAX_CONNECTIONS = {"postgres": "LEAST({DBInstanceClassMemory/9531392},5000)",
                           "mysql": "{DBInstanceClassMemory/12582880}",
                           # Aurora MySQL's is logarithmic: not evaluated, so never a guess.
                           "aurora-mysql": "GREATEST({log(DBInstanceClassMemory/805306368)*45},"
                                           "{log(DBInstanceClassMemory/8187281408)*1000})"}
# Nominal GiB of a "large" per family letter. Never below the real size (x2g.large has 32):
# the value is only used as an upper bound, so a fail stays true and nothing passes on it.
_GIB_PER_LARGE = {"t": 8, "m": 8, "r": 16, "x": 64, "z": 16}
_T_SMALL = {"micro": 1, "small": 2, "medium": 4}


def class_memory_gib(instance_class: str) -> int | None:
    """Nominal memory of an RDS instance class (``db.r6g.large`` -> 16), None if unknown."""
    m = re.fullmatch(r"db\.([a-z])(\d+)[a-z]*\.(\w+)", instance_class)
    if not m:
        return None
    family, size = m.group(1), m.group(3)
    if family == "t" and size in _T_SMALL:
        return _T_SMALL[size]
    per_large = _GIB_PER_LARGE.get(family)
    if per_large is None:
        return None
    if size == "large":
        return per_large
    sized = re.fullmatch(r"(\d*)xlarge", size)
    return per_large * 2 * int(sized.group(1) or 1) if sized else None


def eval_formula(formula: str, memory_bytes: int) -> int | None:
    """RDS parameter formulas: numbers, {DBInstanceClassMemory/N}, LEAST/GREATEST/SUM."""
    text = formula.replace(" ", "")
    m = re.fullmatch(r"(LEAST|GREATEST|SUM)\((.*)\)", text)
    if m:
        parts = [eval_formula(p, memory_bytes) for p in m.group(2).split(",")]
        if any(p is None for p in parts) or not parts:
            return None
        values = [p for p in parts if p is not None]
        if m.group(1) == "LEAST":
            return min(values)
        return max(values) if m.group(1) == "GREATEST" else sum(values)
    m = re.fullmatch(r"\{DBInstanceClassMemory/(\d+)\}", text)
    if m:
        return memory_bytes // int(m.group(1))
    return int(text) if text.isdigit() else None


def replicas_max(inv: Inventory, workload: Resource) -> int | Unknown:
    """The most pods a workload may run: its HPA's maxReplicas, else spec.replicas (1).
    Unknown when that value, or whether an HPA targets the workload, is not known."""
    hpas = inv.of_kind("HorizontalPodAutoscaler")
    mine = k8s.hpas_for(workload, hpas)
    if not mine:
        for hpa in (h for h in hpas if h.namespace == workload.namespace):
            spec = hpa.body.get("spec")
            ref = spec.get("scaleTargetRef") if isinstance(spec, dict) else spec
            parts = [ref.get("kind"), ref.get("name")] if isinstance(ref, dict) else [ref]
            doubt = next((v for v in parts if isinstance(v, Unknown)), None)
            if doubt is not None:
                return Unknown(f"whether HPA {hpa.name} scales {workload.name} is not known: "
                               f"{doubt.reason}")
    value = get(mine[0].body, ("spec", "maxReplicas")) if mine else get(
        workload.body, ("spec", "replicas"))
    if isinstance(value, Unknown):
        return value
    if value is MISSING or value is None:
        return Unknown(f"HPA {mine[0].name} sets no maxReplicas") if mine else 1
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return Unknown(f"the replica count {value!r} of {workload.name} is not a number")


def workloads(inv: Inventory, params: dict[str, Any]) -> list[Resource]:
    """The Deployments/StatefulSets the check is about: the ``deployment`` parameter's,
    or all of them when it is not set."""
    wanted = params.get("deployment")
    return [w for w in inv.of_kind(*SCALABLE)
            if not isinstance(wanted, str) or not wanted or w.name == wanted]
