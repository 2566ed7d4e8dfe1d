"""Environments side by side: ``--jobs N`` worker processes, results in the serial order.

Parsing and evaluating are CPU-bound Python, so threads would take turns on one core; each
environment runs in a worker process instead. Workers are forked: they start with the
policies, the config and the warm caches of this process, and nothing is pickled but an
environment's name going out and its (small) results coming back; its inventory stays and
dies in the worker, so the main process holds results only. Where the platform cannot fork
(Windows; macOS, where forking is unsafe) environments run one after another.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, TypeVar

T = TypeVar("T")

EVEN_PER_WORKER = 100  # ``even`` tasks (~1 ms each) a worker must have to be started
_TASK: Callable[[str], Any] | None = None  # what the forked workers run (inherited)


def cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    return sys.platform.startswith("linux")


def each(names: Sequence[str], task: Callable[[str], T], jobs: int,
         even: bool = False) -> Generator[T, None, None]:
    """``task(name)`` for each name, yielded in the order of ``names`` whatever order they
    finish in. An exception in a task is raised here, at its place in the order. ``even``:
    the tasks cost about the same (and little), so they go out in a few large batches."""
    # A pool costs ~0.1 s to start: cheap tasks need enough of them to be worth it.
    workers = min(jobs, len(names) // EVEN_PER_WORKER if even else len(names))
    if workers <= 1 or not can_fork():
        yield from map(task, names)
        return
    global _TASK
    _TASK = task
    try:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            # Environments differ in cost: handed out one at a time, unless ``even``.
            chunk = -(-len(names) // (workers * 4)) if even else 1
            yield from pool.map(_run, names, chunksize=chunk)
    finally:
        _TASK = None


def _run(name: str) -> Any:
    assert _TASK is not None, "a worker started without a task"
    return _TASK(name)
