"""Secrets Manager secrets: whether they rotate, and how often. Never their values.

Only ``DescribeSecret`` is called: it returns metadata (name, rotation) and no secret
value, and the IAM policy shipped in ``deploy/`` grants nothing else on secrets. AWS omits
``RotationEnabled`` on a secret that never rotated; that reads as ``false``, as Terraform
declares a secret without a rotation resource.
"""

from __future__ import annotations

from typing import Any

from auditor.live.aws.api import Api, read
from auditor.live.aws.targets import Targets
from auditor.live.base import LiveCollected
from auditor.models import Resource

KINDS = ("SecretsManagerSecret",)
SERVICES = ("secretsmanager",)


def wanted(t: Targets) -> tuple[str, ...]:
    return KINDS if t.secrets else ()


def collect(api: Api, t: Targets) -> LiveCollected:
    out = LiveCollected()
    # One secret per call (names or ARNs): described Api.PER_OBJECT at a time, in order.
    read(out, KINDS, lambda: [s for s in api.each(lambda name: _secret(api, name),
                                                  t.secrets) if s])
    return out


def _secret(api: Api, name: str) -> Resource | None:
    found = api.call("secretsmanager", "describe_secret",
                     missing=("ResourceNotFoundException",), SecretId=name)
    if found is None:
        return None
    body: dict[str, Any] = {"name": found["Name"],
                            "rotation_enabled": bool(found.get("RotationEnabled", False))}
    days = (found.get("RotationRules") or {}).get("AutomaticallyAfterDays")
    if days is not None:
        body["rotation_rules"] = {"automatically_after_days": days}
    return api.resource("SecretsManagerSecret", found["Name"], body)
