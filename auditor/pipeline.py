"""The only place that knows the order: sources -> inventory -> engine -> report.

Data flows one way: sources never see policies, the engine never does I/O, formats only
read the finished report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path as FsPath

from auditor import engine
from auditor.config import Config
from auditor.errors import ConfigError
from auditor.models import Inventory, Report, Result
from auditor.policies import Policy
from auditor.report import build
from auditor.sources import DECLARED, Collected

# Shown in remediation commands where the config does not name the thing, in the
# runbook's own placeholder style, so a copied command fails loudly rather than silently.
PLACEHOLDERS = {
    "release": "<release>", "namespace": "<namespace>", "chart": "<chart-dir>",
    "deployment": "<deployment>", "db_identifier": "<db-instance-id>",
    "parameter_group": "<db-parameter-group>", "cluster": "<eks-cluster>",
    "nodegroup": "<nodegroup>", "target_group": "<target-group>",
    "load_balancer": "<load-balancer>", "db_security_group": "<db-sg-id>",
}  # fmt: skip


@dataclass
class ScanOptions:
    environments: Sequence[str] = ()


def select_environments(config: Config, wanted: Sequence[str]) -> list[str]:
    unknown = [e for e in wanted if e not in config.environments]
    if unknown:
        raise ConfigError(f"{config.file}: environment {unknown[0]!r} is not defined "
                          f"(defined: {', '.join(config.environments)})")
    return list(wanted) or list(config.environments)


def declared_inventory(config: Config, env_name: str) -> Inventory:
    env = config.environments[env_name]
    collected = Collected()
    for collect in DECLARED.values():
        collected.extend(collect(config, env_name, env))
    names = {**PLACEHOLDERS, **collected.names, "service": config.service,
             "environment": env_name}
    return Inventory(env_name, "declared", collected.resources, collected.problems, names)


def scan(config: Config, policies: list[Policy], options: ScanOptions) -> Report:
    results: list[Result] = []
    inventories = []
    for env_name in select_environments(config, options.environments):
        inventory = declared_inventory(config, env_name)
        inventories.append(inventory)
        results.extend(engine.evaluate(policies, inventory, config.environments[env_name].params))
    return build(config, policies, inventories, results)


def policy_dirs(args: Sequence[str]) -> list[FsPath]:
    return [FsPath(a) for a in args]
