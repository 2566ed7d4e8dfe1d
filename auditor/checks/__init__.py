"""The named checks policy files may call (``check: NAME``), in one explicit registry, and
the plugin checks other packages provide (``check: team.name``, see :mod:`.plugins`)."""

from __future__ import annotations

from auditor.checks import plugins
from auditor.checks.alarms import alb_alarm
from auditor.checks.alb import alb_access_logs, waf_on_alb
from auditor.checks.base import Check
from auditor.checks.certificates import cert_expiry
from auditor.checks.credentials import db_secret_rotation
from auditor.checks.db_capacity import db_connection_capacity
from auditor.checks.drift import helm_drift, hpa_drift, terraform_drift
from auditor.checks.live import (
    cloudtrail_enabled,
    config_refs_exist,
    db_instance_available,
    guardduty_enabled,
    image_pull_secrets_exist,
    rds_recent_snapshot,
    targets_healthy,
)
from auditor.checks.logs import log_retention
from auditor.checks.network import db_ingress_from_app, db_not_public, sg_no_world_admin
from auditor.checks.node_capacity import nodegroup_capacity
from auditor.checks.probes import probe_timing
from auditor.checks.scaling import hpa_present, hpa_range, pdb_present
from auditor.checks.storage import storage_expandable
from auditor.checks.traffic import health_check_path, port_consistency

# In the order the checks were added: an unknown check's error lists them in this order.
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
    "probe_timing": probe_timing,
    "log_retention": log_retention,
    # AWS policies
    "db_secret_rotation": db_secret_rotation,
    "waf_on_alb": waf_on_alb,
    "alb_access_logs": alb_access_logs,
    # live-only policies
    "cert_expiry": cert_expiry,
    "cloudtrail_enabled": cloudtrail_enabled,
    "config_refs_exist": config_refs_exist,
    "db_instance_available": db_instance_available,
    "guardduty_enabled": guardduty_enabled,
    "image_pull_secrets_exist": image_pull_secrets_exist,
    "rds_recent_snapshot": rds_recent_snapshot,
    "targets_healthy": targets_healthy,
    # drift policies: declared-vs-live comparison, run on the drift side
    "helm_drift": helm_drift,
    "hpa_drift": hpa_drift,
    "terraform_drift": terraform_drift,
}


def find(name: str) -> Check:
    """A built-in check, or an installed plugin's (a name with a dot). LookupError (with
    the reason, one line) when there is none."""
    if name in CHECKS:
        return CHECKS[name]
    if plugins.NAME.fullmatch(name):
        return plugins.load(name)
    raise LookupError(f"unknown check {name!r} (known: {', '.join(CHECKS)}; a plugin "
                      "check's name has a dot, e.g. acme.queue_consumers)")
