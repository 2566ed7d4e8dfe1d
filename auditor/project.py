"""Where a run reads its declared inputs from: the project, and nothing a link leads to.

A pull request can add a symbolic link (``values-prod.yaml -> ~/.aws/credentials``) or
name a path (``values: [/etc/passwd]``) that makes the audit read a file of the machine it
runs on and echo it in an error or a finding. So while the declared sources are read
(:func:`confined`), every file they open must resolve inside the project (the git work
tree holding the config, else the config's folder), and not inside its ``.git`` folder
(``actions/checkout`` keeps the job's token in ``.git/config``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path as FsPath

from auditor.limits import MAX_INPUT_BYTES

_ROOT: ContextVar[FsPath | None] = ContextVar("project_root", default=None)


def inside(path: FsPath, root: FsPath) -> bool:
    """Whether ``path``, links followed, is ``root`` (resolved) or under it; a link loop or
    a missing target is not."""
    try:
        return path.resolve(strict=True).is_relative_to(root)
    except (OSError, RuntimeError):  # RuntimeError: a loop, before Python 3.13
        return False


def root_of(base_dir: FsPath) -> FsPath:
    base = base_dir.resolve()
    return next((p for p in (base, *base.parents) if (p / ".git").exists()), base)


@contextmanager
def confined(root: FsPath) -> Iterator[None]:
    token = _ROOT.set(root.resolve())
    try:
        yield
    finally:
        _ROOT.reset(token)


def refusal(path: FsPath) -> str | None:
    """Why ``path`` may not be read (outside the project, by a link or by name), or None.
    A path that does not exist is not refused here: its reader says it is missing."""
    root = _ROOT.get()
    if root is None:
        return None
    try:
        real = path.resolve(strict=True)
    except FileNotFoundError:
        return "a symbolic link that does not resolve: not read" if os.path.islink(path) \
            else None
    except (OSError, RuntimeError):  # a loop of links
        return "a symbolic link that does not resolve (a loop): not read"
    how = "a symbolic link to" if real != FsPath(os.path.abspath(path)) else "at"
    if not (real == root or root in real.parents):
        return f"{how} {real}, outside the project {root}: not read"
    if ".git" in real.relative_to(root).parts:  # CI keeps the checkout's token there
        return f"{how} {real}, inside the repository's .git folder: not read"
    if real.is_file() and (size := real.stat().st_size) > MAX_INPUT_BYTES:
        return (f"{size:,} bytes, more than the {MAX_INPUT_BYTES:,} a declared "
                "file may have: not read")
    return None


def links_out(directory: FsPath) -> list[tuple[FsPath, str]]:
    """The links under ``directory`` that lead outside the project (or nowhere)."""
    out = []
    for top, dirs, files in os.walk(directory, followlinks=False):
        for name in [*dirs, *files]:
            path = FsPath(top) / name
            if path.is_symlink():
                why = refusal(path)
                if why:
                    out.append((path, why))
    return out
