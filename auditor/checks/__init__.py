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

# Appended (live-only policies).
from auditor.checks.live import (  # noqa: E402
    cert_expiry,
    cloudtrail_enabled,
    config_refs_exist,
    db_instance_available,
    guardduty_enabled,
    image_pull_secrets_exist,
    rds_recent_snapshot,
    targets_healthy,
)

CHECKS.update({
    "cert_expiry": cert_expiry,
    "cloudtrail_enabled": cloudtrail_enabled,
    "config_refs_exist": config_refs_exist,
    "db_instance_available": db_instance_available,
    "guardduty_enabled": guardduty_enabled,
    "image_pull_secrets_exist": image_pull_secrets_exist,
    "rds_recent_snapshot": rds_recent_snapshot,
    "targets_healthy": targets_healthy,
})

# Appended (drift policies): declared-vs-live comparison, run on the drift side.
from auditor.checks.drift import helm_drift, hpa_drift, terraform_drift  # noqa: E402

CHECKS["helm_drift"] = helm_drift
CHECKS["hpa_drift"] = hpa_drift
CHECKS["terraform_drift"] = terraform_drift
