"""Speed and memory budgets for `auditor scan` (run with `make bench`, not in the tests).

Scans the embedded example, then a synthetic fleet: the example's chart and Terraform
copied into ENVS environments plus MANIFESTS pre-rendered Deployments each. Prints the
figures and exits 1 when a budget is exceeded. Budgets are for the 2-core CI machine.
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from auditor import baseline, config, pipeline, policies, waivers  # noqa: E402
from auditor.models import Report  # noqa: E402

ENVS = 20
MANIFESTS = 50
WAIVERS = 500
BUDGETS = {"example_s": 1.0, "fleet_s": 10.0, "fleet_per_env_s": 0.5,
           "waivers_baseline_s": 1.0, "peak_rss_mb": 300.0}

DEPLOYMENT = """---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: svc-{i}, namespace: fleet}}
spec:
  replicas: 2
  template:
    metadata: {{labels: {{app: svc-{i}}}}}
    spec:
      containers:
        - name: app
          image: registry.example.com/svc-{i}:1.{i}
          resources: {{requests: {{cpu: 100m, memory: 128Mi}}, limits: {{cpu: 1, memory: 256Mi}}}}
"""


def _fleet(root: Path) -> Path:
    example = REPO / "examples" / "chess-ai"
    shutil.copytree(example / "helm", root / "helm")
    shutil.copytree(example / "infrastructure", root / "infrastructure")
    lines = ["service: fleet", "environments:"]
    for e in range(ENVS):
        manifests = root / f"rendered-{e}"
        manifests.mkdir()
        (manifests / "all.yaml").write_text("".join(DEPLOYMENT.format(i=i)
                                                    for i in range(MANIFESTS)))
        lines += [f"  env{e}:",
                  "    helm: {chart: helm/chess-ai, release: chess-ai, namespace: chess-ai,",
                  "           values: [helm/chess-ai/values.yaml, helm/values-prod.yaml]}",
                  f"    manifests: [rendered-{e}]",
                  "    terraform: {dirs: [infrastructure/terraform/aws],",
                  "                vars: {environment: prod}}"]
    (root / "auditor.yaml").write_text("\n".join(lines) + "\n")
    return root


def _timed(path: Path, pack: list[policies.Policy]) -> tuple[float, Report]:
    start = time.perf_counter()
    report = pipeline.scan(config.load(str(path)), pack, pipeline.ScanOptions())
    return time.perf_counter() - start, report


def _waivers_and_baseline(report: Report, pack: list[policies.Policy]) -> float:
    """WAIVERS glob waivers applied to the fleet's report, then the comparison of the
    report with itself (what a PR gate adds to a scan)."""
    entries = [waivers.WaiverEntry(
        policy=pack[i % len(pack)].id, resource=f"*/svc-{i}*", environments=["env1*"],
        reason="bench", owner="bench", expires=date(2999, 1, 1)) for i in range(WAIVERS)]
    loaded = [waivers.Waiver(e, "waivers.yaml", i + 1) for i, e in enumerate(entries)]
    sides = {p.id: list(p.sides) for p in pack}
    base = report.model_copy(deep=True)
    start = time.perf_counter()
    waivers.apply(report, loaded, date(2026, 1, 1), sides)
    baseline.compare(report, base, "bench")
    return time.perf_counter() - start


def main() -> int:
    pack = policies.load_all([])
    _timed(REPO / "examples" / "chess-ai", pack)  # warm: grammar cache, imports
    example_s, example = _timed(REPO / "examples" / "chess-ai", pack)
    with tempfile.TemporaryDirectory() as tmp:
        fleet_s, fleet = _timed(_fleet(Path(tmp)), pack)
    fleet_n = len(fleet.findings)
    waivers_s = _waivers_and_baseline(fleet, pack)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {"example_s": example_s, "fleet_s": fleet_s, "fleet_per_env_s": fleet_s / ENVS,
               "waivers_baseline_s": waivers_s, "peak_rss_mb": peak_mb}
    print(f"example: {len(example.findings)} findings; fleet: {ENVS} environments x "
          f"({MANIFESTS} manifests + chart + Terraform), {fleet_n} findings, "
          f"{fleet.summary.waived} waived by {WAIVERS} waivers")
    failed = False
    for name, value in figures.items():
        over = value > BUDGETS[name]
        failed |= over
        print(f"  {name:16} {value:8.2f}  budget {BUDGETS[name]:8.2f}  {'OVER' if over else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
