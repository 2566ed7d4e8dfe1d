"""``--base-ref``: the same config at another git revision, checked out in a temporary
worktree (the user's checkout is never touched), to compare a pull request with its base.

Only read-only git commands run against the user's repository, plus ``git worktree add``
and ``remove`` on a temporary directory.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path as FsPath

from auditor.errors import InputError

TIMEOUT = 120  # seconds; a worktree of a large monorepo can take a while


@dataclass(frozen=True)
class BaseCheckout:
    root: FsPath  # the worktree's top directory
    sha: str


def _git(cwd: FsPath, *args: str) -> str:
    if shutil.which("git") is None:
        raise InputError("--base-ref needs git on PATH")
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise InputError(f"git {args[0]} timed out after {TIMEOUT} s") from None
    if done.returncode != 0:
        reason = " ".join(done.stderr.split()) or f"exit {done.returncode}"
        raise InputError(f"git {args[0]}: {reason}")
    return done.stdout.strip()


def toplevel(directory: FsPath) -> FsPath:
    try:
        return FsPath(_git(directory, "rev-parse", "--show-toplevel"))
    except InputError as exc:
        raise InputError(f"--base-ref: {directory} is not in a git work tree ({exc})") from None


def resolve(top: FsPath, ref: str) -> str:
    if ref.startswith("-"):  # would be read as an option by git
        raise InputError(f"--base-ref {ref!r}: not a git revision")
    try:
        return _git(top, "rev-parse", "--verify", "--quiet", "--end-of-options",
                    f"{ref}^{{commit}}")
    except InputError:
        raise InputError(f"--base-ref {ref!r}: no such commit in {top} (in CI, fetch it: "
                         "actions/checkout with fetch-depth: 0)") from None


@contextlib.contextmanager
def checkout(directory: FsPath, ref: str) -> Iterator[BaseCheckout]:
    """A detached worktree of ``ref`` for the repository holding ``directory``; removed
    afterwards, whatever happens."""
    top = toplevel(directory)
    sha = resolve(top, ref)
    with tempfile.TemporaryDirectory(prefix="auditor-base-") as tmp:
        tree = FsPath(tmp) / "tree"
        _git(top, "worktree", "add", "--detach", "--quiet", str(tree), sha)
        try:
            yield BaseCheckout(tree, sha)
        finally:
            with contextlib.suppress(InputError):
                _git(top, "worktree", "remove", "--force", str(tree))
            with contextlib.suppress(InputError):
                _git(top, "worktree", "prune")
