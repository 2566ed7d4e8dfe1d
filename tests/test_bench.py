"""The fleet benchmark at a tiny size: it runs end to end, writes its table and JSON, keeps
services apart in content, and fails when a budget is missed. (Its figures are judged by
`make bench-fleet`, never here.)"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "bench"))

import corpus


def test_the_corpus_services_differ_in_content_and_the_seed_repeats_it(tmp_path: Path) -> None:
    first = corpus.write(tmp_path / "a", 3)
    again = corpus.write(tmp_path / "b", 3)

    def digest(root: Path, name: str, rel: str) -> str:
        return hashlib.sha256((root / "services" / name / rel).read_bytes()).hexdigest()

    assert first.services == again.services and len(set(first.services)) == 3
    for rel in ("helm/values-prod.yaml", "terraform/variables.tf", "terraform/extra_rules.tf"):
        digests = {digest(first.root, n, rel) for n in first.services}
        assert len(digests) == 3, rel  # no two services alike
        assert digests == {digest(again.root, n, rel) for n in again.services}
    text = (first.root / "services" / first.services[0] / "helm" / "values-prod.yaml").read_text()
    assert "chess-ai" not in text and first.services[0] in text


def test_a_tiny_run_writes_its_results_and_fails_on_a_missed_budget(tmp_path: Path) -> None:
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench_fleet.py"), "--compare-services", "2",
         "--scale-services", "2", "--runs", "1", "--no-checkov", "--out", str(out),
         "--budget", "scale.cold_s=0.001", "--budget", "help.help_s=60"],
        capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 1, proc.stderr[-2000:]
    doc = json.loads((out / "fleet.json").read_text())
    assert doc["machine"]["cores"] >= 1 and "runbook-auditor" in doc["versions"]
    works = {w["name"]: w for w in doc["workloads"]}
    assert set(works) == {"help", "compare", "scale"}
    compare = works["compare"]["figures"]
    assert compare["cold_s"] > 0 and compare["floor_s"] > 0
    assert abs(compare["floor_ratio"] - compare["cold_jobs1_s"] / compare["floor_s"]) < 0.01
    assert works["scale"]["figures"]["peak_main_mb"] > 10  # read from /proc while it ran
    # Every other format, warm, once (a run that fails stops the bench): the slowest is the
    # figure.
    formats = works["scale"]["runs"]["warm_formats"]
    assert len(formats) == 5
    assert abs(works["scale"]["figures"]["warm_formats_s"] - max(formats)) < 0.002
    assert works["scale"]["figures"]["site_s"] > 0  # the fleet's site was built
    verdicts = {(v["figure"], v["ok"]) for v in doc["budgets"]}
    assert verdicts == {("cold_s", False), ("help_s", True)}  # only what was forced
    table = (out / "fleet.md").read_text()
    assert "| cold_s |" in table and "MISSED" in table
