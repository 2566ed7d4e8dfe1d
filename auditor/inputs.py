"""Which files and folders of the project a piece of work read: the inputs of a result.

Recorded from Python's audit events (PEP 578: ``open``, ``os.scandir``, ``os.listdir``),
which every file read and folder listing in this process raises, whichever module does
it: a source added later cannot forget to report what it reads. Only paths inside the
project count, by the path given or by where its links lead (our own code, the
interpreter and the cache are not inputs). A file's folder is recorded with it, so that a
file added beside it (a new template, a new ``.tf``) is a change too. Testing whether a
path exists raises no event: the sources say so with :func:`probe` where an absent file is
not an error (a chart without ``values.yaml``, a root before ``terraform init``); an error
is never kept anyway (:mod:`auditor.envcache`).

Each path's state includes where its links lead (a module folder linked elsewhere is
another input), a folder's state is its names, a file's its content. Folders and probes
are taken when they happen and again at the end: a change during the run is not kept.
A file is hashed only if it is a regular file inside the project, at most
``MAX_INPUT_BYTES`` (a link to ``/dev/zero`` or a FIFO is no state, not a hang).
"""

from __future__ import annotations

import hashlib
import os
import stat as st
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from auditor.limits import MAX_INPUT_BYTES

MAX_FILES = 20_000  # a recording larger than this is not kept (it would cost a run to check)
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND


@dataclass
class Recording:
    root: str  # the project, as an absolute path with a trailing separator
    skip: tuple[str, ...]  # folders under root that are not inputs (the cache, .git)
    files: dict[str, tuple[int, int]] = field(default_factory=dict)  # path -> size, mtime
    folders: dict[str, str | None] = field(default_factory=dict)  # path -> state when listed
    probes: dict[str, str] = field(default_factory=dict)  # path -> state when tested
    untrusted: bool = False  # something was read that this process did not see

    def counts(self, path: str) -> bool:
        return _inside(path, self.root, self.skip) or _inside(
            os.path.realpath(path), self.root, self.skip)

    def file(self, path: str) -> None:
        if path in self.files or not self.counts(path):
            return
        if len(self.files) >= MAX_FILES:
            self.untrusted = True
            return
        try:
            stat = os.stat(path)
        except (OSError, ValueError):
            return  # the reader reports it; the result is then an error, not kept
        self.files[path] = (stat.st_size, stat.st_mtime_ns)
        self.folder(os.path.dirname(path))

    def folder(self, path: str) -> None:
        if path not in self.folders and (self.counts(path) or path == self.root[:-1]):
            self.folders[path] = _folder_state(path, self.root)


def _inside(path: str, root: str, skip: tuple[str, ...] = ()) -> bool:
    return (path + os.sep).startswith(root) and not (path + os.sep).startswith(skip)


_ACTIVE: list[Recording] = []  # the recording of this process's current work, if any
_HOOKED = False
_BUSY = False


def _hook(event: str, args: tuple[object, ...]) -> None:
    global _BUSY
    if not _ACTIVE or _BUSY:  # our own listings and stats raise events too
        return
    _BUSY = True
    try:
        _record(_ACTIVE[-1], event, args)
    except Exception:  # raising here would fail the read itself
        _ACTIVE[-1].untrusted = True
    finally:
        _BUSY = False


def _record(rec: Recording, event: str, args: tuple[object, ...]) -> None:
    if event == "open":
        path, mode, flags = args
        if isinstance(path, int) or (isinstance(flags, int) and flags & _WRITE):
            return
        if isinstance(mode, str) and any(c in mode for c in "wax+"):
            return
        rec.file(_absolute(path))
    elif event in ("os.scandir", "os.listdir"):
        path = args[0]
        if isinstance(path, int):
            return
        rec.folder(_absolute("." if path is None else path))


def probe(path: FsPath) -> None:
    """A source tests whether ``path`` exists (no event says so): what it is (a file, a
    folder, a link and where to, or nothing) is part of the recording, so that one
    appearing or changing is a change."""
    if _ACTIVE:
        rec = _ACTIVE[-1]
        absolute = os.path.abspath(path)
        if absolute not in rec.probes and rec.counts(absolute):
            rec.probes[absolute] = _probe_state(absolute)


def distrust() -> None:
    """Another process read inputs this one did not (a Helm render whose chart was not
    hashed here), or the answer depends on the clock: the current work's recording is not
    to be kept."""
    if _ACTIVE:
        _ACTIVE[-1].untrusted = True


def _absolute(path: object) -> str:
    raw = os.fsdecode(path) if isinstance(path, str | bytes | os.PathLike) else str(path)
    return os.path.abspath(raw)


@contextmanager
def recording(root: FsPath, skip: tuple[FsPath, ...] = ()) -> Iterator[Recording]:
    global _HOOKED
    if not _HOOKED:  # once per process; a hook cannot be removed, it idles when not used
        sys.addaudithook(_hook)
        _HOOKED = True
    base = os.path.abspath(root)
    rec = Recording(base.rstrip(os.sep) + os.sep,
                    tuple(os.path.abspath(p).rstrip(os.sep) + os.sep for p in skip))
    _ACTIVE.append(rec)
    try:
        yield rec
    finally:
        _ACTIVE.pop()


def fingerprint(rec: Recording) -> dict[str, Any] | None:
    """The states of what was read; None when it cannot be trusted: nothing read, too
    much, read by another process, or something changed since it was read (this run's
    results may be of the old content)."""
    if rec.untrusted or not rec.files:
        return None
    taken = time.time_ns()
    files: dict[str, str] = {}
    stats: dict[str, list[int]] = {}
    resolve = _Resolver()
    for path, seen in sorted(rec.files.items()):
        read = _read_state(path, rec.root, resolve)
        if read is None or (read[1][0], read[1][1]) != seen:
            return None
        files[path], stats[path] = read
    for path, state in rec.folders.items():
        if state is None or _folder_state(path, rec.root) != state:
            return None
    for path, state in rec.probes.items():
        if _probe_state(path) != state:
            return None
    return {"root": rec.root, "files": files, "folders": dict(sorted(rec.folders.items())),
            "probes": dict(sorted(rec.probes.items())), "stats": stats, "taken": taken}


def unchanged(print_: object) -> bool:
    """Whether every file, folder and probed path still has the state ``print_`` says."""
    if not isinstance(print_, dict):
        return False
    root = print_.get("root")
    files, folders, probes, stats, taken = (
        print_.get(k) for k in ("files", "folders", "probes", "stats", "taken"))
    if not (isinstance(root, str) and isinstance(files, dict) and isinstance(folders, dict)
            and isinstance(probes, dict) and isinstance(stats, dict)
            and isinstance(taken, int)):
        return False
    resolve = _Resolver()
    return all(_probe_state(str(p), resolve) == s for p, s in probes.items()) and all(
        _folder_state(str(p), root, resolve) == s for p, s in folders.items()) and all(
        _same_file(str(p), root, s, stats.get(p), taken, resolve) for p, s in files.items())


# A file whose status (size, times, inode) is as recorded has the content recorded, as git's
# index trusts it: ctime cannot be set back by tools that preserve mtime (tar, rsync -t).
# Unless it changed within RACY_NS of being hashed: a second write in the same clock tick
# would leave the times as they were, so such a file is hashed again.
RACY_NS = 2_000_000_000


def _same_file(path: str, root: str, state: object, stat: object, taken: int,
               resolve: _Resolver) -> bool:
    if not isinstance(state, str):
        return False
    try:
        info = os.lstat(path)
    except (OSError, ValueError):
        return False
    link = st.S_ISLNK(info.st_mode)
    real = resolve.relative(path, root, link)
    if real is None:
        return False
    if isinstance(stat, list) and len(stat) == 5:
        try:
            now = signature(os.stat(path) if link else info)
        except (OSError, ValueError):
            return False
        if settled(now, stat, taken):
            return state.startswith(real + "\0")
    read = _read_state(path, root, resolve)
    return read is not None and read[0] == state


def signature(info: os.stat_result) -> list[int]:
    """What a file's status says of its content (see RACY_NS)."""
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev]


def settled(now: list[int], recorded: object, taken: object) -> bool:
    """Whether a file whose status is ``now`` still has the content it had when its status
    ``recorded`` was taken at ``taken`` (ns): the same status, last changed well before."""
    return (now == recorded and isinstance(taken, int)
            and max(now[1], now[2]) < taken - RACY_NS)


class _Resolver:
    """``os.path.realpath`` for many paths under the same folders: each folder resolved once
    (a check of a thousand services resolves ~30,000 paths; realpath stats every part)."""

    def __init__(self) -> None:
        self._folders: dict[str, str] = {}

    def real(self, path: str, link: bool | None = None) -> str:
        """``link``: whether ``path`` is a symbolic link, when the caller knows."""
        parent, name = os.path.split(path)
        if not name or name in (".", "..") or not os.path.isabs(path):
            return os.path.realpath(path)
        folder = self._folders.get(parent)
        if folder is None:
            folder = self._folders[parent] = self.real(parent)
        joined = os.path.join(folder, name)
        is_link = os.path.islink(joined) if link is None else link
        return os.path.realpath(joined) if is_link else joined

    def relative(self, path: str, root: str, link: bool | None = None) -> str | None:
        """Where ``path`` leads, relative to the project; None outside it."""
        real = self.real(path, link)  # absolute and normal: its part after the root is relative
        return (real[len(root):] or ".") if _inside(real, root) else None


def _read_state(path: str, root: str, resolve: _Resolver) -> tuple[str, list[int]] | None:
    """A file's state (where it leads and its digest) and its status when read."""
    real = resolve.relative(path, root)
    if real is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError):
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not st.S_ISREG(info.st_mode) or info.st_size > MAX_INPUT_BYTES:
            return None
        digest = hashlib.sha256(handle.read(MAX_INPUT_BYTES + 1)).hexdigest()
    return f"{real}\0{digest}", signature(info)


def _folder_state(path: str, root: str, resolve: _Resolver | None = None) -> str | None:
    real = (resolve or _Resolver()).relative(path, root)
    if real is None and not _inside(path, root):
        return None
    try:
        names = sorted(os.listdir(path))
    except (OSError, ValueError):
        return None
    listing = "\0".join(names).encode("utf-8", "surrogateescape")
    return f"{real}\0{hashlib.sha256(listing).hexdigest()}"


def _probe_state(path: str, resolve: _Resolver | None = None) -> str:
    """What is at ``path`` and where its links lead (a link retargeted is a change)."""
    try:
        info: os.stat_result | None = os.stat(path)
    except (OSError, ValueError):
        info = None
    if info is not None:
        kind = "folder" if st.S_ISDIR(info.st_mode) else (
            "file" if st.S_ISREG(info.st_mode) else "other")
    else:
        kind = "broken link" if os.path.lexists(path) else "absent"
    return f"{kind}\0{(resolve or _Resolver()).real(path)}"
