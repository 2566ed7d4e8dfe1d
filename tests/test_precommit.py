"""The pre-commit hook: its manifest is valid for pre-commit, and run by pre-commit itself in
a real git repository it scans only when a commit touches what an environment reads."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE, REPO, CliResult

Run = Callable[..., CliResult]
VALUES = EXAMPLE / "helm" / "values-prod.yaml"


def test_manifest_is_valid_for_pre_commit() -> None:
    from pre_commit.clientlib import load_manifest

    (hook,) = load_manifest(str(REPO / ".pre-commit-hooks.yaml"))
    assert hook["id"] == "runbook-auditor" and hook["entry"] == "auditor precommit"
    assert hook["pass_filenames"] is True


@pytest.mark.parametrize(("files", "code"), [
    ([VALUES], 1),  # the prod values: the prod scan runs and fails on its findings
    ([EXAMPLE / "infrastructure" / "terraform" / "aws" / "rds.tf"], 1),
    ([EXAMPLE / "helm" / "chess-ai" / "templates"], 1),
    ([EXAMPLE / "README.md"], 0),  # nothing an environment reads
    ([], 0),
])
def test_only_affected_environments_are_scanned(run_cli: Run, files: list[Path],
                                                code: int) -> None:
    result = run_cli("precommit", "--all", "--config", str(EXAMPLE), *map(str, files))
    assert result.exit_code == code, result.stderr
    assert ("== prod ==" in result.stdout) == bool(code)


def test_compared_with_head_by_default(run_cli: Run) -> None:
    # The example as committed: every finding is pre-existing, nothing the change adds.
    result = run_cli("precommit", "--config", str(EXAMPLE), str(VALUES))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Compared with HEAD" in result.stdout and "0 new" in result.stdout


def test_affected_picks_environments(example_copy: Path) -> None:
    from auditor import config
    from auditor.precommit import affected

    text = (example_copy / "auditor.yaml").read_text()
    staging = text.split("  prod:\n", 1)[1].replace("values-prod.yaml", "values-staging.yaml")
    (example_copy / "auditor.yaml").write_text(text + "  staging:\n" + staging)
    loaded = config.load(str(example_copy))
    helm = example_copy / "helm"
    assert affected(loaded, [str(helm / "values-prod.yaml")]) == ["prod"]
    assert affected(loaded, [str(helm / "values-staging.yaml")]) == ["staging"]
    assert affected(loaded, [str(helm / "chess-ai" / "values.yaml")]) == ["prod", "staging"]
    assert affected(loaded, [str(example_copy / "auditor.yaml")]) == ["prod", "staging"]
    assert affected(loaded, [str(example_copy / "README.md")]) == []


def test_a_changed_plan_file_affects_its_environment(tmp_path: Path) -> None:
    from auditor import config
    from auditor.precommit import affected

    (tmp_path / "auditor.yaml").write_text(
        "service: s\nenvironments:\n"
        "  prod: {terraform: {dirs: [infra], plan: build/prod-plan.json}}\n"
        "  staging: {terraform: {dirs: [infra], plan: build/staging-plan.json}}\n")
    loaded = config.load(str(tmp_path))
    build = tmp_path / "build"
    assert affected(loaded, [str(build / "prod-plan.json")]) == ["prod"]
    assert affected(loaded, [str(build / "staging-plan.json")]) == ["staging"]
    assert affected(loaded, [str(build / "other.json")]) == []


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.mark.slow
def test_pre_commit_runs_the_hook_on_changed_files(tmp_path: Path) -> None:
    """pre-commit's own file filtering and argument passing, with our hook's entry and
    file pattern (as a local hook: installing the package into a hook venv needs PyPI)."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("*.json"))
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    auditor = Path(sys.executable).parent / "auditor"
    local = {**hook, "language": "system", "entry": f"{auditor} precommit"}
    local.pop("minimum_pre_commit_version")
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(
        {"repos": [{"repo": "local", "hooks": [local]}]}))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "ci@example.com")
    _git(repo, "config", "user.name", "CI")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "base")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pc-home")}
    pre_commit = [sys.executable, "-m", "pre_commit", "run"]

    (repo / "README.md").write_text("docs only\n")
    _git(repo, "add", "README.md")
    docs = subprocess.run(pre_commit, cwd=repo, env=env, capture_output=True, text=True)
    assert docs.returncode == 0, docs.stdout + docs.stderr
    assert "no files to check" in docs.stdout  # README.md is not one of the hook's files

    values = repo / "helm" / "values-prod.yaml"
    values.write_text(values.read_text().replace("tag: v2.4.1", "tag: v2.4.2"))
    _git(repo, "add", ".")
    bump = subprocess.run(pre_commit, cwd=repo, env=env, capture_output=True, text=True)
    assert bump.returncode == 0, bump.stdout + bump.stderr  # adds no finding
    _git(repo, "commit", "-qm", "bump")

    values.write_text(values.read_text().replace("    cpu: 1000m", "    cpu: 6000m"))
    _git(repo, "add", ".")
    defect = subprocess.run(pre_commit, cwd=repo, env=env, capture_output=True, text=True)
    assert defect.returncode == 1, defect.stdout + defect.stderr
    assert "FAIL (new)" in defect.stdout and "cpu-limits" in defect.stdout
    assert "1 new" in defect.stdout
    # the hook left no worktree behind in the user's repository
    listed = subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True,
                            text=True).stdout
    assert len(listed.splitlines()) == 1


def test_a_real_git_hook_commits_what_was_staged(tmp_path: Path) -> None:
    """git exports GIT_INDEX_FILE to hooks; the base worktree must not touch that index
    (it would commit nothing, or fail on .git/index)."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("*.json"))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "ci@example.com")
    _git(repo, "config", "user.name", "CI")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "base")
    auditor = Path(sys.executable).parent / "auditor"
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\nexec {auditor} precommit --config . "
                    "$(git diff --cached --name-only)\n")
    hook.chmod(0o755)
    values = repo / "helm" / "values-prod.yaml"

    def commit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "commit", "-q", *args], cwd=repo, capture_output=True,
                              text=True)

    for i, args in enumerate([("-m", "staged"), ("-am", "all"), ("-m", "path",
                                                                  "helm/values-prod.yaml")]):
        values.write_text(values.read_text().replace(f"tag: v2.4.{i + 1}",
                                                     f"tag: v2.4.{i + 2}"))
        if i == 0:
            _git(repo, "add", ".")
        done = commit(*args)
        assert done.returncode == 0, done.stdout + done.stderr
        changed = subprocess.run(["git", "show", "--stat", "--format=", "HEAD"], cwd=repo,
                                 capture_output=True, text=True).stdout
        assert "values-prod.yaml" in changed, (args, changed)
        status = subprocess.run(["git", "status", "--porcelain"], cwd=repo,
                                capture_output=True, text=True).stdout
        assert status == "", status
    # a new defect is refused, and nothing is committed
    values.write_text(values.read_text().replace("    cpu: 1000m", "    cpu: 6000m"))
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                          text=True).stdout
    refused = commit("-am", "defect")
    assert refused.returncode != 0 and "cpu-limits" in refused.stdout + refused.stderr
    assert subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                          text=True).stdout == head
