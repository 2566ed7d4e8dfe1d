"""Real-world accuracy: precision and recall of `fail` findings on public code nobody here wrote.

Not part of CI (it needs the public repositories, fetched for measurement into the ignored
``bench/corpus/`` folder, one folder per ``owner+name``). For each corpus it writes a
throw-away config (each chart with its default values; each Terraform example directory as
one environment), scans it with the real pipeline, and compares every `fail` with
``bench/accuracy-labels.yaml``: a label says whether that fail is a real defect or a false
alarm, and why; a third verdict, ``missed``, records a real defect that was read by hand in
the corpus and that the pack does not fail (yet). Prints per corpus the fails, precision
(real / labelled fails), recall (real fails / (real fails + missed defects)), and every fail
that has no label yet (read it, then label it). For a Terraform corpus it also prints how
many checks were evaluated, failed and were unknown (bench/tally.py); ``--unknowns`` adds
those counts per environment, each unknown's reason and the input problems.

    .venv/bin/python bench/accuracy.py --fetch    # clone the corpora at the labelled commits
                                                  # and lay out their modules (init_modules.py)
    .venv/bin/python bench/accuracy.py            # all corpora found under bench/corpus
    .venv/bin/python bench/accuracy.py podinfo    # those whose name contains "podinfo"
    .venv/bin/python bench/accuracy.py --unknowns eks  # why checks on eks end unknown

Exit 1 when precision is below the bar, a labelled real defect is no longer found, or a
fail has no label.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from tally import lines

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "bench" / "corpus"
LABELS = REPO / "bench" / "accuracy-labels.yaml"
PRECISION_BAR = 0.95
# The commits the labels were made on: another commit may fail differently.
COMMITS = {
    "stefanprodan+podinfo": "eec06d1ea459af4cb4e10e806f8be7c7bd58b361",
    "kubernetes+ingress-nginx": "dbb11b92ddb77bee9c35e462479129354c84f939",
    "kubernetes-sigs+metrics-server": "5ed5d3a2cf940a8c7541cfbac19af822f4c97844",
    "grafana+helm-charts": "7a0ab968961a165318ab95ff678908c3b9bc3240",
    "prometheus-community+helm-charts": "cf408a290aec489277a94450bb3511432477a53a",
    "bitnami+charts": "5165628ae06697f8f68a670bef7739d93c4b7f44",
    "terraform-aws-modules+terraform-aws-rds": "fa183b6b36204913fac1219d09b4979c1e60443a",
    "terraform-aws-modules+terraform-aws-security-group":
        "3cf4e1a48a4649179e8ea27308daf0b551cb0bfa",
    "terraform-aws-modules+terraform-aws-eks": "bef29c4d9523523e57fe898643fde2895106b339",
    "terraform-aws-modules+terraform-aws-rds-aurora": "259b5827d159ea73d6f61da802291dceaa2ad2c0",
    "argoproj+argo-helm": "af0a9310bacbaa4636018dfe22c801a6d33a5c43",
    "jetstack+cert-manager": "51340d0c876147086eea23f3c827906cefdad8e4",
    "traefik+traefik-helm-chart": "a8a66d0098703627b2cf352c66b1725c196a734a",
    "terraform-aws-modules+terraform-aws-alb": "87f1c9c18408993abe951db5bf788c676abf0731",
    "hashicorp+vault-helm": "aa1c92e4adddbce9660e536dfe5222a88eda6d52",
    "kedacore+charts": "1444d00d90d7668cf7f53f270777d039371d90d0",
    "open-telemetry+opentelemetry-helm-charts": "dd5665c06f376c00a5e2147aa84b70c3d105ecfb",
    "elastic+helm-charts": "2fd64d0af65f14df7aa01da591919460dabac4b3",
    "jenkinsci+helm-charts": "22055414e808938d0fc0585c4920d57661acce90",
    "terraform-aws-modules+terraform-aws-rds-proxy": "012b4332f58ccaaa485d0af2040e599056d696f9",
    "terraform-aws-modules+terraform-aws-ecs": "8d25f4e9989475e2b94ede517253e2d069990073",
    "cloudposse+terraform-aws-rds-cluster": "4e245d607808f86998a38645b085b49ab323f498",
    "cloudposse+terraform-aws-eks-node-group": "69ace20c00d7badb07b5f664f647b04efd6d1c0e",
}


@dataclass(frozen=True)
class Corpus:
    name: str
    repo: str  # folder under bench/corpus
    charts: tuple[str, ...] = ()  # chart folders, scanned with their own values.yaml
    terraform: tuple[str, ...] = ()  # root module folders, one environment each
    library: str | None = None  # a library chart the charts depend on, from the same repo


CORPORA = [
    Corpus("podinfo", "stefanprodan+podinfo", charts=("charts/podinfo",)),
    Corpus("ingress-nginx", "kubernetes+ingress-nginx", charts=("charts/ingress-nginx",)),
    Corpus("metrics-server", "kubernetes-sigs+metrics-server", charts=("charts/metrics-server",)),
    Corpus("grafana", "grafana+helm-charts", charts=(
        "charts/promtail", "charts/fluent-bit", "charts/rollout-operator",
        "charts/snyk-exporter")),
    Corpus("prometheus", "prometheus-community+helm-charts", charts=(
        "charts/kube-state-metrics", "charts/prometheus-node-exporter", "charts/alertmanager",
        "charts/prometheus-pushgateway", "charts/prometheus-blackbox-exporter",
        "charts/prometheus-adapter")),
    # Bitnami's charts need their `common` library chart: copied from the same repository.
    Corpus("bitnami", "bitnami+charts", charts=(
        "bitnami/nginx", "bitnami/redis", "bitnami/postgresql", "bitnami/etcd",
        "bitnami/memcached", "bitnami/mariadb"), library="bitnami/common"),
    # Not argo-cd: its redis-ha dependency is not vendored in the repository.
    Corpus("argo", "argoproj+argo-helm", charts=(
        "charts/argo-rollouts", "charts/argo-workflows", "charts/argo-events",
        "charts/argocd-image-updater")),
    Corpus("cert-manager", "jetstack+cert-manager", charts=("deploy/charts/cert-manager",)),
    Corpus("traefik", "traefik+traefik-helm-chart", charts=("traefik",)),
    Corpus("vault", "hashicorp+vault-helm", charts=(".",)),  # the chart is the repository
    Corpus("keda", "kedacore+charts", charts=("keda",)),
    # Not opentelemetry-collector: its default values fail the chart's own checks (image, mode).
    Corpus("opentelemetry", "open-telemetry+opentelemetry-helm-charts", charts=(
        "charts/opentelemetry-operator",)),
    Corpus("elastic", "elastic+helm-charts", charts=("elasticsearch", "kibana")),
    Corpus("jenkins", "jenkinsci+helm-charts", charts=("charts/jenkins",)),
    Corpus("rds", "terraform-aws-modules+terraform-aws-rds", terraform=(
        "examples/complete-postgres", "examples/complete-mysql", "examples/complete-mssql",
        "examples/complete-oracle", "examples/replica-postgres",
        "examples/cross-region-replica-postgres", "examples/enhanced-monitoring",
        "examples/groups", "examples/role-association-postgres", "examples/replica-mysql",
        "examples/blue-green-deployment", "examples/s3-import-mysql")),
    Corpus("rds-aurora", "terraform-aws-modules+terraform-aws-rds-aurora", terraform=(
        "examples/autoscaling", "examples/global-cluster", "examples/multi-az",
        "examples/mysql", "examples/postgresql", "examples/s3-import", "examples/serverless")),
    Corpus("security-group", "terraform-aws-modules+terraform-aws-security-group", terraform=(
        "examples/complete", "examples/computed", "examples/disabled", "examples/dynamic",
        "examples/http", "examples/rules-only")),
    Corpus("eks", "terraform-aws-modules+terraform-aws-eks", terraform=(
        "examples/eks-managed-node-group", "examples/self-managed-node-group",
        "examples/karpenter", "examples/eks-auto-mode")),
    Corpus("alb", "terraform-aws-modules+terraform-aws-alb", terraform=(
        "examples/complete-alb", "examples/complete-nlb", "examples/mutual-auth-alb")),
    Corpus("rds-proxy", "terraform-aws-modules+terraform-aws-rds-proxy", terraform=(
        "examples/mysql-iam-cluster", "examples/mysql-iam-instance",
        "examples/postgresql-iam-cluster", "examples/postgresql-iam-instance")),
    Corpus("ecs", "terraform-aws-modules+terraform-aws-ecs", terraform=(
        "examples/complete", "examples/container-definition", "examples/ec2-autoscaling",
        "examples/express-service", "examples/fargate", "examples/managed-instances")),
    Corpus("rds-cluster", "cloudposse+terraform-aws-rds-cluster", terraform=(
        "examples/basic", "examples/complete", "examples/enhanced_monitoring",
        "examples/postgres", "examples/serverless_mysql", "examples/serverless_mysql57",
        "examples/serverlessv2_postgres", "examples/with_cluster_parameters")),
    Corpus("eks-node-group", "cloudposse+terraform-aws-eks-node-group", terraform=(
        "examples/complete",)),
]


def _env_name(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1].replace("_", "-").lower()


def config_for(corpus: Corpus) -> dict[str, object]:
    envs: dict[str, object] = {}
    for chart in corpus.charts:
        name = corpus.name if chart == "." else _env_name(chart)
        envs[name] = {"helm": {"chart": chart, "release": name, "namespace": "default",
                               "values": [f"{chart}/values.yaml"]}}
    for directory in corpus.terraform:
        envs[_env_name(directory)] = {"terraform": {"dirs": [directory]}}
    return {"service": corpus.name, "environments": envs}


def prepare(corpus: Corpus, root: Path) -> None:
    """Build what `helm dependency build` would, offline: the library chart in charts/."""
    if corpus.library is None:
        return
    library = root / corpus.library
    for chart in corpus.charts:
        target = root / chart / "charts" / library.name
        if not target.exists():
            shutil.copytree(library, target)


def scan(corpus: Corpus) -> dict[str, Any]:
    root = CORPUS / corpus.repo
    prepare(corpus, root)
    config = root / "auditor-accuracy.yaml"
    config.write_text(yaml.safe_dump(config_for(corpus), sort_keys=False))
    proc = subprocess.run(
        [str(REPO / ".venv" / "bin" / "auditor"), "scan", "--config", str(config),
         "--format", "json", "--fail-on", "never"],
        capture_output=True, text=True, check=False, cwd=root)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"{corpus.name}: scan exited {proc.returncode}: {proc.stderr.strip()}")
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def key_of(corpus: str, finding: dict[str, Any]) -> str:
    """What identifies a fail across runs: corpus, environment, policy, resource, item."""
    res = finding["resource"]
    item = finding.get("item")
    return "/".join(str(p) for p in (corpus, finding["environment"], finding["policy"],
                                     res["kind"], res["name"])) + (f"#{item}" if item else "")


def fetch() -> None:
    """Clone each corpus at its labelled commit (needs the network; `git` only)."""
    for repo, commit in COMMITS.items():
        target = CORPUS / repo
        if target.exists():
            continue
        url = "https://github.com/" + repo.replace("+", "/", 1) + ".git"
        subprocess.run(["git", "init", "-q", str(target)], check=True)
        for args in (["fetch", "-q", "--depth=1", "--", url, commit],
                     ["checkout", "-q", "FETCH_HEAD"]):
            subprocess.run(["git", "-C", str(target), *args], check=True)


def main(argv: list[str]) -> int:
    if "--fetch" in argv:
        fetch()
        import init_modules  # imports this module: not at the top

        return init_modules.main(["--fetch"])
    names = [a for a in argv if not a.startswith("--")]
    labels: dict[str, dict[str, str]] = yaml.safe_load(LABELS.read_text()) or {}
    chosen = [c for c in CORPORA if (CORPUS / c.repo).is_dir()
              and (not names or any(a in c.name for a in names))]
    bad = False
    totals = {"fail": 0, "real": 0, "false": 0, "unlabelled": 0, "lost": 0, "missed": 0}
    for corpus in chosen:
        report = scan(corpus)
        findings: list[dict[str, Any]] = report["findings"]
        fails = {key_of(corpus.name, f): f for f in findings if f["status"] == "fail"}
        errors = [f for f in findings if f["status"] == "error"]
        real = [k for k in fails if labels.get(k, {}).get("verdict") == "real"]
        false = [k for k in fails if labels.get(k, {}).get("verdict") == "false-alarm"]
        new = [k for k in fails if k not in labels]
        known_real = [k for k, v in labels.items()
                      if k.startswith(corpus.name + "/") and v.get("verdict") == "real"]
        lost = [k for k in known_real if k not in fails]
        missed = [k for k, v in labels.items()
                  if k.startswith(corpus.name + "/") and v.get("verdict") == "missed"]
        caught = [k for k in missed if k in fails]  # now found: label it real
        judged = len(real) + len(false)
        precision = len(real) / judged if judged else 1.0
        found = len(real) + len(caught)
        recall = found / (len(real) + len(missed)) if real or missed else 1.0
        print(f"{corpus.name:16} fails {len(fails):4}  real {len(real):4}  false {len(false):4}"
              f"  unlabelled {len(new):3}  precision {precision:6.1%}  recall {recall:6.1%}"
              f"  errors {len(errors)}")
        for k in false:
            print(f"    false  {k}: {labels[k].get('why', '')}")
        for k in new:
            print(f"    NEW    {k}\n           {fails[k]['message']}")
        for k in lost:
            print(f"    LOST   {k}: {labels[k].get('why', '')}")
        for k in caught:
            print(f"    CAUGHT {k} (labelled missed: now found, label it real)")
        for f in errors:
            print(f"    error  {f['policy']} {f['resource']}: {str(f['message'])[:200]}")
        if corpus.terraform:
            print("\n".join(lines(report, detail="--unknowns" in argv)))
        for name, n in (("fail", len(fails)), ("real", len(real)), ("false", len(false)),
                        ("unlabelled", len(new)), ("lost", len(lost))):
            totals[name] += n
        totals["missed"] += len(missed) - len(caught)
        bad |= bool(new or lost or caught)
    judged = totals["real"] + totals["false"]
    precision = totals["real"] / judged if judged else 1.0
    known = totals["real"] + totals["missed"]
    recall = totals["real"] / known if known else 1.0
    print(f"{'all':16} fails {totals['fail']:4}  real {totals['real']:4}  false "
          f"{totals['false']:4}  unlabelled {totals['unlabelled']:3}  precision "
          f"{precision:6.1%}  recall {recall:6.1%}  missed {totals['missed']}  lost "
          f"{totals['lost']}")
    return 1 if bad or precision < PRECISION_BAR else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
