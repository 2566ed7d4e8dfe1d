"""Where reports and snapshots are written: never over one of the run's inputs, never half.

A file is written beside its target under a temporary name and renamed over it, so a run
killed mid-write leaves the previous file whole; the rename replaces a symlink rather than
writing through it (a link planted at the output path cannot aim the write elsewhere).
Devices and pipes (``/dev/stdout``) are written as they are. An ``--output`` that is one
of the files the run reads (the config, a values file, a report it compares with), or lies
in a directory it reads whole (a chart, Terraform, policies), is refused before anything
runs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path as FsPath
from typing import BinaryIO

from auditor.errors import AuditorError, InputError


def write(path: FsPath, text: str | bytes | Iterable[bytes], mode: int | None = None) -> None:
    """``text`` (or UTF-8 bytes, or those in pieces) at ``path``, atomically. ``mode``
    forces the permissions (a snapshot is 0600); otherwise an existing file keeps its own,
    a new one gets the umask's."""
    path = FsPath(path)
    if path.exists() and not path.resolve().is_file():  # /dev/stdout, a pipe: no rename
        try:
            with path.open("wb") as out:
                put(out, text)
        except OSError as exc:
            raise AuditorError(f"{path}: cannot write: {exc.strerror}") from None
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise AuditorError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            put(out, text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode if mode is not None else _mode_for(path))
        os.replace(tmp, path)
    except BaseException as exc:  # text in pieces is made as it is written: it may fail
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise AuditorError(f"{path}: cannot write: {exc.strerror}") from None
        raise


def put(out: BinaryIO, text: str | bytes | Iterable[bytes]) -> None:
    """``text`` into ``out`` (a file, standard output's buffer) without holding it twice."""
    if isinstance(text, bytes):
        out.write(text)
        return
    if not isinstance(text, str):
        for piece in text:  # write() each: a wrapper (click's test runner) may copy it
            out.write(piece)
        return
    # Encoded a piece at a time: a fleet's report is tens of MB, not to be held twice.
    for start in range(0, len(text), _PIECE):
        out.write(text[start:start + _PIECE].encode("utf-8"))


_PIECE = 1 << 20


def _mode_for(path: FsPath) -> int:
    try:
        if not path.is_symlink():
            return path.stat().st_mode & 0o7777
    except OSError:
        pass
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def refuse_inputs(output: str, files: Iterable[FsPath], directories: Iterable[FsPath] = (),
                  option: str = "--output") -> None:
    """Exit 2 when ``output`` is one of ``files`` (the same file, however named), lies
    inside one of ``directories``, or is Terraform by its name (a local module the run
    reads may live anywhere; no report is ``.tf``)."""
    target = FsPath(output).resolve()
    if target.name.endswith(_TERRAFORM):
        raise InputError(f"{option} {output}: a Terraform file by its name; refusing to "
                         "replace what may be an input")
    # By identity (device, inode): one stat an input, not a resolve of every component
    # (a fleet's config names thousands).
    mine = _identity(target)
    for file in files:
        if (mine is not None and _identity(file) == mine) or (
                mine is None and not file.exists() and file.resolve() == target):
            raise InputError(f"{option} {output}: is {file}, which this run reads; "
                             "refusing to replace an input")
    around = {i for p in (target, *target.parents) if (i := _identity(p)) is not None}
    for directory in directories:
        found = _identity(directory)
        if found in around if found is not None else (
                (d := directory.resolve()) == target or d in target.parents):
            raise InputError(f"{option} {output}: is inside {directory}, which this run "
                             "reads; write reports elsewhere")


def _identity(path: FsPath) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except (OSError, ValueError):
        return None
    return stat.st_dev, stat.st_ino


_TERRAFORM = (".tf", ".tf.json", ".tfvars", ".tfvars.json", ".hcl")


