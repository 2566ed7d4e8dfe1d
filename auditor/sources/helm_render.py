"""Renders a chart with Helm's own template engine: the ``helm`` binary when it is on PATH,
else the Helm SDK (``helm-python-sdk``, the ``[helm]`` extra) in a child process. Go
templates are never re-implemented here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path as FsPath
from typing import Any

from auditor import cache, inputs
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
    code from whoever wrote the chart. A render is kept in the parse cache by everything it
    depends on (the chart's files, the values, release, namespace and the engine's version);
    only successes are kept (a deadline missed under load is not the chart's answer)."""
    store = cache.store()
    entry = _cache_key(chart, values, release, namespace) if store is not None else None
    if store is None or entry is None:
        inputs.distrust()  # the chart's files were not all read here: no record of them
        return _render(chart, values, release, namespace)
    hit = store.get("helm", entry)
    if isinstance(hit, dict) and all(isinstance(k, str) and isinstance(v, str)
                                     for k, v in hit.items()):
        return hit
    rendered = _render(chart, values, release, namespace)
    store.put("helm", entry, rendered)
    return rendered


CHART_BYTES = 64 * 2**20  # a chart larger than this is rendered every time, not hashed


def _cache_key(chart: FsPath, values: dict[str, Any], release: str, namespace: str
               ) -> str | None:
    """The key of a render, or None when it cannot be kept (values Helm cannot be given
    as JSON, a chart too large, a file that cannot be read)."""
    try:
        given = json.dumps(values, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None
    engine = _engine()
    if engine is None:
        return None
    files: list[FsPath] = []
    for top, dirs, names in os.walk(chart):  # links to folders are not walked: not kept
        if any(os.path.islink(os.path.join(top, d)) for d in dirs):
            return None
        files += [FsPath(top, n) for n in names]
    digest = hashlib.sha256()
    total = 0
    for path in sorted(files):
        try:
            data = path.read_bytes() if path.is_file() and (
                path.stat().st_size <= CHART_BYTES) else None
        except OSError:
            return None
        if data is None or (total := total + len(data)) > CHART_BYTES:
            return None
        name = path.relative_to(chart).as_posix().encode("utf-8", "surrogateescape")
        digest.update(len(name).to_bytes(8, "big") + name)
        digest.update(len(data).to_bytes(8, "big") + data)
    return cache.key("helm", engine, release, namespace, given, digest.hexdigest(),
                     cache.code_version(__name__))


@lru_cache(maxsize=1)
def _engine() -> str | None:
    """Which Helm renders, and its version (another version may render differently); None
    when that is not known, and nothing is kept."""
    if shutil.which("helm"):
        try:
            proc = subprocess.run(["helm", "version", "--short"], capture_output=True,
                                  text=True, check=False, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return f"helm binary {proc.stdout.strip()}" if proc.returncode == 0 else None
    if importlib.util.find_spec("helm_python") is None:
        return None
    try:
        from importlib.metadata import version

        return f"helm-python-sdk {version('helm-python-sdk')}"
    except ImportError:
        return None


def _render(chart: FsPath, values: dict[str, Any], release: str, namespace: str
            ) -> dict[str, str]:
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
