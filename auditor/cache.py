"""A persistent cache of parse results, kept by content, in the user's cache directory.

A fleet scan reads the same modules and files run after run; parsing them (python-hcl2
above all) is most of a Terraform scan's time. Entries are keyed by a hash of the input's
text, the tool's and the parser's versions and the source of the code that made it, so an
edited file, an upgraded parser or a changed parser of ours never reads a stale entry.

Entries are JSON, never pickle: whoever can plant a file in the cache must not get code
run. Writes are atomic (a temporary file renamed over), so runs that share the directory
never read half an entry; an entry that does not load is ignored and rebuilt. The directory
is bounded: once per run, before its first write, the oldest entries are removed while it
holds more than the limit.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from auditor import __version__

ENV_DIR = "AUDITOR_CACHE_DIR"  # overrides the directory
ENV_OFF = "AUDITOR_NO_CACHE"  # set to anything but "" or "0": no cache, as --no-cache
LIMIT_BYTES = 256 * 2**20
FORMAT = "1"  # bump when an entry's layout changes


class Store:
    def __init__(self, root: Path, limit: int = LIMIT_BYTES) -> None:
        self.root, self.limit = root, limit
        self._pruned = False
        self._made: set[Path] = set()  # folders this run made or found: not made again

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.json"

    def get(self, kind: str, key: str) -> Any | None:
        try:
            with self._path(kind, key).open(encoding="utf-8") as handle:
                if os.fstat(handle.fileno()).st_size > self.limit // 16:
                    return None  # never written so large: not ours, not read
                return json.load(handle)
        except (OSError, ValueError, RecursionError):  # absent, unreadable or corrupt
            return None

    def get_text(self, kind: str, key: str) -> str | None:
        """An entry's JSON text, unparsed."""
        try:
            with self._path(kind, key).open(encoding="utf-8") as handle:
                if os.fstat(handle.fileno()).st_size > self.limit // 16:
                    return None
                return handle.read()
        except (OSError, ValueError):
            return None

    def put(self, kind: str, key: str, value: Any) -> None:
        """Best effort: a cache that cannot be written is no cache, not an error."""
        text = dumps(value)
        if text is not None:
            self.put_text(kind, key, text)

    def put_text(self, kind: str, key: str, text: str) -> None:
        """An entry already written as JSON (by :func:`dumps`)."""
        if len(text) > self.limit // 16:  # one entry never crowds out the rest
            return
        path = self._path(kind, key)
        try:
            if not self._pruned:
                self._pruned = True
                prune(self.root, self.limit)
            fd, tmp = self._temporary(path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            return

    def _temporary(self, folder: Path) -> tuple[int, str]:
        """A new file in ``folder``, made the first time this run writes there."""
        if folder not in self._made:
            self._make(folder)
        try:
            return tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
        except FileNotFoundError:  # removed since (the user emptied the cache)
            self._make(folder)
            return tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")

    def _make(self, folder: Path) -> None:
        # Private: a parsed file may hold what its author should not have committed.
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.parent.mkdir(mode=0o700, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        self._made.add(folder)


def dumps(value: Any) -> str | None:
    """An entry's JSON text; None for a value JSON cannot hold."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None


def prune(root: Path, limit: int) -> None:
    """Remove the least recently written entries until the directory holds at most
    ``limit`` bytes (three quarters of it, so that the next runs do not prune again)."""
    entries = []
    for path in root.glob("*/*/*.json"):
        try:
            stat = path.stat()
        except OSError:
            continue
        entries.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    if total <= limit:
        return
    for _, size, path in sorted(entries, key=lambda entry: entry[0]):
        path.unlink(missing_ok=True)
        total -= size
        if total <= limit * 3 // 4:
            return


@lru_cache(maxsize=16)
def code_version(*modules: str) -> str:
    """A digest of the source of the modules that produce an entry: a change to how the
    tool parses (between releases too, where the version does not move) is a new key."""
    digest = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        digest.update(Path(origin).read_bytes() if origin else name.encode())
    return digest.hexdigest()


def key(*parts: str) -> str:
    """The entry key of an input: its parts, the tool's version and the cache format."""
    digest = hashlib.sha256()
    for part in (FORMAT, __version__, *parts):
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big") + data)  # unambiguous concatenation
    return digest.hexdigest()


def default_root() -> Path | None:
    """$AUDITOR_CACHE_DIR, else $XDG_CACHE_HOME/runbook-auditor, else
    ~/.cache/runbook-auditor; None where there is no home to put it in."""
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR])
    base = os.environ.get("XDG_CACHE_HOME")
    if base and os.path.isabs(base):  # the spec: a relative value is ignored
        return Path(base) / "runbook-auditor"
    try:
        return Path.home() / ".cache" / "runbook-auditor"
    except RuntimeError:
        return None


class _Run:
    """The cache of this process: off after --no-cache, else opened on first use."""

    disabled = False
    opened: Store | None = None


_RUN = _Run()


def disable() -> None:
    """--no-cache: nothing is read from nor written to the cache for this run."""
    _RUN.disabled = True


def store() -> Store | None:
    """The run's store, or None when the cache is off."""
    if _RUN.disabled or os.environ.get(ENV_OFF, "") not in ("", "0"):
        return None
    root = default_root()
    if root is None:
        return None
    if _RUN.opened is None or _RUN.opened.root != root:
        _RUN.opened = Store(root)
    return _RUN.opened
