"""Database access checks: who may reach the database, what is open to the world, and
whether the database credentials rotate.

Rules are in the normalised Terraform shape (``from_port``, ``to_port``, ``protocol``,
``cidr_blocks``, ``ipv6_cidr_blocks``, ``security_groups``: names of source groups), the
same for declared and live security groups. Any value that is not known offline (a
variable without a value, a ``dynamic`` block) makes the affected outcome ``unknown`` with
the reason, never a pass.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.checks.base import CheckContext, Outcome
from auditor.models import Resource
from auditor.quantities import port_number, semantic_equal
from auditor.unknown import Unknown

DATABASES = ("DBInstance", "DBCluster")  # RDS instances and Aurora clusters alike
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
    low, high = port_number(lo), port_number(hi)  # Terraform accepts "22" for 22
    if low is None or high is None:
        return Unknown(f"port range {lo!r}-{hi!r} is not numeric")
    return low <= port <= high


def rule_key(rule: dict[str, Any]) -> str:
    """A world-open rule's identity by content (``tcp/22-22 from 0.0.0.0/0``): rule order
    means nothing, and neither do its other sources or the spelling of its protocol, so
    none of them may change a finding's fingerprint."""
    protocol = rule.get("protocol")
    protocol = {"6": "tcp", "17": "udp", "all": "-1"}.get(str(protocol).lower(),
                                                          str(protocol).lower())
    ports = "-".join(str(p) if (p := port_number(rule.get(k))) is not None else "?"
                     for k in ("from_port", "to_port"))
    world = world_sources(rule)
    shown = ",".join(sorted(world)) if isinstance(world, list) and world else "?"
    return f"{protocol if protocol != 'none' else '?'}/{ports} from {shown}"


def world_sources(rule: dict[str, Any]) -> list[str] | Unknown:
    """The world-wide CIDRs (0.0.0.0/0, ::/0) among a rule's sources."""
    found = []
    for key in ("cidr_blocks", "ipv6_cidr_blocks"):
        blocks = rule.get(key)
        if isinstance(blocks, Unknown):
            return blocks
        for block in blocks if isinstance(blocks, list) else []:
            if isinstance(block, Unknown):
                return block
            if block in WORLD:
                found.append(block)
    return found


def ingress_rules(sg: Resource) -> list[dict[str, Any]] | Unknown:
    """A group's ingress rules, or Unknown when some are not known offline."""
    rules = sg.body.get("ingress")
    if isinstance(rules, Unknown):
        return rules
    dynamic = sg.body.get("dynamic")
    if isinstance(dynamic, list) and any(isinstance(d, dict) and "ingress" in d
                                         for d in dynamic):
        return Unknown(f"security group {sg.name} builds ingress rules in a dynamic block, "
                       "which is not expanded offline")
    return [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []


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


def db_ingress_from_app(ctx: CheckContext) -> list[Outcome]:
    """Pass when one of the database's groups admits its port from another security group
    (the ``app_security_group`` parameter, when set, must be that group)."""
    groups = ctx.inventory.of_kind("SecurityGroup")
    app = ctx.params.get("app_security_group")
    out = []
    for db in ctx.inventory.of_kind(*DATABASES):
        sgs, port = db_security_groups(db, groups), db_port(db)
        if isinstance(sgs, Unknown) or isinstance(port, Unknown):
            doubt = sgs if isinstance(sgs, Unknown) else port
            out.append(Outcome(db, "unknown", path=("vpc_security_group_ids",),
                               reason=doubt.reason if isinstance(doubt, Unknown) else ""))
            continue
        facts = {"port": port, "groups": ", ".join(s.name for s in sgs)
                 or "none declared, so the VPC default group",
                 "group": sgs[0].name if sgs else None}
        verdict: bool | Unknown = False
        for sg in sgs:
            rules = ingress_rules(sg)
            if isinstance(rules, Unknown):
                verdict = rules if verdict is False else verdict
                continue
            for rule in rules:
                sources = rule.get("security_groups")
                if isinstance(sources, Unknown):
                    verdict = sources if verdict is False else verdict
                    continue
                named = [s for s in sources or [] if isinstance(s, str) and s != sg.name]
                if app:
                    named = [s for s in named if s == app]
                hit = covers(rule, port)
                if hit is True and named:
                    verdict = True
                elif isinstance(hit, Unknown) and named and verdict is False:
                    verdict = hit
        elsewhere = [sg.name for sg in sgs if sg.body.get("declared_elsewhere") is True]
        if verdict is False and elsewhere:
            # Only the rules declared here are visible: the group's own may allow it.
            verdict = Unknown(f"security group {elsewhere[0]} is declared elsewhere; its "
                              "other rules are not visible offline")
        if isinstance(verdict, Unknown):
            out.append(Outcome(db, "unknown", path=("vpc_security_group_ids",),
                               reason=verdict.reason))
        else:
            out.append(Outcome(db, "pass" if verdict else "fail",
                               path=("vpc_security_group_ids",), vars=facts))
    return out


def db_not_public(ctx: CheckContext) -> list[Outcome]:
    """A fail per rule of a database's security groups that opens its port to the world."""
    groups = ctx.inventory.of_kind("SecurityGroup")
    out: list[Outcome] = []
    for db in ctx.inventory.of_kind(*DATABASES):
        sgs, port = db_security_groups(db, groups), db_port(db)
        if isinstance(sgs, Unknown) or isinstance(port, Unknown):
            doubt = sgs if isinstance(sgs, Unknown) else port
            out.append(Outcome(db, "unknown", path=("vpc_security_group_ids",),
                               reason=doubt.reason if isinstance(doubt, Unknown) else ""))
            continue
        found = _open_rules(sgs, [port], db_name=db.name)
        # The database's finding (pass and fail share one identity), pointing at the rule.
        out += [Outcome(db, o.status, item=f"{o.resource.name} {o.item}", reason=o.reason,
                        location=o.resource.locate(o.path),
                        vars={**o.vars, "group": o.resource.name}) for o in found]
        if not found:
            out.append(Outcome(db, "pass"))
    return out


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
    out = _open_rules(groups, sorted(ports))
    decided = {o.resource.name for o in out}
    for sg in groups:
        if sg.name in decided:
            continue
        if sg.name in unknown_port and _any_world_rule(sg):
            out.append(Outcome(sg, "unknown", path=("ingress",), reason=unknown_port[sg.name]))
        else:
            out.append(Outcome(sg, "pass"))
    return out


def _any_world_rule(sg: Resource) -> bool:
    rules = ingress_rules(sg)
    return isinstance(rules, list) and any(
        isinstance(w, list) and bool(w) for w in map(world_sources, rules))


def _open_rules(groups: list[Resource], ports: list[int], db_name: str | None = None
                ) -> list[Outcome]:
    """A fail (or unknown) outcome per rule that opens one of ``ports`` to the world."""
    out = []
    for sg in groups:
        rules = ingress_rules(sg)
        if isinstance(rules, Unknown):
            out.append(Outcome(sg, "unknown", path=("ingress",), reason=rules.reason,
                               vars={"db": db_name}))
            continue
        for i, rule in enumerate(rules):
            hits = [(port, covers(rule, port)) for port in ports]
            port = next((p for p, hit in hits if hit is True), None)
            doubt = next((hit for _, hit in hits if isinstance(hit, Unknown)), None)
            if port is None and doubt is None:
                continue  # none of the ports: whoever the sources are, nothing to report
            world = world_sources(rule)
            if isinstance(world, Unknown):
                out.append(Outcome(sg, "unknown", item=rule_key(rule), path=("ingress", i),
                                   reason=world.reason, vars={"db": db_name}))
            elif not world:
                continue
            elif port is not None:
                out.append(Outcome(sg, "fail", item=rule_key(rule), path=("ingress", i),
                                   vars={"port": port, "cidr": ", ".join(world),
                                         "db": db_name, **_rule_facts(rule, world)}))
            elif doubt is not None:
                out.append(Outcome(sg, "unknown", item=rule_key(rule), path=("ingress", i),
                                   reason=doubt.reason, vars={"db": db_name}))
    return out


def _rule_facts(rule: dict[str, Any], world: list[str]) -> dict[str, Any]:
    """What a revoke command needs to name the rule exactly."""
    protocol = str(rule.get("protocol"))
    facts: dict[str, Any] = {"protocol": protocol, "from_port": rule.get("from_port"),
                             "to_port": rule.get("to_port")}
    ranges = [f"IpRanges=[{{CidrIp={c}}}]" for c in world if ":" not in c]
    ranges += [f"Ipv6Ranges=[{{CidrIpv6={c}}}]" for c in world if ":" in c]
    ports = "" if protocol in ("-1", "all") else (
        f"FromPort={rule.get('from_port')},ToPort={rule.get('to_port')},")
    facts["ip_permissions"] = f"IpProtocol={protocol},{ports}{','.join(ranges)}"
    return facts


def db_secret_rotation(ctx: CheckContext) -> list[Outcome]:
    """Per secret whose name (or name_prefix) matches ``db_secret_pattern``: pass when
    rotation is configured, fail when not. Other secrets are not database credentials and
    get no outcome; a name not known offline leaves an unrotated secret unknown."""
    pattern = re.compile(str(ctx.params["db_secret_pattern"]))
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
                               reason=rotation.reason))
        elif semantic_equal(rotation, True):
            out.append(Outcome(secret, "pass"))
        elif matched:
            out.append(Outcome(secret, "fail", path=("rotation_enabled",)))
        elif doubt is not None:
            out.append(Outcome(secret, "unknown", reason="the secret's name is not known, so "
                               f"whether it holds database credentials is not: {doubt.reason}"))
    return out
