"""An environment's results, kept until one of its inputs changes (``auditor scan``).

A fleet's nightly scan reads the same thousand services as the night before; most did not
change. An entry is found by everything the results depend on besides the project's files
(the tool's code and its dependencies' versions, the policies, the config file, the
environment, its parameters, the Helm engine) and then holds the digests of every project
file and folder the environment read (:mod:`auditor.inputs`): it is used only while each
still has that content, so an edited values file, a new template or a module changed
elsewhere in the repository is a new evaluation.

Not kept: an environment with an ``error`` (a missing file, a render that ran out of time:
an error may depend on what is absent, or on the machine's load), one that read the clock
(no ``--now``: the answer is today's), or whose inputs another process read unseen.
Policies that call plugin checks turn it off: their code is not ours to digest.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path as FsPath
from typing import Any

from auditor import cache, inputs, project
from auditor.checks import plugins
from auditor.config import Config
from auditor.models import (
    Evaluated,
    Inventory,
    Location,
    NotApplicable,
    Problem,
    Provenance,
    Result,
)
from auditor.policies import Policy

KIND = "env"
# Besides our code: what parses, renders, evaluates and formats the results.
DEPENDENCIES = ("PyYAML", "python-hcl2", "lark", "Jinja2", "pydantic", "cel-expr-python",
                "helm-python-sdk", "google-re2", "cryptography")


@dataclass(frozen=True)
class Memo:
    """The cache of one scan: what every environment's key shares, computed once."""

    store: cache.Store
    common: str
    root: FsPath
    skip: tuple[FsPath, ...]

    @staticmethod
    def open(config: Config, policies: list[Policy]) -> Memo | None:
        store = cache.store()
        if store is None or any(p.check and plugins.NAME.fullmatch(p.check) for p in policies):
            return None
        from auditor.sources import helm_render

        config_file = config.base_dir / FsPath(config.file).name
        try:
            config_text = config_file.read_bytes().decode("utf-8", "surrogateescape")
        except OSError:
            return None
        digest = hashlib.sha256()
        for p in policies:
            digest.update(p.model_dump_json().encode())
        root = project.root_of(config.base_dir)  # what may be read: part of the answer
        cache_root = store.root.resolve()
        if cache_root == root or cache_root in root.parents:
            return None  # the project inside the cache: nothing in it could be told apart
        common = cache.key(KIND, _code(), sys.version, digest.hexdigest(), str(root),
                           str(config_file.resolve()), config_text,
                           str(helm_render._engine()))
        # The cache may sit inside the project (e.g. $GITHUB_WORKSPACE/.cache): not an input.
        return Memo(store, common, root, (root / ".git", cache_root))

    def _entry(self, env_name: str, params: dict[str, Any]) -> str:
        return cache.key(self.common, env_name,
                         json.dumps(params, sort_keys=True, default=repr))

    def check(self, env_name: str, params: dict[str, Any]) -> Found | None:
        """Whether the environment's entry holds for its inputs as they are now (the slow
        part of a lookup, done by the workers for a fleet)."""
        key = self._entry(env_name, params)
        text = self.store.get_text(KIND, key)
        if text is None or not text.startswith(_HEAD) or not text.endswith("}"):
            return None
        try:
            read, end = _JSON.raw_decode(text, len(_HEAD))
        except (ValueError, RecursionError):
            return None
        if not text.startswith(_MIDDLE, end) or not inputs.unchanged(read):
            return None
        return Found(key, end + len(_MIDDLE), _digest(text))

    def kept(self, found: Found) -> Evaluated | None:
        """The results of the entry :meth:`check` found, decoded; None if another run has
        replaced it since, or it does not decode."""
        text = self.store.get_text(KIND, found.key)
        if text is None or _digest(text) != found.digest:
            return None
        return decode(text[found.start:-1])

    def put(self, env_name: str, params: dict[str, Any], rec: inputs.Recording,
            evaluated: Evaluated) -> None:
        if any(r.status == "error" for r in evaluated.results) or any(
                p.status == "error" for i in evaluated.inventories for p in i.problems):
            return
        read, results = inputs.fingerprint(rec), cache.dumps(_encode(evaluated))
        if read is None or results is None:
            return
        # Kept only if it reads back as it is (a tuple in details would not).
        if decode(results) != evaluated or (head := cache.dumps(read)) is None:
            return
        self.store.put_text(KIND, self._entry(env_name, params),
                            f"{_HEAD}{head}{_MIDDLE}{results}}}")


@dataclass(frozen=True)
class Found:
    key: str  # the entry's
    start: int  # where the results begin in the entry's text
    digest: str  # of the entry's text


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# An entry is {"inputs": ..., "evaluated": ...} in this order, so that the inputs can be
# checked without decoding the results.
_HEAD, _MIDDLE = '{"inputs":', ',"evaluated":'
_JSON = json.JSONDecoder()


def decode(text: str) -> Evaluated | None:
    """Results kept by :meth:`Memo.put`; None if they do not read back."""
    try:
        return _decode(json.loads(text))
    except (KeyError, TypeError, ValueError, IndexError, RecursionError):
        return None


@lru_cache(maxsize=1)
def _code() -> str:
    """Our own source and the versions of what it runs on."""
    digest = hashlib.sha256()
    package = FsPath(__file__).resolve().parent
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".yaml", ".json", ".j2", ".html") and path.is_file():
            digest.update(path.relative_to(package).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    for name in DEPENDENCIES:
        try:
            digest.update(f"{name} {metadata.version(name)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} -\0".encode())
    return digest.hexdigest()


def _location(loc: Location | None) -> Any:
    if loc is None:
        return None
    return [loc.file, loc.line, loc.key, loc.literal, [_location(r) for r in loc.related]]


def _unlocation(raw: Any) -> Location | None:
    if raw is None:
        return None
    file, line, key, literal, related = raw
    return Location(file, line, key, literal,
                    tuple(x for r in related if (x := _unlocation(r)) is not None))


def _encode(evaluated: Evaluated) -> dict[str, Any]:
    results, inventories, unmet = (evaluated.results, evaluated.inventories,
                                   evaluated.not_applicable)
    return {
        "results": [[r.policy_id, r.status, r.environment, r.side, r.kind, r.name, r.source,
                     r.message, r.namespace, r.item, _location(r.location),
                     r.remediation_text, r.commands, r.checks, r.details, r.address,
                     list(r.path), r.provenance.model_dump(mode="json") if r.provenance
                     else None, r.fix_value] for r in results],
        "inventories": [[i.environment, i.side, [[p.source, p.message, _location(p.location),
                                                  p.status] for p in i.problems]]
                        for i in inventories],
        "not_applicable": [n.model_dump() for n in unmet],
    }


def _decode(data: dict[str, Any]) -> Evaluated:
    results = [Result(policy_id=r[0], status=r[1], environment=r[2], side=r[3], kind=r[4],
                      name=r[5], source=r[6], message=r[7], namespace=r[8], item=r[9],
                      location=_unlocation(r[10]), remediation_text=r[11], commands=r[12],
                      checks=r[13], details=r[14], address=r[15], path=tuple(r[16]),
                      provenance=Provenance.model_validate(r[17]) if r[17:] and r[17] else None,
                      fix_value=r[18] if r[18:] else None)
               for r in data["results"]]
    inventories = [Inventory(env, side, problems=[
        Problem(p[0], p[1], _unlocation(p[2]) or Location(""), p[3]) for p in problems])
        for env, side, problems in data["inventories"]]
    unmet = [NotApplicable(**n) for n in data["not_applicable"]]
    return Evaluated(results, inventories, unmet)
