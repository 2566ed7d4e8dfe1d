"""Database credentials: the Secrets Manager secrets holding them must rotate, and so must
the master password of a database.

Which secrets hold database credentials is told by name (the ``db_secret_pattern``
parameter); a name not known offline leaves an unrotated secret ``unknown``, never a pass.
A database's master password rotates when RDS manages it (``manage_master_user_password``:
a secret RDS rotates every 7 days by default). A password Terraform sets stays valid until
someone changes it, unless a rotating database secret here is what changes it.
"""

from __future__ import annotations

from auditor.checks.base import CheckContext, Outcome
from auditor.conditions import compile_pattern
from auditor.models import Resource
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
    rotating = any(o.status == "pass" for o in out)
    for db in ctx.inventory.of_kind("DBInstance", "DBCluster"):
        outcome = _master_password(db, rotating)
        if outcome is not None:
            out.append(outcome)
    return out


def _master_password(db: Resource, rotating: bool) -> Outcome | None:
    """A database's own password: managed by RDS (pass), set by Terraform (fail, unless a
    rotating database secret may be what rotates it), or neither (a replica or a restore
    from a snapshot: nothing to judge)."""
    managed = db.body.get("manage_master_user_password")
    key = "password" if db.kind == "DBInstance" else "master_password"
    if isinstance(managed, Unknown):
        return Outcome(db, "unknown", path=("manage_master_user_password",), reason=managed)
    if semantic_equal(managed, True):
        return Outcome(db, "pass", item="master password")
    password = db.body.get(key)
    if password is None:
        return None
    if rotating:  # e.g. a rotation Lambda that sets it (ignore_changes = [password])
        return Outcome(db, "pass", item="master password")
    if isinstance(password, Unknown):  # a conditional may make it null
        return Outcome(db, "unknown", item="master password", path=(key,),
                       reason=f"whether {key} is set is not known offline: {password.reason}")
    return Outcome(db, "fail", item="master password", path=(key,),
                   vars={"password_key": key})
