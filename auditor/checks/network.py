"""Security group checks: who may reach the database, and what is open to the world.

Rules are in the normalised Terraform shape (``from_port``, ``to_port``, ``protocol``,
``cidr_blocks``, ``ipv6_cidr_blocks``, ``security_groups``: names of source groups), the
same for declared and live security groups.
"""

from __future__ import annotations

from typing import Any

from auditor.checks.base import CheckContext, Outcome
from auditor.models import Resource
from auditor.unknown import Unknown

WORLD = ("0.0.0.0/0", "::/0")
DEFAULT_DB_PORTS = {"postgres": 5432, "mysql": 3306, "mariadb": 3306, "aurora-postgresql": 5432,
                    "aurora-mysql": 3306, "sqlserver": 1433, "oracle": 1521}


def covers(rule: dict[str, Any], port: int) -> bool | Unknown:
    """Whether an ingress rule admits TCP traffic to ``port``."""
    protocol = rule.get("protocol")
    lo, hi = rule.get("from_port"), rule.get("to_port")
    for v in (protocol, lo, hi):
        if isinstance(v, Unknown):
            return v
    if str(protocol) in ("-1", "all"):
        return True
    if str(protocol) not in ("tcp", "6"):
        return False
    if not isinstance(lo, int) or not isinstance(hi, int):
        return Unknown(f"port range {lo!r}-{hi!r} is not numeric")
    return lo <= port <= hi


def world_sources(rule: dict[str, Any]) -> list[str] | Unknown:
    found = []
    for key in ("cidr_blocks", "ipv6_cidr_blocks"):
        blocks = rule.get(key) or []
        if isinstance(blocks, Unknown):
            return blocks
        for block in blocks:
            if isinstance(block, Unknown):
                return block
            if block in WORLD:
                found.append(block)
    return found


def db_port(db: Resource) -> int | Unknown:
    port = db.body.get("port")
    if isinstance(port, Unknown | int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    engine = db.body.get("engine")
    if isinstance(engine, Unknown):
        return engine
    return DEFAULT_DB_PORTS.get(str(engine), 5432)


def db_security_groups(db: Resource, groups: list[Resource]) -> list[Resource] | Unknown:
    names = db.body.get("vpc_security_group_ids")
    if isinstance(names, Unknown):
        return names
    by_name = {g.name: g for g in groups}
    found = []
    for name in names or []:
        if isinstance(name, Unknown):
            return name
        if name not in by_name:
            return Unknown(f"security group {name} is not declared here")
        found.append(by_name[name])
    return found


def db_ingress_from_app(ctx: CheckContext) -> list[Outcome]:
    groups = ctx.inventory.of_kind("SecurityGroup")
    app = ctx.params.get("app_security_group")
    out = []
    for db in ctx.inventory.of_kind("DBInstance"):
        sgs, port = db_security_groups(db, groups), db_port(db)
        if isinstance(sgs, Unknown) or isinstance(port, Unknown):
            out.append(Outcome(db, "unknown", path=("vpc_security_group_ids",),
                               reason=(sgs if isinstance(sgs, Unknown) else port).reason))
            continue
        if not sgs:
            out.append(Outcome(db, "fail", path=("vpc_security_group_ids",),
                               vars={"port": port, "groups": "none"}))
            continue
        verdict: bool | Unknown = False
        for sg in sgs:
            for rule in sg.body.get("ingress") or []:
                hit = covers(rule, port)
                sources = [s for s in rule.get("security_groups") or [] if s != sg.name]
                if app:
                    sources = [s for s in sources if s == app]
                if hit is True and sources:
                    verdict = True
                elif isinstance(hit, Unknown) and sources and verdict is False:
                    verdict = hit
        if isinstance(verdict, Unknown):
            out.append(Outcome(db, "unknown", reason=verdict.reason))
        else:
            out.append(Outcome(db, "pass" if verdict else "fail",
                               path=("vpc_security_group_ids",),
                               vars={"port": port, "groups": ", ".join(s.name for s in sgs)}))
    return out


def db_not_public(ctx: CheckContext) -> list[Outcome]:
    groups = ctx.inventory.of_kind("SecurityGroup")
    out = []
    for db in ctx.inventory.of_kind("DBInstance"):
        sgs, port = db_security_groups(db, groups), db_port(db)
        if isinstance(sgs, Unknown) or isinstance(port, Unknown):
            out.append(Outcome(db, "unknown",
                               reason=(sgs if isinstance(sgs, Unknown) else port).reason))
            continue
        open_rules = _open_rules(sgs, [port], db_name=db.name)
        out.extend(open_rules or [Outcome(db, "pass")])
    return out


def sg_no_world_admin(ctx: CheckContext) -> list[Outcome]:
    ports = [int(p) for p in ctx.params.get("ports", [])]
    ports += [db_port(db) for db in ctx.inventory.of_kind("DBInstance")
              if isinstance(db_port(db), int)]  # type: ignore[misc]
    groups = ctx.inventory.of_kind("SecurityGroup")
    out = _open_rules(groups, sorted(set(ports)))
    failing = {o.resource.name for o in out}
    out += [Outcome(g, "pass") for g in groups if g.name not in failing]
    return out


def _open_rules(groups: list[Resource], ports: list[int], db_name: str | None = None
                ) -> list[Outcome]:
    """A fail (or unknown) outcome per rule that opens one of ``ports`` to the world."""
    out = []
    for sg in groups:
        for i, rule in enumerate(sg.body.get("ingress") or []):
            world = world_sources(rule)
            if isinstance(world, Unknown):
                out.append(Outcome(sg, "unknown", item=f"ingress[{i}]", path=("ingress", i),
                                   reason=world.reason, vars={"db": db_name}))
                continue
            if not world:
                continue
            for port in ports:
                hit = covers(rule, port)
                if hit is True:
                    out.append(Outcome(sg, "fail", item=f"ingress[{i}]", path=("ingress", i),
                                       vars={"port": port, "cidr": ", ".join(world),
                                             "db": db_name}))
                    break
                if isinstance(hit, Unknown):
                    out.append(Outcome(sg, "unknown", item=f"ingress[{i}]",
                                       path=("ingress", i), reason=hit.reason,
                                       vars={"db": db_name}))
                    break
    return out
