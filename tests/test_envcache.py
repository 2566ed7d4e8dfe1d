"""An environment's kept results: read back only while every input it read is unchanged,
never kept when they could be wrong next time."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor import cache, config, envcache, inputs, pipeline, policies
from auditor.models import Report
from auditor.terraform import loader
from tests.conftest import EXAMPLE

NOW = datetime(2026, 12, 1, tzinfo=UTC)
MODULE_DB = ('resource "aws_db_instance" "db" {\n  identifier = "shop"\n'
             '  backup_retention_period = %s\n}\n')


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV_DIR, str(root))
    return root


@pytest.fixture
def evaluations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The environments evaluated from their inputs (not read back) by each scan."""
    seen: list[str] = []
    real = pipeline.declared_inventory

    def spy(cfg: Any, env_name: str) -> Any:
        seen.append(env_name)
        return real(cfg, env_name)

    monkeypatch.setattr(pipeline, "declared_inventory", spy)
    yield seen


def _scan(root: Path, extra: list[Path] | None = None, now: datetime | None = NOW) -> Report:
    loader._parsed.cache_clear()  # a new run: only the persistent cache is left
    return pipeline.scan(config.load(str(root)), policies.load_all(extra or []),
                         pipeline.ScanOptions(now=now))


def _same(a: Report, b: Report) -> bool:
    return a.model_dump(exclude={"generated_at"}) == b.model_dump(exclude={"generated_at"})


def _project(tmp_path: Path) -> Path:
    """The example, plus an environment whose Terraform calls a module kept elsewhere."""
    root = tmp_path / "project"
    shutil.copytree(EXAMPLE, root)
    (root / "infra").mkdir()
    (root / "infra" / "main.tf").write_text('module "db" {\n  source = "../modules/db"\n}\n')
    (root / "modules" / "db").mkdir(parents=True)
    (root / "modules" / "db" / "main.tf").write_text(MODULE_DB % "0")
    text = (root / "auditor.yaml").read_text()
    (root / "auditor.yaml").write_text(text + "  data:\n    terraform: {dirs: [infra]}\n")
    return root


def _fails(report: Report, policy: str, env: str) -> list[str]:
    return [f.resource.name for f in report.findings
            if f.policy == policy and f.environment == env and f.status == "fail"]


def test_an_unchanged_environment_is_read_back_with_the_same_report(
        fresh: Path, tmp_path: Path, evaluations: list[str]) -> None:
    root = _project(tmp_path)
    cold = _scan(root)
    assert evaluations == ["prod", "data"]
    assert len(list((fresh / "env").glob("*/*.json"))) == 2
    warm = _scan(root)
    assert evaluations == ["prod", "data"]  # nothing evaluated again
    assert _same(cold, warm)
    assert cold.findings and cold.passed


def test_kept_environments_are_decoded_one_at_a_time_as_the_report_takes_them(
        fresh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path)
    cold = _scan(root)
    events: list[str] = []
    decode, build = envcache.decode, pipeline.build_from

    def decoding(text: str) -> Any:
        events.append("decoded")
        return decode(text)

    def building(cfg: Any, pack: Any, evaluated: Any, *args: Any) -> Any:
        def taking() -> Iterator[Any]:
            for env in evaluated:
                events.append(f"took {env.inventories[0].environment}")
                yield env

        return build(cfg, pack, taking(), *args)

    monkeypatch.setattr(envcache, "decode", decoding)
    monkeypatch.setattr(pipeline, "build_from", building)
    warm = _scan(root)
    assert events == ["decoded", "took prod", "decoded", "took data"]
    assert _same(cold, warm)


def test_a_kept_entry_whose_results_do_not_decode_is_evaluated_again(
        fresh: Path, tmp_path: Path, evaluations: list[str]) -> None:
    root = _project(tmp_path)
    cold = _scan(root)
    for entry in (fresh / "env").glob("*/*.json"):  # inputs intact, results not
        text = entry.read_text()
        entry.write_text(text[:text.index(',"evaluated":')] + ',"evaluated":[1]}')
    evaluations.clear()
    assert _same(cold, _scan(root))
    assert evaluations == ["prod", "data"]


@pytest.mark.parametrize("change", ["values", "new template", "new tf file", "module",
                                    "config", "removed file"])
def test_a_change_to_anything_it_read_evaluates_again(
        fresh: Path, tmp_path: Path, evaluations: list[str], change: str) -> None:
    root = _project(tmp_path)
    before = _scan(root)
    evaluations.clear()
    values = root / "helm" / "values-prod.yaml"
    if change == "values":
        values.write_text(values.read_text().replace("tag: v2.4.1", "tag: latest"))
    elif change == "new template":
        (root / "helm" / "chess-ai" / "templates" / "extra.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {a: b}\n")
    elif change == "new tf file":
        (root / "infra" / "more.tf").write_text(
            'resource "aws_db_instance" "other" {\n  identifier = "other"\n}\n')
    elif change == "module":  # outside every folder the config names
        (root / "modules" / "db" / "main.tf").write_text(MODULE_DB % "14")
    elif change == "config":
        cfg = root / "auditor.yaml"
        cfg.write_text(cfg.read_text() + "# a comment moves nothing but is a change\n")
    else:
        (root / "helm" / "chess-ai" / "templates" / "pdb.yaml").unlink()
    after = _scan(root)
    expected = {"module": ["data"], "new tf file": ["data"], "config": ["prod", "data"]}
    assert evaluations == expected.get(change, ["prod"])
    fresh_report = _scan_without_cache(root)
    assert _same(after, fresh_report)  # what it says now is what a first run says
    if change == "module":
        assert _fails(before, "rds-backups", "data") and not _fails(after, "rds-backups",
                                                                    "data")
    if change == "values":
        assert len(_fails(after, "image-pinned", "prod")) > len(
            _fails(before, "image-pinned", "prod"))


def _scan_without_cache(root: Path) -> Report:
    cache.disable()
    try:
        return _scan(root)
    finally:
        cache._RUN.disabled = False


def test_an_environment_with_an_error_is_never_kept(
        fresh: Path, tmp_path: Path, evaluations: list[str]) -> None:
    root = _project(tmp_path)
    values = root / "helm" / "values-prod.yaml"
    saved = values.read_text()
    values.unlink()  # a values file the config names is missing: an error
    broken = _scan(root)
    assert broken.summary.by_status["error"] >= 1
    values.write_text(saved)  # no folder listing saw it come back: only "not kept" helps
    evaluations.clear()
    fixed = _scan(root)
    assert "prod" in evaluations and fixed.summary.by_status["error"] == 0


def test_a_scan_that_read_the_clock_is_not_kept(fresh: Path, tmp_path: Path,
                                                evaluations: list[str]) -> None:
    root = _project(tmp_path)
    (root / "helm" / "chess-ai" / "templates" / "cert.yaml").write_text(
        "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: web}\n"
        "spec: {secretName: web-tls, dnsNames: [a.b]}\n"
        "status: {notAfter: '2027-01-01T00:00:00Z'}\n")
    # Judged by the wall clock on purpose: whether it passes or fails on the day the suite
    # runs, the check reads the clock, and that alone is what is asserted.
    # cert-expiry judges live certificates; here it reads declared ones, by today's clock.
    pack = [p.model_copy(update={"sides": ["declared"]}) if p.id == "cert-expiry" else p
            for p in policies.load_all([])]
    cfg = config.load(str(root))
    for now in (None, None, NOW, NOW):
        pipeline.scan(cfg, pack, pipeline.ScanOptions(now=now))
    # Without --now, prod (which has a certificate) was evaluated each time; with --now,
    # once, then read back. The data environment never asked the time.
    assert evaluations == ["prod", "data", "prod", "prod", "data"]


def test_the_recording_sees_reads_and_listings_inside_the_project_only(tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project / "sub").mkdir(parents=True)
    (project / "sub" / "a.txt").write_text("a")
    (project / ".git").mkdir()
    (project / ".git" / "config").write_text("token")
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    with inputs.recording(project, (project / ".git",)) as rec:
        (project / "sub" / "a.txt").read_text()
        (project / ".git" / "config").read_text()
        outside.read_text()
        list((project / "sub").iterdir())
        (project / "new.txt").write_text("written, not read")
    assert set(rec.files) == {str(project / "sub" / "a.txt")}
    assert set(rec.folders) == {str(project / "sub")}
    printed = inputs.fingerprint(rec)
    assert printed is not None and inputs.unchanged(printed)
    (project / "sub" / "b.txt").write_text("b")  # a new neighbour
    assert not inputs.unchanged(printed)


def test_a_file_changed_during_the_run_or_the_clock_makes_the_recording_untrusted(
        tmp_path: Path) -> None:
    from auditor.checks import clock

    (tmp_path / "a.txt").write_text("a")
    with inputs.recording(tmp_path) as rec:
        (tmp_path / "a.txt").read_text()
    (tmp_path / "a.txt").write_text("changed after it was read")
    assert inputs.fingerprint(rec) is None
    with inputs.recording(tmp_path) as rec:
        clock.now({})
    assert rec.untrusted and inputs.fingerprint(rec) is None
    with inputs.recording(tmp_path) as rec:
        clock.now({"now": "2026-01-01T00:00:00Z"})  # a fixed moment is a parameter
    assert not rec.untrusted


def test_a_helm_render_whose_chart_was_not_hashed_here_is_untrusted(
        fresh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.sources import helm_render

    monkeypatch.setattr(helm_render, "_cache_key", lambda *a: None)  # e.g. a linked folder
    with inputs.recording(tmp_path) as rec:
        helm_render.render(EXAMPLE / "helm" / "chess-ai", {}, "r", "ns")
    assert rec.untrusted


def test_off_with_no_cache_or_plugin_checks(fresh: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path)
    pack = policies.load_all([])
    cfg = config.load(str(root))
    assert envcache.Memo.open(cfg, pack) is not None
    plugin = pack[0].model_copy(update={"check": "acme.queue_consumers"})
    assert envcache.Memo.open(cfg, [*pack, plugin]) is None
    cache.disable()
    try:
        assert envcache.Memo.open(cfg, pack) is None
    finally:
        cache._RUN.disabled = False


def test_a_policy_change_is_another_entry(fresh: Path, tmp_path: Path,
                                          evaluations: list[str]) -> None:
    root = _project(tmp_path)
    pack = policies.load_all([])
    cfg = config.load(str(root))
    pipeline.scan(cfg, pack, pipeline.ScanOptions(now=NOW))
    changed = [p.model_copy(update={"message": p.message + " (reworded)"})
               if p.id == "rds-backups" else p for p in pack]
    evaluations.clear()
    report = pipeline.scan(cfg, changed, pipeline.ScanOptions(now=NOW))
    assert evaluations == ["prod", "data"]
    assert any(f.message.endswith("(reworded)") for f in report.findings)


def test_a_scan_of_a_passing_worktree_keeps_nothing(fresh: Path, tmp_path: Path) -> None:
    """--base-ref scans a temporary worktree: entries for it would never be read."""
    root = _project(tmp_path)
    pipeline.scan(config.load(str(root)), policies.load_all([]),
                  pipeline.ScanOptions(now=NOW, keep_results=False))
    assert not list((fresh / "env").glob("*/*.json")) if (fresh / "env").exists() else True
    _scan(root)
    assert len(list((fresh / "env").glob("*/*.json"))) == 2


def test_an_odd_path_read_during_a_recording_is_not_an_error_of_the_read(
        tmp_path: Path) -> None:
    with inputs.recording(tmp_path) as rec:
        with pytest.raises(ValueError, match="null"):  # the read's own error, unchanged
            open(str(tmp_path / "a\0b"))  # noqa: SIM115
        assert not rec.untrusted
        inputs._hook("open", ("only a path",))  # an event of another shape: not trusted
    assert rec.untrusted


def test_a_module_installed_after_the_first_scan_is_seen(
        fresh: Path, tmp_path: Path, evaluations: list[str]) -> None:
    """`terraform init` after a scan: the registry module was "not downloaded" (an unknown,
    which is kept); its record appearing inside an existing .terraform is a change,
    though only its existence had been tested."""
    root = _project(tmp_path)
    (root / "infra" / "main.tf").write_text(
        'module "db" {\n  source  = "terraform-aws-modules/rds/aws"\n}\n')
    (root / "infra" / ".terraform" / "providers").mkdir(parents=True)
    before = _scan(root)
    assert any("not downloaded" in f.message for f in before.findings
               if f.environment == "data")
    installed = root / "infra" / ".terraform" / "modules"
    (installed / "db").mkdir(parents=True)
    (installed / "db" / "main.tf").write_text(MODULE_DB % "0")
    (installed / "modules.json").write_text(
        '{"Modules": [{"Key": "", "Source": "", "Dir": "."}, {"Key": "db", "Source": '
        '"registry.terraform.io/terraform-aws-modules/rds/aws", "Dir": ".terraform/modules/db"}]}')
    evaluations.clear()
    after = _scan(root)
    assert evaluations == ["data"]
    assert _fails(after, "rds-backups", "data")
    assert _same(after, _scan_without_cache(root))


def _edit_module(root: Path, retention: str) -> None:
    (root / "modules" / "db" / "main.tf").write_text(MODULE_DB % retention)


@pytest.mark.parametrize("where", ["project", "above", "inside"])
def test_wherever_the_cache_is_a_change_is_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                where: str) -> None:
    root = _project(tmp_path)
    place = {"project": root, "above": tmp_path, "inside": root / ".cache"}[where]
    monkeypatch.setenv(cache.ENV_DIR, str(place))
    assert _fails(_scan(root), "rds-backups", "data")
    _edit_module(root, "14")
    assert not _fails(_scan(root), "rds-backups", "data")
    if where == "inside":  # kept, and the cache's own files are not inputs
        assert list((place / "env").glob("*/*.json"))


def test_a_linked_module_folder_retargeted_is_a_change(fresh: Path, tmp_path: Path) -> None:
    root = _project(tmp_path)
    modules = root / "modules"
    (modules / "db").rename(modules / "db-v1")
    shutil.copytree(modules / "db-v1", modules / "db-v2")
    (modules / "db-v2" / "main.tf").write_text(MODULE_DB % "14")
    (modules / "db").symlink_to("db-v1")
    assert _fails(_scan(root), "rds-backups", "data")
    (modules / "db").unlink()
    (modules / "db").symlink_to("db-v2")
    assert not _fails(_scan(root), "rds-backups", "data")


def test_a_file_named_through_a_link_from_outside_is_an_input(fresh: Path,
                                                              tmp_path: Path) -> None:
    root = _project(tmp_path)
    (tmp_path / "alias").symlink_to(root)
    (root / "infra" / "vars.tf").write_text('variable "retention" {\n  default = 0\n}\n')
    (root / "modules" / "db" / "main.tf").write_text(
        'variable "retention" {}\nresource "aws_db_instance" "db" {\n  identifier = "shop"\n'
        '  backup_retention_period = var.retention\n}\n')
    (root / "infra" / "main.tf").write_text(
        'module "db" {\n  source = "../modules/db"\n  retention = var.retention\n}\n')
    (root / "infra" / "prod.tfvars").write_text("retention = 0\n")
    cfg = root / "auditor.yaml"
    cfg.write_text(cfg.read_text().replace(
        "terraform: {dirs: [infra]}",
        "terraform: {dirs: [infra], var_files: [../alias/infra/prod.tfvars]}"))
    assert _fails(_scan(root), "rds-backups", "data")
    (root / "infra" / "prod.tfvars").write_text("retention = 14\n")
    assert not _fails(_scan(root), "rds-backups", "data")


def test_a_link_out_replaced_by_a_file_is_a_change_and_a_device_never_hangs(
        fresh: Path, tmp_path: Path) -> None:
    root = _project(tmp_path)
    infra = root / "infra"
    (tmp_path / "secret.txt").write_text("0")
    (infra / "ret.txt").symlink_to(tmp_path / "secret.txt")
    (infra / "main.tf").write_text(
        'resource "aws_db_instance" "db" {\n  identifier = "shop"\n'
        '  backup_retention_period = tonumber(file("${path.module}/ret.txt"))\n}\n')
    first = _scan(root)  # read from outside: refused, so the retention is unknown
    assert any(f.policy == "rds-backups" and f.status == "unknown" and "outside" in f.message
               for f in first.findings if f.environment == "data")
    (infra / "ret.txt").unlink()
    (infra / "ret.txt").write_text("14")
    second = _scan(root)
    assert not [f for f in second.findings if f.policy == "rds-backups"
                and f.environment == "data"]
    # A kept entry whose file becomes a link to an endless device: checked, not hashed.
    main = infra / "main.tf"
    main.unlink()
    main.symlink_to("/dev/zero")
    third = _scan(root)
    assert any(f.environment == "data" and f.status == "error" and "/dev/zero" in f.message
               for f in third.findings)
