"""Shared factories: projects written to a temp dir, and the CLI run in-process."""

from __future__ import annotations

import json
import os
import shutil
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor.cli import cli

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "chess-ai"
DAY = 86_400.0


def pytest_sessionstart(session: pytest.Session) -> None:
    """`make clock` says how many days ahead it moved the clock, and the real time it
    started at: a run whose clock did not move (libfaketime not loaded) must not pass for
    one that did."""
    days = os.environ.get("AUDITOR_TEST_CLOCK_DAYS")
    if not days:
        return
    started = os.environ.get("AUDITOR_TEST_CLOCK_FROM")
    if not started:
        raise pytest.UsageError("AUDITOR_TEST_CLOCK_DAYS needs AUDITOR_TEST_CLOCK_FROM, the "
                                "real time (epoch seconds) the clock was moved from")
    moved = (time.time() - float(started)) / DAY
    if abs(moved - float(days)) > 1:
        raise pytest.UsageError(f"the clock should be {days} days ahead, it is {moved:.1f} "
                                "days ahead: libfaketime is not in effect")


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture(scope="session")
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("auditor-cache")


@pytest.fixture(autouse=True)
def _cache(_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The parse cache of every test (and of the processes it starts) is the session's own,
    never the user's; a --no-cache of one in-process run does not outlive its test."""
    from auditor import cache
    from auditor.sources import helm_render

    helm_render._engine.cache_clear()  # tests swap the Helm engine; a process never does
    monkeypatch.setenv(cache.ENV_DIR, str(_cache_dir))
    monkeypatch.delenv(cache.ENV_OFF, raising=False)
    yield
    cache._RUN.disabled = False


@pytest.fixture
def run_cli() -> Callable[..., CliResult]:
    def run(*args: str) -> CliResult:
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def project(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Writes {relative path: text} under a temp dir (text is dedented) and returns it."""

    def make(files: dict[str, str]) -> Path:
        for rel, text in files.items():
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return tmp_path

    return make


@pytest.fixture
def example_copy(tmp_path: Path) -> Path:
    """A writable copy of the chess-ai example, to break things in."""
    dest = tmp_path / "chess-ai"
    shutil.copytree(EXAMPLE, dest)
    return dest
