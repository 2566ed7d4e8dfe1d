"""The pack holds for any service: a small chart of a team's own, not chess-ai.

Facts of one service (its ready path, time to ready, memory floor, values keys) come from
its auditor.yaml; without them the checks that need them are not applicable and say which
key turns them on. Probes of every kind count; singletons by design need no HPA or PDB.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auditor import config as config_mod
from auditor import pipeline, policies
from auditor.errors import ConfigError, PolicyError

CHART = {
    "shop/Chart.yaml": """
        apiVersion: v2
        name: shop
        version: 0.1.0
        """,
    "shop/values.yaml": """
        replicas: 2
        web:
          image: nginx:1.27.2
          resources:
            requests: {cpu: 100m, memory: 32Mi}
            limits: {cpu: 500m, memory: 128Mi}
        api:
          image: shop-api:3.1.0
        """,
    # Two containers in one template: the sidecar only serves metrics.
    "shop/templates/web.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: {{ .Values.replicas }}
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
                - name: web
                  image: {{ .Values.web.image }}
                  ports: [{name: http, containerPort: 8080}]
                  resources: {{ toJson .Values.web.resources }}
                  readinessProbe:
                    httpGet: {path: /readyz, port: http}
                  livenessProbe:
                    httpGet: {path: /livez, port: http}
                - name: exporter
                  image: nginx/nginx-prometheus-exporter:1.3.0
                  ports: [{name: metrics, containerPort: 9113}]
                  resources:
                    requests: {cpu: 10m, memory: 16Mi}
                    limits: {cpu: 50m, memory: 32Mi}
        ---
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata: {name: web}
        spec:
          scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
          minReplicas: 2
          maxReplicas: 6
        ---
        apiVersion: policy/v1
        kind: PodDisruptionBudget
        metadata: {name: web}
        spec:
          maxUnavailable: 1
          selector: {matchLabels: {app: web}}
        """,
    # grpc probes, and a liveness probe that gives up after 10 + (3 - 1) x 5 = 20 s.
    "shop/templates/api.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: api}
        spec:
          replicas: {{ .Values.replicas }}
          selector: {matchLabels: {app: api}}
          template:
            metadata: {labels: {app: api}}
            spec:
              containers:
                - name: api
                  image: {{ .Values.api.image }}
                  ports: [{name: grpc, containerPort: 9000}]
                  resources:
                    requests: {cpu: 200m, memory: 256Mi}
                    limits: {cpu: "1", memory: 512Mi}
                  readinessProbe:
                    grpc: {port: 9000}
                  livenessProbe:
                    grpc: {port: 9000, service: liveness}
                    initialDelaySeconds: 10
                    periodSeconds: 5
        """,
    # A singleton by design: Recreate, one replica, an emptyDir cache, an exec probe.
    "shop/templates/indexer.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: indexer}
        spec:
          replicas: 1
          strategy: {type: Recreate}
          selector: {matchLabels: {app: indexer}}
          template:
            metadata: {labels: {app: indexer}}
            spec:
              containers:
                - name: indexer
                  image: shop-indexer:1.0.4
                  resources:
                    requests: {cpu: 100m, memory: 64Mi}
                    limits: {cpu: 200m, memory: 128Mi}
                  readinessProbe:
                    exec: {command: [indexer, check]}
                  livenessProbe:
                    exec: {command: [indexer, alive]}
                  volumeMounts: [{name: cache, mountPath: /cache}]
              volumes: [{name: cache, emptyDir: {}}]
        """,
    # Members that name each other: membership follows the replica count.
    "shop/templates/quorum.yaml": """
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: quorum}
        spec:
          replicas: 3
          serviceName: quorum-headless
          selector: {matchLabels: {app: quorum}}
          template:
            metadata: {labels: {app: quorum}}
            spec:
              containers:
                - name: quorum
                  image: shop-quorum:2.0.1
                  env:
                    - name: PEERS
                      value: "quorum-0.quorum-headless:7000,quorum-1.quorum-headless:7000"
                  resources:
                    requests: {cpu: 100m, memory: 128Mi}
                    limits: {cpu: 500m, memory: 256Mi}
                  readinessProbe:
                    tcpSocket: {port: 7000}
                  livenessProbe:
                    tcpSocket: {port: 7000}
        """,
}

CONFIG = """
service: shop
{facts}
environments:
  prod:
    helm:
      chart: shop
      release: shop
      namespace: shop
      values: [shop/values.yaml, values-prod.yaml]
"""

PROD_VALUES = """
logging:
  level: info
"""


def _scan(project: Callable[[dict[str, str]], Path], facts: str = "") -> dict[str, Any]:
    root = project({**CHART, "values-prod.yaml": PROD_VALUES,
                    "auditor.yaml": CONFIG.format(facts=facts)})
    config = config_mod.load(str(root))
    pack = policies.load_all([])
    pipeline.validate_params(config, pack)
    report = pipeline.scan(config, pack, pipeline.ScanOptions())
    dumped: dict[str, Any] = report.model_dump(mode="json")
    return dumped


def _fails(report: dict[str, Any], policy: str) -> dict[str, dict[str, Any]]:
    return {f"{f['resource']['name']}#{f['item'] or ''}": f for f in report["findings"]
            if f["policy"] == policy and f["status"] == "fail"}


def test_without_facts_no_service_is_judged_by_another_services_numbers(
        project: Callable[[dict[str, str]], Path]) -> None:
    report = _scan(project)
    assert not [f for f in report["findings"] if f["status"] == "error"], report["findings"]
    # Probes of every kind count; 128Mi and 32Mi are fine with no floor given.
    for policy in ("readiness-probe", "readiness-probe-timing", "memory-request-within-limit",
                   "log-retention", "liveness-probe", "db-connection-capacity"):
        assert not _fails(report, policy), (policy, _fails(report, policy))
    # The policies that need a fact say which key turns them on.
    off = {n["policy"]: n["reason"] for n in report["not_applicable"]}
    assert "facts.values_keys.log_retention" in off["log-retention"]
    assert "facts.time_to_ready or facts.max_probe_period" in off["readiness-probe-timing"]
    assert "facts.values_keys.pool_size" in off["db-connection-capacity"]
    assert "readiness-probe" not in off and "hpa-present" not in off
    # Nothing of chess-ai's in what any finding says.
    text = str(report["findings"]).lower()
    for word in ("move database", "chess", "/health/ready", "logging.retention"):
        assert word not in text, word


def test_singletons_by_design_need_no_hpa_or_pdb(
        project: Callable[[dict[str, str]], Path]) -> None:
    report = _scan(project)
    hpa, pdb = _fails(report, "hpa-present"), _fails(report, "pdb-present")
    # api can run several replicas and has neither; web has both; the Recreate singleton
    # and the StatefulSet whose members name each other are not asked for either.
    assert set(hpa) == {"api#"} and set(pdb) == {"api#"}, (hpa, pdb)
    assert "no HorizontalPodAutoscaler targets it" in hpa["api#"]["message"]


def test_a_singleton_is_declared_in_the_facts(
        project: Callable[[dict[str, str]], Path]) -> None:
    report = _scan(project, "facts:\n  singletons: [Deployment/api]")
    assert not _fails(report, "hpa-present") and not _fails(report, "pdb-present")


FACTS = """facts:
  ready_path: /health/ready
  time_to_ready: 60
  max_probe_period: 10
  min_memory_limit: 256Mi
  values_keys:
    log_retention: logging.retention
"""


def test_the_services_facts_turn_the_checks_on(
        project: Callable[[dict[str, str]], Path]) -> None:
    report = _scan(project, FACTS)
    assert {n["policy"] for n in report["not_applicable"]} == {"db-connection-capacity"}

    ready = _fails(report, "readiness-probe")
    assert "probes readiness on /readyz, not the service's ready path /health/ready" in (
        ready["web#web"]["message"])
    assert "grpc readinessProbe, not an httpGet on the service's ready path" in (
        ready["api#api"]["message"])

    timing = _fails(report, "readiness-probe-timing")
    message = timing["api#api"]["message"]
    assert "no startupProbe, and the livenessProbe gives up after 20 s" in message
    assert "before the service is ready at 60 s" in message
    assert timing["api#api"]["location"]["line"] is not None

    memory = _fails(report, "memory-request-within-limit")
    assert set(memory) == {"web#web", "web#exporter", "indexer#indexer"}, set(memory)
    assert "memory limit of 128Mi, below the service's floor of 256Mi" in (
        memory["web#web"]["message"])
    assert "the request" not in memory["web#web"]["message"]

    # The missing key is reported in the environment's own values file, at its parent key.
    retention = _fails(report, "log-retention")["shop#"]
    assert retention["location"] == {"file": "values-prod.yaml", "line": 1, "key": "logging",
                                     "related": []}
    assert "no logging.retention" in retention["message"]


def test_a_request_above_the_limit_says_so(project: Callable[[dict[str, str]], Path]) -> None:
    files = {**CHART, "shop/values.yaml": CHART["shop/values.yaml"].replace(
        "memory: 32Mi", "memory: 512Mi")}
    root = project({**files, "values-prod.yaml": PROD_VALUES,
                    "auditor.yaml": CONFIG.format(facts="")})
    config = config_mod.load(str(root))
    report = pipeline.scan(config, policies.load_all([]), pipeline.ScanOptions())
    [finding] = [f for f in report.findings if f.policy == "memory-request-within-limit"]
    assert "requests 512Mi of memory, more than its limit of 128Mi" in finding.message
    assert "floor" not in finding.message


@pytest.mark.parametrize(("facts", "expected"), [
    ("facts:\n  min_memory_limit: lots", ":3: facts.min_memory_limit: not a Kubernetes quantity"),
    ("facts:\n  ready_path: health", ":3: facts.ready_path: an HTTP path starts with '/'"),
    ("facts:\n  time_to_ready: -5", ":3: facts.time_to_ready: Input should be greater than"),
    ("facts:\n  values_keys: {pool: a.b}", ":3: facts.values_keys.pool: unknown key"),
])
def test_facts_are_checked_at_their_line(project: Callable[[dict[str, str]], Path],
                                         facts: str, expected: str) -> None:
    root = project({"auditor.yaml": CONFIG.format(facts=facts)})
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(")):
        config_mod.load(str(root))


def test_a_policy_naming_an_unknown_fact_does_not_load(tmp_path: Path) -> None:
    text = (policies.PACK_DIR / "log-retention.yaml").read_text()
    (tmp_path / "log-retention.yaml").write_text(
        text.replace("fact: values_keys.log_retention", "fact: values_keys.log_retnetion"))
    with pytest.raises(PolicyError, match=r"unknown fact 'values_keys\.log_retnetion'"):
        policies.load_file(tmp_path / "log-retention.yaml")


FIT = {
    "fit/Chart.yaml": "apiVersion: v2\nname: fit\nversion: 0.1.0\n",
    "fit/values.yaml": """
        image: registry.example.com/fit:latest
        app:
          resources:
            requests: {cpu: 100m, memory: 64Mi}
        """,
    "fit/templates/deploy.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: fit}
        spec:
          selector: {matchLabels: {app: fit}}
          template:
            metadata: {labels: {app: fit}}
            spec:
              containers:
                - name: fit
                  image: {{ .Values.image }}
                  resources: {{ toJson .Values.app.resources }}
                  readinessProbe: {tcpSocket: {port: 80}}
                - name: proxy
                  image: envoyproxy/envoy:v1.31.2
                  resources:
                    requests: {cpu: 50m}
                  readinessProbe: {tcpSocket: {port: 81}}
        """,
    "auditor.yaml": """
        service: fit
        environments:
          prod:
            helm: {chart: fit, release: fit, values: [fit/values.yaml]}
        """,
}


def test_fixes_set_only_keys_the_charts_values_have(
        project: Callable[[dict[str, str]], Path]) -> None:
    root = project(FIT)
    report = pipeline.scan(config_mod.load(str(root)), policies.load_all([]),
                           pipeline.ScanOptions())
    fixes = {(f.policy, f.item): f.remediation for f in report.findings}
    # The values hold the first container's resources and its whole image: --set those keys.
    assert fixes[("memory-limits", "fit")].commands == [
        "helm upgrade fit ./fit --reuse-values --set app.resources.requests.memory=<memory-request>"
        " --set app.resources.limits.memory=<memory-limit> -n default"]
    assert fixes[("image-pinned", "fit")].commands[0] == (
        "helm upgrade fit ./fit --reuse-values --set image=registry.example.com/fit:<version> "
        "-n default")
    # The template writes the second container's: no key to set, the fix names the container.
    assert fixes[("cpu-limits", "proxy")].commands[0].startswith(
        "kubectl set resources deployment/fit -c proxy ")
    # Commands that only look are checks, not fixes.
    assert fixes[("image-pinned", "fit")].checks[0].startswith("kubectl get pods")
    assert not [c for r in fixes.values() for c in r.commands
                if c.startswith(("kubectl get", "kubectl top", "kubectl describe"))]


def test_a_containers_finding_points_at_its_own_lines(
        project: Callable[[dict[str, str]], Path]) -> None:
    root = project(FIT)
    report = pipeline.scan(config_mod.load(str(root)), policies.load_all([]),
                           pipeline.ScanOptions())
    where = {(f.policy, f.item): f.location for f in report.findings}
    proxy = where[("memory-limits", "proxy")]
    assert proxy is not None and (proxy.file, proxy.line) == ("fit/templates/deploy.yaml", 16)
    fit = where[("memory-limits", "fit")]
    assert fit is not None and (fit.file, fit.key) == ("fit/values.yaml", "app.resources")


def test_an_unresolved_rule_field_is_no_internal_text_in_an_item() -> None:
    from auditor.checks.ingress import rule_key
    from auditor.unknown import Unknown

    rule = {"protocol": Unknown("count.index is only known per instance"),
            "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"]}
    assert rule_key(rule) == "?/22-22 from 0.0.0.0/0"


MODULE_CALLER = {
    "auditor.yaml": """
        service: billing
        environments:
          prod:
            terraform: {dirs: [infra]}
        """,
    "infra/main.tf": """
        module "db" {
          source = "./modules/db"
          name   = "billing-prod"

          backup_retention_period = 3
        }
        """,
    # A module that passes its variable on to another: the value is still set at the root.
    "infra/modules/db/main.tf": """
        variable "name" {}
        variable "backup_retention_period" {}

        module "instance" {
          source    = "../instance"
          name      = var.name
          retention = var.backup_retention_period
        }
        """,
    "infra/modules/instance/main.tf": """
        variable "name" {}
        variable "retention" { default = 7 }

        resource "aws_db_instance" "this" {
          identifier              = var.name
          engine                  = "postgres"
          backup_retention_period = var.retention
        }
        """,
}


def test_a_finding_in_a_module_points_at_the_callers_argument(
        project: Callable[[dict[str, str]], Path]) -> None:
    from auditor.formats import sarif_format

    root = project(MODULE_CALLER)
    report = pipeline.scan(config_mod.load(str(root)), policies.load_all([]),
                           pipeline.ScanOptions())
    [backups] = [f for f in report.findings if f.policy == "rds-backups"]
    assert backups.location is not None
    assert (backups.location.file, backups.location.line) == ("infra/main.tf", 5)
    assert [str(r) for r in backups.location.related] == ["infra/modules/instance/main.tf:7"]
    assert backups.location.described() == (
        "infra/main.tf:5 (used at infra/modules/instance/main.tf:7)")
    sarif = sarif_format.render(report)
    [result] = [r for r in json.loads(sarif)["runs"][0]["results"]
                if r["ruleId"] == "rds-backups"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 5
    assert result["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "infra/modules/instance/main.tf")


def test_an_hpa_floor_set_in_the_environments_values_points_there(
        project: Callable[[dict[str, str]], Path]) -> None:
    root = project({
        "c/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n",
        "c/values.yaml": "replicaCount: 1\nautoscaling:\n  minReplicas: 2\n  maxReplicas: 5\n",
        "values-prod.yaml": "autoscaling:\n  minReplicas: 1\n",
        "c/templates/d.yaml": """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: c}
            spec:
              replicas: {{ .Values.replicaCount }}
              selector: {matchLabels: {app: c}}
              template:
                metadata: {labels: {app: c}}
                spec:
                  containers: [{name: c, image: "c:1.0.0"}]
            ---
            apiVersion: autoscaling/v2
            kind: HorizontalPodAutoscaler
            metadata: {name: c}
            spec:
              scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: c}
              minReplicas: {{ .Values.autoscaling.minReplicas }}
              maxReplicas: {{ .Values.autoscaling.maxReplicas }}
            """,
        "auditor.yaml": """
            service: c
            environments:
              prod:
                helm: {chart: c, release: c, values: [c/values.yaml, values-prod.yaml]}
            """})
    report = pipeline.scan(config_mod.load(str(root)), policies.load_all([]),
                           pipeline.ScanOptions())
    [floor] = [f for f in report.findings if f.policy == "hpa-present"]
    assert floor.location is not None
    assert (floor.location.file, floor.location.line, floor.location.key) == (
        "values-prod.yaml", 2, "autoscaling.minReplicas")


def test_every_route_to_a_public_database_is_caught(
        project: Callable[[dict[str, str]], Path]) -> None:
    root = project({
        "auditor.yaml": """
            service: billing
            environments:
              prod:
                terraform: {dirs: [tf]}
            """,
        "tf/main.tf": """
            resource "aws_security_group" "db" {
              name = "billing-db"
            }
            resource "aws_db_instance" "main" {
              identifier             = "billing"
              engine                 = "postgres"
              publicly_accessible    = true
              vpc_security_group_ids = [aws_security_group.db.id]
            }
            resource "aws_rds_cluster" "reports" {
              cluster_identifier     = "reports"
              engine                 = "aurora-postgresql"
              vpc_security_group_ids = [aws_security_group.db.id]
            }
            resource "aws_rds_cluster_instance" "reports" {
              identifier          = "reports-1"
              cluster_identifier  = aws_rds_cluster.reports.id
              publicly_accessible = true
            }
            """})
    report = pipeline.scan(config_mod.load(str(root)), policies.load_all([]),
                           pipeline.ScanOptions())
    public = {(f.resource.kind, f.resource.name): f for f in report.findings
              if f.policy == "db-not-public" and f.status == "fail"}
    assert set(public) == {("DBInstance", "billing"), ("DBClusterInstance", "reports-1")}
    finding = public[("DBInstance", "billing")]
    assert "has publicly_accessible = true" in finding.message
    assert finding.location is not None and finding.location.line == 7
    assert finding.remediation.commands == [
        "aws rds modify-db-instance --db-instance-identifier billing --no-publicly-accessible "
        "--apply-immediately"]
    assert "--db-instance-identifier reports-1 " in (
        public[("DBClusterInstance", "reports-1")].remediation.commands[0])


def test_a_database_reached_by_address_ranges_says_so() -> None:
    from auditor import engine
    from auditor.models import Inventory, Resource

    db = Resource("DBInstance", "api-db", {"engine": "postgres", "port": 5432,
                                           "vpc_security_group_ids": ["api-db"]}, "terraform")
    sg = Resource("SecurityGroup", "api-db", {"ingress": [
        {"protocol": "tcp", "from_port": 5432, "to_port": 5432,
         "cidr_blocks": ["10.40.1.0/24", "10.40.2.0/24"]}]}, "terraform")
    pack = [p for p in policies.load_all([]) if p.id == "db-ingress-from-app"]
    [result] = engine.evaluate(pack, Inventory("prod", "declared", [db, sg]), {})
    assert result.status == "fail"
    assert "only address ranges do (10.40.1.0/24, 10.40.2.0/24)" in result.message
    assert "time out" not in result.message


def test_a_container_is_found_by_its_quoted_name_past_a_branch_not_rendered(
        project: Callable[[dict[str, str]], Path]) -> None:
    template = FIT["fit/templates/deploy.yaml"].replace(
        "                - name: fit\n",
        "                {{- if .Values.debug }}\n"
        "                - name: debug\n"
        "                  image: busybox:1.36\n"
        "                {{- end }}\n"
        "                - name: \"fit\"\n").replace("- name: proxy", "- name: 'proxy'")
    root = project({**FIT, "fit/templates/deploy.yaml": template})
    report = pipeline.scan(config_mod.load(str(root)), policies.load_all([]),
                           pipeline.ScanOptions())
    where = {(f.policy, f.item): f.location for f in report.findings}
    proxy = where[("memory-limits", "proxy")]
    # Three items are written for two rendered ones: the proxy is found by its quoted name.
    assert proxy is not None and (proxy.file, proxy.line) == ("fit/templates/deploy.yaml", 20)


def test_a_container_is_not_taken_for_an_env_var_of_its_name(
        project: Callable[[dict[str, str]], Path]) -> None:
    """A container written before it (in a branch not rendered) has an env var named like
    it: only an item's own ``name:`` names it."""
    template = FIT["fit/templates/deploy.yaml"].replace(
        "                - name: fit\n",
        "                {{- if .Values.debug }}\n"
        "                - image: busybox:1.36\n"
        "                  env:\n"
        "                    - name: proxy\n"
        "                      value: on\n"
        "                  name: debug\n"
        "                {{- end }}\n"
        "                - name: fit\n")
    root = project({**FIT, "fit/templates/deploy.yaml": template})
    report = pipeline.scan(config_mod.load(str(root)), policies.load_all([]),
                           pipeline.ScanOptions())
    where = {(f.policy, f.item): f.location for f in report.findings}
    proxy = where[("memory-limits", "proxy")]
    assert proxy is not None and (proxy.file, proxy.line) == ("fit/templates/deploy.yaml", 23)
