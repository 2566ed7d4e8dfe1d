"""Speed and memory budgets for `auditor scan` (run with `make bench`, not in the tests).

Scans the embedded example, then a synthetic fleet: the example's chart and Terraform
copied into ENVS environments plus MANIFESTS pre-rendered Deployments each, then a chart
whose one template is CRD_LINES lines of CustomResourceDefinitions (as the prometheus-operator
chart's are: every rendered field is located in a template that large). Each scan starts
with an empty parse cache (a first run), except `fleet_warm_s`: the fleet scanned again
with the cache the first scan wrote (the report must be the same); and the example's
runbook site built from its report (`site_example_s`). Prints the figures
and exits 1 when a budget is exceeded. Budgets are for the 2-core CI machine.
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from auditor import baseline, cache, config, pipeline, policies, waivers  # noqa: E402
from auditor.models import Report  # noqa: E402
from auditor.terraform import loader  # noqa: E402

ENVS = 20
MANIFESTS = 50
WAIVERS = 500
CRD_LINES = 50_000
BUDGETS = {"example_s": 1.0, "fleet_s": 10.0, "fleet_per_env_s": 0.5, "fleet_warm_s": 3.0,
           "fleet_fix_s": 10.0,
           "waivers_baseline_s": 1.0, "crd_50k_lines_s": 2.0, "site_example_s": 10.0,
           "peak_rss_mb": 300.0}

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


CRD = """---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  annotations:
    controller-gen.kubebuilder.io/version: v0.16.0
  labels:
    release: {{{{ .Release.Name }}}}
  name: widgets{n}.bench.example.com
spec:
  group: bench.example.com
  names:
    categories:
    - bench
    kind: Widget{n}
    listKind: Widget{n}List
    plural: widgets{n}
    singular: widget{n}
  scope: Namespaced
  versions:
  - additionalPrinterColumns:
    - jsonPath: .spec.replicas
      name: Replicas
      type: integer
    - jsonPath: .metadata.creationTimestamp
      name: Age
      type: date
    name: v1
    schema:
      openAPIV3Schema:
        description: Widget{n} is a widget the bench operator runs.
        properties:
          spec:
            description: Spec is the desired state of the widget.
            properties:
"""
CRD_END = """            type: object
        type: object
    served: true
    storage: true
    subresources:
      status: {}
"""
# Field names real CRDs repeat at every depth (selectors, TLS, resources, relabelings).
FIELDS = ("selector", "matchLabels", "key", "operator", "values", "name", "namespace",
          "tlsConfig", "ca", "secret", "configMap", "optional", "resources", "limits",
          "requests", "port", "scheme", "path", "interval", "relabelings", "action", "regex")


def _properties(rng: random.Random, names: list[str], depth: int, pad: str,
                out: list[str]) -> None:
    """A `properties` tree as controller-gen writes it: each field's description first,
    then its items or properties, then its type (keys sorted)."""
    for name in names:
        out += [f"{pad}{name}:", f"{pad}  description: |-"]
        out += [f"{pad}    {name} of the widget's part {i}: see the operator's docs."
                for i in range(rng.randint(1, 3))]
        shape = rng.random() if depth else 1.0
        children = sorted(rng.sample(FIELDS, rng.randint(2, 5)))
        if shape < 0.45:
            out.append(f"{pad}  properties:")
            _properties(rng, children, depth - 1, pad + "    ", out)
            out += [f"{pad}  required:", f"{pad}  - {children[0]}", f"{pad}  type: object"]
        elif shape < 0.6:
            out += [f"{pad}  items:", f"{pad}    description: An entry of {name}.",
                    f"{pad}    properties:"]
            _properties(rng, children, depth - 1, pad + "      ", out)
            out += [f"{pad}    type: object", f"{pad}  type: array",
                    f"{pad}  x-kubernetes-list-type: atomic"]
        elif shape < 0.75:
            out += [f"{pad}  enum:", f"{pad}  - Equal", f"{pad}  - Exists", f"{pad}  type: string"]
        else:
            out.append(f"{pad}  type: {rng.choice(['string', 'integer', 'boolean'])}")


def _crd_chart(root: Path) -> tuple[Path, int, int]:
    """A chart whose templates/crds.yaml is literal CRDs (only the release name is a template
    action), at least CRD_LINES lines; returns the project, its lines and CRDs."""
    rng = random.Random(7)
    chart = root / "crds"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: crds\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text("crds:\n  enabled: true\n  annotations: {}\n"
                                       "commonLabels:\n  team: bench\n  tier: platform\n")
    lines: list[str] = []
    n = 0
    while len(lines) < CRD_LINES:
        n += 1
        lines += CRD.format(n=n).splitlines()
        spec: list[str] = []
        while len(spec) < 9_000:  # controller-gen's larger CRDs: ~10k lines each
            field = f"{rng.choice(FIELDS)}{len(spec)}"
            _properties(rng, [field], 5, " " * 14, spec)
        lines += spec + CRD_END.splitlines()
    (chart / "templates" / "crds.yaml").write_text("\n".join(lines) + "\n")
    (root / "auditor.yaml").write_text(
        "service: crds\nenvironments:\n  prod:\n"
        "    helm: {chart: crds, release: bench, namespace: default}\n")
    return root, len(lines), n


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


def _site(report: Report, work: Path) -> float:
    """The example's runbook site from its scan, as `auditor site build` makes it."""
    from auditor.site.build import SiteOptions, build_site

    report_file = work / "example-report.json"
    report_file.write_text(report.model_dump_json())
    start = time.perf_counter()
    build_site(SiteOptions(str(REPO / "examples" / "chess-ai"), (str(report_file),),
                           str(work / "site")))
    return time.perf_counter() - start


def _fix(path: Path, report: Report, pack: list[policies.Policy]) -> tuple[float, int]:
    """`auditor fix` on the fleet: the edits planned, each checked by a scan of a copy
    (every environment reads the shared chart and Terraform: each trial scans them all)."""
    from auditor import fixes

    start = time.perf_counter()
    edits, _, _ = fixes.plan(config.load(str(path)), report, "declared", pack)
    assert edits, "the fleet has findings whose remedy is a value"
    return time.perf_counter() - start, sum(len(e.findings) for e in edits)


def _cold(caches: Path) -> None:
    """A new, empty parse cache (under ``caches``) and no parse kept in this process: a
    first run."""
    os.environ[cache.ENV_DIR] = tempfile.mkdtemp(dir=caches)
    loader._parsed.cache_clear()


def main() -> int:
    import gc

    from auditor.cli import GC_YOUNG

    gc.set_threshold(GC_YOUNG, 20, 20)  # as the `auditor` command runs (auditor.cli.main)
    with tempfile.TemporaryDirectory(prefix="auditor-bench-cache-") as caches:
        return _measure(Path(caches))


def _measure(caches: Path) -> int:
    pack = policies.load_all([])
    _cold(caches)
    _timed(REPO / "examples" / "chess-ai", pack)  # warm: grammar cache, imports, cache
    example_s, example = _timed(REPO / "examples" / "chess-ai", pack)
    with tempfile.TemporaryDirectory() as tmp:
        fleet_dir = _fleet(Path(tmp))
        _cold(caches)
        fleet_s, fleet = _timed(fleet_dir, pack)
        loader._parsed.cache_clear()  # the next run: only the persistent cache is left
        warm_s, warm = _timed(fleet_dir, pack)
        assert warm.model_dump(exclude={"generated_at"}) == fleet.model_dump(
            exclude={"generated_at"}), "a warm run reported something else"
        fix_s, fixed = _fix(fleet_dir, fleet, pack)
    fleet_n = len(fleet.findings)
    with tempfile.TemporaryDirectory() as tmp:
        crd_project, crd_lines, crds = _crd_chart(Path(tmp))
        _cold(caches)
        crd_s, crd = _timed(crd_project, pack)
    waivers_s = _waivers_and_baseline(fleet, pack)
    site_s = _site(example, caches)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {"example_s": example_s, "fleet_s": fleet_s, "fleet_per_env_s": fleet_s / ENVS,
               "fleet_warm_s": warm_s, "fleet_fix_s": fix_s,
               "waivers_baseline_s": waivers_s, "crd_50k_lines_s": crd_s,
               "site_example_s": site_s, "peak_rss_mb": peak_mb}
    print(f"example: {len(example.findings)} findings; fleet: {ENVS} environments x "
          f"({MANIFESTS} manifests + chart + Terraform), {fleet_n} findings, "
          f"{fleet.summary.waived} waived by {WAIVERS} waivers, {fixed} fixed by `auditor "
          f"fix`; CRD chart: {crds} CRDs in "
          f"{crd_lines} lines, {crd.summary.by_status.get('error', 0)} errors")
    failed = False
    for name, value in figures.items():
        over = value > BUDGETS[name]
        failed |= over
        print(f"  {name:16} {value:8.2f}  budget {BUDGETS[name]:8.2f}  {'OVER' if over else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
