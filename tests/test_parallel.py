"""--jobs: environments evaluated in worker processes give the report a serial run gives,
in the same order, and the main process keeps results, not inventories."""

from __future__ import annotations

import json
import os
import re
import shutil
import textwrap
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor import child, config, parallel, pipeline, policies
from auditor.errors import ConfigError
from auditor.models import Evaluated, Inventory
from tests.conftest import EXAMPLE

pytestmark = pytest.mark.skipif(not parallel.can_fork(), reason="workers are forked")


def _project(tmp_path: Path) -> Path:
    """The example with environments that differ in cost and content: one as the example,
    one with other values, one whose values file does not parse, one of plain manifests."""
    root = tmp_path / "fleet"
    shutil.copytree(EXAMPLE, root)
    (root / "helm" / "values-staging.yaml").write_text(
        "replicaCount: 1\nresources:\n  limits: {memory: 64Mi}\n")
    (root / "helm" / "values-broken.yaml").write_text("replicaCount: [1\n")
    (root / "rendered").mkdir()
    (root / "rendered" / "web.yaml").write_text(textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: shop}
        spec:
          replicas: 1
          template:
            spec:
              containers: [{name: web, image: "nginx:latest"}]
        """))
    helm = ("    helm: {{chart: helm/chess-ai, release: chess-ai, namespace: chess-ai,\n"
            "           values: [helm/chess-ai/values.yaml, helm/{values}]}}\n")
    (root / "auditor.yaml").write_text(
        "service: chess-ai\nenvironments:\n"
        "  prod:\n" + helm.format(values="values-prod.yaml")
        + "    terraform: {dirs: [infrastructure/terraform/aws], vars: {environment: prod}}\n"
        "  staging:\n" + helm.format(values="values-staging.yaml")
        + "  broken:\n" + helm.format(values="values-broken.yaml")
        + "  plain:\n    manifests: [rendered]\n")
    return root


def _without_times(text: str) -> str:
    return re.sub(r'"generated_at": "[^"]*"', "", text)


@pytest.mark.parametrize("command", [["scan"], ["audit", "--live"]])
def test_any_number_of_jobs_gives_the_serial_report(
        tmp_path: Path, run_cli: Callable[..., Any], command: list[str]) -> None:
    root = _project(tmp_path)
    if command[0] == "audit":  # a recording of prod only: the others say so
        command = [*command, str(EXAMPLE / "live-snapshot.json")]
    # --no-cache: every run evaluates each environment itself (in a worker, for jobs > 1)
    outputs = [run_cli(*command, "--config", str(root), "--format", "json", "--no-cache",
                       "--now", "2026-12-01T00:00:00Z", "--jobs", jobs)
               for jobs in ("1", "2", "4")]
    assert {o.exit_code for o in outputs} == {outputs[0].exit_code}
    serial = _without_times(outputs[0].stdout)
    assert all(_without_times(o.stdout) == serial for o in outputs[1:])
    report = json.loads(outputs[0].stdout)
    # Every environment is in it, each with what makes it differ.
    envs = {f["environment"] for f in report["findings"]}
    assert envs == {"prod", "staging", "broken", "plain"}
    assert any(f["environment"] == "broken" and f["status"] == "error"
               and "values-broken.yaml" in f["message"] + (f["location"] or {}).get("file", "")
               for f in report["findings"])
    assert any(f["environment"] == "plain" and f["resource"]["name"] == "web"
               for f in report["findings"])


def test_results_come_back_in_order_from_worker_processes() -> None:
    names = [f"env{i}" for i in range(6)]

    def task(name: str) -> tuple[str, int]:
        if name == "env0":  # the first finishes last
            import time

            time.sleep(0.3)
        return name, os.getpid()

    out = list(parallel.each(names, task, jobs=3))
    assert [name for name, _ in out] == names
    pids = {pid for _, pid in out}
    assert os.getpid() not in pids and len(pids) > 1


def test_one_job_or_one_environment_runs_here() -> None:
    assert {pid for pid in parallel.each(["a", "b"], lambda _: os.getpid(), jobs=1)} \
        == {os.getpid()}
    assert list(parallel.each(["a"], lambda _: os.getpid(), jobs=4)) == [os.getpid()]


def test_an_error_in_a_worker_is_raised_at_its_place() -> None:
    seen: list[str] = []

    def task(name: str) -> str:
        if name == "b":
            raise ConfigError(f"auditor.yaml: {name} is wrong")
        return name

    with pytest.raises(ConfigError, match="b is wrong"):
        for name in parallel.each(["a", "b", "c"], task, jobs=2):
            seen.append(name)
    assert seen == ["a"]


def test_a_worker_starts_its_own_helper_child_not_the_parents() -> None:
    """Helm and CEL run in a long-lived child; a forked worker writing to the parent's
    pipe would interleave requests with the parent's."""
    shared = child.Shared("auditor.cel_worker")
    mine = shared.get(256 << 20)

    def task(_: str) -> tuple[bool, int]:
        inherited = shared._child is not None
        return inherited, shared.get(256 << 20).proc.pid

    try:
        theirs = list(parallel.each(["a", "b"], task, jobs=2))
        assert not any(inherited for inherited, _ in theirs)
        assert mine.proc.pid not in {pid for _, pid in theirs}
        assert shared.get(256 << 20) is mine and mine.alive()
    finally:
        shared.stop()


def test_the_report_is_built_from_results_not_inventories(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Inventory] = []
    build = pipeline.build_from

    def spy(cfg: Any, pack: Any, evaluated: Iterable[Evaluated], *args: Any) -> Any:
        def passing() -> Iterator[Evaluated]:
            for env in evaluated:
                seen.extend(env.inventories)
                yield env

        return build(cfg, pack, passing(), *args)

    monkeypatch.setattr(pipeline, "build_from", spy)
    report = pipeline.scan(config.load(str(_project(tmp_path))), policies.load_all([]),
                           pipeline.ScanOptions(jobs=1))
    assert [i.environment for i in seen] == ["prod", "staging", "broken", "plain"]
    assert all(i.resources == [] and i.baseline is None for i in seen)
    assert [p for i in seen for p in i.problems]  # the broken values file's problem stays
    assert report.summary.by_status["error"] >= 1


def test_jobs_must_be_a_positive_number() -> None:
    from click.testing import CliRunner

    from auditor.cli import cli

    result = CliRunner().invoke(cli, ["scan", "--config", str(EXAMPLE), "--jobs", "0"])
    assert result.exit_code == 2 and "--jobs" in result.output
