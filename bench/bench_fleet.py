"""Fleet-scale speed, beside Checkov and beside the parse floor (`make bench-fleet`).

    .venv/bin/python bench/bench_fleet.py [--tf-examples rds,eks,security-group]

Workloads, each run as users run it (`auditor scan` as a command, the cache in its own
directory: *cold* is an empty cache, *warm* the cache the cold run left):

- ``compare``: a corpus of COMPARE services (bench/corpus.py: chart + Terraform each, all
  different), `auditor scan` cold and warm and `checkov -d` on the same files, alternating,
  RUNS times each; the ratios are of medians.
- ``scale``: SCALE services, cold and warm, with the main process's peak memory; then
  warm once in every other output format (the slowest is ``warm_formats_s``; their peaks
  count in ``peak_main_mb``: a fleet's SARIF or JUnit must hold the same budget); then
  ``auditor site build`` of the fleet's report (``site_s``, ``site_peak_mb``).
- ``terraform``: the public terraform-aws-modules examples (one environment per example
  directory), when bench/accuracy.py --fetch left a copy in bench/corpus/: the same, with
  `checkov -d` on each example directory.
- the *parse floor* of each corpus (bench/parse_floor.py: python-hcl2 and PyYAML's C loader
  on the same files, in a process of its own) against `auditor scan --jobs 1`.
- ``auditor --help``.

Checkov (pinned: CHECKOV) is installed by this script in its own virtual environment,
bench/.checkov-venv (git-ignored); --no-checkov skips it. Results go to OUT/fleet.md and
OUT/fleet.json (machine, versions, every run, medians, ratios, budgets); the exit code is 1
when a budget is missed. Budgets hold at the reference sizes only; other sizes (the test
suite runs a tiny one) are measured and reported, not judged, except for --budget.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus
import measure

REPO = Path(__file__).resolve().parent.parent
CHECKOV = "3.3.30"
CHECKOV_VENV = REPO / "bench" / ".checkov-venv"
COMPARE, SCALE, RUNS = 40, 1000, 3
NOW = "2026-12-01T00:00:00Z"  # the same answers on any day
FORMATS = ("sarif", "junit", "markdown", "github", "table")  # beside JSON, in scale
# (workload, figure) -> (comparison, limit): the goals of issue 15, on a 2-core machine.
BUDGETS: dict[tuple[str, str], tuple[str, float]] = {
    ("compare", "cold_ratio"): (">=", 4.0), ("compare", "warm_ratio"): (">=", 20.0),
    ("scale", "cold_s"): ("<", 15.0), ("scale", "warm_s"): ("<", 3.0),
    ("scale", "peak_main_mb"): ("<", 300.0), ("scale", "warm_formats_s"): ("<", 5.0),
    ("scale", "site_s"): ("<", 60.0),
    ("terraform", "cold_ratio"): (">=", 20.0), ("terraform", "warm_ratio"): (">=", 100.0),
    ("terraform", "floor_ratio"): ("<=", 1.5),
    ("help", "help_s"): ("<", 0.25),
}


@dataclass
class Workload:
    name: str
    size: str  # what was scanned, in words
    reference: bool  # at the size the budgets are for
    runs: dict[str, list[measure.Run]] = field(default_factory=dict)
    figures: dict[str, float] = field(default_factory=dict)
    cache: Path | None = None  # the last warm run's


def _auditor(config: Path, cache: Path, out: Path, *flags: str, fmt: str = "json"
             ) -> measure.Run:
    return measure.run([sys.executable, "-m", "auditor", "scan", "--config", str(config),
                        "--format", fmt, "--output", str(out), "--fail-on", "never",
                        "--now", NOW, *flags],
                       env={"AUDITOR_CACHE_DIR": str(cache)}, cwd=config.parent)


def _same_report(a: Path, b: Path) -> None:
    first, second = (json.loads(p.read_text()) for p in (a, b))
    for report in (first, second):
        report.pop("generated_at", None)
    if first != second:
        raise SystemExit(f"the warm report {b} differs from the cold one {a}")


def _scan_runs(work: Workload, config: Path, tmp: Path, runs: int,
               checkov: list[str] | None = None, floor_files: list[Path] | None = None) -> None:
    """Alternating: cold, Checkov, warm (then, given the floor's files, --jobs 1 cold and
    the parse floor)."""
    for key in ("cold", "warm", "checkov", "cold_jobs1", "floor"):
        work.runs[key] = []
    listing = tmp / f"{work.name}-files.txt"
    listing.write_text("".join(f"{p}\n" for p in floor_files or []))
    for i in range(runs):
        cache = Path(tempfile.mkdtemp(dir=tmp, prefix="cache-"))
        cold, warm = tmp / f"{work.name}-cold-{i}.json", tmp / f"{work.name}-warm-{i}.json"
        work.runs["cold"].append(_auditor(config, cache, cold))
        if checkov:
            work.runs["checkov"].append(measure.run(checkov, cwd=config.parent))
        work.runs["warm"].append(_auditor(config, cache, warm))
        work.cache = cache
        _same_report(cold, warm)
        if floor_files is None:
            continue
        empty = Path(tempfile.mkdtemp(dir=tmp, prefix="cache-"))
        work.runs["cold_jobs1"].append(_auditor(config, empty, tmp / "jobs1.json", "--jobs", "1"))
        work.runs["floor"].append(measure.run(
            [sys.executable, str(REPO / "bench" / "parse_floor.py"), str(listing)]))
    med = {k: measure.median(v) for k, v in work.runs.items() if v}
    work.figures.update({f"{k}_s": v for k, v in med.items()})
    work.figures["peak_main_mb"] = max(r.peak_mb for r in work.runs["cold"] + work.runs["warm"])
    if "floor" in med:
        work.figures["floor_ratio"] = med["cold_jobs1"] / med["floor"]
    if "checkov" in med:
        work.figures["cold_ratio"] = med["checkov"] / med["cold"]
        work.figures["warm_ratio"] = med["checkov"] / med["warm"]


def _floor_files(config: Path) -> list[Path]:
    """What the parse floor reads: the Terraform and YAML files a scan of ``config`` reads
    (recorded as the cache records them, in a scan without the cache; not chart templates,
    which are not YAML before they are rendered, nor module folders no call reaches)."""
    from auditor import cache, inputs, pipeline, policies
    from auditor import config as config_mod

    loaded = config_mod.load(str(config))
    cache.disable()
    try:
        with inputs.recording(config.parent) as rec:
            pipeline.scan(loaded, policies.load_all([]), pipeline.ScanOptions(jobs=1))
    finally:
        cache._RUN.disabled = False
    return sorted(Path(p) for p in rec.files if p.endswith(".tf") or (
        p.endswith((".yaml", ".yml")) and "templates" not in Path(p).parts))


def _checkov_cmd(frameworks: list[str], *dirs: Path) -> list[str]:
    return [str(CHECKOV_VENV / "bin" / "checkov"), *[a for d in dirs for a in ("-d", str(d))],
            "--framework", *frameworks, "--output", "json", "--quiet", "--compact",
            "--skip-download"]


def ensure_checkov() -> str:
    """Checkov CHECKOV in its own virtual environment (its pins clash with ours)."""
    binary = CHECKOV_VENV / "bin" / "checkov"
    if not binary.exists():
        print(f"installing checkov {CHECKOV} into {CHECKOV_VENV} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
        subprocess.run([str(CHECKOV_VENV / "bin" / "pip"), "install", "-q",
                        f"checkov=={CHECKOV}"], check=True)
    return subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                          check=True).stdout.strip()


def compare(n: int, runs: int, checkov: bool, tmp: Path) -> Workload:
    fleet = corpus.write(tmp / "compare", n)
    work = Workload("compare", f"{n} services (chart + Terraform each, all different)",
                    n == COMPARE)
    cmd = _checkov_cmd(["terraform", "kubernetes", "helm"], fleet.root / "services") \
        if checkov else None
    _scan_runs(work, fleet.config, tmp, runs, cmd, _floor_files(fleet.config))
    return work


def scale(n: int, runs: int, tmp: Path) -> Workload:
    fleet = corpus.write(tmp / "scale", n)
    work = Workload("scale", f"{n} services (chart + Terraform each, all different)",
                    n == SCALE)
    _scan_runs(work, fleet.config, tmp, runs)
    assert work.cache is not None
    # Warm: every format reads what the JSON runs kept.
    formats = [_auditor(fleet.config, work.cache, tmp / f"scale.{fmt}", fmt=fmt)
               for fmt in FORMATS]
    for fmt, run in zip(FORMATS, formats, strict=True):
        if run.code != 0 or not (tmp / f"scale.{fmt}").stat().st_size:
            raise SystemExit(f"auditor scan --format {fmt} failed (exit {run.code})")
    work.runs["warm_formats"] = formats
    work.figures["warm_formats_s"] = max(r.seconds for r in formats)
    work.figures["peak_main_mb"] = max(work.figures["peak_main_mb"],
                                       *(r.peak_mb for r in formats))
    # The runbook site of the fleet's report, as the nightly job builds it.
    report = tmp / f"scale-warm-{runs - 1}.json"
    site = measure.run([sys.executable, "-m", "auditor", "site", "build", "--config",
                        str(fleet.config), "--report", str(report), "--output",
                        str(tmp / "scale-site")], cwd=fleet.config.parent)
    if site.code != 0:
        raise SystemExit(f"auditor site build failed (exit {site.code})")
    work.runs["site"] = [site]
    work.figures["site_s"], work.figures["site_peak_mb"] = site.seconds, site.peak_mb
    return work


def terraform(names: list[str], runs: int, checkov: bool, tmp: Path) -> list[Workload]:
    import accuracy
    import yaml

    out = []
    for name in names:
        (chosen,) = [c for c in accuracy.CORPORA if c.name == name and c.terraform] or [None]
        if chosen is None:
            raise SystemExit(f"--tf-examples: no Terraform corpus {name!r} in bench/accuracy.py")
        root = accuracy.CORPUS / chosen.repo
        if not root.is_dir():
            raise SystemExit(f"{root}: not here (run bench/accuracy.py --fetch)")
        config = root / "auditor-bench.yaml"
        config.write_text(yaml.safe_dump(accuracy.config_for(chosen), sort_keys=False))
        work = Workload("terraform", f"terraform-aws-{name}: {len(chosen.terraform)} examples",
                        True)
        cmd = _checkov_cmd(["terraform"], *[root / d for d in chosen.terraform]) \
            if checkov else None
        _scan_runs(work, config, tmp, runs, cmd, _floor_files(config))
        out.append(work)
    return out


def help_timing(runs: int = 5) -> Workload:
    work = Workload("help", "auditor --help", True)
    work.runs["help"] = [measure.run([sys.executable, "-m", "auditor", "--help"])
                         for _ in range(runs)]
    work.figures["help_s"] = measure.median(work.runs["help"])
    return work


def judge(works: list[Workload], forced: dict[tuple[str, str], float]) -> list[dict[str, Any]]:
    verdicts = []
    for work in works:
        for (name, figure), (op, limit) in BUDGETS.items():
            if name != work.name or figure not in work.figures:
                continue
            if (name, figure) in forced:
                limit = forced[(name, figure)]
            elif not work.reference:
                continue
            value = work.figures[figure]
            ok = {"<": value < limit, "<=": value <= limit, ">=": value >= limit}[op]
            verdicts.append({"workload": work.size, "figure": figure, "value": round(value, 3),
                             "budget": f"{op} {limit:g}", "ok": ok})
    return verdicts


def _versions(checkov_version: str | None) -> dict[str, str]:
    versions = {p: metadata.version(p) for p in ("runbook-auditor", "python-hcl2", "PyYAML")}
    versions["python"] = platform.python_version()
    if checkov_version:
        versions["checkov"] = checkov_version
    return versions


def _machine() -> dict[str, Any]:
    from auditor.parallel import cores

    return {"system": platform.system(), "machine": platform.machine(), "cores": cores(),
            "processor": platform.processor() or platform.machine()}


def markdown(doc: dict[str, Any]) -> str:
    lines = [f"Machine: {doc['machine']['cores']} cores, {doc['machine']['machine']}; "
             + ", ".join(f"{k} {v}" for k, v in doc["versions"].items()) + ".", "",
             "| workload | figure | median | budget | |", "|---|---|---|---|---|"]
    judged = {(v["workload"], v["figure"]): v for v in doc["budgets"]}
    for work in doc["workloads"]:
        for figure, value in work["figures"].items():
            verdict = judged.get((work["size"], figure))
            unit = "x" if figure.endswith("ratio") else " MB" if figure.endswith("mb") else " s"
            lines.append(f"| {work['size']} | {figure} | {value:.2f}{unit} | "
                         + (f"{verdict['budget']} | {'ok' if verdict['ok'] else 'MISSED'} |"
                            if verdict else "| |"))
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare-services", type=int, default=COMPARE)
    parser.add_argument("--scale-services", type=int, default=SCALE)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--scale-runs", type=int, default=1)
    parser.add_argument("--tf-examples", default="", help="e.g. rds,eks,security-group")
    parser.add_argument("--only", default="", help="workloads to run, e.g. terraform,help")
    parser.add_argument("--no-checkov", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--budget", action="append", default=[], metavar="WORKLOAD.FIGURE=N",
                        help="judge this figure against N at any size")
    args = parser.parse_args(argv)
    forced = {}
    for given in args.budget:
        key, _, value = given.partition("=")
        workload, _, figure = key.partition(".")
        if (workload, figure) not in BUDGETS:
            parser.error(f"--budget {given}: not one of "
                         + ", ".join(f"{w}.{f}" for w, f in BUDGETS))
        forced[(workload, figure)] = float(value)
    checkov_version = None if args.no_checkov else ensure_checkov()
    tmp = Path(tempfile.mkdtemp(prefix="auditor-bench-fleet-"))
    try:
        only = set(filter(None, args.only.split(","))) or {"help", "compare", "scale",
                                                            "terraform"}
        works = [help_timing()] if "help" in only else []
        if "compare" in only:
            works.append(compare(args.compare_services, args.runs,
                                 checkov_version is not None, tmp))
        if "scale" in only:
            works.append(scale(args.scale_services, args.scale_runs, tmp))
        names = [n for n in args.tf_examples.split(",") if n] if "terraform" in only else []
        works += terraform(names, args.runs, checkov_version is not None, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    doc = {"machine": _machine(), "versions": _versions(checkov_version),
           "workloads": [{"name": w.name, "size": w.size, "reference": w.reference,
                          "figures": {k: round(v, 3) for k, v in w.figures.items()},
                          "runs": {k: [round(r.seconds, 3) for r in v]
                                   for k, v in w.runs.items() if v}} for w in works],
           "budgets": judge(works, forced)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fleet.json").write_text(json.dumps(doc, indent=2) + "\n")
    table = markdown(doc)
    (args.out / "fleet.md").write_text(table)
    print(table)
    return 0 if all(v["ok"] for v in doc["budgets"]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
