"""`auditor fix` where no line sets the value yet: a key the chart reads, added to the
environment's values; a chart's toggle; a Terraform argument the environment's module call
does not pass, or an attribute its own resource lacks. Every such edit is a guess until a
scan of a copy with it says the finding is gone and nothing new fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor import fix_keys, fix_verify
from auditor.cli import cli

SHOP = {  # a service whose chart and Terraform set nothing for the remedies yet
    "auditor.yaml": "service: shop\nenvironments:\n  prod:\n    helm: {chart: chart, "
                    "release: shop, namespace: shop, values: [envs/prod.yaml]}\n"
                    "    terraform: {dirs: [tf]}\n",
    "chart/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
    "chart/values.yaml": "replicas: 2\nimage: registry.example.com/shop:1.0.0\n"
                         "deployment:\n  annotations: {}\npdb:\n  enabled: false\n"
                         "  maxUnavailable: 1\n",
    "chart/templates/deployment.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: shop\nspec:\n"
        "  replicas: {{ .Values.replicas }}\n"
        "  revisionHistoryLimit: {{ .Values.deployment.history | default 1 }}\n"
        "  selector:\n    matchLabels: {app: shop}\n  template:\n    metadata:\n"
        "      labels: {app: shop}\n"
        "      annotations: {{ toJson .Values.deployment.annotations }}\n"
        "    spec:\n      containers:\n        - name: shop\n"
        "          image: {{ .Values.image }}\n"),
    "chart/templates/pdb.yaml": (
        "{{- if .Values.pdb.enabled }}\napiVersion: policy/v1\nkind: PodDisruptionBudget\n"
        "metadata:\n  name: shop\nspec:\n  {{- with .Values.pdb.maxUnavailable }}\n"
        "  maxUnavailable: {{ . }}\n  {{- end }}\n  selector:\n    matchLabels: {app: shop}\n"
        "{{- end }}\n"),
    "envs/prod.yaml": "# prod overrides\nreplicas: 3\ndeployment:\n  annotations:\n"
                      "    team: shop\n",
    "tf/main.tf": (
        'module "db" {\n  source = "../modules/db"\n\n  identifier = "shop-db"\n}\n\n'
        'resource "aws_db_instance" "audit" {\n'
        '  identifier              = "shop-audit"\n'
        '  engine                  = "postgres"\n'
        "  backup_retention_period = 7\n"
        "  multi_az                = true\n"
        "}\n"),
    "modules/db/main.tf": (
        'variable "identifier" {}\nvariable "deletion_protection" {\n  default = false\n}\n'
        'variable "backup_retention_period" {\n  default = null\n}\n\n'
        'resource "aws_db_instance" "this" {\n'
        "  identifier              = var.identifier\n"
        '  engine                  = "postgres"\n'
        "  multi_az                = true\n"
        "  deletion_protection     = var.deletion_protection\n"
        "  backup_retention_period = var.backup_retention_period != null ? "
        "var.backup_retention_period : 1\n"
        "}\n"),
}
ADDED = {  # (policy, resource) -> what the fix should do about it
    ("revision-history", "shop"), ("pdb-present", "shop"),
    ("rds-deletion-protection", "shop-db"), ("rds-backups", "shop-db"),
    ("rds-deletion-protection", "shop-audit"),
}


def _project(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def _scan(root: Path, *args: str) -> dict[str, Any]:
    result = _run("scan", "--config", str(root), "--format", "json", "--no-cache", *args)
    assert result.exit_code in (0, 1), result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _failing(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["policy"], f["resource"]["name"]) for f in report["findings"]
            if f["status"] == "fail"}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return _project(tmp_path / "shop", SHOP)


def test_keys_and_arguments_nobody_set_are_added_and_the_findings_go(shop: Path) -> None:
    before = _scan(shop)
    assert _failing(before) >= ADDED
    old = {rel: (shop / rel).read_text(encoding="utf-8") for rel in SHOP}
    written = _run("fix", "--config", str(shop), "--write")
    assert written.exit_code == 0, written.stderr
    assert "fixed 5 finding(s)" in written.stderr
    # The key the template line reads, added under its parent in the environment's file.
    assert (shop / "envs/prod.yaml").read_text(encoding="utf-8") == (
        old["envs/prod.yaml"] + "  history: 5\n")
    # The chart's toggle for its PodDisruptionBudget template, where the chart sets it.
    assert (shop / "chart/values.yaml").read_text(encoding="utf-8") == old[
        "chart/values.yaml"].replace("enabled: false", "enabled: true")
    # The module call passes what its module reads, in a paragraph of its own, `=` aligned;
    # the resource gets the attribute in its aligned group. No other line changes.
    assert (shop / "tf/main.tf").read_text(encoding="utf-8") == (
        'module "db" {\n  source = "../modules/db"\n\n'
        "  backup_retention_period = 7\n  deletion_protection     = true\n\n"
        '  identifier = "shop-db"\n}\n\n'
        'resource "aws_db_instance" "audit" {\n'
        '  identifier              = "shop-audit"\n'
        '  engine                  = "postgres"\n'
        "  backup_retention_period = 7\n"
        "  multi_az                = true\n"
        "  deletion_protection     = true\n"
        "}\n")
    assert (shop / "modules/db/main.tf").read_text(encoding="utf-8") == old[
        "modules/db/main.tf"]  # the module is read, never written
    after = _scan(shop)
    assert not ADDED & _failing(after)
    assert _failing(after) <= _failing(before)  # nothing new fails


def test_an_edit_that_does_not_reach_the_field_is_refused(shop: Path) -> None:
    # The template writes a literal; the values key of the same name and value is unused:
    # attribution points at it, the scan with the edit shows it does nothing.
    template = shop / "chart/templates/deployment.yaml"
    template.write_text(template.read_text(encoding="utf-8").replace(
        "{{ .Values.deployment.history | default 1 }}", "1"), encoding="utf-8")
    values = shop / "envs/prod.yaml"
    values.write_text(values.read_text(encoding="utf-8") + "revisionHistoryLimit: 1\n",
                      encoding="utf-8")
    assert _scan(shop, "--policy", "revision-history")["findings"][0]["location"]["key"] \
        == "revisionHistoryLimit"
    shown = _run("fix", "--config", str(shop), "--policy", "revision-history")
    assert shown.stdout == ""
    assert "envs/prod.yaml:6: scanned again with the change, it still fails: the value " \
        "there does not reach the field" in shown.stderr


def test_a_toggle_that_renders_a_budget_blocking_every_drain_is_refused(shop: Path) -> None:
    values = shop / "chart/values.yaml"
    values.write_text(values.read_text(encoding="utf-8").replace("maxUnavailable: 1",
                                                                 "maxUnavailable: 0"),
                      encoding="utf-8")  # `with 0` renders neither field
    shown = _run("fix", "--config", str(shop), "--policy", "pdb-present")
    assert shown.stdout == ""
    assert "scanned again with the change, it still fails: Deployment shop: " \
        "PodDisruptionBudget shop selects its pods but sets neither minAvailable nor " \
        "maxUnavailable" in shown.stderr


def test_a_guess_that_makes_another_finding_is_refused(shop: Path) -> None:
    pdb = shop / "chart/templates/pdb.yaml"
    pdb.write_text(pdb.read_text(encoding="utf-8").rsplit("{{- end }}", 1)[0]
                   + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
                   "  name: shop-drainer\nspec:\n  replicas: 1\n  selector:\n"
                   "    matchLabels: {app: drainer}\n  template:\n    metadata:\n"
                   "      labels: {app: drainer}\n    spec:\n      containers:\n"
                   "        - {name: d, image: 'registry.example.com/drainer:latest'}\n"
                   "{{- end }}\n", encoding="utf-8")
    before = _failing(_scan(shop))
    shown = _run("fix", "--config", str(shop), "--policy", "pdb-present")
    added = {p for p in _failing(_scan(_enabled(shop)))} - before - {("pdb-present", "shop")}
    assert added, "the toggle must make another finding for this test to mean anything"
    assert shown.stdout == ""
    assert "scanned again with the change, it adds" in shown.stderr


def _enabled(shop: Path) -> Path:
    values = shop / "chart/values.yaml"
    values.write_text(values.read_text(encoding="utf-8").replace("enabled: false",
                                                                 "enabled: true"),
                      encoding="utf-8")
    return shop


def _replace(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def test_no_values_file_for_the_environment_says_where_the_key_would_go(shop: Path) -> None:
    _replace(shop / "auditor.yaml", ", values: [envs/prod.yaml]", "")
    shown = _run("fix", "--config", str(shop), "--policy", "revision-history")
    assert "no values file of prod is named in the config (helm.values): name one, and " \
        "the key goes there" in shown.stderr


def test_a_template_line_that_reads_no_key_is_a_template_change(shop: Path) -> None:
    _replace(shop / "chart/templates/deployment.yaml",
             "{{ .Values.deployment.history | default 1 }}", "{{ 1 }}")
    shown = _run("fix", "--config", str(shop), "--policy", "revision-history")
    assert "chart/templates/deployment.yaml:7: the chart's template writes it and reads " \
        "no values key on that line: change the template" in shown.stderr


def test_the_pr_gate_suggests_an_added_key_as_its_parent_line_and_the_new_one(
        shop: Path, tmp_path: Path) -> None:
    base = _scan(shop)
    base["findings"] = [f for f in base["findings"] if f["policy"] != "revision-history"]
    (tmp_path / "base.json").write_text(json.dumps(base), encoding="utf-8")
    gate = json.loads(_run("scan", "--config", str(shop), "--format", "json", "--baseline",
                           str(tmp_path / "base.json")).stdout)
    [found] = [f for f in gate["findings"] if f["policy"] == "revision-history"]
    assert found["remediation"]["suggestion"] == {
        "file": "envs/prod.yaml", "line": 5, "text": "    team: shop\n  history: 5"}


@pytest.mark.parametrize(("text", "key", "expected"), [
    ("a: 1\nb:\n  c: 2\n", ("b", "d"), "a: 1\nb:\n  c: 2\n  d: 5\n"),
    ("a: 1", ("z",), "a: 1\nz: 5\n"),  # no final line end: one is added before the key
    ("a:\n    deep:\n        x: 1\n# tail\n", ("a", "deep", "y"),
     "a:\n    deep:\n        x: 1\n        y: 5\n# tail\n"),
    ("a: 1\r\nb:\r\n  c: 2\r\n", ("b", "x", "y"), "a: 1\r\nb:\r\n  c: 2\r\n  x:\r\n    y: 5\r\n"),
    ("a:\n  run: |\n    line one\n    line two\nb: 2\n", ("a", "x"),
     "a:\n  run: |\n    line one\n    line two\n  x: 5\nb: 2\n"),
    ("", ("a", "b"), "a:\n  b: 5\n"),
])
def test_a_new_key_goes_under_its_nearest_parent(text: str, key: tuple[str, ...],
                                                 expected: str) -> None:
    edit = fix_keys.setting(text, key, "5")
    assert isinstance(edit, fix_keys.KeyEdit)
    lines = text.split("\n")
    lines = [p + "\n" for p in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    from auditor.fixes import Edit, _changes

    new = _changes({"f.yaml": lines}, [Edit("f.yaml", edit.line, "", edit.text, (), True)])
    assert new["f.yaml"][1] == expected


@pytest.mark.parametrize(("text", "key", "why"), [
    ("a: {}\n", ("a", "b"), "it sets a to an empty mapping"),
    ("a: 3\n", ("a", "b"), "it sets a to something other than a mapping"),
    ("a:\n  b: 1\n", ("a", "b"), "it sets the key already"),
    ("a: 1\n", ("we ird",), "is not a plain key"),
    ("- 1\n", ("a",), "it is not a mapping"),
])
def test_a_new_key_that_cannot_be_added_plainly_says_why(text: str, key: tuple[str, ...],
                                                         why: str) -> None:
    result = fix_keys.setting(text, key, "5")
    assert isinstance(result, str) and why in result


def test_template_candidates_are_the_keys_on_the_line_and_the_kinds_toggles() -> None:
    line = "  x: {{ .Values.a.b | default $.Values.c }} {{ .Values.a.b }} {{ $x.Values.no }}"
    assert [c.key for c in fix_keys.on_line(line, 1, 5)] == [("a", "b"), ("c",)]
    templates = {"pdb.yaml": "{{- if and .Values.pdb.create (gt .Values.replicas 1) }}\n"
                             "kind: PodDisruptionBudget\n{{- end }}",
                 "hpa.yaml": "{{- if .Values.hpa.enabled }}\nkind: HorizontalPodAutoscaler"}
    assert [c.key for c in fix_keys.toggles(templates, "PodDisruptionBudget")] == [
        ("pdb", "create")]


class _Tried:
    """Scans no project: says which labels hold, to check the order of the search."""

    problem: str | None = None  # the copy scans as the project does

    def __init__(self, holds: set[str]) -> None:
        self.holds, self.trials, self.seen = holds, 0, []

    def why_not(self, trial: fix_verify.Trial) -> str | None:
        self.trials += 1
        self.seen.append(trial.label)
        labels = set(trial.label.split("+"))
        return None if labels <= self.holds else f"{sorted(labels - self.holds)} fails"


def test_the_search_keeps_the_first_alternative_that_holds_for_each_group() -> None:
    def t(label: str) -> fix_verify.Trial:
        return fix_verify.Trial({}, (), label)

    groups = [[t("a1"), t("a2")], [t("b1")], [t("c1"), t("c2")]]
    tried = _Tried({"a2", "b1"})
    chosen = fix_verify.search(
        tried, groups,  # type: ignore[arg-type]
        lambda picks: t("+".join(groups[i][j].label for i, j in picks)))
    assert chosen[0] == 1 and chosen[1] == 0
    assert "c1: ['c1'] fails" in str(chosen[2]) and "c2: ['c2'] fails" in str(chosen[2])
    assert tried.seen == ["a1+b1+c1", "a1", "a2", "b1", "c1", "c2", "a2+b1"]


PAY = {  # a root module whose retention comes from a variable, and a chart with an HPA
    "auditor.yaml": "service: pay\nenvironments:\n  prod:\n    helm: {chart: chart, "
                    "release: pay, namespace: pay, values: [prod.yaml]}\n"
                    "    terraform: {dirs: [tf], var_files: [env/prod.tfvars]}\n",
    "chart/Chart.yaml": "apiVersion: v2\nname: pay\nversion: 0.1.0\n",
    "chart/values.yaml": "autoscaling:\n  min: 3\n  max: 3\n",
    "chart/templates/hpa.yaml": (
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: pay\n"
        "spec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: pay}\n"
        "  minReplicas: {{ .Values.autoscaling.min }}\n"
        "  maxReplicas: {{ .Values.autoscaling.max }}\n  metrics:\n    - type: Resource\n"
        "      resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}\n"),
    "prod.yaml": "# prod\n",
    "tf/main.tf": (
        'resource "aws_db_instance" "db" {\n  identifier              = "pay-db"\n'
        '  engine                  = "postgres"\n  deletion_protection     = true\n'
        "  multi_az                = true\n  backup_retention_period = var.days\n}\n\n"
        'variable "days" {\n  default = 1\n}\n'),
    "tf/terraform.tfvars": "days = 3\n",
    "env/prod.tfvars": "days = 2  # prod keeps two days\n",
}


def test_a_variable_used_once_is_changed_where_terraform_takes_its_value(
        tmp_path: Path) -> None:
    root = _project(tmp_path / "pay", PAY)
    assert ("rds-backups", "pay-db") in _failing(_scan(root))
    written = _run("fix", "--config", str(root), "--policy", "rds-backups", "--write")
    assert written.exit_code == 0, written.stderr
    # The variables file the config names last wins over terraform.tfvars and the default.
    assert (root / "env/prod.tfvars").read_text() == "days = 7  # prod keeps two days\n"
    assert (root / "tf/terraform.tfvars").read_text() == PAY["tf/terraform.tfvars"]
    assert (root / "tf/main.tf").read_text() == PAY["tf/main.tf"]
    assert ("rds-backups", "pay-db") not in _failing(_scan(root))


def test_a_variable_used_twice_is_not_changed(tmp_path: Path) -> None:
    root = _project(tmp_path / "pay", {**PAY, "tf/other.tf": (
        'resource "aws_db_instance" "reports" {\n  identifier              = "pay-reports"\n'
        '  engine                  = "postgres"\n  backup_retention_period = var.days\n}\n')})
    shown = _run("fix", "--config", str(root), "--policy", "rds-backups")
    assert shown.stdout == ""
    assert "var.days is used 2 times in prod's Terraform: changing it changes them all" \
        in shown.stderr


def test_an_hpa_that_cannot_grow_gets_a_maximum_above_its_minimum(tmp_path: Path) -> None:
    root = _project(tmp_path / "pay", PAY)
    written = _run("fix", "--config", str(root), "--policy", "hpa-range", "--write")
    assert written.exit_code == 0, written.stderr
    assert (root / "chart/values.yaml").read_text() == "autoscaling:\n  min: 3\n  max: 6\n"
    assert ("hpa-range", "pay") not in _failing(_scan(root))


def test_a_chart_setting_the_values_lack_is_added_to_the_environment(tmp_path: Path) -> None:
    import shutil

    from tests.conftest import EXAMPLE

    root = tmp_path / "proj"
    shutil.copytree(EXAMPLE, root)
    for rel in ("helm/chess-ai/values.yaml", "helm/values-prod.yaml"):
        path = root / rel
        path.write_text(path.read_text().replace("  retention: 7d\n", ""))
    config = root / "auditor.yaml"
    config.write_text(config.read_text().replace(
        "    pdb: podDisruptionBudget.enabled\n",
        "    pdb: podDisruptionBudget.enabled\n  max_log_retention: 14d\n"))
    assert ("log-retention", "chess-ai") in _failing(_scan(root))
    written = _run("fix", "--config", str(root), "--policy", "log-retention", "--write")
    assert written.exit_code == 0, written.stderr
    assert "logging:\n  level: INFO\n  retention: 14d\n" in (
        root / "helm/values-prod.yaml").read_text()
    assert ("log-retention", "chess-ai") not in _failing(_scan(root))


# Each policy whose remedy is a value, and the test that writes it and scans again.
COVERED = {
    "rds-backups": "test_fix.py: example, orders; test_fix_added.py: shop, pay (variable)",
    "storage-expandable": "test_fix.py: example",
    "pdb-present": "test_fix.py: example; test_fix_added.py: shop (toggle)",
    "health-check-path": "test_fix.py: example (target group)",
    "latency-alarm": "test_fix.py: example (the variable's default)",
    "readiness-probe-timing": "test_fix.py: example",
    "revision-history": "test_fix.py: orders; test_fix_added.py: shop (new key)",
    "rds-deletion-protection": "test_fix.py: orders; test_fix_added.py: shop (argument)",
    "rds-multi-az": "test_fix.py: orders (reporting-db: attribute added)",
    "hpa-range": "test_fix_added.py: pay",
    "log-retention": "test_fix_added.py: example without the key",
}


def test_every_value_remedy_has_a_test_that_writes_it_and_scans_again() -> None:
    from auditor import policies

    valued = {p.id for p in policies.load_all([]) if p.remediation.value}
    assert valued == set(COVERED)
