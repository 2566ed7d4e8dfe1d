"""Scans of small Terraform projects: real HCL (and JSON) through the Terraform source."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auditor.config import load
from auditor.models import Resource
from auditor.sources import terraform
from auditor.sources.base import Collected

CONFIG = """
service: shop
environments:
  prod:
    terraform: {dirs: [tf]}
"""

Scan = Callable[..., Collected]


@pytest.fixture
def scan(project: Callable[[dict[str, str]], Path]) -> Scan:
    """Writes ``files`` (``main.tf`` alone may be given as a string) and collects them."""

    def run(files: dict[str, str] | str, config: str = CONFIG) -> Collected:
        files = {"tf/main.tf": files} if isinstance(files, str) else files
        root = project({"auditor.yaml": config, **files})
        loaded = load(str(root))
        return terraform.collect(loaded, "prod", loaded.environments["prod"])

    return run


@pytest.fixture
def report(project: Callable[[dict[str, str]], Path],
           run_cli: Callable[..., Any]) -> Callable[..., dict[str, Any]]:
    """The JSON report of a scan of ``main.tf`` (the whole pipeline: checks included)."""

    def run(files: dict[str, str] | str, config: str = CONFIG) -> dict[str, Any]:
        files = {"tf/main.tf": files} if isinstance(files, str) else files
        root = project({"auditor.yaml": config, **files})
        out: dict[str, Any] = run_cli("scan", "--config", str(root), "--format", "json",
                                      "--fail-on", "never").json()
        return out

    return run


def one(resources: list[Resource], kind: str, name: str) -> Resource:
    found = [r for r in resources if r.kind == kind and r.name == name]
    assert len(found) == 1, [(r.kind, r.name) for r in resources]
    return found[0]


def findings(report: dict[str, Any], policy: str) -> list[tuple[str, str]]:
    """(status, resource name) of the findings of ``policy``."""
    return sorted((f["status"], f["resource"]["name"]) for f in report["findings"]
                  if f["policy"] == policy)
