"""Chart sweep: every chart of large public chart repositories, rendered with its defaults.

A measurement, not a test (not in CI; it needs the repositories cloned into the ignored
``bench/corpus/`` folder, see ``bench/accuracy.py --fetch``). Each chart folder (a folder
with a Chart.yaml) is scanned alone, as one environment with its own values.yaml, by the
real pipeline run in-process, and timed alone (wall time of collecting + evaluating it), so
a slow chart is named rather than hidden in a repository's total. Prints a table per chart
(seconds, Kubernetes objects rendered, errors), then every error the scan reports (input
problems and `error` results) grouped by cause, then the slowest chart.

Helm needs a chart's dependencies in its charts/ folder and there is no network here: a
dependency whose chart is in one of the swept repositories (by the ``name`` in Chart.yaml,
or a ``file://`` path) is copied into a temporary copy of the chart; bench/corpus is never
written. Any other dependency stays missing and its error is listed as such.

    .venv/bin/python bench/chart_sweep.py                     # prometheus-community + grafana
    .venv/bin/python bench/chart_sweep.py loki tempo          # labels with "loki" or "tempo"
    .venv/bin/python bench/chart_sweep.py bitnami+charts 'bitnami/*'  # add a repository
    .venv/bin/python bench/chart_sweep.py --json sweep.json   # also write the figures

Exit 1 when an error's cause is `YAML read` (the tool reads Helm's output differently from
Helm and Kubernetes) or `other` (unexplained); 0 when every error has a known cause.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from accuracy import CORPUS, REPO, Corpus, config_for

sys.path.insert(0, str(REPO))  # as bench_scan.py: the auditor of this work tree

from auditor import config as auditor_config
from auditor import engine, pipeline, policies, report
from auditor.policies import Policy
from auditor.sources import helm_render

# The two repositories swept by default: (folder under bench/corpus, glob of chart folders).
DEFAULT_REPOS: tuple[tuple[str, str], ...] = (
    ("prometheus-community+helm-charts", "charts/*"),
    ("grafana+helm-charts", "charts/*"),
)
# Why an error happened, first match wins. Only the last two make the run fail: the others
# are the chart's own doing (or the lack of a network), not the tool's.
CAUSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("dependency not available offline",
     re.compile(r"dependencies not downloaded|missing in charts/ directory")),
    # Helm's `required` and `fail`: the chart's own message about its values
    ("chart requires a value", re.compile(r"the chart refused these values: ")),
    ("template error", re.compile(r"helm template failed")),
    ("YAML read", re.compile(r"invalid YAML|not a Kubernetes object")),
)
OTHER = "other"
UNEXPLAINED = ("YAML read", OTHER)


@dataclass(frozen=True)
class Chart:
    repo: str  # folder under bench/corpus
    rel: str  # chart folder inside the repository, e.g. charts/loki

    @property
    def label(self) -> str:
        return f"{self.repo}/{self.rel.rsplit('/', 1)[-1]}"

    @property
    def folder(self) -> Path:
        return CORPUS / self.repo / self.rel


@dataclass
class Error:
    cause: str
    message: str


@dataclass
class Swept:
    chart: str
    seconds: float  # collect + evaluate
    resources: int  # Kubernetes objects rendered (the HelmValues resource not counted)
    laid: list[str] = field(default_factory=list)  # dependencies copied in from the corpus
    errors: list[Error] = field(default_factory=list)


def classify(message: str) -> str:
    return next((cause for cause, pattern in CAUSES if pattern.search(message)), OTHER)


def chart_meta(folder: Path) -> dict[str, Any]:
    try:
        meta = yaml.safe_load((folder / "Chart.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}  # the scan itself reports a broken Chart.yaml
    return meta if isinstance(meta, dict) else {}


def charts_of(repo: str, pattern: str) -> tuple[list[Chart], list[str]]:
    """The chart folders the glob finds, and the folders it finds without a Chart.yaml
    (grafana's moved charts leave a README behind): not charts, but said so."""
    root = CORPUS / repo
    folders = [p for p in sorted(root.glob(pattern)) if p.is_dir()]
    return ([Chart(repo, str(p.relative_to(root))) for p in folders
             if (p / "Chart.yaml").is_file()],
            [f"{repo}/{p.relative_to(root)}" for p in folders
             if not (p / "Chart.yaml").is_file()])


def index(charts: list[Chart]) -> dict[str, dict[str, Path]]:
    """Per repository, chart name (Chart.yaml ``name``) -> folder: where a dependency is
    looked up, its own repository first."""
    out: dict[str, dict[str, Path]] = {}
    for c in charts:
        name = chart_meta(c.folder).get("name")
        if isinstance(name, str):
            out.setdefault(c.repo, {}).setdefault(name, c.folder)
    return out


def source_of(dep: dict[str, Any], origin: Path, repo: str,
              found: dict[str, dict[str, Path]]) -> Path | None:
    """The local folder a dependency can be copied from, or None (not available offline)."""
    name = dep.get("name")
    repository = dep.get("repository")
    if isinstance(repository, str) and repository.startswith("file://"):
        local = (origin / repository.removeprefix("file://")).resolve()
        if (local / "Chart.yaml").is_file():
            return local
    if not isinstance(name, str):
        return None
    for r in (repo, *found):  # the chart's own repository first
        if name in found.get(r, {}):
            return found[r][name]
    return None


def lay_dependencies(chart: Path, origin: Path, repo: str, found: dict[str, dict[str, Path]],
                     seen: frozenset[Path] = frozenset()) -> list[str]:
    """What `helm dependency build` would do, offline: each dependency not already in
    charts/ copied there from the corpus, and the copy's own dependencies in turn (the
    umbrella chart kube-prometheus-stack needs grafana's chart). Returns what was laid."""
    laid: list[str] = []
    deps = chart_meta(chart).get("dependencies")
    for dep in deps if isinstance(deps, list) else []:
        if not isinstance(dep, dict) or not isinstance(dep.get("name"), str):
            continue
        name = dep["name"]
        target = chart / "charts" / name
        if target.exists() or any((chart / "charts").glob(f"{name}-*.tgz")):
            continue  # vendored in the repository, or laid for an earlier alias
        source = source_of(dep, origin, repo, found)
        if source is None or source in seen:  # a cycle would never end
            continue
        shutil.copytree(source, target, symlinks=True)
        laid.append(name)
        laid += [f"{name}/{d}" for d in
                 lay_dependencies(target, source, repo, found, seen | {source})]
    return laid


def warm_up(work: Path) -> None:
    """Start the renderer once, untimed: the first render of a run starts Helm's worker
    process, which would otherwise be charged to whichever chart comes first."""
    tiny = work / "warm-up"
    (tiny / "templates").mkdir(parents=True)
    (tiny / "Chart.yaml").write_text("apiVersion: v2\nname: warm-up\nversion: 0.1.0\n")
    (tiny / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: warm-up}\n")
    helm_render.render(tiny, {}, "warm-up", "default")


def sweep_one(chart: Chart, found: dict[str, dict[str, Path]], work: Path,
              pack: list[Policy]) -> Swept:
    # A project of its own per chart (config beside a copy of the chart at its repository
    # path), so messages name repository paths and nothing is written into bench/corpus.
    root = work / chart.repo / chart.rel.replace("/", "+")
    copy = root / chart.rel
    shutil.copytree(chart.folder, copy, symlinks=True)
    laid = lay_dependencies(copy, chart.folder, chart.repo, found)
    name = chart.rel.rsplit("/", 1)[-1]
    corpus = Corpus(name, chart.repo, charts=(chart.rel,))  # accuracy.py's config shape
    (root / "auditor.yaml").write_text(yaml.safe_dump(config_for(corpus), sort_keys=False))
    try:
        cfg = auditor_config.load(str(root / "auditor.yaml"))
        env = next(iter(cfg.environments))
        start = time.perf_counter()
        inventory = pipeline.declared_inventory(cfg, env)
        results = engine.evaluate(pack, inventory, pipeline._params(cfg, env, None))
        seconds = time.perf_counter() - start
        # The report the CLI would print: its `error` findings are what a user sees.
        built = report.build(cfg, pack, [inventory], results)
    except Exception as exc:  # one chart that breaks the tool must not stop the sweep
        return Swept(chart.label, 0.0, 0, laid, [Error(OTHER, f"scan raised {exc!r}")])
    errors = [f"{f.message}" if f.policy == "input-error" else f"{f.policy}: {f.message}"
              for f in built.findings if f.status == "error"]
    objects = sum(r.kind != "HelmValues" for r in inventory.resources)
    return Swept(chart.label, seconds, objects, laid, [Error(classify(m), m) for m in errors])


def parse(argv: list[str]) -> tuple[list[tuple[str, str]], list[str], Path | None]:
    """(repositories with their chart globs, label filters, --json file). A positional
    argument naming a folder of bench/corpus adds that repository; the next argument is its
    glob when it has a / or a * (else charts/*). Any other positional filters the charts."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--json", type=Path, help="write the figures to this file")
    ap.add_argument("args", nargs="*", help="REPO [GLOB] to add, or filters on chart labels")
    ns = ap.parse_args(argv)
    repos = list(DEFAULT_REPOS)
    filters: list[str] = []
    args = list(ns.args)
    while args:
        arg = args.pop(0)
        if "/" not in arg and (CORPUS / arg).is_dir():
            glob = args.pop(0) if args and ("/" in args[0] or "*" in args[0]) else "charts/*"
            if (arg, glob) not in repos:
                repos.append((arg, glob))
        else:
            filters.append(arg)
    return repos, filters, ns.json


def main(argv: list[str]) -> int:
    repos, filters, json_file = parse(argv)
    missing = [r for r, _ in repos if not (CORPUS / r).is_dir()]
    if missing:
        print(f"not cloned under {CORPUS}: {', '.join(missing)} "
              "(bench/accuracy.py --fetch)", file=sys.stderr)
        return 2
    every: list[Chart] = []
    not_charts: list[str] = []
    for repo, pattern in repos:
        charts, others = charts_of(repo, pattern)
        every += charts
        not_charts += others
    found = index(every)  # all charts, even filtered-out ones, can serve as dependencies
    chosen = [c for c in every if not filters or any(f in c.label for f in filters)]
    not_charts = [n for n in not_charts if not filters or any(f in n for f in filters)]
    pack = policies.load_all([])
    swept: list[Swept] = []
    wall = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="chart-sweep-") as tmp:
        warm_up(Path(tmp))
        for chart in chosen:
            swept.append(sweep_one(chart, found, Path(tmp), pack))
            print(f"  {chart.label}: {swept[-1].seconds:.2f} s", file=sys.stderr, flush=True)
    wall = time.perf_counter() - wall

    width = max([len(s.chart) for s in swept] + [5])
    print(f"{'chart':{width}}  seconds  resources  errors")
    for s in swept:
        print(f"{s.chart:{width}}  {s.seconds:7.2f}  {s.resources:9}  {len(s.errors):6}"
              + (f"  (laid: {', '.join(s.laid)})" if s.laid else ""))
    by_cause: dict[str, list[tuple[str, str]]] = {}
    for s in swept:
        for e in s.errors:
            by_cause.setdefault(e.cause, []).append((s.chart, e.message))
    order = [c for c, _ in CAUSES] + [OTHER]
    print("\nerrors by cause")
    for cause in order:
        print(f"  {cause}: {len(by_cause.get(cause, []))}")
        for chart_label, message in by_cause.get(cause, []):
            print(f"    {chart_label}: {message}")
    slowest = max(swept, key=lambda s: s.seconds, default=None)
    total = sum(s.seconds for s in swept)
    if slowest:
        print(f"\nslowest: {slowest.chart} {slowest.seconds:.2f} s")
    if not_charts:
        print(f"not charts (no Chart.yaml): {', '.join(not_charts)}")
    print(f"total: {len(swept)} charts, {total:.2f} s scanning, {wall:.2f} s wall "
          "(with copying)")
    if json_file:
        json_file.write_text(json.dumps({
            "charts": [asdict(s) for s in swept],
            "by_cause": {c: len(by_cause.get(c, [])) for c in order},
            "slowest": {"chart": slowest.chart, "seconds": slowest.seconds} if slowest else None,
            "total_seconds": total, "wall_seconds": wall, "not_charts": not_charts,
        }, indent=2) + "\n")
    unexplained = sum(len(by_cause.get(c, [])) for c in UNEXPLAINED)
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
