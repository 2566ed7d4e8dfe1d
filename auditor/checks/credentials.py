"""Database credentials: the Secrets Manager secrets holding them must rotate.

Which secrets hold database credentials is told by name (the ``db_secret_pattern``
parameter); a name not known offline leaves an unrotated secret ``unknown``, never a pass.
"""

from __future__ import annotations

from auditor.checks.base import CheckContext, Outcome
from auditor.conditions import compile_pattern
from auditor.quantities import semantic_equal
from auditor.unknown import Unknown


def db_secret_rotation(ctx: CheckContext) -> list[Outcome]:
    """Per secret whose name (or name_prefix) matches ``db_secret_pattern``: pass when
    rotation is configured, fail when not. Other secrets are not database credentials and
    get no outcome; a name not known offline leaves an unrotated secret unknown."""
    pattern = compile_pattern(str(ctx.params["db_secret_pattern"]))  # RE2: linear time
    out = []
    for secret in ctx.inventory.of_kind("SecretsManagerSecret"):
        raw = [secret.body.get("name"), secret.body.get("name_prefix")]
        if all(n is None for n in raw) and secret.name != secret.address:
            raw = [secret.name]  # a Terraform address is no name: it would match "db" by chance
        doubt = next((n for n in raw if isinstance(n, Unknown)), None)
        matched = any(isinstance(n, str) and pattern.search(n) for n in raw)
        if not matched and doubt is None:
            continue  # not database credentials
        rotation = secret.body.get("rotation_enabled", False)
        if isinstance(rotation, Unknown):
            out.append(Outcome(secret, "unknown", path=("rotation_enabled",),
                               reason=rotation))
        elif semantic_equal(rotation, True):
            out.append(Outcome(secret, "pass"))
        elif matched:
            out.append(Outcome(secret, "fail", path=("rotation_enabled",)))
        elif doubt is not None:
            out.append(Outcome(secret, "unknown", reason="the secret's name is not known, so "
                               f"whether it holds database credentials is not: {doubt.reason}"))
    return out
