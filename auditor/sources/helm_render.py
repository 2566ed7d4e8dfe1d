"""Renders a chart with Helm's own template engine: the ``helm`` binary when it is on PATH,
else the Helm SDK (``helm-python-sdk``, the ``[helm]`` extra) in a child process. Go
templates are never re-implemented here.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from auditor.sources import helm_worker

NO_ENGINE = ("cannot render Helm charts: neither the `helm` binary is on PATH nor the Helm "
             "SDK is installed (pip install 'runbook-auditor[helm]'); or render the chart "
             "yourself and list the output under `manifests:`")


@dataclass
class RenderError(Exception):
    message: str
    template: str | None = None  # path inside the chart, e.g. templates/deployment.yaml
    line: int | None = None
    refused: bool = False  # the chart's own `required` / `fail` stopped it: its message


def render(chart: FsPath, values: dict[str, Any], release: str, namespace: str
           ) -> dict[str, str]:
    """{template path relative to the chart dir: rendered text}. Either engine runs in a
    child process with a deadline and a memory limit (helm_worker): a chart's templates are
    code from whoever wrote the chart."""
    if shutil.which("helm"):
        return _render_binary(chart, values, release, namespace)
    if importlib.util.find_spec("helm_python") is None:
        raise RenderError(NO_ENGINE)
    try:
        answer = helm_worker.render(chart, values, release, namespace)
    except helm_worker.WorkerError as exc:
        raise RenderError(str(exc)) from None
    if "error" in answer:
        raise (RenderError(answer["error"]) if answer.get("values") else _error(answer["error"]))
    rendered: dict[str, str] = answer["rendered"]
    return {_strip_chart(path, answer["name"]): text for path, text in rendered.items()}


def _render_binary(chart: FsPath, values: dict[str, Any], release: str, namespace: str
                   ) -> dict[str, str]:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as tmp:
        # JSON, which Helm reads as YAML: a string stays a string (PyYAML would write the
        # string "y" or "1e3" bare, and Go would read back a boolean or a number).
        try:
            json.dump(values, tmp, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise RenderError(f"the values cannot be given to Helm: {exc}") from None
        tmp.flush()
        # Options as --name=value, then `--`: no value can be read as an option (a release
        # named "--post-renderer=x" would make helm run x). Names are also checked in config.
        try:
            proc = subprocess.run(
                ["helm", "template", f"--namespace={namespace}", f"--values={tmp.name}", "--",
                 release, str(chart.resolve())],
                capture_output=True, text=True, check=False, timeout=helm_worker.TIMEOUT,
                preexec_fn=helm_worker.limit_memory)
        except subprocess.TimeoutExpired:
            raise RenderError(helm_worker.too_slow(helm_worker.TIMEOUT)) from None
    if proc.returncode != 0:
        if "out of memory" in proc.stderr:
            raise RenderError(helm_worker.too_big(helm_worker.MEMORY))
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
    m = re.search(r"(?:template: )?[\w.-]+/((?:templates|charts)/[^\s:]+):(\d+)(?::\d+)?\)?:?"
                  r"\s*(.*)", text, re.S)
    first = " ".join(text.split())
    if not m:
        return RenderError(first)
    # `required` and `fail` say "execution error at (file:line:col): message"
    return RenderError(" ".join(m.group(3).split()) or first, m.group(1), int(m.group(2)),
                       refused="execution error at (" in text)
