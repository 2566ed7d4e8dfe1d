"""The persistent parse cache: kept by content in the user's cache directory, the same
reports with and without it, safe to share, bounded, and never trusted blindly."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auditor import cache
from auditor.terraform import loader
from tests.conftest import EXAMPLE

TF = 'resource "aws_db_instance" "db" {\n  identifier = "shop"\n  multi_az = false\n}\n'


def _entries(root: Path) -> list[Path]:
    return sorted(root.glob("*/*/*.json"))


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache directory, and no parse kept in this process."""
    root = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV_DIR, str(root))
    loader._parsed.cache_clear()
    return root


def _load(tmp_path: Path, text: str = TF) -> tuple[Any, Any]:
    path = tmp_path / "main.tf"
    path.write_text(text)
    loader._parsed.cache_clear()  # a new run: only the persistent cache remains
    return loader.load_file(path, "tf/main.tf")


def test_a_parse_is_written_once_and_read_back_the_same(fresh: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    cold = _load(tmp_path)
    (entry,) = _entries(fresh)
    assert entry.parent.parent.name == "terraform"
    # Only its owner reads it: a parsed file may hold a secret its author committed.
    assert [oct(p.stat().st_mode & 0o777) for p in (fresh, entry.parent.parent, entry.parent,
                                                    entry)] == ["0o700"] * 3 + ["0o600"]

    def no_parse(text: str, shown: str) -> Any:
        raise AssertionError("parsed again")

    monkeypatch.setattr(loader, "_parse_hcl", no_parse)
    warm = _load(tmp_path)
    assert warm == cold and warm[0][0].lines == {("identifier",): 2, ("multi_az",): 3}


def test_an_edited_file_or_another_parser_version_is_another_entry(
        fresh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _load(tmp_path)
    (blocks, _) = _load(tmp_path, TF.replace("false", "true"))
    assert blocks[0].attrs["multi_az"] is True and len(_entries(fresh)) == 2
    monkeypatch.setattr(loader, "_parser_version", lambda: "99.0.0")
    _load(tmp_path)
    monkeypatch.setattr(cache, "__version__", "9.9.9")
    _load(tmp_path)
    assert len(_entries(fresh)) == 4


@pytest.mark.parametrize("damage", [
    "", "{", "[]", '{"blocks": [{"kind": "resource"}], "error": null}',
    '{"blocks": [], "error": ["not a line", "x"]}', "\x00\xff"])
def test_a_corrupt_entry_is_ignored_and_rebuilt(fresh: Path, tmp_path: Path,
                                                damage: str) -> None:
    good = _load(tmp_path)
    (entry,) = _entries(fresh)
    entry.write_text(damage, encoding="latin-1")
    assert _load(tmp_path) == good
    assert json.loads(entry.read_text())["blocks"][0]["attrs"]["identifier"] == "shop"


def test_a_parse_error_is_kept_too(fresh: Path, tmp_path: Path) -> None:
    cold = _load(tmp_path, 'resource "x" {\n  a = \n')
    assert cold[0] == [] and cold[1] is not None and cold[1].file == "tf/main.tf"
    assert _load(tmp_path, 'resource "x" {\n  a = \n') == cold


def test_off_by_flag_or_environment_writes_and_reads_nothing(
        fresh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.ENV_OFF, "1")
    _load(tmp_path)
    assert not fresh.exists()
    monkeypatch.setenv(cache.ENV_OFF, "0")  # "0" is not "off"
    _load(tmp_path)
    assert len(_entries(fresh)) == 1
    cache.disable()
    _load(tmp_path, TF + "# another text\n")
    assert len(_entries(fresh)) == 1


def test_the_directory_follows_xdg_and_is_bounded(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cache.ENV_DIR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.default_root() == tmp_path / "xdg" / "runbook-auditor"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # ignored, as the spec says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.default_root() == tmp_path / "home" / ".cache" / "runbook-auditor"
    store = cache.Store(tmp_path / "small", limit=4000)
    for n in range(40):
        store.put("t", cache.key(str(n)), {"n": n, "pad": "x" * 100})
        os.utime(_entries(store.root)[-1], (n, n))  # mtimes in write order
    # A later run prunes before it writes: the oldest entries go first.
    cache.Store(store.root, limit=4000).put("t", cache.key("last"), {"n": "last"})
    kept = _entries(store.root)
    assert sum(p.stat().st_size for p in kept) <= 4000
    assert store.get("t", cache.key("39")) is not None and store.get("t", cache.key("0")) is None
    # Nothing half-written is left behind, and no entry is larger than a share of the limit.
    assert not list(store.root.rglob(".tmp-*"))
    store.put("t", cache.key("big"), {"pad": "x" * 4000})
    assert store.get("t", cache.key("big")) is None
    planted = store._path("t", cache.key("planted"))
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_text(json.dumps({"pad": "x" * 4000}))  # larger than any entry written
    assert store.get("t", cache.key("planted")) is None


def test_a_cache_emptied_during_a_run_is_written_again(tmp_path: Path) -> None:
    store = cache.Store(tmp_path / "c")
    store.put("t", cache.key("a"), {"n": 1})
    shutil.rmtree(store.root)  # the folders this run made are gone
    store.put("t", cache.key("a"), {"n": 2})
    assert store.get("t", cache.key("a")) == {"n": 2}
    assert oct(stat.S_IMODE(store._path("t", cache.key("a")).parent.stat().st_mode)) == "0o700"


def test_an_unwritable_cache_is_no_cache_not_an_error(fresh: Path, tmp_path: Path) -> None:
    fresh.write_text("a file where the directory should be")
    assert _load(tmp_path)[0][0].attrs["identifier"] == "shop"


def _without_times(text: str) -> str:
    return re.sub(r'"generated_at": "[^"]*"', '"generated_at": ""', text)


def test_reports_with_and_without_the_cache_are_identical(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        run_cli: Callable[..., Any]) -> None:
    monkeypatch.setenv(cache.ENV_DIR, str(tmp_path / "cache"))
    copy = tmp_path / "example"
    shutil.copytree(EXAMPLE, copy)
    outputs = []
    for flags in (["--no-cache"], [], []):  # without, cold, warm
        loader._parsed.cache_clear()
        cache._RUN.disabled = False
        result = run_cli("scan", "--config", str(copy), "--format", "json", *flags)
        outputs.append(_without_times(result.stdout))
    assert _entries(tmp_path / "cache")  # the cold run wrote entries the warm one read
    assert outputs[0] == outputs[1] == outputs[2]
    assert '"findings"' in outputs[0]


def _chart(root: Path) -> Path:
    chart = root / "web"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("replicas: 2\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"
        "data: {replicas: {{ .Values.replicas | quote }}}\n")
    return chart


def test_a_helm_render_is_kept_by_chart_values_release_and_namespace(
        fresh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.sources import helm_render

    chart = _chart(tmp_path)
    renders: list[dict[str, Any]] = []
    real = helm_render._render

    def counted(*args: Any) -> dict[str, str]:
        renders.append(args[1])
        return real(*args)

    monkeypatch.setattr(helm_render, "_render", counted)
    first = helm_render.render(chart, {"replicas": 3}, "web", "shop")
    assert '"3"' in first["templates/cm.yaml"]
    assert helm_render.render(chart, {"replicas": 3}, "web", "shop") == first
    assert len(renders) == 1
    # Any input it depends on is another entry: values, release, namespace, a chart file.
    helm_render.render(chart, {"replicas": 4}, "web", "shop")
    helm_render.render(chart, {"replicas": 3}, "web2", "shop")
    helm_render.render(chart, {"replicas": 3}, "web", "other")
    (chart / "templates" / "cm.yaml").write_text(
        (chart / "templates" / "cm.yaml").read_text().replace("quote", "quote | upper"))
    helm_render.render(chart, {"replicas": 3}, "web", "shop")
    assert len(renders) == 5
    # A chart with a linked folder cannot be hashed whole: rendered every time, not kept.
    (chart / "templates" / "more").symlink_to(tmp_path, target_is_directory=True)
    assert helm_render._cache_key(chart, {}, "web", "shop") is None


def test_a_failed_render_is_not_kept(fresh: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.sources import helm_render

    chart = _chart(tmp_path)
    (chart / "templates" / "cm.yaml").write_text('{{ fail "no" }}\n')
    for _ in range(2):
        with pytest.raises(helm_render.RenderError):
            helm_render.render(chart, {}, "web", "shop")
    assert not _entries(fresh)


def test_a_change_to_our_own_parser_is_another_entry(fresh: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _load(tmp_path)
    real = cache.code_version
    monkeypatch.setattr(cache, "code_version", lambda *names: real(*names) + "-edited")
    _load(tmp_path)
    assert len(_entries(fresh)) == 2


def test_a_pack_found_valid_is_not_compiled_again_and_a_bad_template_still_fails(
        fresh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor import policies, templates
    from auditor.errors import PolicyError

    policies.load_all([])
    assert len(list((fresh / "templates").glob("*/*.json"))) == len(policies.load_all([]))

    def no_check(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("checked again")

    monkeypatch.setattr(templates, "check", no_check)
    policies.load_all([])  # read back: nothing checked
    monkeypatch.undo()
    monkeypatch.setenv(cache.ENV_DIR, str(fresh))
    bad = tmp_path / "bad"
    bad.mkdir()
    source = (Path(policies.__file__).resolve().parent.parent / "policies" / "rds-backups.yaml")
    text = source.read_text().replace("message: >-\n", "message: >-\n  {{ x | nosuchfilter }}\n",
                                      1)
    (bad / "rds-backups.yaml").write_text(text)
    for _ in range(2):  # the failure is not kept as a success
        with pytest.raises(PolicyError, match="nosuchfilter"):
            policies.load_file(bad / "rds-backups.yaml")


def _big(body: str) -> str:
    """A YAML text over yamlcache.MIN_CHARS."""
    from auditor import yamlcache

    pad = "".join(f"k{i}: v{i}\n" for i in range(yamlcache.MIN_CHARS // 8))
    return body + pad


def test_a_yaml_parse_is_kept_and_read_back_exactly(fresh: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor import yamlfile

    text = _big("spec:\n  replicas: 2\n  ratio: 1.0\n  enabled: true\n  list: [a, 1]\n")
    cold = yamlfile.load_all(text)
    assert len(list((fresh / "yaml").glob("*/*.json"))) == 1

    def no_parse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("parsed again")

    monkeypatch.setattr(yamlfile, "_parse", no_parse)
    warm = yamlfile.load_all(text)
    assert [(d.data, d.line, d.lines) for d in warm] == [(d.data, d.line, d.lines) for d in cold]
    assert warm[0].data["spec"]["ratio"] == 1.0 and isinstance(warm[0].data["spec"]["ratio"],
                                                               float)
    assert warm[0].data["spec"]["enabled"] is True
    assert warm[0].lines[("spec", "replicas")] == 2


def test_what_json_cannot_hold_or_a_small_text_is_not_kept(fresh: Path) -> None:
    from auditor import yamlfile

    binary = yamlfile.load_all(_big("b: !!binary aGVsbG8=\n"))  # bytes: JSON has none
    assert binary[0].data["b"] == b"hello"
    yamlfile.load_all("small: 1\n")
    assert not list(fresh.glob("yaml/*/*.json"))
    assert yamlfile.load_all(_big("b: !!binary aGVsbG8=\n"))[0].data["b"] == b"hello"


def test_a_yaml_error_is_kept_with_its_line(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor import yamlfile

    text = _big("a: 1\n") + "bad: [1\n"
    with pytest.raises(yamlfile.YamlError) as cold:
        yamlfile.load_all(text)
    monkeypatch.setattr(yamlfile, "_parse", lambda *a, **k: pytest.fail("parsed again"))
    with pytest.raises(yamlfile.YamlError) as warm:
        yamlfile.load_all(text)
    assert (str(warm.value), warm.value.line) == (str(cold.value), cold.value.line)
    assert warm.value.line is not None
