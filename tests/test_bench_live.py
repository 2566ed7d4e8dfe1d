"""The live benchmark runs end to end at a tiny size (its budgets are judged by `make
bench-live` only, never in the tests: time is not an assertion here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_live_bench_reads_a_whole_small_estate(tmp_path: Path) -> None:
    out = tmp_path / "live.json"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "bench_live.py"), "--quick",
                           "--out", str(out)], capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Resources per kind in each snapshot (all there)" in done.stdout
    assert out.is_file() and '"aws_requests"' in out.read_text(encoding="utf-8")
