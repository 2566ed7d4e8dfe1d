"""A fleet of N services that differ in content, for the benchmarks.

Each service is the embedded example's chart and Terraform under the service's own name
(file contents and folders), with its own settings drawn from a seeded random source:
image tag, replicas, resources, probe timings, autoscaling range, pool size, log retention,
volume size, database class, storage, CIDR, alarm thresholds, and a different number of
extra security-group rules and ConfigMap keys (so files differ in size too). A cache keyed
by content sees N different inputs, as in a real fleet, never N copies of one.

``write(root, n)`` lays out ``root/services/<name>/{helm,terraform}`` and one
``root/auditor.yaml`` with an environment per service; the same seed gives the same bytes.
"""

from __future__ import annotations

import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "chess-ai"
FIRST = ("amber", "brisk", "cobalt", "dusky", "ember", "fable", "gilded", "hollow", "ivory",
         "jade", "keen", "lunar", "mossy", "nimble", "onyx", "plucky", "quiet", "rusty")
SECOND = ("badger", "cart", "delta", "ledger", "meter", "orbit", "parrot", "quarry",
          "relay", "signal", "tally", "umbra", "vault", "willow", "yonder", "zephyr")
CLASSES = ("db.t4g.medium", "db.m6g.large", "db.r6g.large", "db.r6g.xlarge", "db.r7g.2xlarge")
RETENTION = ("1d", "3d", "7d", "14d", "30d", "90d")


@dataclass(frozen=True)
class Corpus:
    root: Path
    config: Path
    services: list[str]

    def files(self, *suffixes: str) -> list[Path]:
        return sorted(p for p in (self.root / "services").rglob("*")
                      if p.is_file() and p.name.endswith(suffixes))


def write(root: Path, n: int, seed: int = 2026) -> Corpus:
    root.mkdir(parents=True, exist_ok=True)
    names = []
    lines = ["service: fleet",
             "facts:",
             "  values_keys: {pool_size: database.pool.size, log_retention: logging.retention,",
             "                pdb: podDisruptionBudget.enabled}",
             "environments:"]
    for i in range(n):
        rng = random.Random(seed * 100_003 + i)
        name = f"{rng.choice(FIRST)}-{rng.choice(SECOND)}-{i:04d}"
        names.append(name)
        _service(root / "services" / name, name, rng)
        lines += [f"  {name}:",
                  f"    helm: {{chart: services/{name}/helm/{name}, release: {name},",
                  f"           namespace: {name},",
                  f"           values: [services/{name}/helm/{name}/values.yaml,",
                  f"                    services/{name}/helm/values-prod.yaml]}}",
                  f"    terraform: {{dirs: [services/{name}/terraform],",
                  f"                vars: {{environment: prod, project: {name}}}}}"]
    config = root / "auditor.yaml"
    config.write_text("\n".join(lines) + "\n")
    return Corpus(root, config, names)


def _service(home: Path, name: str, rng: random.Random) -> None:
    shutil.copytree(EXAMPLE / "helm" / "chess-ai", home / "helm" / name)
    shutil.copytree(EXAMPLE / "infrastructure" / "terraform" / "aws", home / "terraform")
    for path in home.rglob("*"):
        if path.is_file():
            path.write_text(path.read_text().replace("chess-ai", name))
    _values(home / "helm", name, rng)
    _configmap(home / "helm" / name / "templates" / "configmap.yaml", rng)
    _variables(home / "terraform" / "variables.tf", rng)
    _rules(home / "terraform" / "extra_rules.tf", rng)


def _values(helm: Path, name: str, rng: random.Random) -> None:
    values = yaml.safe_load((EXAMPLE / "helm" / "values-prod.yaml").read_text()
                            .replace("chess-ai", name))
    cpu = rng.choice((100, 250, 500, 1000, 2000))
    memory = rng.choice((128, 256, 512, 1024, 4096))
    low = rng.randint(1, 4)
    values["image"]["tag"] = f"v{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
    values["resources"] = {
        "requests": {"cpu": f"{cpu}m", "memory": f"{memory}Mi"},
        "limits": {"cpu": f"{cpu * rng.choice((1, 2, 4))}m",
                   "memory": f"{memory * rng.choice((1, 2))}Mi"}}
    values["autoscaling"].update(minReplicas=low, maxReplicas=low + rng.randint(0, 30),
                                 targetCPUUtilizationPercentage=rng.choice((50, 60, 70, 80)))
    values["database"]["pool"]["size"] = rng.randint(5, 400)
    values["logging"]["retention"] = rng.choice(RETENTION)
    values["persistence"]["size"] = f"{rng.randint(1, 50) * 10}Gi"
    values["replicaCount"] = rng.randint(1, 6)
    values["probes"] = {"readiness": {
        "httpGet": {"path": rng.choice(("/ready", "/health/ready", "/healthz")),
                    "port": "http"},
        "initialDelaySeconds": rng.choice((0, 5, 10, 30)),
        "periodSeconds": rng.choice((5, 10, 20)),
        "failureThreshold": rng.randint(1, 6)}}
    (helm / "values-prod.yaml").write_text(yaml.safe_dump(values, sort_keys=False))


def _configmap(path: Path, rng: random.Random) -> None:
    extra = "".join(f"  FEATURE_{k}: {rng.choice(('on', 'off'))!r}\n"
                    for k in range(rng.randint(0, 40)))
    path.write_text(path.read_text() + extra)


def _variables(path: Path, rng: random.Random) -> None:
    text = path.read_text()
    for variable, value in (
            ("db_instance_class", f'"{rng.choice(CLASSES)}"'),
            ("db_allocated_storage", str(rng.randint(2, 50) * 10)),
            ("db_max_allocated_storage", str(rng.randint(6, 200) * 10)),
            ("vpc_cidr", f'"10.{rng.randint(0, 255)}.0.0/16"'),
            ("latency_alarm_threshold_seconds", str(rng.choice((0.5, 1.0, 2.0)))),
            ("error_5xx_alarm_threshold", str(rng.randint(5, 200)))):
        text = re.sub(rf'(variable "{variable}" \{{.*?default\s*=\s*)[^\n]+', rf"\g<1>{value}",
                      text, count=1, flags=re.S)
    path.write_text(text)


def _rules(path: Path, rng: random.Random) -> None:
    blocks = []
    for k in range(rng.randint(0, 25)):
        port = rng.choice((80, 443, 5432, 6379, 8080, 9090))
        blocks.append(
            f'resource "aws_vpc_security_group_ingress_rule" "extra_{k}" {{\n'
            f"  security_group_id = aws_security_group.app.id\n"
            f'  description       = "extra rule {k}"\n'
            f'  cidr_ipv4         = "10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.0/24"\n'
            f"  from_port         = {port}\n  to_port           = {port}\n"
            f'  ip_protocol       = "tcp"\n}}\n')
    path.write_text("\n".join(blocks))
