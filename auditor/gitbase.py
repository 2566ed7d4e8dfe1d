"""``--base-ref``: the same config at another git revision, checked out in a temporary
worktree (the user's checkout is never touched), to compare a pull request with its base.

Only read-only git commands run against the user's repository, plus ``git worktree add``
and ``remove`` on a temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
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
    merge_base: bool  # sha is the merge base of the ref and HEAD, not the ref itself


def _clean_env() -> dict[str, str]:
    """The environment without git's repository-local variables. Inside a git hook git
    exports GIT_INDEX_FILE, GIT_DIR, ...: inherited, `git worktree add` would write the
    base commit into the index of the commit being made."""
    global _LOCAL_VARS
    if _LOCAL_VARS is None:
        done = subprocess.run(["git", "rev-parse", "--local-env-vars"], capture_output=True,
                              text=True, timeout=TIMEOUT, check=False)
        _LOCAL_VARS = frozenset(done.stdout.split()) | _KNOWN_LOCAL_VARS
    return {k: v for k, v in os.environ.items() if k not in _LOCAL_VARS}


_KNOWN_LOCAL_VARS = frozenset({"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX",
                               "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR"})
_LOCAL_VARS: frozenset[str] | None = None


def _git(cwd: FsPath, *args: str) -> str:
    if shutil.which("git") is None:
        raise InputError("--base-ref needs git on PATH")
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=TIMEOUT, check=False, env=_clean_env())
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


def merge_base(top: FsPath, sha: str) -> str | None:
    """Where HEAD's branch left ``sha``'s: what a pull request adds is measured from there
    (like ``git diff REF...HEAD``), so fixes made on the base branch since then are not
    counted against the branch. None when there is no common ancestor."""
    try:
        return _git(top, "merge-base", sha, "HEAD") or None
    except InputError:
        return None


@contextlib.contextmanager
def checkout(directory: FsPath, ref: str) -> Iterator[BaseCheckout]:
    """A detached worktree of the merge base of ``ref`` and HEAD (or of ``ref``) for the
    repository holding ``directory``; removed afterwards, also on SIGTERM (a cancelled CI
    job), since the worktree is registered in the user's repository."""
    top = toplevel(directory)
    tip = resolve(top, ref)
    sha = merge_base(top, tip) or tip
    with tempfile.TemporaryDirectory(prefix="auditor-base-") as tmp, _terminate_cleanly():
        tree = FsPath(tmp) / "tree"
        try:  # from before `add`: a SIGTERM right after it must also clean up
            _git(top, "worktree", "add", "--detach", "--quiet", str(tree), sha)
            yield BaseCheckout(tree, sha, sha != tip)
        finally:
            with contextlib.suppress(InputError):
                _git(top, "worktree", "remove", "--force", str(tree))
            with contextlib.suppress(InputError):
                _git(top, "worktree", "prune")


@contextlib.contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """SIGTERM raises SystemExit (exit 143) while the worktree exists, so it is removed."""
    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
