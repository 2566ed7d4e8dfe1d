"""Declared sources, registered in one explicit dict."""

from __future__ import annotations

from auditor.sources import helm, manifests, terraform
from auditor.sources.base import Collected, Source

DECLARED: dict[str, Source] = {
    "helm": helm.collect,
    "manifests": manifests.collect,
    "terraform": terraform.collect,
}

__all__ = ["DECLARED", "Collected", "Source"]
