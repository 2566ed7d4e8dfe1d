"""Plugin checks: a package's ``runbook_auditor.checks`` entry point, named by a policy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.checks import find, plugins
from auditor.errors import PolicyError
from auditor.examples import run_examples
from auditor.policies import load_dir
from tests.conftest import REPO

MODULE = '''
from auditor.checks.base import CheckContext, Outcome


def replicas_at_least(ctx: CheckContext) -> list[Outcome]:
    floor = ctx.params["floor"]
    out = []
    for d in ctx.inventory.of_kind("Deployment"):
        n = d.body.get("spec", {}).get("replicas", 1)
        out.append(Outcome(d, "fail" if n < floor else "pass", path=("spec", "replicas"),
                           vars={"replicas": n}))
    return out


def broken(ctx):
    raise RuntimeError("the plugin's own bug")


NOT_A_FUNCTION = 42
'''

POLICY = """\
id: acme-replicas
title: Deployments run enough replicas
severity: medium
description: A team's own relational check, shipped as a plugin.
runbook: {section: "Pod Crashes", anchor: common-issues/pod-crashes/#image-pull-error}
sides: [declared]
parameters:
  floor: {default: 2, description: Fewest replicas.}
check: CHECK
requires: [Deployment]
message: "{{ kind }} {{ name }} runs {{ replicas }} replica(s), fewer than {{ params.floor }}"
remediation: {text: Raise spec.replicas.}
examples:
  pass: [{name: three, resources: [{apiVersion: apps/v1, kind: Deployment, metadata: {name: a},
                                    spec: {replicas: 3}}]}]
  fail: [{name: one, resources: [{apiVersion: apps/v1, kind: Deployment, metadata: {name: a},
                                  spec: {replicas: 1}}]}]
"""


def _install(root: Path, entries: dict[str, str]) -> None:
    """What `pip install` leaves behind: the module and its dist-info with entry points."""
    (root / "acme_checks.py").write_text(MODULE)
    info = root / "acme_checks-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-checks\nVersion: 1.0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entries.items())
    (info / "entry_points.txt").write_text(f"[{plugins.GROUP}]\n{lines}")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "site-packages"
    root.mkdir()
    _install(root, {"acme.replicas_at_least": "acme_checks:replicas_at_least",
                    "acme.broken": "acme_checks:broken",
                    "acme.missing": "acme_checks:nothing_here",
                    "acme.number": "acme_checks:NOT_A_FUNCTION",
                    "no_dot": "acme_checks:replicas_at_least"})
    monkeypatch.syspath_prepend(str(root))
    for cached in (plugins.installed, plugins.load):
        cached.cache_clear()
    yield root
    sys.modules.pop("acme_checks", None)
    for cached in (plugins.installed, plugins.load):
        cached.cache_clear()


def _policy(tmp_path: Path, check: str) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir(exist_ok=True)
    (folder / "acme-replicas.yaml").write_text(POLICY.replace("CHECK", check))
    return folder


def test_a_policy_runs_an_installed_plugin_check(site: Path, tmp_path: Path) -> None:
    (policy,) = load_dir(_policy(tmp_path, "acme.replicas_at_least"))
    assert run_examples(policy) == []  # pass and fail, through the real engine


def test_only_dotted_names_are_plugins(site: Path) -> None:
    assert "no_dot" not in plugins.installed()
    with pytest.raises(LookupError, match="a plugin check's name has a dot"):
        find("no_dot")


@pytest.mark.parametrize(("check", "fragment"), [
    ("acme.nope", "no installed package provides check 'acme.nope'"),
    ("acme.missing", "does not load: AttributeError"),
    ("acme.number", r"check 'acme.number' \(acme_checks:NOT_A_FUNCTION\) is not a function"),
])
def test_a_plugin_that_is_absent_or_broken_is_a_load_error(
        site: Path, tmp_path: Path, check: str, fragment: str) -> None:
    with pytest.raises(PolicyError, match=fragment):
        load_dir(_policy(tmp_path, check))


def test_a_plugin_that_raises_is_an_error_of_its_policy(site: Path, tmp_path: Path) -> None:
    (policy,) = load_dir(_policy(tmp_path, "acme.broken"))
    (problem, *_) = run_examples(policy)
    assert "check failed: RuntimeError" in problem and "plugin's own bug" in problem


def test_the_cli_finds_the_plugin_where_python_finds_packages(site: Path,
                                                              tmp_path: Path) -> None:
    folder = _policy(tmp_path, "acme.replicas_at_least")
    (tmp_path / "app.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n")
    (tmp_path / "auditor.yaml").write_text(
        "service: web\nenvironments:\n  prod:\n    manifests: [app.yaml]\n")
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{REPO}"}
    proc = subprocess.run([sys.executable, "-m", "auditor", "scan", "--config", str(tmp_path),
                           "--policies", str(folder), "--format", "json"],
                          capture_output=True, text=True, env=env, check=False)
    report = json.loads(proc.stdout)
    (finding,) = [f for f in report["findings"] if f["policy"] == "acme-replicas"]
    assert finding["status"] == "fail"
    assert finding["message"] == "Deployment web runs 1 replica(s), fewer than 2"
