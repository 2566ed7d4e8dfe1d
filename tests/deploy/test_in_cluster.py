"""deploy/: the RBAC, the in-cluster CronJobs and their IAM policies are valid, least
privilege, consistent with each other, and run commands the real CLI accepts.

Manifests are validated offline against the Kubernetes OpenAPI schemas that PyPI's
``kubernetes-validate`` bundles (in the dev extras), strict: an unknown field is an error.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from auditor.cli import cli

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
IN_CLUSTER = DEPLOY / "in-cluster"
DOC = REPO / "docs" / "in-cluster.md"
KUBERNETES_VERSION = "1.33"
READ_VERBS = {"get", "list", "watch"}
UID = 10001  # the Dockerfile's USER

Doc = dict[str, Any]


def _docs(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


MANIFESTS = sorted(p for p in DEPLOY.rglob("*.y*ml") if p.name != "kustomization.yaml")
ALL = [(p, d) for p in MANIFESTS for d in _docs(p)]


def _one(kind: str, name: str | None = None) -> Doc:
    found = [d for _, d in ALL if d["kind"] == kind
             and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''} under deploy/, found {len(found)}"
    return found[0]


SERVICE_ACCOUNT = _one("ServiceAccount")  # deploy/rbac.yaml's, and no second one
SETTINGS = _one("ConfigMap", "runbook-auditor-settings")
CRONJOBS = [d for _, d in ALL if d["kind"] == "CronJob"]


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _pod(cronjob: Doc) -> Doc:
    pod: Doc = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return pod


def _containers(cronjob: Doc) -> list[Doc]:
    pod = _pod(cronjob)
    return [*pod.get("initContainers", []), *pod["containers"]]


def _scripts(cronjob: Doc) -> Iterator[tuple[Doc, str]]:
    for container in _containers(cronjob):
        if container.get("command", [])[:2] == ["sh", "-c"]:
            yield container, container["args"][0]


def _cronjob_id(cronjob: Doc) -> str:
    return str(cronjob["metadata"]["name"])


@pytest.fixture(scope="module")
def kubernetes_validate() -> Any:
    try:
        import kubernetes_validate
    except ImportError:
        pytest.fail("kubernetes-validate is not installed: it comes with the dev extras "
                    "(pip install -e '.[dev]')")
    return kubernetes_validate


def test_there_is_something_to_validate() -> None:
    names = {_rel(p) for p in MANIFESTS}
    assert {"deploy/rbac.yaml", "deploy/in-cluster/cronjob.yaml",
            "deploy/in-cluster/cronjob-s3.yaml", "deploy/in-cluster/settings.yaml"} <= names
    assert len(CRONJOBS) == 2


@pytest.mark.parametrize("path", MANIFESTS, ids=_rel)
def test_manifest_matches_the_kubernetes_schema(path: Path, kubernetes_validate: Any) -> None:
    for doc in _docs(path):
        what = f"{_rel(path)}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path) or "(top level)"
            pytest.fail(f"{what}: {where}: {exc.message} (Kubernetes {KUBERNETES_VERSION})")
        except kubernetes_validate.SchemaNotFoundError as exc:
            pytest.fail(f"{what}: {exc.message}")


def test_strict_validation_rejects_unknown_fields(kubernetes_validate: Any) -> None:
    """The schema check is only worth having if a misspelt field fails it."""
    doc = json.loads(json.dumps(CRONJOBS[0]))
    _pod(doc)["securityContext"]["runAsNonRot"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_rbac_only_reads() -> None:
    roles = [d for _, d in ALL if d["kind"] in ("Role", "ClusterRole")]
    assert roles
    for role in roles:
        for rule in role["rules"]:
            assert set(rule["verbs"]) <= READ_VERBS, (role["metadata"]["name"], rule)
            assert "*" not in rule.get("resources", []) + rule.get("apiGroups", []), rule
            assert "nonResourceURLs" not in rule, rule
    for binding in (d for _, d in ALL if d["kind"] in ("RoleBinding", "ClusterRoleBinding")):
        assert binding["roleRef"]["name"] in {r["metadata"]["name"] for r in roles}
        assert binding["subjects"] == [{"kind": "ServiceAccount",
                                        "name": SERVICE_ACCOUNT["metadata"]["name"],
                                        "namespace": SERVICE_ACCOUNT["metadata"]["namespace"]}]


@pytest.mark.parametrize("cronjob", CRONJOBS, ids=_cronjob_id)
def test_cronjob_runs_once_and_reports(cronjob: Doc) -> None:
    spec = cronjob["spec"]
    job = spec["jobTemplate"]["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert job["backoffLimit"] == 0  # a retry would audit the same state
    assert 0 < job["activeDeadlineSeconds"] <= 3600
    assert job["ttlSecondsAfterFinished"] > 0
    assert spec["successfulJobsHistoryLimit"] > 0 and spec["failedJobsHistoryLimit"] > 0
    assert _pod(cronjob)["restartPolicy"] == "Never"


@pytest.mark.parametrize("cronjob", CRONJOBS, ids=_cronjob_id)
def test_cronjob_uses_the_rbac_service_account(cronjob: Doc) -> None:
    pod = _pod(cronjob)
    assert pod["serviceAccountName"] == SERVICE_ACCOUNT["metadata"]["name"]
    assert cronjob["metadata"]["namespace"] == SERVICE_ACCOUNT["metadata"]["namespace"]
    assert SETTINGS["metadata"]["namespace"] == SERVICE_ACCOUNT["metadata"]["namespace"]
    assert pod["automountServiceAccountToken"] is True  # the in-cluster config reads it


@pytest.mark.parametrize("cronjob", CRONJOBS, ids=_cronjob_id)
def test_every_container_is_locked_down(cronjob: Doc) -> None:
    pod_ctx = _pod(cronjob)["securityContext"]
    for container in _containers(cronjob):
        ctx = {**pod_ctx, **container.get("securityContext", {})}  # the container's wins
        name = container["name"]
        assert ctx.get("runAsNonRoot") is True, name
        assert ctx.get("runAsUser") == UID, name
        assert ctx.get("readOnlyRootFilesystem") is True, name
        assert ctx.get("allowPrivilegeEscalation") is False, name
        assert ctx.get("capabilities") == {"drop": ["ALL"]}, name
        assert ctx.get("seccompProfile") == {"type": "RuntimeDefault"}, name
        assert not ctx.get("privileged"), name
        for kind in ("requests", "limits"):
            assert set(container["resources"][kind]) == {"cpu", "memory"}, (name, kind)
        image = container["image"]
        assert re.search(r":[\w.-]+$|@sha256:[0-9a-f]{64}$", image.rsplit("/", 1)[-1]), image
        assert not image.endswith(":latest"), image


def test_dockerfile_user_is_the_pods_user() -> None:
    users = re.findall(r"(?m)^USER\s+(\S+)", (REPO / "Dockerfile").read_text(encoding="utf-8"))
    assert users and users[-1].split(":")[0] == str(UID)


@pytest.mark.parametrize("cronjob", CRONJOBS, ids=_cronjob_id)
def test_volumes_and_settings_resolve(cronjob: Doc) -> None:
    pod = _pod(cronjob)
    volumes = {v["name"]: v for v in pod["volumes"]}
    claims = {d["metadata"]["name"] for _, d in ALL if d["kind"] == "PersistentVolumeClaim"}
    for volume in volumes.values():
        if "persistentVolumeClaim" in volume:
            assert volume["persistentVolumeClaim"]["claimName"] in claims
    for container, script in _scripts(cronjob):
        mounts = {m["name"] for m in container.get("volumeMounts", [])}
        assert mounts <= set(volumes), container["name"]
        assert [e["configMapRef"]["name"] for e in container["envFrom"]] == [
            SETTINGS["metadata"]["name"]]
        known = set(SETTINGS["data"]) | {e["name"] for e in container.get("env", [])}
        known |= set(re.findall(r"(?m)^\s*(?:export\s+)?(\w+)=", script))  # set in the script
        known |= set(re.findall(r"\bfor\s+(\w+)\s+in\b", script))
        used = set(re.findall(r"\$\{(\w+)[^}]*\}|\$([A-Za-z_]\w*)", script))
        undefined = {a or b for a, b in used} - known
        assert not undefined, f"{container['name']}: {sorted(undefined)} set nowhere"


def _auditor_commands(script: str) -> list[list[str]]:
    """The ``auditor`` command lines of a shell script, shell variables made placeholders."""
    commands = []
    for line in script.replace("\\\n", " ").splitlines():
        if not line.lstrip().startswith("auditor "):
            continue
        words = shlex.split(line, comments=True)
        end = next((i for i, w in enumerate(words) if w in {"||", "&&", "|", ";", ">"}),
                   len(words))
        commands.append([re.sub(r"\$\{\w+\}|\$\w+", "X", w) for w in words[1:end]])
    return commands


def _parse(argv: list[str]) -> click.Context:
    """Parses (and validates: choices, types) like ``auditor ARGV`` without running it."""
    command: click.Command = cli
    path = ["auditor"]
    args = list(argv)
    while isinstance(command, click.Group):
        assert args and args[0] in command.commands, f"no such command: {' '.join(path + args)}"
        path.append(args[0])
        command = command.commands[args.pop(0)]
    try:
        return command.make_context(" ".join(path), list(args))
    except click.ClickException as exc:
        pytest.fail(f"`{' '.join(path + args)}`: {exc.format_message()}")


@pytest.mark.parametrize("cronjob", CRONJOBS, ids=_cronjob_id)
def test_the_auditor_container_runs_an_audit_that_does_not_fail_on_findings(
        cronjob: Doc, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    commands = [c for _, script in _scripts(cronjob) for c in _auditor_commands(script)]
    assert len(commands) == 1, commands
    ctx = _parse(commands[0])
    assert ctx.command.name == "audit"
    # Exit 1 on findings would fail the Job every night; 2 and 3 still fail it.
    assert ctx.params["fail_on"] == "never"
    assert ctx.params["fmt"] == "json" and ctx.params["output"] and ctx.params["quiet"]
    assert ctx.params["envs"] == ("X",)  # one environment: the cluster's own


def _shell_blocks(markdown: str) -> list[str]:
    """The bodies of the fenced ``bash``/``sh`` blocks."""
    blocks: list[str] = []
    language: str | None = None  # inside a fence: its language
    body: list[str] = []
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            if language is None:
                language, body = line.strip().removeprefix("```") or "text", []
            else:
                if language in ("bash", "sh"):
                    blocks.append("\n".join(body))
                language = None
        elif language is not None:
            body.append(line)
    return blocks


def test_the_docs_commands_parse(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    commands = [c for block in _shell_blocks(DOC.read_text(encoding="utf-8"))
                for c in _auditor_commands(block)]
    assert any(c[:2] == ["site", "build"] for c in commands)
    for command in commands:
        # The directories the page has the reader make (`aws s3 sync ... reports/`) exist.
        for word in command:
            if word.endswith("/") and not word.startswith("-"):
                (tmp_path / word).mkdir(parents=True, exist_ok=True)
        _parse(command)


def test_command_extraction_sees_through_the_shell() -> None:
    script = 'set -eu\nauditor audit --env "${E}" \\\n  --quiet || code=$?  # why\n'
    assert _auditor_commands(script) == [["audit", "--env", "X", "--quiet"]]
    with pytest.raises(pytest.fail.Exception, match="No such option"):
        _parse(["audit", "--no-such-option"])


# --- AWS: the IRSA role ------------------------------------------------------------------


def _statements(name: str) -> list[Doc]:
    policy = json.loads((IN_CLUSTER / name).read_text(encoding="utf-8"))
    assert policy["Version"] == "2012-10-17"
    statements: list[Doc] = policy["Statement"]
    return statements


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def test_reports_policy_only_puts_objects_under_one_prefix() -> None:
    [statement] = _statements("iam-policy-reports-s3.json")
    assert statement["Effect"] == "Allow"
    assert _listed(statement["Action"]) == ["s3:PutObject"]
    [resource] = _listed(statement["Resource"])
    bucket, cluster = SETTINGS["data"]["REPORTS_BUCKET"], SETTINGS["data"]["CLUSTER_NAME"]
    assert resource == f"arn:aws:s3:::{bucket}/runbook-auditor/{cluster}/*"
    # ... which is where the uploader writes.
    [s3] = [c for c in CRONJOBS if any(c2["name"] == "upload" for c2 in _containers(c))]
    [upload] = [s for c, s in _scripts(s3) if c["name"] == "upload"]
    assert "s3://${REPORTS_BUCKET}/runbook-auditor/${CLUSTER_NAME}/${AUDITOR_ENV}/" in upload


def test_trust_policy_admits_only_the_service_account() -> None:
    [statement] = _statements("irsa-trust-policy.json")
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    provider = statement["Principal"]["Federated"]
    issuer = re.fullmatch(r"arn:aws:iam::\d{12}:oidc-provider/(.+)", provider)
    assert issuer, provider
    meta = SERVICE_ACCOUNT["metadata"]
    assert statement["Condition"] == {"StringEquals": {
        f"{issuer[1]}:sub": f"system:serviceaccount:{meta['namespace']}:{meta['name']}",
        f"{issuer[1]}:aud": "sts.amazonaws.com"}}


def test_docs_name_the_role_the_trust_policy_is_for() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "eks.amazonaws.com/role-arn=arn:aws:iam::111122223333:role/runbook-auditor" in text
    for name in ("irsa-trust-policy.json", "iam-policy-reports-s3.json", "iam-policy.json",
                 "rbac.yaml", "cronjob.yaml", "cronjob-s3.yaml", "settings.yaml", "fleet.md"):
        assert name in text, name


# --- the manifests pass the auditor's own policies ----------------------------------------


def test_the_auditor_passes_its_own_policies(
        run_cli: Callable[..., Any], tmp_path: Path) -> None:
    # Copied beside the config: a declared input must be inside the config's project.
    for p in MANIFESTS:
        shutil.copy(p, tmp_path / p.name)
    config = tmp_path / "auditor.yaml"
    config.write_text(yaml.safe_dump({"service": "runbook-auditor", "environments": {
        "cluster": {"manifests": [p.name for p in MANIFESTS]}}}), encoding="utf-8")
    result = run_cli("scan", "--config", str(config), "--format", "json", "--fail-on", "low")
    report = result.json()
    failed = [(f["policy"], f["message"]) for f in report["findings"] if f["status"] == "fail"]
    assert not failed
    assert result.exit_code == 0, result.stderr
    assert {p["policy"] for p in report["passed"]} >= {"cpu-limits", "image-pinned",
                                                        "memory-limits"}
