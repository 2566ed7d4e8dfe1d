"""The commands a finding offers are pasted into terminals during incidents. Names and
values in them come from charts, Terraform and live objects: each must reach the tool as
one argument, whatever it holds, and nothing in it may run.

Every command is run by bash here, against stand-ins for kubectl, helm, aws and terraform
that record the arguments they were given.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

import auditor.checks  # noqa: F401  (first: drift.replicas and the checks import each other)
from auditor.drift import commands, removal, replicas
from auditor.drift.compare import Difference
from auditor.models import Inventory, Location, Resource
from auditor.paths import MISSING
from auditor.shell import dq, q, sq

# Each would run `touch PWNED` if it reached a shell unquoted; the last one ends a quote.
HOSTILE = ["x;touch PWNED", "$(touch PWNED)", "`touch PWNED`", "a'b\"c;touch PWNED",
           "a b|touch PWNED", "x&&touch PWNED", "x\ntouch PWNED", "w\x1b]0;t\x07\\'x",
           "a\u202eb\x9b31m"]


@pytest.fixture
def shell(tmp_path: Path) -> Any:
    """Runs a command as a pasted one runs; returns the argv each tool received."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "argv.jsonl"
    for tool in ("kubectl", "helm", "aws", "terraform"):
        exe = bin_dir / tool
        exe.write_text("#!/usr/bin/env python3\nimport json, sys\n"
                       f"open({str(log)!r}, 'a').write(json.dumps(sys.argv) + '\\n')\n")
        exe.chmod(0o755)

    def run(command: str) -> list[list[str]]:
        log.unlink(missing_ok=True)
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True,
                              text=True, timeout=30, check=False,
                              env={**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"})
        assert not (tmp_path / "PWNED").exists(), command
        assert done.returncode == 0, (command, done.stderr)
        return [json.loads(line)[1:] for line in log.read_text().splitlines()]

    return run


def _deployment(name: str, ns: str) -> Resource:
    return Resource("Deployment", name, {"apiVersion": "apps/v1", "kind": "Deployment",
                                         "spec": {}}, "helm chart c (release r)", ns)


@pytest.mark.parametrize("bad", HOSTILE)
def test_quoting_helpers_give_back_the_text_as_one_word(shell: Any, bad: str) -> None:
    for quoted in (q(bad), sq(bad), dq(bad)):
        assert shell(f"kubectl get {quoted}") == [["get", bad]]


@pytest.mark.parametrize("bad", HOSTILE)
def test_drift_commands_keep_hostile_names_and_values_whole(shell: Any, bad: str) -> None:
    dep = _deployment(bad, bad)
    assert shell(commands.kubectl(dep, "delete")) == [["delete", "deployment", bad, "-n", bad]]
    image = Difference(("spec", "template", "spec", "containers", 0, "image"),
                       f"spec.template.spec.containers[{bad}].image", "web:1", bad)
    inv = Inventory("prod", "drift", names={"release": bad, "chart": bad, "namespace": bad})
    # A name that breaks the field label (a newline, a "]") gets `kubectl edit`: quoted too.
    edit = [["edit", "deployment", bad, "-n", bad]]
    assert shell(commands.helm_cause(inv, dep, dep, image)) in (
        [["set", "image", f"deployment/{bad}", f"{bad}={bad}", "-n", bad]], edit)
    env = Difference(("spec", "template", "spec", "containers", 0, "env"),
                     f"spec.template.spec.containers[{bad}].env[{bad}]", MISSING, "v")
    assert shell(removal.removal(dep, env)) in (
        [["set", "env", f"deployment/{bad}", "-c", bad, f"{bad}-", "-n", bad]], edit)
    replicas_diff = Difference(("spec", "replicas"), "spec.replicas", 3, 5)
    assert shell(commands.hpa_cause(inv, dep, dep, replicas_diff)) == [
        ["scale", f"deployment/{bad}", "--replicas=5", "-n", bad]]
    assert shell(commands.restore(dep, inv)) == [["upgrade", bad, bad, "-n", bad]]


@pytest.mark.parametrize("bad", HOSTILE)
def test_aws_and_terraform_commands_keep_hostile_names_whole(shell: Any, bad: str) -> None:
    group = Resource("DBParameterGroup", bad, {"name": bad}, f"terraform {bad}",
                     address=f'aws_db_parameter_group.x["{bad}"]')
    param = Difference(("parameters", "max_connections"), "parameters.max_connections",
                       "200", bad)
    ((argv),) = shell(commands.aws_cause(Inventory("p", "drift"), group, group, param))
    assert argv[:4] == ["rds", "modify-db-parameter-group", "--db-parameter-group-name", bad]
    assert argv[4:] == ["--parameters", f"ParameterName=max_connections,ParameterValue={bad},"
                                        "ApplyMethod=pending-reboot"]
    assert shell(commands.restore(group, Inventory("p", "drift"))) == [
        [f"-chdir={bad}", "apply", f'-target=aws_db_parameter_group.x["{bad}"]']]
    ((argv),) = shell(commands.sg_cause("authorize", "ingress", bad,
                                        ("tcp", 5432, 5432, "10.0.0.0/8")))
    assert argv == ["ec2", "authorize-security-group-ingress", "--group-id", bad,
                    "--protocol", "tcp", "--port", "5432", "--cidr", "10.0.0.0/8"]
    ((argv),) = shell(commands.sg_cause("authorize", "egress", bad, ("tcp", 1, 2, "sg:" + bad)))
    assert argv[-1] == f"IpProtocol=tcp,FromPort=1,ToPort=2,UserIdGroupPairs=[{{GroupId={bad}}}]"


def test_autoscale_names_both_objects_as_one_word_each(shell: Any) -> None:
    bad = HOSTILE[0]
    hpa = Resource("HorizontalPodAutoscaler", bad + "-hpa", {"spec": {
        "scaleTargetRef": {"kind": "Deployment", "name": bad}, "minReplicas": 2,
        "maxReplicas": 4}}, "kubernetes", bad, location=Location("x.yaml"))
    assert shell(replicas.autoscale(hpa)) == [
        ["autoscale", f"deployment/{bad}", "--min=2", "--max=4", f"--name={bad}-hpa", "-n", bad]]


def test_control_characters_keep_a_command_on_one_visible_line() -> None:
    assert q("web\x1b[2J\nx") == "$'web\\x1b[2J\\x0ax'"
    assert "\n" not in sq("a\nb") and "\x1b" not in dq("a\x1bb")


def test_policy_commands_quote_what_they_print(shell: Any, run_cli: Any,
                                               project: Any) -> None:
    """End to end: the remediation commands a scan offers, for a database whose name is an
    attack, run as pasted: each tool gets the name whole and nothing else runs."""
    bad = "db$(touch PWNED);touch PWNED"
    root = project({"tf/main.tf": f"""
        resource "aws_db_instance" "main" {{
          identifier              = "{bad}"
          engine                  = "postgres"
          instance_class          = "db.t3.micro"
          backup_retention_period = 1
          publicly_accessible     = true
        }}
        """, "auditor.yaml": "service: s\nenvironments:\n  p:\n    terraform: {dirs: [tf]}\n"})
    report = run_cli("scan", "--config", str(root), "--format", "json").json()
    commands = [c for f in report["findings"] for c in f["remediation"]["commands"]
                if "<" not in c]  # placeholders are redirections: left to fail on purpose
    assert commands
    seen = [argv for c in commands for argv in shell(c)]
    assert any(bad in argv for argv in seen)


def test_placeholders_stay_bare_so_a_copied_command_fails_at_once() -> None:
    dep = _deployment("web", "")
    dep.namespace = None
    assert commands.kubectl(dep, "delete") == "kubectl delete deployment web -n <namespace>"
    assert q("<namespace>") == "<namespace>" and q("<x;y>") == "'<x;y>'"
