"""`auditor fix`: the value a finding needs, written where the value is set."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from tests.conftest import EXAMPLE

# The example's value remedies. latency-alarm's threshold comes from a variable used once:
# its default is the line changed.
FIXED = {"rds-backups", "storage-expandable", "pdb-present", "health-check-path",
         "latency-alarm", "readiness-probe-timing"}
VARIABLE = ("infrastructure/terraform/aws/variables.tf", 108)


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    dest = tmp_path / "proj"
    shutil.copytree(EXAMPLE, dest)
    return dest


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def _scan(root: Path) -> dict[str, Any]:
    result = _run("scan", "--config", str(root), "--format", "json", "--no-cache")
    assert result.exit_code in (0, 1), result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _files(root: Path) -> dict[str, list[str]]:
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8").splitlines()
            for p in root.rglob("*") if p.is_file() and p.suffix in (".yaml", ".tf")}


def test_the_diff_names_each_value_and_writing_it_resolves_the_findings(proj: Path) -> None:
    before = _scan(proj)
    fixable = {f["fingerprint"]: f for f in before["findings"]
               if f["remediation"]["value"] is not None}
    assert {f["policy"] for f in fixable.values()} == FIXED
    shown = _run("fix", "--config", str(proj))
    assert shown.exit_code == 0, shown.stderr
    assert "-  backup_retention_period = 3\n+  backup_retention_period = 7" in shown.stdout
    assert "-  enabled: false\n+  enabled: true" in shown.stdout
    assert _files(proj) == _files(EXAMPLE)  # printing changes nothing
    old = _files(proj)
    written = _run("fix", "--config", str(proj), "--write")
    assert written.exit_code == 0, written.stderr
    assert "fixed 6 finding(s): 6 line(s) in 4 file(s)" in written.stderr
    new = _files(proj)
    changed = {(f, i + 1) for f in old for i, (a, b) in enumerate(zip(old[f], new[f],
                                                                      strict=True)) if a != b}
    assert changed == {VARIABLE if f["policy"] == "latency-alarm" else
                       (f["location"]["file"], f["location"]["line"])
                       for f in fixable.values()}  # those lines, and nothing else
    assert new[VARIABLE[0]][VARIABLE[1] - 1] == "  default     = 0.5"
    after = _scan(proj)
    left = {f["fingerprint"] for f in after["findings"]}
    assert not left & set(fixable)  # every fixed finding is gone
    assert left <= {f["fingerprint"] for f in before["findings"]}  # and none appeared
    again = _run("fix", "--config", str(proj))
    assert again.stdout == "" and "0 line(s) in 0 file(s) would change" in again.stderr


def test_one_policy_only(proj: Path) -> None:
    shown = _run("fix", "--config", str(proj), "--policy", "rds-backups")
    assert "backup_retention_period = 7" in shown.stdout and "enabled: true" not in shown.stdout


def test_a_value_from_an_expression_is_not_edited_and_says_why(proj: Path) -> None:
    rds = proj / "infrastructure/terraform/aws/rds.tf"
    rds.write_text(rds.read_text().replace("backup_retention_period = 3",
                                           "backup_retention_period = local.days"))
    (proj / "infrastructure/terraform/aws/days.tf").write_text("locals {\n  days = 3\n}\n")
    shown = _run("fix", "--config", str(proj), "--policy", "rds-backups")
    assert shown.stdout == ""
    assert "sets backup_retention_period from an expression (local.days): change it where " \
        "that is set" in shown.stderr


def test_a_dirty_file_is_not_written_unless_forced(proj: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(proj), *args], check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "add", "-A")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "x")
    rds = proj / "infrastructure/terraform/aws/rds.tf"
    rds.write_text(rds.read_text() + "\n# a local change\n")
    refused = _run("fix", "--config", str(proj), "--write")
    assert refused.exit_code == 2
    assert "infrastructure/terraform/aws/rds.tf: has changes git has not committed" \
        in refused.stderr
    assert "backup_retention_period = 3" in rds.read_text()  # nothing written
    forced = _run("fix", "--config", str(proj), "--write", "--force")
    assert forced.exit_code == 0 and "backup_retention_period = 7" in rds.read_text()


def test_a_values_line_that_no_longer_holds_the_key_is_left_alone(proj: Path) -> None:
    from auditor import config as config_mod
    from auditor import fixes
    from auditor.models import Report

    report = Report.model_validate(_scan(proj))
    values = proj / "helm/chess-ai/values.yaml"
    values.write_text(values.read_text().replace("  enabled: false\n  maxUnavailable",
                                                 "  on: false\n  maxUnavailable"))
    edits, skips, _ = fixes.plan(config_mod.load(str(proj)), report)
    assert "podDisruptionBudget.enabled" in " ".join(s.why for s in skips)
    assert "  allowVolumeExpansion: false\n" in [  # the other findings' lines still are
        e.before for e in edits if e.file == "helm/chess-ai/values.yaml"]
    assert "  enabled: false\n" not in [e.before for e in edits]


def _audit(root: Path) -> dict[str, Any]:
    result = _run("audit", "--config", str(root), "--live", str(root / "live-snapshot.json"),
                  "--format", "json", "--no-cache")
    assert result.exit_code in (0, 1, 3), result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


ADOPTED = {  # the example's recorded drift that one line of Git declares, and its live value
    ("hpa-drift", "spec.minReplicas"): ("helm/values-prod.yaml", "  minReplicas: 5"),
    ("helm-drift", "spec.template.spec.containers[chess-ai].resources.limits.memory"): (
        "helm/values-prod.yaml", "    memory: 12Gi"),
    ("terraform-drift", "parameters.max_connections"): (
        "infrastructure/terraform/aws/rds.tf", '    value        = "500"'),
    ("terraform-drift", "scaling_config.max_size"): (
        "infrastructure/terraform/aws/eks.tf", "    max_size     = 12"),
    ("terraform-drift", "health_check.path"): (
        "infrastructure/terraform/aws/alb.tf", '    path                = "/health/ready"'),
}


def test_adopt_live_writes_the_recorded_drift_into_git(proj: Path) -> None:
    before = _audit(proj)
    drift = {(f["policy"], f["item"]): f for f in before["findings"] if f["side"] == "drift"}
    old = _files(proj)
    shown = _run("fix", "--config", str(proj), "--adopt-live", "--live",
                 str(proj / "live-snapshot.json"))
    assert shown.exit_code == 0, shown.stderr
    # What one line cannot take is said, not guessed: rules and env vars only live has.
    assert "ingress[tcp 5432 from 10.0.0.0/8]: only live has it" in shown.stderr
    assert "env[LOG_LEVEL]: only live has it" in shown.stderr
    written = _run("fix", "--config", str(proj), "--adopt-live", "--live",
                   str(proj / "live-snapshot.json"), "--write")
    assert written.exit_code == 0, written.stderr
    new = _files(proj)
    changed = {(f, i + 1, b) for f in old for i, (a, b) in enumerate(zip(old[f], new[f],
                                                                         strict=True)) if a != b}
    assert {(f, line) for f, _, line in changed} == set(ADOPTED.values())
    assert {(f, n) for f, n, _ in changed} == {
        (drift[key]["location"]["file"], drift[key]["location"]["line"]) for key in ADOPTED}
    after = _audit(proj)
    left = {(f["policy"], f["item"]) for f in after["findings"] if f["side"] == "drift"}
    assert not left & set(ADOPTED)  # Git now says what runs
    assert {f["fingerprint"] for f in after["findings"]} <= {
        f["fingerprint"] for f in before["findings"]}  # and nothing new fails


def test_live_is_only_for_adopt_live(proj: Path) -> None:
    result = _run("fix", "--config", str(proj), "--live", str(proj / "live-snapshot.json"))
    assert result.exit_code == 2 and "--live is for --adopt-live" in result.stderr


def test_the_pr_comment_suggests_the_line_for_each_new_fixable_finding(proj: Path) -> None:
    base = _scan(proj)
    base_file = proj.parent / "base.json"
    # The base had rds-backups already: only the two others are new in this "PR".
    base["findings"] = [f for f in base["findings"] if f["policy"] == "rds-backups"]
    base_file.write_text(json.dumps(base), encoding="utf-8")
    comment = _run("scan", "--config", str(proj), "--format", "markdown", "--baseline",
                   str(base_file)).stdout
    assert comment.count("```suggestion") == len(FIXED) - 1
    assert "Suggested change to helm/chess-ai/values.yaml:116 (`auditor fix`):\n\n" \
        "```suggestion\n  enabled: true\n```" in comment
    assert "rds.tf:56 (`auditor fix`)" not in comment  # pre-existing: not suggested again
    gate = json.loads(_run("scan", "--config", str(proj), "--format", "json", "--baseline",
                           str(base_file)).stdout)
    suggested = {f["policy"]: f["remediation"]["suggestion"] for f in gate["findings"]
                 if f["remediation"]["value"] is not None}
    assert suggested["rds-backups"] is None  # pre-existing
    assert suggested["pdb-present"] == {"file": "helm/chess-ai/values.yaml", "line": 116,
                                        "text": "  enabled: true"}
    assert _scan(proj)["findings"][0]["remediation"]["suggestion"] is None  # no gate: none


ORDERS = {  # another service's layout: its own chart (values keys named as the fields) and TF
    "auditor.yaml": "service: orders\nenvironments:\n  prod:\n    helm: {chart: chart, "
                    "release: orders, namespace: orders}\n    terraform: {dirs: [tf]}\n",
    "chart/Chart.yaml": "apiVersion: v2\nname: orders\nversion: 0.1.0\n",
    "chart/values.yaml": "# Orders API\nimage: registry.example.com/orders:1.4.2\n"
                         "replicas: 2\nrevisionHistoryLimit: 1  # keep few ReplicaSets\n",
    "chart/templates/deployment.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: orders\nspec:\n"
        "  replicas: {{ .Values.replicas }}\n"
        "  revisionHistoryLimit: {{ .Values.revisionHistoryLimit }}\n"
        "  selector:\n    matchLabels: {app: orders}\n  template:\n    metadata:\n"
        "      labels: {app: orders}\n    spec:\n      containers:\n        - name: orders\n"
        "          image: {{ .Values.image }}\n"),
    "tf/main.tf": (
        'resource "aws_db_instance" "db" {\n'
        '  identifier              = "orders-db"   # the orders service\'s database\n'
        '  engine                  = "postgres"\n'
        "  deletion_protection     = false\n"
        "  multi_az                = false\n"
        "  backup_retention_period = 1\n"
        "}\n\n"
        'resource "aws_db_instance" "reporting" {\n'
        '  identifier              = "reporting-db"\n'
        "  backup_retention_period = var.days\n"
        "}\n\n"
        'variable "days" {\n  default = 1\n}\n'),
}
ORDERS_FIXED = {"revision-history", "rds-deletion-protection", "rds-multi-az", "rds-backups"}


def test_another_layout_is_fixed_where_one_line_sets_the_value(tmp_path: Path) -> None:
    root = tmp_path / "orders"
    for rel, text in ORDERS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    before = _scan(root)
    written = _run("fix", "--config", str(root), "--write")
    assert written.exit_code == 0, written.stderr
    # reporting-db: the variable that sets its retention (used once) gets the value in its
    # default; the protection and Multi-AZ it does not set are added to its block.
    assert 'variable "days" {\n  default = 7\n}' in (root / "tf/main.tf").read_text()
    values = (root / "chart/values.yaml").read_text(encoding="utf-8")
    assert values.endswith("revisionHistoryLimit: 5  # keep few ReplicaSets\n")
    tf = (root / "tf/main.tf").read_text(encoding="utf-8")
    assert '"orders-db"   # the orders service\'s database' in tf  # other bytes kept
    assert "  backup_retention_period = var.days\n  deletion_protection     = true\n" \
        "  multi_az                = true\n}\n" in tf
    after = _scan(root)
    gone = {(f["policy"], f["resource"]["name"]) for f in before["findings"]} - {
        (f["policy"], f["resource"]["name"]) for f in after["findings"]}
    assert gone == {(p, "orders") for p in ("revision-history",)} | {
        (p, "orders-db") for p in ORDERS_FIXED - {"revision-history"}} | {
        ("rds-deletion-protection", "reporting-db"), ("rds-multi-az", "reporting-db"),
        ("rds-backups", "reporting-db")}
    assert {f["fingerprint"] for f in after["findings"]} <= {
        f["fingerprint"] for f in before["findings"]}


def test_the_pr_gate_sarif_carries_each_suggestion_as_a_fix(proj: Path) -> None:
    import jsonschema

    from tests.live.test_audit import SARIF_SCHEMA

    base = _scan(proj)
    base["findings"] = [f for f in base["findings"] if f["policy"] == "rds-backups"]
    base_file = proj.parent / "base.json"
    base_file.write_text(json.dumps(base), encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(proj.parent)], check=True)  # the repo root
    result = _run("scan", "--config", str(proj), "--format", "sarif", "--baseline",
                  str(base_file))
    data = json.loads(result.stdout)
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(data))
    assert not errors, errors[0].message
    fixes = {r["ruleId"]: r["fixes"][0] for r in data["runs"][0]["results"] if "fixes" in r}
    assert set(fixes) == FIXED - {"rds-backups"}  # new ones only
    change = fixes["pdb-present"]["artifactChanges"][0]
    assert change["artifactLocation"]["uri"] == "proj/helm/chess-ai/values.yaml"
    assert change["replacements"] == [{"deletedRegion": {"startLine": 116, "endLine": 116},
                                       "insertedContent": {"text": "  enabled: true"}}]
