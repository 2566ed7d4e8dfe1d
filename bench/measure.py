"""Timing a command the way a user runs it: its wall time and its own peak memory.

The peak is the process's own high-water mark (``VmHWM`` in ``/proc/PID/status``), read
every 20 ms until it exits: the main process alone, not its worker processes (``--jobs``),
which ``getrusage`` would fold in. Growth in the last 20 ms of a run can be missed.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float  # 0 where /proc is absent
    code: int


def run(cmd: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None,
        ok: Sequence[int] = (0, 1, 3)) -> Run:
    """Run ``cmd`` (output discarded); a code outside ``ok`` is an error naming it."""
    environ = {**os.environ, **(env or {})}
    # As installed tools run: their compiled bytecode cached (pip writes it), not every
    # module compiled again at each start as this setting, common in sandboxes, asks.
    environ.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    with subprocess.Popen(list(cmd), env=environ, cwd=cwd,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
        peak = 0.0
        status = Path(f"/proc/{proc.pid}/status")
        while proc.poll() is None:
            peak = max(peak, _hwm(status))
            time.sleep(0.02)
        seconds = time.perf_counter() - start
        stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd[:4])} ... exited {proc.returncode}: "
                         f"{stderr.strip()[-800:]}")
    return Run(seconds, peak, proc.returncode)


def _hwm(status: Path) -> float:
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def median(runs: Sequence[Run]) -> float:
    return statistics.median(r.seconds for r in runs)
