"""The Kubernetes client's logging, kept off the terminal while collecting.

The client and urllib3 log what goes wrong (a retried connection, a failing credential
plugin) as warnings and errors, some of it on the root logger (``kube_config`` calls
``logging.error``). What they say is already in the reasons the collector reports, and
``--quiet`` must be quiet: :func:`quiet` silences them for the collection and restores the
levels after; :func:`plugin_errors` keeps the text the client logs while one thread loads
a kubeconfig, which is the only place a failing credential plugin is reported.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import kubernetes

QUIET_LOGGERS = ("kubernetes", "urllib3")
_CLIENT_DIR = os.path.dirname(kubernetes.__file__)


@contextmanager
def quiet() -> Iterator[None]:
    """The Kubernetes client's and urllib3's logging silenced (restored afterwards), also
    what the client logs on the root logger."""
    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    levels = [lg.level for lg in loggers]
    silence = _ClientRecords()
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    logging.getLogger().addFilter(silence)
    try:
        yield
    finally:
        logging.getLogger().removeFilter(silence)
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


# thread id -> what the client logged on it while that thread loaded a kubeconfig
_captured: dict[int, list[str]] = {}


@contextmanager
def plugin_errors() -> Iterator[list[str]]:
    """What the client logs on the root logger from this thread while loading a kubeconfig
    (a failing credential plugin is only logged there), kept off the terminal."""
    seen: list[str] = []
    capture = _ClientRecords()
    _captured[threading.get_ident()] = seen
    logging.getLogger().addFilter(capture)
    try:
        yield seen
    finally:
        logging.getLogger().removeFilter(capture)
        _captured.pop(threading.get_ident(), None)


class _ClientRecords(logging.Filter):
    """Drops the Kubernetes client's records logged on the root logger (``kube_config``
    uses ``logging.error``), keeping their text for a thread that asked for it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.pathname.startswith(_CLIENT_DIR):
            return True
        seen = _captured.get(record.thread or 0)
        if seen is not None:
            seen.append(record.getMessage())
        return False
