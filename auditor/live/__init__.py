"""Live sources: read-only collectors of what runs, in one registry.

Each collector module is imported only when an audit runs, so `auditor --help` and
`auditor scan` never import the cloud SDKs.
"""

from __future__ import annotations

import importlib

from auditor.live.base import LiveCollected, LiveSource

# name -> module implementing ``collect(config, env_name, env, declared) -> LiveCollected``
# and ``KINDS`` (what it reads: on a crash those kinds become unavailable)
LIVE_SOURCES = {
    "kubernetes": "auditor.live.kubernetes",
    "aws": "auditor.live.aws",
    "tls": "auditor.live.tls",
}


def source(name: str) -> LiveSource:
    module = importlib.import_module(LIVE_SOURCES[name])
    collect: LiveSource = module.collect
    return collect


__all__ = ["LIVE_SOURCES", "LiveCollected", "LiveSource", "source"]
