"""Output formats: each a module with ``render(report) -> str`` (JSON: UTF-8 bytes), and
where a fleet's report is large, ``chunks(report)``: the same, as UTF-8 pieces."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable

from auditor.models import Report

FORMATS = ("table", "json", "sarif", "markdown", "junit", "github")


def streamer(name: str) -> Callable[[Report], Iterable[bytes]] | None:
    """The format's ``chunks(report)``, UTF-8 in pieces, where it writes a fleet's report
    without holding it whole."""
    module = importlib.import_module(f"auditor.formats.{name}_format")
    chunks: Callable[[Report], Iterable[bytes]] | None = getattr(module, "chunks", None)
    return chunks


def renderer(name: str) -> Callable[[Report], str | bytes]:
    module = importlib.import_module(f"auditor.formats.{name}_format")
    render: Callable[[Report], str | bytes] = module.render
    return render
