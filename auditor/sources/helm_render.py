"""Renders a chart with Helm's own template engine: the ``helm`` binary when it is on PATH,
else the in-process Helm SDK (``helm-python-sdk``, the ``[helm]`` extra). Go templates are
never re-implemented here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

import yaml

NO_ENGINE = ("cannot render Helm charts: neither the `helm` binary is on PATH nor the Helm "
             "SDK is installed (pip install 'runbook-auditor[helm]'); or render the chart "
             "yourself and list the output under `manifests:`")


@dataclass
class RenderError(Exception):
    message: str
    template: str | None = None  # path inside the chart, e.g. templates/deployment.yaml
    line: int | None = None


def render(chart: FsPath, values: dict[str, Any], release: str, namespace: str
           ) -> dict[str, str]:
    """{template path relative to the chart dir: rendered text}."""
    if shutil.which("helm"):
        return _render_binary(chart, values, release, namespace)
    try:
        import helm_python
    except ImportError:
        raise RenderError(NO_ENGINE) from None
    try:
        loaded = helm_python.Chart.load(str(chart))
        rendered = loaded.render(values, name=release, namespace=namespace)
    except helm_python.HelmError as exc:
        raise _error(str(getattr(exc, "detail", exc))) from None
    except (TypeError, ValueError) as exc:  # values the SDK cannot pass on (e.g. !!binary)
        raise RenderError(f"the values cannot be given to Helm: {exc}") from None
    name = loaded.name
    return {_strip_chart(path, name): text for path, text in rendered.items()}


def _render_binary(chart: FsPath, values: dict[str, Any], release: str, namespace: str
                   ) -> dict[str, str]:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as tmp:
        yaml.safe_dump(values, tmp)
        tmp.flush()
        proc = subprocess.run(
            ["helm", "template", release, str(chart), "--namespace", namespace, "-f", tmp.name],
            capture_output=True, text=True, check=False, timeout=120)
    if proc.returncode != 0:
        raise _error(proc.stderr.strip().removeprefix("Error: "))
    out: dict[str, str] = {}
    current = None
    for line in proc.stdout.splitlines(keepends=True):
        m = re.match(r"# Source: [^/]+/(.+)$", line.strip())
        if m:
            current = m.group(1)
            out.setdefault(current, "")
            out[current] += "---\n"
        elif current is not None:
            out[current] += line
    return out


def _strip_chart(path: str, name: str) -> str:
    return path.split("/", 1)[1] if path.startswith(name + "/") else path


def _error(text: str) -> RenderError:
    """Helm errors lead with ``chart/templates/x.yaml:LINE:COL``; keep file and line."""
    m = re.search(r"(?:template: )?[\w.-]+/((?:templates|charts)/[^\s:]+):(\d+)(?::\d+)?:?\s*(.*)",
                  text, re.S)
    first = " ".join(text.split())
    if not m:
        return RenderError(first)
    return RenderError(" ".join(m.group(3).split()) or first, m.group(1), int(m.group(2)))
