"""A long-lived child process that answers one JSON line with one JSON line.

For work whose cost an input decides and that Python cannot interrupt: Helm's Go templates
(:mod:`auditor.sources.helm_worker`) and CEL expressions (:mod:`auditor.cel_worker`). The
child caps its own address space before it loads the native code; the parent gives each
request a deadline and kills a child that misses it or dies, so the next request starts a
new one.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path as FsPath
from typing import IO, Any


class ChildDied(Exception):
    """The child exited: ``code`` and the start of what it wrote to stderr."""

    def __init__(self, code: int, stderr: str) -> None:
        super().__init__(f"exit {code}")
        self.code, self.stderr = code, stderr


class ChildTimeout(Exception):
    """The child did not answer in time (it is killed)."""


class Child:
    def __init__(self, module: str, *args: str) -> None:
        # A crash dump can be large: a file, not a pipe nobody reads. Closed by stop().
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = subprocess.Popen([sys.executable, "-m", module, *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=package_env())

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ask(self, request: str, timeout: float) -> dict[str, Any]:
        """``request``: one JSON line; the answer, parsed. ChildTimeout or ChildDied (the
        child is then stopped)."""
        assert self.proc.stdin and self.proc.stdout
        try:
            self.proc.stdin.write(request.encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            raise self._died() from None
        line = read_line(self.proc.stdout, time.monotonic() + timeout)
        if line is None:
            self.stop()
            raise ChildTimeout()
        if not line:
            raise self._died()
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _died(self) -> ChildDied:
        code = self.proc.wait(timeout=5)
        self.stderr.seek(0)
        text = self.stderr.read(1 << 16).decode("utf-8", "replace")
        self.stop()
        return ChildDied(code, text)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.stderr):
            if stream and not stream.closed:
                stream.close()


class Shared:
    """The one child of a kind a run keeps: started on first use, and again after it died
    or missed a deadline, or when the memory it is to be given changed (tests lower it)."""

    def __init__(self, module: str) -> None:
        self.module = module
        self._child: Child | None = None
        self._memory = 0
        atexit.register(self.stop)
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        """In a forked worker (auditor.parallel): the parent's child is the parent's; two
        processes writing to one pipe would mix their requests. Start our own."""
        self._child = None

    def get(self, memory: int) -> Child:
        if self._child is None or not self._child.alive() or self._memory != memory:
            self.stop()
            self._child, self._memory = Child(self.module, str(memory)), memory
        return self._child

    def stop(self) -> None:
        if self._child is not None:
            self._child.stop()
            self._child = None


def first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "")[:200]


def read_line(stream: IO[bytes], deadline: float) -> bytes | None:
    """One line, b"" if the child closed its output first, None past the deadline."""
    chunks: list[bytes] = []
    with selectors.DefaultSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                return None
            chunk = os.read(stream.fileno(), 1 << 20)
            if not chunk:
                return b""
            chunks.append(chunk)
            if chunk.endswith(b"\n"):
                return b"".join(chunks)


def package_env() -> dict[str, str]:
    """The child finds this package where the parent found it."""
    root = str(FsPath(__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{path}" if path else root}
