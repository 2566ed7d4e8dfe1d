"""Runs an environment's live collectors concurrently and merges what they return.

Which collectors run follows the config: ``kubernetes`` when the environment names a
cluster context, ``aws`` when it names a region, ``tls`` when it lists endpoints; with
``kinds`` (section triage), only those that read one of them, told to read only them. A
collector that crashes costs only its own kinds (they become unavailable, so the checks
that need them end in ``error``); the others still count.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from auditor.config import Config, Environment
from auditor.live import LIVE_SOURCES
from auditor.live.base import LiveCollected
from auditor.models import Resource

Progress = Callable[[str], None]


def wanted(env: Environment) -> list[str]:
    return [name for name, on in (("kubernetes", env.kubernetes is not None),
                                  ("aws", env.aws is not None),
                                  ("tls", bool(env.endpoints))) if on]


def collect(config: Config, env_name: str, env: Environment, declared: list[Resource],
            progress: Progress, kinds: frozenset[str] | None = None) -> LiveCollected:
    names = [n for n in wanted(env) if kinds is None or kinds & set(_kinds(n))]
    out = LiveCollected()
    if not names:
        return out
    with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="collect") as pool:
        futures = [pool.submit(_one, name, config, env_name, env, declared, progress, kinds)
                   for name in names]
        for future in futures:  # in config order, so reports do not depend on timing
            out.extend(future.result())
    return out


def _kinds(name: str) -> tuple[str, ...]:
    kinds: tuple[str, ...] = importlib.import_module(LIVE_SOURCES[name]).KINDS
    return kinds


def _one(name: str, config: Config, env_name: str, env: Environment,
         declared: list[Resource], progress: Progress,
         kinds: frozenset[str] | None) -> LiveCollected:
    progress(f"{env_name}: reading {name} ...")
    module = importlib.import_module(LIVE_SOURCES[name])
    try:
        found: LiveCollected = (module.collect(config, env_name, env, declared) if kinds is None
                                else module.collect(config, env_name, env, declared, kinds))
    except Exception as exc:  # a collector bug must not cost the other collectors
        lost: tuple[str, ...] = getattr(module, "KINDS", ())
        found = LiveCollected(unavailable={k: f"{name} collector failed: {exc!r}"
                                           for k in lost})
    progress(f"{env_name}: {name}: {len(found.resources)} objects"
             + (f", {len(found.unavailable)} kinds unreadable" if found.unavailable else ""))
    return found
