"""Database access checks: who may reach the database, and what is open to the world.

A database's security groups are resolved by name among the declared ones and its port
defaults to the engine's; what their rules admit is :mod:`auditor.checks.ingress`.
"""

from __future__ import annotations

from typing import Any

from auditor.checks.base import CheckContext, Outcome, flag
from auditor.checks.ingress import (
    any_world_rule,
    covers,
    hidden_in,
    hidden_rules,
    ingress_rules,
    open_rules,
)
from auditor.models import Resource
from auditor.unknown import Unknown

DATABASES = ("DBInstance", "DBCluster")  # RDS instances and Aurora clusters alike
DEFAULT_DB_PORTS = {"postgres": 5432, "mysql": 3306, "mariadb": 3306, "aurora-postgresql": 5432,
                    "aurora-mysql": 3306, "sqlserver": 1433, "oracle": 1521}


def db_port(db: Resource) -> int | Unknown:
    """The database's port: declared, else the engine's default."""
    port = db.body.get("port")
    if isinstance(port, Unknown):
        return port
    if isinstance(port, int) and not isinstance(port, bool):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    engine = db.body.get("engine")
    if isinstance(engine, Unknown):
        return engine
    return DEFAULT_DB_PORTS.get(str(engine), 5432)


def db_security_groups(db: Resource, groups: list[Resource]) -> list[Resource] | Unknown:
    """The database's security groups, resolved by name among ``groups``."""
    names = db.body.get("vpc_security_group_ids")
    if isinstance(names, Unknown):
        return names
    by_name = {g.name: g for g in groups}
    found = []
    for name in names if isinstance(names, list) else []:
        if isinstance(name, Unknown):
            return name
        if name not in by_name:
            return Unknown(f"security group {name} is not declared here")
        found.append(by_name[name])
    return found


def _db_access(db: Resource, groups: list[Resource]) -> tuple[list[Resource], int] | Outcome:
    """The database's security groups and port, or the ``unknown`` outcome saying which of
    them is not known."""
    sgs, port = db_security_groups(db, groups), db_port(db)
    if isinstance(sgs, Unknown):
        return Outcome(db, "unknown", path=("vpc_security_group_ids",), reason=sgs)
    if isinstance(port, Unknown):
        return Outcome(db, "unknown", path=("vpc_security_group_ids",), reason=port)
    return sgs, port


def db_ingress_from_app(ctx: CheckContext) -> list[Outcome]:
    """Pass when one of the database's groups admits its port from another security group
    (the ``app_security_group`` parameter, when set, must be that group)."""
    groups = ctx.inventory.of_kind("SecurityGroup")
    app = ctx.params.get("app_security_group")
    out = []
    for db in ctx.inventory.of_kind(*DATABASES):
        access = _db_access(db, groups)
        if isinstance(access, Outcome):
            out.append(access)
            continue
        sgs, port = access
        facts = {"port": port, "groups": ", ".join(s.name for s in sgs)
                 or "none declared, so the VPC default group",
                 "group": sgs[0].name if sgs else None}
        verdict: bool | Unknown = False
        ranges: list[str] = []  # address ranges that admit the port: not a group, but a route
        for sg in sgs:
            rules = ingress_rules(sg)
            if isinstance(rules, Unknown):
                verdict = rules if verdict is False else verdict
                continue
            for rule in rules:
                if covers(rule, port) is True:
                    ranges += _ranges(rule)
                sources = rule.get("security_groups")
                if isinstance(sources, Unknown):
                    verdict = sources if verdict is False else verdict
                    continue
                named: list[str | Unknown] = [
                    s for s in sources or [] if isinstance(s, str) and s != sg.name]
                if app:
                    named = [s for s in named if s == app]
                else:  # any other group will do, and another resource's group id is one
                    named += [s for s in sources or [] if isinstance(s, Unknown) and s.ref]
                # A source not known offline may be the app's group.
                doubt = next((s for s in sources or [] if isinstance(s, Unknown)
                              and s not in named), None)
                hit = covers(rule, port)
                if hit is True and named:
                    verdict = True
                elif verdict is False and isinstance(hit, Unknown) and (named or doubt is not None):
                    verdict = hit
                elif verdict is False and hit is True and doubt is not None:
                    verdict = doubt
        elsewhere = [sg.name for sg in sgs if sg.body.get("declared_elsewhere") is True]
        hidden = hidden_in(sgs)
        if verdict is False and hidden is not None:
            verdict = hidden
        if verdict is False and elsewhere:
            # Only the rules declared here are visible: the group's own may allow it.
            verdict = Unknown(f"security group {elsewhere[0]} is declared elsewhere; its "
                              "other rules are not visible offline")
        if isinstance(verdict, Unknown):
            out.append(Outcome(db, "unknown", path=("vpc_security_group_ids",),
                               reason=verdict))
        else:
            out.append(Outcome(db, "pass" if verdict else "fail",
                               path=("vpc_security_group_ids",),
                               vars={**facts, "ranges": ", ".join(dict.fromkeys(ranges))}))
    return out


def _ranges(rule: dict[str, Any]) -> list[str]:
    """The address ranges a rule admits, as the message shows them (one not known offline
    as such: still a range, not a group)."""
    out: list[str] = []
    for key in ("cidr_blocks", "ipv6_cidr_blocks"):
        value = rule.get(key)
        if isinstance(value, Unknown) or (
                isinstance(value, list) and any(isinstance(c, Unknown) for c in value)):
            out.append("ranges not known offline")
        if isinstance(value, list):
            out += [c for c in value if isinstance(c, str)]
    return out


def db_not_public(ctx: CheckContext) -> list[Outcome]:
    """A fail per way the database is open to the world: a public endpoint
    (``publicly_accessible``), and each rule of its security groups that opens its port."""
    groups = ctx.inventory.of_kind("SecurityGroup")
    out: list[Outcome] = []
    for db in ctx.inventory.of_kind(*DATABASES):
        public = _public_endpoint(db)
        if public is not None:
            out.append(public)
        access = _db_access(db, groups)
        if isinstance(access, Outcome):
            out.append(access)
            continue
        sgs, port = access
        found = open_rules(sgs, [port], db_name=db.name)
        # The database's finding (pass and fail share one identity), pointing at the rule.
        out += [Outcome(db, o.status, item=f"{o.resource.name} {o.item}", reason=o.reason,
                        location=o.resource.locate(o.path),
                        vars={**o.vars, "group": o.resource.name}) for o in found]
        hidden = hidden_in(sgs)
        if not found and public is None and hidden is not None:
            out.append(Outcome(db, "unknown", path=("vpc_security_group_ids",), reason=hidden))
        elif not found and public is None:
            out.append(Outcome(db, "pass"))
    # An Aurora cluster's endpoint is public through its instances (the cluster's groups
    # are checked above, on the cluster).
    for member in ctx.inventory.of_kind("DBClusterInstance"):
        out.append(_public_endpoint(member) or Outcome(member, "pass"))
    return out


def _public_endpoint(db: Resource) -> Outcome | None:
    """The fail (or unknown) of a database with a public endpoint; None when it has none.
    A public address puts the internet one security group rule away from the database."""
    value = db.body.get("publicly_accessible")
    if isinstance(value, Unknown):
        return Outcome(db, "unknown", item="publicly_accessible",
                       path=("publicly_accessible",), reason=value)
    if flag(value) is True:
        return Outcome(db, "fail", item="publicly_accessible", path=("publicly_accessible",),
                       vars={"public_endpoint": True})
    return None


def sg_no_world_admin(ctx: CheckContext) -> list[Outcome]:
    """A fail per ingress rule that opens an admin port (``ports``) or any declared
    database's port to the world; every other group passes."""
    ports = {int(p) for p in ctx.params.get("ports") or []}
    groups = ctx.inventory.of_kind("SecurityGroup")
    unknown_port: dict[str, str] = {}  # group name -> why a database port behind it is unknown
    for db in ctx.inventory.of_kind(*DATABASES):
        port = db_port(db)
        if isinstance(port, int):
            ports.add(port)
            continue
        sgs = db_security_groups(db, groups)
        for sg in sgs if isinstance(sgs, list) else []:
            unknown_port[sg.name] = f"the port of database {db.name} is not known: {port.reason}"
    out = open_rules(groups, sorted(ports))
    decided = {o.resource.name for o in out}
    for sg in groups:
        if sg.name in decided:
            continue
        if sg.name in unknown_port and any_world_rule(sg):
            out.append(Outcome(sg, "unknown", path=("ingress",), reason=unknown_port[sg.name]))
        elif (hidden := hidden_rules(sg)) is not None:
            out.append(Outcome(sg, "unknown", path=("ingress",), reason=hidden))
        else:
            out.append(Outcome(sg, "pass"))
    return out
