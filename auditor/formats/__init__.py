"""Output formats: each a module with ``render(report) -> str`` (JSON: UTF-8 bytes), in one
registry."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from auditor.models import Report

FORMATS = ("table", "json", "sarif", "markdown", "junit", "github")


def renderer(name: str) -> Callable[[Report], str | bytes]:
    module = importlib.import_module(f"auditor.formats.{name}_format")
    render: Callable[[Report], str | bytes] = module.render
    return render
