"""Helm inputs written by an attacker: names that would be options of `helm`, templates that
loop or allocate without end. The audit says what went wrong and goes on."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.sources import helm_render, helm_worker
from tests.conftest import CliResult

Run = Callable[..., CliResult]
Project = Callable[[dict[str, str]], Path]

CHART = "apiVersion: v2\nname: web\nversion: 0.1.0\n"
DEPLOYMENT = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
              "spec: {template: {spec: {containers: [{name: web, image: 'web:1'}]}}}\n")


def _service(project: Project, template: str, release: str = "web",
             namespace: str = "shop") -> Path:
    """Two environments: `bad` renders the hostile chart, `good` a harmless one."""
    return project({
        "bad/Chart.yaml": CHART, "bad/templates/bomb.yaml": template,
        "good/Chart.yaml": CHART, "good/templates/deployment.yaml": DEPLOYMENT,
        "auditor.yaml": f"""
            service: web
            environments:
              bad:
                helm: {{chart: bad, release: "{release}", namespace: "{namespace}"}}
              good:
                helm: {{chart: good, release: web, namespace: shop}}
            """,
    })


@pytest.mark.parametrize(("key", "value", "line"), [
    ("release", "--post-renderer=/tmp/evil.sh", 5),
    ("release", "-a", 5),
    ("release", "web --debug", 5),
    ("release", "x" * 54, 5),
    ("namespace", "--kubeconfig=/tmp/k", 6),
    ("namespace", "a;b", 6),
    ("namespace", "Shop", 6),
])
def test_names_helm_would_read_as_options_are_config_errors(
        run_cli: Run, project: Project, key: str, value: str, line: int) -> None:
    root = project({"auditor.yaml": f"""
        service: web
        environments:
          prod:
            helm:
              release: {"evil" if key != "release" else repr(value)}
              namespace: {"shop" if key != "namespace" else repr(value)}
              chart: chart
        """})
    result = run_cli("scan", "--config", str(root))
    assert result.exit_code == 2 and result.stdout == ""
    (message,) = result.stderr.strip().splitlines()
    assert message.startswith(f"error: {root / 'auditor.yaml'}:{line}: "
                              f"environments.prod.helm.{key}: not a ")


def test_a_value_that_got_past_the_config_is_still_no_option_of_helm(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Second line of defence: a stand-in `helm` that runs any --post-renderer given as an
    option, as helm does; every value comes after `--`, where helm reads no options."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "helm"
    exe.write_text('#!/bin/sh\nfor a in "$@"; do [ "$a" = "--" ] && break\n'
                   'case "$a" in --post-renderer=*) touch "${a#*=}";; esac; done\n'
                   f'echo "$@" > {tmp_path}/args\n')
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    pwned = tmp_path / "pwned"
    chart = tmp_path / "chart"
    helm_render.render(chart, {}, f"--post-renderer={pwned}", "--post-renderer=x")
    assert not pwned.exists()
    assert (tmp_path / "args").read_text().split()[-3:] == [
        "--", f"--post-renderer={pwned}", str(chart)]


@pytest.fixture
def tight(monkeypatch: pytest.MonkeyPatch) -> None:
    """Limits small enough for a test (the defaults are 60 s and 4 GiB)."""
    monkeypatch.setattr(helm_worker, "MEMORY", 1 * 2**30)
    monkeypatch.setattr(helm_worker, "TIMEOUT", 3.0)


@pytest.mark.usefixtures("tight")
def test_a_template_that_allocates_without_end_is_stopped_and_the_rest_reported(
        run_cli: Run, project: Project) -> None:
    root = _service(project, "{{- range until 3000000000 }}x{{- end }}\n")
    started = time.monotonic()
    result = run_cli("scan", "--config", str(root), "--format", "json")
    assert time.monotonic() - started < 30
    report = result.json()
    (error,) = [f for f in report["findings"] if f["status"] == "error"]
    assert error["environment"] == "bad" and error["location"]["file"] == "bad"
    assert "rendering needed more than 1 GiB of memory: stopped" in error["message"]
    # The other environment rendered in a new renderer and was audited.
    assert any(f["environment"] == "good" for f in [*report["findings"], *report["passed"]])
    assert result.exit_code in (1, 3)


@pytest.fixture
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deadline small enough for a test, under the default memory cap: at 1 GiB the Go
    runtime itself (beside the 244 MB library) sometimes fails to map an arena or start a
    thread, and the child aborts before any deadline."""
    monkeypatch.setattr(helm_worker, "TIMEOUT", 3.0)


@pytest.mark.usefixtures("short_deadline")
def test_a_template_that_loops_without_end_is_stopped_at_the_deadline(
        run_cli: Run, project: Project) -> None:
    root = _service(project, "{{- range until 100000 }}{{- range until 100000 }}{{- end }}"
                             "{{- end }}\n")
    started = time.monotonic()
    report = run_cli("scan", "--config", str(root), "--format", "json").json()
    assert time.monotonic() - started < 30
    (error,) = [f for f in report["findings"] if f["status"] == "error"]
    assert "rendering took longer than 3 s: stopped" in error["message"]
    assert any(f["environment"] == "good" for f in [*report["findings"], *report["passed"]])


@pytest.mark.parametrize("stderr", [
    "runtime: out of memory: cannot allocate 4194304-byte block\nfatal error: out of memory",
    "runtime/cgo: pthread_create failed: Resource temporarily unavailable",
])
def test_a_renderer_stopped_by_the_memory_cap_says_so(monkeypatch: pytest.MonkeyPatch,
                                                      stderr: str) -> None:
    from auditor.child import ChildDied

    class Dying:
        def ask(self, request: str, timeout: float) -> dict[str, object]:
            raise ChildDied(-6, "<frozen runpy>:128: RuntimeWarning: ...\n" + stderr)

    monkeypatch.setattr(helm_worker.CHILD, "get", lambda memory: Dying())
    with pytest.raises(helm_worker.WorkerError, match="rendering needed more than 4 GiB"):
        helm_worker.render(Path("chart"), {}, "r", "n")
