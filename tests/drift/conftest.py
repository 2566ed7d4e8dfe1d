"""The chess-ai example's declared inventory (Helm chart rendered by the real Helm engine,
Terraform evaluated), and its live copy as the collectors would return it unchanged."""

from __future__ import annotations

import copy
from functools import cache

import pytest

from auditor.config import load
from auditor.models import Inventory, Resource
from auditor.pipeline import declared_inventory
from tests.conftest import EXAMPLE
from tests.drift.live import live_copy


@cache
def _declared() -> Inventory:
    # declared_inventory renders the chart through auditor.sources.helm.collect and applies
    # the API request defaults, exactly as `auditor audit` builds the drift baseline.
    return declared_inventory(load(str(EXAMPLE / "auditor.yaml")), "prod")


@pytest.fixture
def declared() -> Inventory:
    return copy.deepcopy(_declared())


@pytest.fixture
def live(declared: Inventory) -> list[Resource]:
    return live_copy(declared)
