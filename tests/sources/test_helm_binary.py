"""The `helm` binary path: a stand-in `helm` on PATH prints what `helm template` prints."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.config import load
from auditor.sources import helm

RENDERED = """\
---
# Source: web/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports: [{port: 80, targetPort: http}]
---
# Source: web/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
"""

FAKE_HELM = """#!/bin/sh
# Records its arguments, then answers like `helm template` (or fails like it).
echo "$@" > "$(dirname "$0")/args"
if [ -n "$FAIL" ]; then
  echo 'Error: template: web/templates/deployment.yaml:7:20: executing "x" at <.Values.a.b>: \
nil pointer evaluating interface {}.b' >&2
  exit 1
fi
cat "$(dirname "$0")/rendered.yaml"
"""


@pytest.fixture
def fake_helm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "rendered.yaml").write_text(RENDERED)
    exe = bin_dir / "helm"
    exe.write_text(FAKE_HELM)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def _project(project: Callable[[dict[str, str]], Path]) -> Path:
    return project({
        "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "chart/templates/deployment.yaml": "kind: Deployment\n",
        "auditor.yaml": "service: web\nenvironments:\n  prod:\n    helm: {chart: chart, "
                        "release: web, namespace: shop}\n",
    })


def test_binary_preferred_and_output_split_by_template(
        fake_helm: Path, project: Callable[[dict[str, str]], Path]) -> None:
    config = load(str(_project(project)))
    out = helm.collect(config, "prod", config.environments["prod"])
    assert out.problems == []
    kinds = {r.kind: r for r in out.resources}
    assert kinds["Service"].address == "templates/service.yaml"
    location = kinds["Deployment"].location
    assert location is not None and location.file == "chart/templates/deployment.yaml"
    args = (fake_helm / "args").read_text().split()
    # Options first, then `--`: no configured value can be read as an option by helm.
    assert args[:2] == ["template", "--namespace=shop"] and args[2].startswith("--values=")
    assert args[3:] == ["--", "web", str(config.path("chart"))]


def test_binary_error_keeps_template_and_line(
        fake_helm: Path, project: Callable[[dict[str, str]], Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAIL", "1")
    config = load(str(_project(project)))
    (problem,) = helm.collect(config, "prod", config.environments["prod"]).problems
    assert (problem.location.file, problem.location.line) == (
        "chart/templates/deployment.yaml", 7)
    assert "nil pointer" in problem.message
