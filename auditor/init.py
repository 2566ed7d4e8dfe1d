"""``auditor init``: a first auditor.yaml from what a repository holds.

Finds Helm charts (a folder with Chart.yaml that is not another chart's dependency), their
per-environment values files (``values-prod.yaml``, ``values.prod.yaml``,
``prod.values.yaml``, ``values/prod.yaml`` beside or above the chart), Terraform roots (a
folder of ``*.tf`` that no other folder calls as a local module) and their ``*.tfvars``
(``prod.tfvars``, ``env/prod.tfvars``, ...). The environments are the names those files
share; with none, one environment ``default``. The config is commented, names only files
that exist, and leaves the service's facts for its team to fill in. Only reads: links are
not followed, and nothing is read from ``.git`` or dependency folders.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path as FsPath

import yaml

from auditor import shell
from auditor.errors import InputError
from auditor.sources.helm import missing_dependencies

MAX_FILES = 20_000  # a repository larger than this is walked only this far
_SKIP = {".git", ".terraform", "node_modules", "vendor", ".venv", "__pycache__", "dist",
         "build", ".tox"}
_VALUES = [re.compile(p) for p in (r"values[-._](?P<env>[a-z0-9-]+)\.ya?ml",
                                   r"(?P<env>[a-z0-9-]+)[-._]values\.ya?ml")]
_TFVARS = re.compile(r"(?P<env>[a-z0-9-]+)\.tfvars(\.json)?")
_MODULE_SOURCE = re.compile(r'source\s*=\s*"(\.{1,2}/[^"]*)"')
_LABEL = re.compile(r"[^a-z0-9-]+")


@dataclass
class Found:
    charts: list[FsPath] = field(default_factory=list)
    values: dict[FsPath, dict[str, list[FsPath]]] = field(default_factory=dict)  # chart -> env
    terraform: list[FsPath] = field(default_factory=list)
    tfvars: dict[FsPath, dict[str, list[FsPath]]] = field(default_factory=dict)  # root -> env


def discover(root: FsPath) -> Found:
    files = _walk(root)
    found = Found()
    marked = {p.parent for p in files if p.name == "Chart.yaml"}
    # A chart inside another chart (its charts/ dependencies) is not a release of its own.
    charts = sorted(c for c in marked if not any(a in marked for a in c.parents))
    found.charts = charts
    for chart in charts:
        found.values[chart] = _by_env(files, [chart, chart.parent, chart.parent / "values",
                                              chart / "values"], _VALUES)
    tf_files = [p for p in files if p.suffix == ".tf"]
    tf_dirs = sorted({p.parent for p in tf_files})
    called = {(tf.parent / m).resolve() for tf in tf_files
              for m in _MODULE_SOURCE.findall(_read(tf))}
    found.terraform = [d for d in tf_dirs if d.resolve() not in called
                       and "modules" not in d.relative_to(root).parts]
    for directory in found.terraform:
        found.tfvars[directory] = _by_env(files, [directory, directory / "env",
                                                  directory / "envs",
                                                  directory / "environments"], [_TFVARS])
    return found


def _walk(root: FsPath) -> list[FsPath]:
    out: list[FsPath] = []
    for top, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP and not d.startswith("."))
        for name in sorted(names):
            path = FsPath(top) / name
            if not path.is_symlink():
                out.append(path)
        if len(out) > MAX_FILES:
            break
    return out


def _by_env(files: list[FsPath], folders: list[FsPath],
            patterns: list[re.Pattern[str]]) -> dict[str, list[FsPath]]:
    envs: dict[str, list[FsPath]] = {}
    for path in files:
        if path.parent not in folders:
            continue
        name = path.name.lower()
        env = next((m.group("env") for p in patterns if (m := p.fullmatch(name))), None)
        if env is None and path.parent.name == "values" and name.endswith((".yaml", ".yml")):
            env = name.rsplit(".", 1)[0]
        if env and env not in ("values", "terraform", "default", "schema"):
            envs.setdefault(env, []).append(path)
    return envs


def _read(path: FsPath) -> str:
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            return f.read(1_000_000)  # bounded: a huge file is read only this far
    except OSError:
        return ""


def _label(text: str) -> str:
    label = _LABEL.sub("-", text.lower()).strip("-")[:53].strip("-")
    return label or "app"


_UNPRINTABLE = re.compile(r"[^\x20-\x7e\u00a0-\U0010ffff]|[\u2028\u2029\u0085]")


def _comment(line: str) -> str:
    """One comment line whatever a chart's names hold: a line break would end the comment
    and write config."""
    return _UNPRINTABLE.sub("?", line)


def render(root: FsPath, service: str | None = None, runbook: str | None = None) -> str:
    """The commented auditor.yaml for ``root`` (paths relative to it)."""
    found = discover(root)

    def rel(path: FsPath) -> str:
        return path.relative_to(root).as_posix()

    if not found.charts and not found.terraform:
        raise InputError(f"{root}: no Helm chart (Chart.yaml) and no Terraform (*.tf) found; "
                         "write auditor.yaml by hand (see the README's Configuration)")
    envs = sorted({e for v in (*found.values.values(), *found.tfvars.values()) for e in v})
    envs = envs or ["default"]
    environments: dict[str, dict[str, object]] = {}
    for env in envs:
        entry: dict[str, object] = {}
        if found.charts:
            chart = found.charts[0]
            own = found.values.get(chart, {}).get(env, [])
            values = [p for p in [chart / "values.yaml", *own] if p.is_file()]
            entry["helm"] = {"chart": rel(chart), "release": _label(chart.name),
                             "namespace": "default",
                             "values": [rel(p) for p in values]}
        if found.terraform:
            var_files = [rel(p) for d in found.terraform
                         for p in found.tfvars.get(d, {}).get(env, [])]
            entry["terraform"] = {"dirs": [rel(d) for d in found.terraform],
                                  "var_files": var_files}
        environments[env] = entry
    body = yaml.safe_dump({"environments": environments}, sort_keys=False,
                          default_flow_style=False)
    other = [rel(c) for c in found.charts[1:]]
    lines = [
        "# runbook-auditor config, written by `auditor init`: check it, then run",
        "# `auditor scan`. Paths are relative to this file.",
        f"service: {_label(service or root.resolve().name)}",
        *([f"runbook: {runbook}                   # the team's runbook pages (edit them)"]
          if runbook else
          ["# runbook: docs/runbook   # the team's runbook pages; `auditor init --runbook` "
           "starts one"]),
        "",
        "# What is true of this service only (its runbook's numbers and names). The",
        "# checks that need one of these are not applicable until it is set.",
        "# facts:",
        "#   ready_path: /ready            # HTTP path that answers 200 only when it can serve",
        "#   time_to_ready: 30             # seconds after start before it can be ready",
        "#   max_probe_period: 10          # longest readiness periodSeconds",
        "#   min_memory_limit: 256Mi       # smallest memory limit it can work with",
        "#   singletons: []                # workloads that run one replica by design",
        "#   values_keys:",
        "#     pool_size: database.pool.size      # DB connection pool per pod",
        "#     log_retention: logging.retention",
        "",
    ]
    unbuilt = [(c, missing) for c in found.charts if (missing := missing_dependencies(c))]
    if unbuilt:  # the scan would stop at them: say so before it does
        lines += ["# Charts whose dependencies are not downloaded yet: run these first",
                  "# (the scan reports the chart's dependencies as missing until then):",
                  *(_comment(f"#   helm dependency build {shell.q(rel(c))}   # "
                             f"{', '.join(m)}") for c, m in unbuilt), ""]
    if other:
        lines += ["# Other charts found (one release per environment is set up below; add",
                  "# an environment per chart to audit them too):",
                  *(f"#   {c}" for c in other), ""]
    lines += ["# Each environment: the chart's release (set its namespace) with its values",
              "# files, later files win; and the Terraform roots with their tfvars."]
    return "\n".join(lines) + "\n" + body
