"""The clock runs of `make test` (scripts/clock_tests.sh): the date-sensitive tests again with
the clock moved ahead. A run must not pass when the clock did not move, and a failure in
any run must fail the whole."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

SCRIPT = REPO / "scripts" / "clock_tests.sh"
needs_faketime = pytest.mark.skipif(shutil.which("faketime") is None,
                                    reason="Debian's faketime is not installed")


def test_a_run_whose_clock_did_not_move_is_refused() -> None:
    env = {**os.environ, "AUDITOR_TEST_CLOCK_DAYS": "730",
           "AUDITOR_TEST_CLOCK_FROM": str(time.time())}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "tests/test_quantities.py"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert ("the clock should be 730 days ahead, it is 0.0 days ahead: libfaketime is not in "
            "effect") in result.stderr


def _fake_pytest(tmp_path: Path) -> Path:
    """Stands in for pytest: says how far its clock is from the script's start and fails
    for the shift named in the FAIL_AT file."""
    fake = tmp_path / "fake-pytest"
    fake.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import os, sys, time
        days = os.environ["AUDITOR_TEST_CLOCK_DAYS"]
        moved = (time.time() - float(os.environ["AUDITOR_TEST_CLOCK_FROM"])) / 86400
        print("args", *sys.argv[1:4])
        print(f"moved {{moved:.0f}} days")
        sys.exit(1 if open({str(tmp_path / "FAIL_AT")!r}).read() == days else 0)
        """), encoding="utf-8")
    fake.chmod(0o755)
    return fake


@needs_faketime
def test_every_shift_runs_the_clock_tests_with_the_clock_moved(tmp_path: Path) -> None:
    (tmp_path / "FAIL_AT").write_text("none")
    result = subprocess.run(["bash", str(SCRIPT), str(_fake_pytest(tmp_path)), "3", "400"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("(3 days ahead): moved 3 days")
    assert lines[1].endswith("(400 days ahead): moved 400 days")


@needs_faketime
def test_one_failing_shift_fails_the_whole_and_shows_its_output(tmp_path: Path) -> None:
    (tmp_path / "FAIL_AT").write_text("400")
    result = subprocess.run(["bash", str(SCRIPT), str(_fake_pytest(tmp_path)), "3", "400"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "args -q -m clock" in result.stdout  # the failing run's whole log
    assert result.stdout.count("args") == 1  # and only that run's


def test_the_script_passes_shellcheck() -> None:
    checker = Path(sys.executable).parent / "shellcheck"
    subprocess.run([str(checker), str(SCRIPT)], check=True, timeout=60)
