"""Fixtures for the live collectors' tests: each platform's fakes live in their own module."""

from __future__ import annotations

from tests.live.cloudtrail_fixture import *  # noqa: F403
from tests.live.k8s_fixtures import *  # noqa: F403

try:
    from tests.live.aws_fixtures import *  # noqa: F403
except ModuleNotFoundError as exc:  # only its absence is tolerated, not its own bad imports
    if exc.name != "tests.live.aws_fixtures":
        raise
