"""The pull-request gate against a real git repository: a base commit, and a head commit
that adds one defect, fixes another and moves lines around. Only the new finding gates."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from auditor import baseline
from auditor.models import Report
from auditor.report import gate, gating
from tests import example_readme as readme
from tests.conftest import EXAMPLE, CliResult
from tests.formats.conftest import finding, make_report

pytestmark = pytest.mark.clock  # date-sensitive: `make clock` runs it with the clock moved

Run = Callable[..., CliResult]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The example in a git repo (under service/, so paths are not at the repo root):
    commit 'base' as shipped, commit 'head' with the changes a pull request makes."""
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLE, root / "service", ignore=shutil.ignore_patterns("*.json"))
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "ci@example.com")
    git(root, "config", "user.name", "CI")
    git(root, "add", ".")
    git(root, "commit", "-qm", "base")
    svc = root / "service"
    values = svc / "helm" / "values-prod.yaml"
    # One new defect: a CPU request above the CPU limit.
    _edit(values, "    cpu: 1000m", "    cpu: 6000m")
    # Lines move: a longer header, and the logging block moved above the image block.
    _edit(values, "# Production overrides", "# Reviewed by the platform team.\n#\n#\n#\n"
          "# Production overrides")
    _edit(values, "logging:\n  level: INFO\n  retention: 7d\n\n", "")
    _edit(values, "image:\n", "logging:\n  level: INFO\n  retention: 7d\n\nimage:\n")
    # One fix: a week of backups.
    tf = svc / "infrastructure" / "terraform" / "aws"
    _edit(tf / "rds.tf", "backup_retention_period = 3", "backup_retention_period = 7")
    # Reformatting: every Terraform line of the security groups shifts down.
    sg = tf / "security_groups.tf"
    sg.write_text("# Security groups of chess-ai.\n\n\n" + sg.read_text())
    git(root, "commit", "-qam", "head")
    return root


def _scan(run_cli: Run, repo: Path, *args: str) -> CliResult:
    return run_cli("scan", "--config", str(repo / "service"), "--format", "json",
                   "--source-url", "", *args)


def _key(f: dict[str, object]) -> tuple[object, ...]:
    resource = f["resource"]
    assert isinstance(resource, dict)
    return (f["policy"], resource["name"], f["item"])


def test_base_ref_reports_exactly_the_new_and_the_fixed(run_cli: Run, repo: Path) -> None:
    result = _scan(run_cli, repo, "--base-ref", "HEAD~1", "--fail-on", "medium")
    assert result.exit_code == 1, result.stderr
    report = result.json()
    comparison = report["comparison"]
    base_sha = git(repo, "rev-parse", "HEAD~1")
    assert comparison["base"] == f"HEAD~1 ({base_sha[:12]})"
    new = [f for f in report["findings"] if f["baseline"] == "new"]
    assert [_key(f) for f in new] == [("cpu-limits", "chess-ai", "chess-ai")]
    assert new[0]["location"]["file"] == "helm/values-prod.yaml"
    assert new[0]["location"]["key"] == "resources"  # the policy locates the block
    assert (comparison["new"], comparison["fixed"]) == (1, 1)
    assert [_key(f) for f in comparison["fixed_findings"]] == [
        ("rds-backups", "chess-ai-prod", None)]
    existing = [f for f in report["findings"] if f["baseline"] == "existing"]
    assert comparison["existing"] == len(existing) == len(report["findings"]) - 1 >= 10
    assert report["gate"]["scope"] == "new"
    # The moved lines did not make old findings new: they kept their identity.
    moved = {f["policy"]: f["location"]["line"] for f in existing
             if f["policy"] in ("sg-no-world-admin", "db-connection-capacity")}
    was = {r.policy: r.at.first for r in readme.planted() if r.policy in moved}
    # security_groups.tf: 3 header lines; values-prod.yaml: 4 header lines, and the 4 lines
    # of the logging block moved from below the pool size to above it.
    assert moved == {"sg-no-world-admin": was["sg-no-world-admin"] + 3,
                     "db-connection-capacity": was["db-connection-capacity"] + 8}


def test_only_new_findings_gate(run_cli: Run, repo: Path) -> None:
    # The new finding is high: below a critical threshold the gate passes, although the
    # head has pre-existing critical findings.
    assert _scan(run_cli, repo, "--base-ref", "HEAD~1", "--fail-on", "critical").exit_code == 0
    assert _scan(run_cli, repo, "--fail-on", "critical").exit_code == 1
    # Compared with itself, nothing is new and nothing fixed.
    same = _scan(run_cli, repo, "--base-ref", "HEAD", "--fail-on", "low")
    assert same.exit_code == 0
    assert (same.json()["comparison"]["new"], same.json()["comparison"]["fixed"]) == (0, 0)


def test_baseline_file_gives_the_same_answer(run_cli: Run, repo: Path,
                                            tmp_path: Path) -> None:
    git(repo, "checkout", "-q", "HEAD~1")
    base = _scan(run_cli, repo)
    git(repo, "checkout", "-q", "main")
    saved = tmp_path / "base.json"
    saved.write_text(base.stdout)
    by_file = _scan(run_cli, repo, "--baseline", str(saved), "--fail-on", "medium")
    by_ref = _scan(run_cli, repo, "--base-ref", "HEAD~1", "--fail-on", "medium")
    assert by_file.exit_code == by_ref.exit_code == 1
    pick = ("new", "existing", "fixed")
    assert [by_file.json()["comparison"][k] for k in pick] == \
        [by_ref.json()["comparison"][k] for k in pick]
    assert [f["baseline"] for f in by_file.json()["findings"]] == \
        [f["baseline"] for f in by_ref.json()["findings"]]


def test_worktree_is_removed_and_checkout_untouched(run_cli: Run, repo: Path) -> None:
    _scan(run_cli, repo, "--base-ref", "HEAD~1")
    assert len(git(repo, "worktree", "list").splitlines()) == 1
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"


def test_markdown_and_annotations_for_the_pull_request(run_cli: Run, repo: Path,
                                                       tmp_path: Path) -> None:
    saved = tmp_path / "gate.json"
    _scan(run_cli, repo, "--base-ref", "HEAD~1", "--fail-on", "medium",
          "--output", str(saved), "--source-url", "https://github.com/acme/chess/blob/abc/")
    md = run_cli("report", str(saved), "--format", "markdown")
    assert md.exit_code == 0
    text = md.stdout
    assert "**1 new** · 1 fixed · " in text
    # The new finding, linked to its line in the repository (repo-root path) and runbook.
    line = next(x for x in text.splitlines() if x.startswith("| ") and "cpu-limits" in x)
    assert "(https://github.com/acme/chess/blob/abc/service/helm/values-prod.yaml#L" in line
    assert "[cpu-limits](http://127.0.0.1:8000/common-issues/high-cpu/" in line
    assert "Fixed (1)" in text and "rds-backups" in text
    annotations = run_cli("report", str(saved), "--format", "github", "--exit-code")
    assert annotations.exit_code == 1  # the gate's recorded exit code
    commands = [x for x in annotations.stdout.splitlines() if x.startswith("::")]
    assert len(commands) == 1  # only the new finding is annotated
    assert commands[0].startswith("::error file=service/helm/values-prod.yaml,line=")
    assert "title=cpu-limits%3A" in commands[0]


def test_base_without_the_config_makes_everything_new(run_cli: Run, repo: Path) -> None:
    git(repo, "mv", "service/auditor.yaml", "service/auditor.yml")
    git(repo, "commit", "-qm", "rename")
    git(repo, "mv", "service/auditor.yml", "service/auditor.yaml")
    git(repo, "commit", "-qm", "rename back")
    result = _scan(run_cli, repo, "--base-ref", "HEAD~1")
    comparison = result.json()["comparison"]
    assert "does not exist at HEAD~1" in comparison["note"]
    assert comparison["existing"] == 0 and comparison["new"] == len(result.json()["findings"])
    assert result.exit_code == 1


@pytest.mark.parametrize("ref", ["no-such-branch", "--output=x"])
def test_bad_ref_is_one_line_and_exit_2(run_cli: Run, repo: Path, ref: str) -> None:
    result = _scan(run_cli, repo, "--base-ref", ref)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --base-ref")
    assert len(result.stderr.strip().splitlines()) == 1


def test_outside_git_is_exit_2(run_cli: Run, tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "plain")
    result = run_cli("scan", "--config", str(tmp_path / "plain"), "--base-ref", "main")
    assert result.exit_code == 2 and "not in a git work tree" in result.stderr


def test_baseline_and_base_ref_together_is_a_usage_error(run_cli: Run, repo: Path) -> None:
    result = _scan(run_cli, repo, "--base-ref", "HEAD", "--baseline", "x.json")
    assert result.exit_code == 2 and "not both" in result.stderr


def test_bad_baseline_file(run_cli: Run, repo: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": "1"}))
    result = _scan(run_cli, repo, "--baseline", str(bad))
    assert result.exit_code == 2 and str(bad) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_sarif_of_a_compared_and_waived_report_is_valid(run_cli: Run, repo: Path,
                                                        tmp_path: Path) -> None:
    from tests.formats.test_sarif import _validate

    (repo / "service" / ".auditor-waivers.yaml").write_text(
        "waivers:\n  - policy: sg-no-world-admin\n    resource: SecurityGroup/*\n"
        "    environments: ['*']\n    reason: r\n    owner: o\n"
        f"    expires: {datetime.now(UTC).date() + timedelta(days=30)}\n")
    sarif = json.loads(_scan(run_cli, repo, "--base-ref", "HEAD~1", "--format", "sarif").stdout)
    _validate(sarif)
    results = sarif["runs"][0]["results"]
    new = [r["ruleId"] for r in results if r["baselineState"] == "new"]
    assert new == ["cpu-limits"]
    assert {r["baselineState"] for r in results if r["ruleId"] == "sg-no-world-admin"} == {
        "unchanged"}
    assert {r["ruleId"] for r in results if "suppressions" in r} == {"sg-no-world-admin"}


def test_each_environment_scans_its_own_values(run_cli: Run, example_copy: Path) -> None:
    """The per-environment matrix: one chart, each environment's values files; a finding
    names its environment, values file, line and key."""
    helm = example_copy / "helm"
    staging = (helm / "values-prod.yaml").read_text().replace("    cpu: 1000m", "    cpu: 6000m")
    (helm / "values-staging.yaml").write_text(staging)
    config = example_copy / "auditor.yaml"
    text = config.read_text()
    env = text.split("  prod:\n", 1)[1].replace("values-prod.yaml", "values-staging.yaml")
    config.write_text(text + "  staging:\n" + env)
    report = run_cli("scan", "--config", str(example_copy), "--format", "json").json()
    assert report["environments"] == ["prod", "staging"]
    cpu = {(f["environment"], f["item"]): f["location"] for f in report["findings"]
           if f["policy"] == "cpu-limits"}
    assert ("prod", "chess-ai") not in cpu  # prod's request is within its limit
    assert cpu[("staging", "chess-ai")]["file"] == "helm/values-staging.yaml"
    assert cpu[("staging", "chess-ai")]["key"] == "resources"
    assert cpu[("prod", "log-shipper")] == {"file": "helm/values-prod.yaml", "line": 45,
                                            "key": "sidecars[0]", "related": []}
    line = staging.splitlines().index("resources:") + 1
    assert cpu[("staging", "chess-ai")]["line"] == line


def test_untracked_chart_dependencies_are_used_for_the_base(run_cli: Run,
                                                            repo: Path) -> None:
    """charts/ is usually gitignored and filled by `helm dependency build`: the base is
    rendered with this checkout's, not reported unreadable (which made everything new)."""
    chart = repo / "service" / "helm" / "chess-ai"
    meta = chart / "Chart.yaml"
    meta.write_text(meta.read_text() + "dependencies:\n  - name: common\n"
                    "    version: 1.0.0\n    repository: https://charts.example.com\n")
    (repo / ".gitignore").write_text("charts/\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "a dependency")
    sub = chart / "charts" / "common"
    (sub / "templates").mkdir(parents=True)
    (sub / "Chart.yaml").write_text("apiVersion: v2\nname: common\nversion: 1.0.0\n"
                                    "type: library\n")
    (sub / "templates" / "_helpers.tpl").write_text('{{- define "common.x" -}}x{{- end -}}\n')
    assert git(repo, "status", "--porcelain") == ""  # charts/ is not in git
    result = _scan(run_cli, repo, "--base-ref", "HEAD")
    comparison = result.json()["comparison"]
    assert comparison["note"] == ""
    assert (comparison["new"], comparison["fixed"]) == (0, 0)
    assert not (repo / "service" / "helm" / "chess-ai" / "charts" / "common" / ".git").exists()


def test_errors_keep_the_gate_incomplete_even_when_not_new(run_cli: Run, repo: Path) -> None:
    values = repo / "service" / "helm" / "values-prod.yaml"
    values.write_text(values.read_text() + "oops: [\n")
    git(repo, "commit", "-qam", "break the values")
    base_ref_result = _scan(run_cli, repo, "--base-ref", "HEAD~1", "--fail-on", "never")
    report = base_ref_result.json()
    # head cannot read its values: nothing is claimed fixed there, and it is incomplete
    assert report["comparison"]["fixed"] == 0
    assert base_ref_result.exit_code == 3
    # the same error at the base too: still not a pass (nothing was evaluated)
    same = _scan(run_cli, repo, "--base-ref", "HEAD", "--fail-on", "never")
    assert same.json()["comparison"]["new"] == 0
    assert same.exit_code == 3 and same.json()["gate"]["status"] == "incomplete"


def test_renaming_the_service_is_a_note_not_a_failure(run_cli: Run, repo: Path) -> None:
    config = repo / "service" / "auditor.yaml"
    config.write_text(config.read_text().replace("service: chess-ai", "service: chess-ai-v2"))
    git(repo, "commit", "-qam", "rename")
    result = _scan(run_cli, repo, "--base-ref", "HEAD~1", "--fail-on", "critical")
    assert result.exit_code == 0, result.stderr
    assert "service was 'chess-ai'" in result.json()["comparison"]["note"]


def test_merge_base_not_the_tip_of_the_base_branch(run_cli: Run, repo: Path) -> None:
    """A fix made on main after the branch left it is not counted against the branch."""
    git(repo, "checkout", "-q", "-b", "feature", "HEAD~1")
    notes = repo / "service" / "NOTES.md"
    notes.write_text("a change that adds no finding\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "feature work")
    result = _scan(run_cli, repo, "--base-ref", "main", "--fail-on", "low")
    comparison = result.json()["comparison"]
    assert comparison["new"] == 0 and comparison["fixed"] == 0, comparison
    assert "merge base" in comparison["base"]
    assert result.exit_code == 0


def test_baseline_directory_of_per_environment_reports(run_cli: Run, example_copy: Path,
                                                       tmp_path: Path) -> None:
    config = example_copy / "auditor.yaml"
    text = config.read_text()
    config.write_text(text + "  staging:\n" + text.split("  prod:\n", 1)[1])
    nightly = tmp_path / "nightly"
    (nightly / "prod").mkdir(parents=True)
    (nightly / "prod" / "r.json").write_text(run_cli(
        "scan", "--config", str(example_copy), "--env", "prod", "--format", "json").stdout)
    only_prod = run_cli("scan", "--config", str(example_copy), "--format", "json",
                        "--baseline", str(nightly)).json()["comparison"]
    assert only_prod["existing"] > 0 and only_prod["new"] == only_prod["existing"]
    assert "does not cover staging" in only_prod["note"]
    (nightly / "staging").mkdir()
    (nightly / "staging" / "r.json").write_text(run_cli(
        "scan", "--config", str(example_copy), "--env", "staging", "--format", "json").stdout)
    both = run_cli("scan", "--config", str(example_copy), "--format", "json",
                   "--baseline", str(nightly))
    assert both.exit_code == 0
    assert (both.json()["comparison"]["new"], both.json()["comparison"]["note"]) == (0, "")


def test_report_exit_code_needs_a_gate(run_cli: Run, tmp_path: Path) -> None:
    old = Path(__file__).parent / "data" / "report-v1-0.1.0.json"
    data = json.loads(old.read_text())
    data.pop("gate", None)
    ungated = tmp_path / "ungated.json"
    ungated.write_text(json.dumps(data))
    result = run_cli("report", str(ungated), "--format", "table", "--exit-code")
    assert result.exit_code == 2 and "not gated" in result.stderr


def test_sigterm_removes_the_worktree(repo: Path) -> None:
    """A cancelled CI job sends SIGTERM: the worktree registered in the user's repository
    is removed before the process ends."""
    import os
    import signal

    from auditor import gitbase

    with pytest.raises(SystemExit) as stopped, \
            gitbase.checkout(repo / "service", "HEAD~1") as base:
        tree = base.root
        assert len(git(repo, "worktree", "list").splitlines()) == 2
        os.kill(os.getpid(), signal.SIGTERM)
    assert stopped.value.code == 128 + signal.SIGTERM
    assert not tree.exists()
    assert len(git(repo, "worktree", "list").splitlines()) == 1
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is put back


def _dependency(repo: Path, version: str, *, ignore: bool = True) -> Path:
    chart = repo / "service" / "helm" / "chess-ai"
    meta = chart / "Chart.yaml"
    text = meta.read_text().split("dependencies:")[0]
    meta.write_text(text + f"dependencies:\n  - name: common\n    version: {version}\n"
                    "    repository: https://charts.example.com\n")
    if ignore:
        (repo / ".gitignore").write_text("**/charts/common/\n")
    sub = chart / "charts" / "common"
    (sub / "templates").mkdir(parents=True, exist_ok=True)
    (sub / "Chart.yaml").write_text(f"apiVersion: v2\nname: common\nversion: {version}\n"
                                    "type: library\n")
    (sub / "templates" / "_helpers.tpl").write_text('{{- define "common.x" -}}x{{- end -}}\n')
    return chart


def test_partly_committed_charts_get_the_missing_entries(run_cli: Run, repo: Path) -> None:
    chart = _dependency(repo, "1.0.0")
    vendored = chart / "charts" / "vendored"
    (vendored / "templates").mkdir(parents=True)
    (vendored / "Chart.yaml").write_text("apiVersion: v2\nname: vendored\nversion: 1.0.0\n"
                                         "type: library\n")
    meta = chart / "Chart.yaml"
    meta.write_text(meta.read_text() + "  - name: vendored\n    version: 1.0.0\n"
                    "    repository: file://charts/vendored\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "vendored + common")
    assert git(repo, "ls-files", "service/helm/chess-ai/charts").splitlines() == [
        "service/helm/chess-ai/charts/vendored/Chart.yaml"]
    comparison = _scan(run_cli, repo, "--base-ref", "HEAD").json()["comparison"]
    assert (comparison["new"], comparison["note"]) == (0, "")


def test_a_dependency_bump_is_not_rendered_with_the_new_charts(run_cli: Run,
                                                               repo: Path) -> None:
    _dependency(repo, "1.0.0")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "common 1")
    _dependency(repo, "2.0.0")
    git(repo, "commit", "-qam", "common 2")
    comparison = _scan(run_cli, repo, "--base-ref", "HEAD~1").json()["comparison"]
    assert "alters the chart's dependencies" in comparison["note"]


def test_baseline_reports_of_other_services_are_ignored(run_cli: Run, repo: Path,
                                                        tmp_path: Path) -> None:
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    mine = _scan(run_cli, repo).json()
    (fleet / "chess.json").write_text(json.dumps(mine))
    later = datetime.fromisoformat(mine["generated_at"]) + timedelta(days=1)
    other = {**mine, "service": "billing", "findings": [], "generated_at": later.isoformat()}
    (fleet / "billing.json").write_text(json.dumps(other))
    result = _scan(run_cli, repo, "--baseline", str(fleet))
    assert result.json()["comparison"]["new"] == 0
    (fleet / "chess.json").unlink()
    refused = _scan(run_cli, repo, "--baseline", str(fleet))
    assert refused.exit_code == 2 and "no baseline report is of service 'chess-ai'" in \
        refused.stderr


# A finding is the same finding only with the same status (auditor.baseline.key): an
# `unknown` at the base that is now a `fail` was never accepted as a failure, so it is new
# and gates, and the base's `unknown` is not "fixed" (the resource still has the finding).
def _compared(base_status: str, head_status: str) -> Report:
    def one(status: str) -> Report:
        return make_report([finding("hpa-present", status, "prod", "api")],  # severity high
                           environments=["prod"], sides=["declared"])

    head = one(head_status)
    baseline.compare(head, one(base_status), "base.json")
    return head


@pytest.mark.parametrize(("base_status", "head_status", "new", "code"), [
    ("unknown", "fail", True, 1),  # newly decided as a failure: new, and it gates
    ("fail", "fail", False, 0),  # the same failure: existing, it does not gate
    ("fail", "unknown", True, 0),  # new, but an unknown fails no gate
])
def test_a_change_of_status_is_a_new_finding(base_status: str, head_status: str, new: bool,
                                             code: int) -> None:
    head = _compared(base_status, head_status)
    (f,) = head.findings
    assert f.baseline == ("new" if new else "existing")
    assert head.comparison is not None
    assert (head.comparison.new, head.comparison.existing, head.comparison.fixed) == (
        int(new), int(not new), 0)  # still there with another status: not fixed
    assert gating(head) == ([f] if new else [])
    assert gate(head, "high") == code  # high: the CLI's default --fail-on, at the severity
    assert head.gate is not None and head.gate.scope == "new"


def test_an_unknown_that_became_a_fail_gates_the_scan(run_cli: Run, example_copy: Path,
                                                      tmp_path: Path) -> None:
    """Through `auditor scan --baseline` with the default --fail-on: a baseline that had
    the example's high failure as `unknown` does not excuse it now that it fails."""
    first = run_cli("scan", "--config", str(example_copy), "--format", "json")
    report = first.json()
    same = tmp_path / "same.json"
    same.write_text(first.stdout)
    assert run_cli("scan", "--config", str(example_copy), "--format", "json",
                   "--baseline", str(same)).exit_code == 0
    gated = next(f for f in report["findings"] if f["status"] == "fail"
                 and f["severity"] in ("high", "critical") and f["waived"] is None)
    gated["status"] = "unknown"
    edited = tmp_path / "unknown.json"
    edited.write_text(json.dumps(report))
    result = run_cli("scan", "--config", str(example_copy), "--format", "json",
                     "--baseline", str(edited))
    assert result.exit_code == 1, result.stderr
    new = [f for f in result.json()["findings"] if f["baseline"] == "new"]
    assert [(f["fingerprint"], f["status"]) for f in new] == [(gated["fingerprint"], "fail")]
    assert result.json()["comparison"]["fixed"] == 0
    assert result.json()["gate"]["fail_on"] == "high"
