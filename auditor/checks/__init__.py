"""The named checks policy files may call (``check: NAME``), in one explicit registry."""

from __future__ import annotations

from auditor.checks.alarms import alb_alarm
from auditor.checks.base import Check
from auditor.checks.capacity import db_connection_capacity, nodegroup_capacity
from auditor.checks.network import db_ingress_from_app, db_not_public, sg_no_world_admin
from auditor.checks.workloads import (
    health_check_path,
    hpa_present,
    hpa_range,
    pdb_present,
    port_consistency,
    storage_expandable,
)

CHECKS: dict[str, Check] = {
    "alb_alarm": alb_alarm,
    "db_connection_capacity": db_connection_capacity,
    "db_ingress_from_app": db_ingress_from_app,
    "db_not_public": db_not_public,
    "health_check_path": health_check_path,
    "hpa_present": hpa_present,
    "hpa_range": hpa_range,
    "nodegroup_capacity": nodegroup_capacity,
    "pdb_present": pdb_present,
    "port_consistency": port_consistency,
    "sg_no_world_admin": sg_no_world_admin,
    "storage_expandable": storage_expandable,
}

# Appended (AWS policies): registered here rather than in the sorted block above.
from auditor.checks.network import db_secret_rotation  # noqa: E402

CHECKS["db_secret_rotation"] = db_secret_rotation
