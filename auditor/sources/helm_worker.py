"""The Helm SDK, out of process: a chart's templates are the pull request author's code.

Go templates have no loop or size limit (``until 3000000000`` allocates until the Go runtime
aborts the whole process), so the SDK renders in a child process with an address-space
limit, and each render has a deadline. One child serves every render of a run; a child that
died or missed its deadline is killed and the next render starts a new one. Requests and
answers are one JSON line each over the child's stdin and stdout.

Run as ``python -m auditor.sources.helm_worker`` (by :func:`render`, never by hand).
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path as FsPath
from typing import Any

from auditor.child import ChildDied, ChildTimeout, Shared, first_line

TIMEOUT = 60.0  # seconds for one chart; the largest public charts render in under 2 s
MEMORY = 4 * 2**30  # address space of the renderer; Go reserves ~2 GiB of it up front


class WorkerError(Exception):
    """The render did not finish: the message says why (time, memory, crash)."""


def too_slow(timeout: float) -> str:
    return f"rendering took longer than {timeout:g} s: stopped (a template that loops without end?)"


def too_big(memory: int) -> str:
    return (f"rendering needed more than {memory / 2**30:g} GiB of memory: stopped (a template "
            "that builds a huge list or string?)")


def limit_memory(memory: int | None = None) -> None:
    """Cap this process's address space (run in a child before it starts Go's runtime)."""
    cap = MEMORY if memory is None else memory  # read now: tests lower MEMORY
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def render(chart: FsPath, values: dict[str, Any], release: str, namespace: str
           ) -> dict[str, Any]:
    """The child's answer: ``{"rendered": {path: text}}`` or ``{"error": text}``."""
    request = {"chart": str(chart), "values": values, "release": release,
               "namespace": namespace}
    try:
        line = json.dumps(request, allow_nan=False)
    except (TypeError, ValueError) as exc:  # values the SDK cannot take (bytes, a set, NaN)
        return {"error": f"the values cannot be given to Helm: {exc}", "values": True}
    try:
        return CHILD.get(MEMORY).ask(line, TIMEOUT)
    except ChildTimeout:
        raise WorkerError(too_slow(TIMEOUT)) from None
    except ChildDied as died:
        # Under the address-space cap Go runs out of memory for an arena, or for a new
        # thread's stack (pthread_create fails): either way the cap stopped it.
        if "out of memory" in died.stderr or "pthread_create failed" in died.stderr:
            raise WorkerError(too_big(MEMORY)) from None
        first = first_line(died.stderr)
        raise WorkerError(f"the Helm renderer stopped (exit {died.code})"
                          f"{': ' + first if first else ''}") from None


CHILD = Shared("auditor.sources.helm_worker")


# ---- the child ------------------------------------------------------------------------------

def _serve(memory: int) -> None:
    limit_memory(memory)  # before Go's runtime starts
    import helm_python

    for line in sys.stdin:
        request = json.loads(line)
        try:
            chart = helm_python.Chart.load(request["chart"])
            rendered = chart.render(request["values"] or {},
                                    name=request["release"], namespace=request["namespace"])
            answer: dict[str, Any] = {"rendered": rendered, "name": chart.name}
        except helm_python.HelmError as exc:
            answer = {"error": str(getattr(exc, "detail", exc))}
        except (TypeError, ValueError) as exc:  # values the SDK cannot take (e.g. !!binary)
            answer = {"error": f"the values cannot be given to Helm: {exc}", "values": True}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
