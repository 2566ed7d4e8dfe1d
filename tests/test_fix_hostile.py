"""`auditor fix` on files and values that could make an edit wrong: it edits the one span,
or refuses and says why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor import config as config_mod
from auditor import fixes
from auditor.cli import cli
from auditor.drift.compare import Difference
from auditor.drift.findings import _adoptable
from auditor.models import (
    Finding,
    FindingLocation,
    RelatedLocation,
    Remediation,
    ResourceRef,
)
from tests.conftest import EXAMPLE

RDS = "infrastructure/terraform/aws/rds.tf"
VALUES = "helm/chess-ai/values.yaml"


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    dest = tmp_path / "proj"
    shutil.copytree(EXAMPLE, dest)
    return dest


def _fix(root: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["fix", "--config", str(root), *args])


def test_crlf_and_form_feeds_keep_every_other_byte(proj: Path) -> None:
    values = proj / VALUES
    values.write_bytes(values.read_bytes().replace(b"\n", b"\r\n"))
    rds = proj / RDS
    text = rds.read_text()
    rds.write_text(text.replace("resource", "# \x0c\x0c\x0c page break\nresource", 1))
    before_values, before_rds = values.read_bytes(), rds.read_bytes()
    result = _fix(proj, "--write", "--policy", "storage-expandable", "--policy", "rds-backups")
    assert result.exit_code == 0, result.stderr
    after = values.read_bytes()
    assert after.count(b"\r\n") == before_values.count(b"\r\n") and b"\n" not in after.replace(
        b"\r\n", b"")
    assert after.replace(b"allowVolumeExpansion: true", b"allowVolumeExpansion: false") \
        == before_values
    new_rds = rds.read_bytes()
    assert new_rds.replace(b"backup_retention_period = 7", b"backup_retention_period = 3") \
        == before_rds  # the right line, after the form feeds


def test_a_waived_or_suppressed_finding_is_not_changed(proj: Path) -> None:
    (proj / ".auditor-waivers.yaml").write_text(
        "waivers:\n  - policy: rds-backups\n    resource: DBInstance/chess-ai-prod\n"
        "    environments: [prod]\n"
        "    reason: restores come from the replica\n    owner: dba@example.com\n"
        f"    expires: {datetime.now(UTC).date() + timedelta(days=30)}\n")
    values = proj / VALUES
    values.write_text(values.read_text().replace(
        "  allowVolumeExpansion: false",
        "  allowVolumeExpansion: false  # auditor:ignore storage-expandable -- fixed size"))
    result = _fix(proj)
    assert "backup_retention_period" not in result.stdout
    assert "allowVolumeExpansion" not in result.stdout
    assert "enabled: true" in result.stdout  # the unwaived one still is


@pytest.mark.parametrize(("before", "why"), [
    ("podDisruptionBudget: {\n  enabled: false,\n  maxUnavailable: 1 }",
     "does not set podDisruptionBudget.enabled to a plain value in block style"),
    ("toggles: &off\n  enabled: false\npodDisruptionBudget:\n  <<: *off\n  maxUnavailable: 1",
     "the file uses YAML anchors"),
])
def test_yaml_it_cannot_edit_safely_is_refused(proj: Path, before: str, why: str) -> None:
    values = proj / VALUES
    text = values.read_text()
    values.write_text(text.replace("podDisruptionBudget:\n  enabled: false\n  maxUnavailable: 1",
                                   before))
    result = _fix(proj, "--policy", "pdb-present")
    if "does not set" in why:  # the flow mapping still reads: it may locate elsewhere
        assert "enabled: true," not in result.stdout
    assert why in result.stderr or "not fixed" in result.stderr, result.stderr
    assert "+  enabled: true" not in result.stdout


def test_a_plain_scalar_with_a_hash_is_one_value() -> None:
    f = _finding(VALUES, 109, True, key="storageClass.allowVolumeExpansion")
    assert fixes._edited(f, VALUES, "  allowVolumeExpansion: false#x\n") == \
        "  allowVolumeExpansion: true\n"


def _finding(file: str, line: int, value: Any, key: str | None = None,
             field: str = "x", related: int = 0) -> Finding:
    return Finding(
        policy="rds-backups", title="t", severity="high", status="fail",
        environment="prod", side="declared",
        resource=ResourceRef(kind="DBInstance", name="db", source="terraform tf"),
        message="m", location=FindingLocation(file=file, line=line, key=key, related=[
            RelatedLocation(file="modules/db/main.tf", line=i + 1) for i in range(related)]),
        runbook="", remediation=Remediation(text="", value=value, field=field),
        fingerprint="f")


def test_terraform_values_are_literals_never_template_code() -> None:
    f = _finding("main.tf", 3, "/h/${file(\"/etc/passwd\")}%{if x}", field="health_check.path")
    assert fixes._edited(f, "main.tf", '  path = "/health"\n') == \
        '  path = "/h/$${file(\\"/etc/passwd\\")}%%{if x}"\n'
    nan = _finding("main.tf", 3, float("nan"), field="health_check.interval")
    assert fixes._edited(nan, "main.tf", "  interval = 30\n").startswith("\0")


def test_a_variable_the_module_uses_twice_is_not_changed() -> None:
    f = _finding("main.tf", 3, 7, field="backup_retention_period", related=2)
    why = fixes._edited(f, "main.tf", "  days = 3\n")
    assert why.startswith("\0") and "uses in 2 places" in why
    once = _finding("main.tf", 3, 7, field="backup_retention_period", related=1)
    assert fixes._edited(once, "main.tf", "  days = 3\n") == "  days = 7\n"


def test_module_copies_and_files_the_config_does_not_name_are_not_edited(
        proj: Path) -> None:
    config = config_mod.load(str(proj))
    copy = proj / "infrastructure/terraform/aws/.terraform/modules/db/main.tf"
    copy.parent.mkdir(parents=True)
    copy.write_text("backup_retention_period = 2\n")
    allowed = fixes._Scope(fixes._named(config), frozenset(config.environments))
    why = fixes._read(config, "infrastructure/terraform/aws/.terraform/modules/db/main.tf",
                      allowed)
    assert isinstance(why, str) and "terraform init downloaded" in why
    (proj / "elsewhere.tf").write_text("x = 1\n")
    why = fixes._read(config, "elsewhere.tf", allowed)
    assert isinstance(why, str) and "not a file the config names" in why


def test_a_linked_values_file_is_written_through_its_link(proj: Path) -> None:
    shared = proj / "shared"
    shared.mkdir()
    values = proj / VALUES
    (shared / "values.yaml").write_text(values.read_text())
    values.unlink()
    values.symlink_to(Path("../../shared/values.yaml"))
    result = _fix(proj, "--write", "--policy", "pdb-present")
    assert result.exit_code == 0, result.stderr
    assert values.is_symlink()
    assert "  enabled: true\n  maxUnavailable: 1" in (shared / "values.yaml").read_text()


def test_the_diff_applies_with_git_even_without_a_final_line_end(proj: Path) -> None:
    values = proj / VALUES
    text = values.read_text().replace("podDisruptionBudget:\n  enabled: false\n"
                                      "  maxUnavailable: 1\n", "")
    values.write_text(text + "podDisruptionBudget:\n  maxUnavailable: 1\n  enabled: false")
    patch = _fix(proj).stdout
    assert "\\ No newline at end of file" in patch
    subprocess.run(["git", "init", "-q", str(proj)], check=True)
    done = subprocess.run(["git", "-C", str(proj), "apply", "--check", "-"], input=patch,
                          text=True, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr


def test_git_that_cannot_answer_refuses_the_write(proj: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "git").write_text("#!/bin/sh\necho 'fatal: detected dubious ownership' >&2\n"
                              "exit 128\n")
    (fake / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    result = _fix(proj, "--write", "--policy", "rds-backups")
    assert result.exit_code == 2 and "git could not say whether it has changes" in \
        result.stderr
    assert "backup_retention_period = 3" in (proj / RDS).read_text()


def test_a_value_already_set_is_said_not_rewritten() -> None:
    f = _finding("v.yaml", 1, True, key="podDisruptionBudget.enabled")
    assert fixes._edited(f, "v.yaml", "  enabled: true\n") == "  enabled: true\n"


def test_adopt_live_takes_the_declared_type_or_nothing() -> None:
    def adopt(declared: Any, live: Any) -> Any:
        return _adoptable(Difference(("spec", "x"), "spec.x", declared, live))

    assert adopt(3, "5") == 5 and adopt(3, 5.0) == 5 and adopt(3, "5.5") is None
    assert adopt(True, "false") is False and adopt(False, "yes") is None
    assert adopt(1.5, "nan") is None and adopt(3, float("inf")) is None
    assert adopt("/health", "/ready") == "/ready" and adopt("8Gi", 12) == "12"


def test_yaml_strings_go_reads_as_numbers_are_quoted() -> None:
    assert fixes._yaml("1e3") == '"1e3"' and fixes._yaml("0o17") == '"0o17"'
    assert fixes._yaml("12Gi") == "12Gi" and fixes._yaml("😀") == '"😀"'
    assert json.loads(fixes._yaml("a: b")) == "a: b"


def test_adopt_live_into_a_values_file_another_environment_reads_is_refused(
        proj: Path) -> None:
    config_file = proj / "auditor.yaml"
    text = config_file.read_text()
    config_file.write_text(text.replace("environments:\n", "environments:\n  staging:\n"
                                        "    helm: {chart: ./helm/chess-ai, release: chess-ai, "
                                        "namespace: chess-ai, values: [helm/values-prod.yaml]}\n",
                                        1))
    result = _fix(proj, "--env", "prod", "--adopt-live", "--live",
                  str(proj / "live-snapshot.json"))
    assert "helm/values-prod.yaml is read by staging too" in result.stderr
    assert "values-prod.yaml" not in result.stdout
