"""Terraform's filesystem functions, confined to the project: file, fileexists, fileset,
filebase64, the file hashes, and the path functions (basename, dirname, abspath, pathexpand).

Terraform reads a relative path from the directory it runs in, the root module, which is why
modules write ``"${path.module}/x"``. The evaluator learns that directory from the scope: a
scope that can read files has a ``files`` attribute holding :class:`ModuleFiles` (see
:func:`files_of`); without it a filesystem function is unknown. A path that leads outside the
project, by name or by a symbolic link, into ``.git``, or into the user's home (``~``) is
never read and gives unknown (Terraform could read it where it runs; we do not know what it
holds). Reads are bounded: contents up to :data:`LIMIT` characters, hashed files up to
:data:`auditor.limits.MAX_INPUT_BYTES`, ``fileset`` walks at most :data:`MAX_WALK` entries.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path as FsPath

from auditor import inputs, project
from auditor.limits import MAX_INPUT_BYTES
from auditor.terraform.hcl_fn_common import LIMIT, too_big
from auditor.terraform.hcl_fn_paths import glob_regex, go_clean, split_glob
from auditor.terraform.hcl_values import EvalError, Scope, Stop, to_str
from auditor.unknown import Unknown

MAX_WALK = 10_000  # directory entries one fileset() call may visit


@dataclass(frozen=True)
class ModuleFiles:
    """Where the file functions of one module read: relative paths start at ``root``
    (Terraform's working directory, the root module), ``path.module`` is ``module`` relative
    to it, and nothing outside ``project`` (see :func:`auditor.project.root_of`) is read."""

    root: FsPath
    module: FsPath
    project: FsPath


def files_of(scope: Scope, fn: str) -> ModuleFiles:
    files = getattr(scope, "files", None)
    if not isinstance(files, ModuleFiles):
        raise Stop(Unknown(f"{fn}() reads files, and this evaluation has no module directory"))
    return files


def path_value(scope: Scope, attribute: str) -> object:
    """``path.module``, ``path.root`` and ``path.cwd`` as Terraform gives them (relative to
    the working directory; ``path.cwd`` is absolute, so it depends on the machine)."""
    files = getattr(scope, "files", None)
    if not isinstance(files, ModuleFiles) or attribute not in ("module", "root"):
        raise Stop(Unknown(f"path.{attribute} depends on where terraform runs"))
    if attribute == "root":
        return "."
    return os.path.relpath(files.module, files.root).replace(os.sep, "/")


def _refusal(files: ModuleFiles, full: FsPath) -> str | None:
    inputs.probe(full)  # refused or not, what is there (and where it leads) is an input
    try:
        real = full.resolve(strict=False)
    except (OSError, RuntimeError):  # RuntimeError: a loop of links, before Python 3.13
        return "a symbolic link that does not resolve: not read"
    top = files.project.resolve()
    if not real.is_relative_to(top):
        return f"outside the project {top}: not read"
    if ".git" in real.relative_to(top).parts:
        return "inside the repository's .git folder: not read"
    return project.refusal(full) if full.exists() else None


def locate(scope: Scope, fn: str, path: object) -> FsPath:
    """The file a function argument names, or Stop when it may not be read."""
    files, text = files_of(scope, fn), to_str(path)
    if text.startswith("~"):
        raise Stop(Unknown(f"{fn}({text!r}) reads the home directory of the machine terraform "
                           "runs on"))
    full = FsPath(go_clean(str(files.root / text) if not os.path.isabs(text) else text))
    if why := _refusal(files, full):
        raise Stop(Unknown(f"{fn}({text!r}): {why}"))
    return full


def _regular(full: FsPath, fn: str, text: str) -> os.stat_result:
    try:
        info = full.stat()
    except FileNotFoundError:
        raise EvalError(f"{fn}(): no file exists at {text}; this function works only with "
                        "files that are distributed as part of the configuration source "
                        "code") from None
    except OSError as exc:
        raise EvalError(f"{fn}(): cannot read {text}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise EvalError(f"{fn}(): {text} is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):  # a pipe would block the scan
        raise EvalError(f"{fn}(): {text} is not a regular file")
    return info


def read_bytes(scope: Scope, fn: str, path: object, limit: int = LIMIT) -> bytes:
    full = locate(scope, fn, path)
    if _regular(full, fn, to_str(path)).st_size > limit:
        raise too_big(f"{fn}() of {to_str(path)}")
    with full.open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:  # grew since stat
        raise too_big(f"{fn}() of {to_str(path)}")
    return data


def read_text(scope: Scope, fn: str, path: object) -> str:
    try:
        return read_bytes(scope, fn, path).decode("utf-8")
    except UnicodeDecodeError:
        raise EvalError(f"contents of {to_str(path)} are not valid UTF-8; use the filebase64 "
                        "function to obtain the Base64 encoded contents or the other file "
                        "functions (e.g. filemd5, filesha256) to obtain file hashing results "
                        "instead") from None


def _hasher(fn: str, algorithm: str, b64: bool) -> Callable[[Scope, object], str]:
    def run(scope: Scope, path: object) -> str:
        full = locate(scope, fn, path)
        if _regular(full, fn, to_str(path)).st_size > MAX_INPUT_BYTES:
            raise too_big(f"{fn}() of {to_str(path)}")
        digest = hashlib.new(algorithm)
        with full.open("rb") as f:
            while chunk := f.read(2**20):
                digest.update(chunk)
        return base64.b64encode(digest.digest()).decode() if b64 else digest.hexdigest()
    return run


def _fileexists(scope: Scope, path: object) -> bool:
    full = locate(scope, "fileexists", path)
    inputs.probe(full)
    if not full.exists():
        return False
    _regular(full, "fileexists", to_str(path))
    return True


def _fileset(scope: Scope, path: object, pattern: object) -> list[str]:
    base = locate(scope, "fileset", path)
    start, rest = split_glob(go_clean(f"{base}/{to_str(pattern)}"))
    top = locate(scope, "fileset", start)
    matcher, found, seen = glob_regex(rest), [], 0
    for folder, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if d != ".git"]  # names in .git are nobody's business
        seen += len(dirs) + len(names)
        if seen > MAX_WALK:
            raise too_big("fileset()")
        for name in names:
            full = FsPath(folder, name)
            rel = os.path.relpath(full, top).replace(os.sep, "/")
            if matcher.search(rel) is None:
                continue
            if why := _refusal(files_of(scope, "fileset"), full):
                raise Stop(Unknown(f"fileset(): {rel}: {why}"))
            inputs.probe(full)
            if full.is_file():
                found.append(os.path.relpath(full, base).replace(os.sep, "/"))
    return sorted(found)


SCOPED: dict[str, Callable[..., object]] = {
    "file": lambda scope, path: read_text(scope, "file", path),
    "filebase64": lambda scope, path: base64.b64encode(
        read_bytes(scope, "filebase64", path, LIMIT * 3 // 4)).decode(),
    "fileexists": _fileexists, "fileset": _fileset,
    "filemd5": _hasher("filemd5", "md5", False), "filesha1": _hasher("filesha1", "sha1", False),
    "filesha256": _hasher("filesha256", "sha256", False),
    "filesha512": _hasher("filesha512", "sha512", False),
    "filebase64sha256": _hasher("filebase64sha256", "sha256", True),
    "filebase64sha512": _hasher("filebase64sha512", "sha512", True),
}
