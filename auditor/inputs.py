"""Which files and folders of the project a piece of work read: the inputs of a result.

Recorded from Python's audit events (PEP 578: ``open``, ``os.scandir``, ``os.listdir``),
which every file read and folder listing in this process raises, whichever module does
it: a source added later cannot forget to report what it reads. Only paths inside the
project count (our own code, the interpreter and the cache are not inputs). A file's
folder is recorded with it, so that a file added beside it (a new template, a new
``.tf``) is a change too. Testing whether a path exists raises no event: the sources say
so with :func:`probe` where an absent file is not an error (a chart without
``values.yaml``, a root before ``terraform init``); an error is never kept anyway
(:mod:`auditor.envcache`).

``fingerprint`` turns a recording into content digests; ``unchanged`` tells whether the
project still holds exactly that.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path as FsPath

MAX_FILES = 20_000  # a recording larger than this is not kept (it would cost a run to check)
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND


@dataclass
class Recording:
    root: str  # the project, as an absolute path with a trailing separator
    skip: tuple[str, ...]  # folders under root that are not inputs (the cache, .git)
    files: dict[str, tuple[int, int]] = field(default_factory=dict)  # path -> size, mtime
    folders: set[str] = field(default_factory=set)
    probes: set[str] = field(default_factory=set)  # paths tested for existence only
    untrusted: bool = False  # something was read that this process did not see

    def _inside(self, path: str) -> bool:
        return path.startswith(self.root) and not path.startswith(self.skip)

    def file(self, path: str) -> None:
        if not self._inside(path) or path in self.files:
            return
        if len(self.files) >= MAX_FILES:
            self.untrusted = True
            return
        try:
            stat = os.stat(path)
        except OSError:
            return  # the reader reports it; the result is then an error, not kept
        self.files[path] = (stat.st_size, stat.st_mtime_ns)
        self.folder(os.path.dirname(path))

    def folder(self, path: str) -> None:
        if self._inside(path) or path == self.root.rstrip(os.sep):
            self.folders.add(path)


_ACTIVE: list[Recording] = []  # the recording of this process's current work, if any
_HOOKED = False


def _hook(event: str, args: tuple[object, ...]) -> None:
    if not _ACTIVE:
        return
    try:
        _record(_ACTIVE[-1], event, args)
    except Exception:  # raising here would fail the read itself
        _ACTIVE[-1].untrusted = True


def _record(rec: Recording, event: str, args: tuple[object, ...]) -> None:
    if event == "open":
        path, _mode, flags = args
        if isinstance(path, int) or (isinstance(flags, int) and flags & _WRITE):
            return
        if isinstance(_mode, str) and any(c in _mode for c in "wax+"):
            return
        rec.file(_absolute(path))
    elif event in ("os.scandir", "os.listdir"):
        path = args[0]
        if isinstance(path, int):
            return
        rec.folder(_absolute("." if path is None else path))


def probe(path: FsPath) -> None:
    """A source tests whether ``path`` exists (no event says so): whether it is a file, a
    folder or nothing is part of the recording, so that one appearing is a change."""
    if _ACTIVE:
        absolute = os.path.abspath(path)
        if _ACTIVE[-1]._inside(absolute):
            _ACTIVE[-1].probes.add(absolute)


def distrust() -> None:
    """Another process read inputs this one did not (a Helm render whose chart was not
    hashed here): the current work's recording is incomplete, and not to be kept."""
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


def fingerprint(rec: Recording) -> dict[str, dict[str, str]] | None:
    """The digests of what was read; None when it cannot be trusted: too large, read by
    another process, or a file changed since it was read (this run's results may be of
    the old content)."""
    if rec.untrusted:
        return None
    files = {}
    for path, seen in sorted(rec.files.items()):
        try:
            stat = os.stat(path)
        except OSError:
            return None
        if (stat.st_size, stat.st_mtime_ns) != seen:
            return None
        digest = _file_digest(path)
        if digest is None:
            return None
        files[path] = digest
    folders = {}
    for path in sorted(rec.folders):
        digest = _folder_digest(path)
        if digest is None:
            return None
        folders[path] = digest
    return {"files": files, "folders": folders,
            "probes": {path: _kind(path) for path in sorted(rec.probes)}}


def unchanged(print_: object) -> bool:
    """Whether every file and folder still has the digest ``print_`` recorded."""
    if not isinstance(print_, dict):
        return False
    files, folders, probes = (print_.get(k) for k in ("files", "folders", "probes"))
    if not (isinstance(files, dict) and isinstance(folders, dict) and isinstance(probes, dict)):
        return False
    return all(_kind(str(p)) == k for p, k in probes.items()) and all(
        _file_digest(str(p)) == d for p, d in files.items()) and all(
        _folder_digest(str(p)) == d for p, d in folders.items())


def _kind(path: str) -> str:
    if os.path.isdir(path):
        return "folder"
    if os.path.isfile(path):
        return "file"
    return "link" if os.path.islink(path) else "absent"


def _file_digest(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None


def _folder_digest(path: str) -> str | None:
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return None
    return hashlib.sha256("\0".join(names).encode("utf-8", "surrogateescape")).hexdigest()
