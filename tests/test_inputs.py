"""What a piece of work read, and whether it is still so: a file whose status is as recorded
is not read again, unless it changed too close to being hashed; any other change is seen."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from auditor import inputs

HOUR_NS = 3_600_000_000_000


def _record(root: Path, *files: Path) -> dict[str, Any]:
    with inputs.recording(root) as rec:
        for f in files:
            f.read_bytes()
    print_ = inputs.fingerprint(rec)
    assert print_ is not None
    return print_


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files whose content a check hashed again."""
    seen: list[str] = []
    real = inputs._read_state

    def spy(path: str, *args: Any) -> Any:
        seen.append(os.path.basename(path))
        return real(path, *args)

    monkeypatch.setattr(inputs, "_read_state", spy)
    return seen


def _age(path: Path, ns: int) -> None:
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns - ns))


def test_a_file_with_its_recorded_status_is_not_read_again_unless_racy(
        tmp_path: Path, reads: list[str]) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("a: 1\n")
    print_ = _record(tmp_path, values)
    reads.clear()
    # Written just now, it may change again within the same clock tick: hashed again.
    assert inputs.unchanged(print_)
    assert reads == ["values.yaml"]
    # Had it been hashed well after its last change (ctime cannot be set back: moved here
    # is when it was hashed), its status is enough.
    reads.clear()
    assert inputs.unchanged({**print_, "taken": print_["taken"] + 2 * inputs.RACY_NS})
    assert reads == []


def test_content_changed_with_its_time_put_back_is_seen(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("replicas: 1\n")
    _age(values, HOUR_NS)
    print_ = _record(tmp_path, values)
    before = values.stat()
    values.write_text("replicas: 9\n")  # same size
    os.utime(values, ns=(before.st_atime_ns, before.st_mtime_ns))  # as tar/rsync -t do
    assert values.stat().st_mtime_ns == before.st_mtime_ns
    # Even were the status trusted without hashing (hashed long after), ctime tells.
    assert not inputs.unchanged({**print_, "taken": print_["taken"] + 2 * inputs.RACY_NS})
    assert not inputs.unchanged(print_)


def test_an_old_file_now_reached_through_another_link_is_a_change(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder in ("a", "b"):
        (tmp_path / folder / "main.tf").write_text("x = 1\n")
        _age(tmp_path / folder / "main.tf", HOUR_NS)
    link = tmp_path / "module"
    link.symlink_to("a")
    print_ = _record(tmp_path, link / "main.tf")
    assert inputs.unchanged(print_)
    link.unlink()
    link.symlink_to("b")  # same content, same status, another file
    assert not inputs.unchanged(print_)


def test_an_entry_without_the_status_fields_is_not_trusted(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("a: 1\n")
    print_ = _record(tmp_path, values)
    for key in ("stats", "taken"):
        assert not inputs.unchanged({k: v for k, v in print_.items() if k != key})
    assert not inputs.unchanged({**print_, "taken": "soon"})


@pytest.mark.parametrize("relative", [
    "plain/file.yaml", "linked/file.yaml", "plain/../linked/file.yaml", "chain/file.yaml",
    "plain/absent.yaml", "dangling", "loop", "plain/sub/../file.yaml",
])
def test_the_resolver_agrees_with_realpath(tmp_path: Path, relative: str) -> None:
    (tmp_path / "plain" / "sub").mkdir(parents=True)
    (tmp_path / "plain" / "file.yaml").write_text("a: 1\n")
    (tmp_path / "linked").symlink_to(tmp_path / "plain")
    (tmp_path / "chain").symlink_to("linked")
    (tmp_path / "dangling").symlink_to("nowhere")
    (tmp_path / "loop").symlink_to("loop")
    resolver = inputs._Resolver()
    path = os.path.join(str(tmp_path), relative)
    for _ in range(2):  # the second time from what the first remembered
        assert resolver.real(path) == os.path.realpath(path)
