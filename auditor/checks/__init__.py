"""The named checks policy files may call (``check: NAME``), in one explicit registry, and
the plugin checks other packages provide (``check: team.name``, see :mod:`.plugins`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module

from auditor.checks import plugins
from auditor.checks.base import Check

# In the order the checks were added: an unknown check's error lists them in this order.
_MODULES: dict[str, str] = {  # check name -> the module of auditor.checks that defines it
    "alb_alarm": "alarms",
    "db_connection_capacity": "db_capacity",
    "db_ingress_from_app": "network",
    "db_not_public": "network",
    "health_check_path": "traffic",
    "hpa_present": "scaling",
    "hpa_range": "scaling",
    "nodegroup_capacity": "node_capacity",
    "pdb_present": "scaling",
    "port_consistency": "traffic",
    "sg_no_world_admin": "network",
    "storage_expandable": "storage",
    "probe_timing": "probes",
    "log_retention": "logs",
    # AWS policies
    "db_secret_rotation": "credentials",
    "waf_on_alb": "alb",
    "alb_access_logs": "alb",
    # live-only policies
    "cert_expiry": "certificates",
    "cloudtrail_enabled": "live",
    "config_refs_exist": "live",
    "db_instance_available": "live",
    "guardduty_enabled": "live",
    "image_pull_secrets_exist": "live",
    "rds_recent_snapshot": "live",
    "targets_healthy": "live",
    # drift policies: declared-vs-live comparison, run on the drift side
    "helm_drift": "drift",
    "hpa_drift": "drift",
    "terraform_drift": "drift",
}


class _Registry(Mapping[str, Check]):
    """The built-in checks by name, each module imported when a check of it is first used:
    knowing a name (a policy's validation, the schema) imports nothing, so a run that reads
    every result from the cache starts without the checks' code."""

    def __getitem__(self, name: str) -> Check:
        check: Check = getattr(import_module(f"auditor.checks.{_MODULES[name]}"), name)
        return check

    def __iter__(self) -> Iterator[str]:
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)

    def __contains__(self, name: object) -> bool:
        return name in _MODULES


CHECKS: Mapping[str, Check] = _Registry()


def find(name: str) -> Check:
    """A built-in check, or an installed plugin's (a name with a dot). LookupError (with
    the reason, one line) when there is none."""
    if name in CHECKS:
        return CHECKS[name]
    if plugins.NAME.fullmatch(name):
        return plugins.load(name)
    raise LookupError(f"unknown check {name!r} (known: {', '.join(CHECKS)}; a plugin "
                      "check's name has a dot, e.g. acme.queue_consumers)")
