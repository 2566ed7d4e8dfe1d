"""Application load balancers: a WAF web ACL on those the internet reaches, access logs on
all, whether Terraform or the AWS API declares them (``LoadBalancer``) or the AWS Load
Balancer Controller makes them from Ingress annotations (:mod:`auditor.checks.alb_ingress`).

On the live side an Ingress whose ALB was read from AWS is judged there, on what AWS says.
"""

from __future__ import annotations

from typing import Any

from auditor.checks.alb_ingress import (
    ANNOTATIONS,
    PREFIX,
    AlbIngress,
    alb_ingresses,
    annotation,
    explicit,
    fix_vars,
    group,
    group_name,
    groups,
    live_load_balancer,
    parse_attributes,
)
from auditor.checks.base import CheckContext, Outcome, flag
from auditor.models import Inventory, Location, Resource, Status
from auditor.paths import MISSING, get
from auditor.quantities import semantic_equal
from auditor.shell import Shell
from auditor.unknown import Unknown

WAF = PREFIX + "wafv2-acl-arn"
ATTRIBUTES = PREFIX + "load-balancer-attributes"
CLASSIC = (PREFIX + "waf-acl-id", PREFIX + "web-acl-id")  # WAF Classic (wafregional)


def waf_on_alb(ctx: CheckContext) -> list[Outcome]:
    inv = ctx.inventory
    out = [_load_balancer_waf(lb) for lb in inv.of_kind("LoadBalancer")]
    every = alb_ingresses(inv)
    grouped, default = groups(every), str(ctx.params.get("default_scheme") or "internal")
    out += [_ingress_waf(a, grouped, inv, default) for a in every
            if live_load_balancer(a, inv) is None]
    return out


def alb_access_logs(ctx: CheckContext) -> list[Outcome]:
    inv = ctx.inventory
    out = [_load_balancer_logs(lb) for lb in inv.of_kind("LoadBalancer")]
    every = alb_ingresses(inv)
    grouped = groups(every)
    out += [_ingress_logs(a, grouped, inv) for a in every if live_load_balancer(a, inv) is None]
    return out


def _application(lb: Resource) -> bool | Unknown:
    kind = lb.body.get("load_balancer_type")  # Terraform's default is "application"
    return kind if isinstance(kind, Unknown) else kind in (None, MISSING) or semantic_equal(
        kind, "application")


def _load_balancer_waf(lb: Resource) -> Outcome:
    acl = lb.body.get("web_acl")
    if acl is not None and not isinstance(acl, Unknown):
        return Outcome(lb, "pass")
    # Network and gateway load balancers cannot carry a web ACL; an internal one is reached
    # from inside the VPC only, not by the internet's attackers the runbook blocks.
    application, internal = _application(lb), lb.body.get("internal")
    if application is False or flag(internal) is True:
        return Outcome(lb, "pass")
    doubt = next((v for v in (application, acl, internal) if isinstance(v, Unknown)), None)
    return Outcome(lb, "fail") if doubt is None else Outcome(lb, "unknown", reason=doubt)


def _load_balancer_logs(lb: Resource) -> Outcome:
    where = ("access_logs",)
    application = _application(lb)
    logs = lb.body.get("access_logs")
    enabled = logs if isinstance(logs, Unknown) else get(logs, ("enabled",))
    bucket = logs if isinstance(logs, Unknown) else get(logs, ("bucket",))
    # Enabled defaults to false, even with a bucket.
    off = enabled if isinstance(enabled, Unknown) else not semantic_equal(
        False if enabled in (None, MISSING) else enabled, True)
    missing = (False if _set_after_apply(bucket) else bucket if isinstance(bucket, Unknown)
               else bucket in (None, MISSING))
    broken = True if off is True or missing is True else next(
        (v for v in (off, missing) if isinstance(v, Unknown)), False)
    if application is False or broken is False:
        return Outcome(lb, "pass", path=where)
    doubt = next((v for v in (application, broken) if isinstance(v, Unknown)), None)
    return Outcome(lb, "fail", path=where) if doubt is None else Outcome(
        lb, "unknown", path=where, reason=doubt)


def _set_after_apply(value: Any) -> bool:
    """A reference to a declared resource's id, ARN or bucket name: not known offline,
    but never null (``bucket = aws_s3_bucket.logs.id``). Not one instance of several
    (``logs[0]``): with count unknown it may not exist, and try() makes that null."""
    return (isinstance(value, Unknown) and isinstance(value.ref, str) and "[" not in value.ref
            and value.ref.rpartition(".")[2] in ("id", "arn", "bucket"))


def _ingress_waf(a: AlbIngress, grouped: dict[str, list[AlbIngress]], inv: Inventory,
                 default: str) -> Outcome:
    r, members = a.ingress, group(a, grouped)
    base = _base(a, fix_vars(r, inv, WAF, [Shell("<web-acl-arn>")]))

    def result(status: Status, doubt: str | Unknown = "", **found: Any) -> Outcome:
        return Outcome(r, status, path=(*ANNOTATIONS, WAF), reason=doubt,
                       vars={**base, **found})

    if isinstance(members, Unknown):
        return result("unknown", members)
    schemes = explicit(members, "scheme", "scheme")
    if isinstance(schemes, Unknown):
        return result("unknown", schemes)
    named = {v for _, v, _ in schemes}
    if len(named) > 1:
        return result("unknown", "the Ingresses of its IngressGroup set conflicting schemes "
                      f"({', '.join(sorted(v[:40] for v in named))}): the controller builds "
                      "no ALB")
    scheme = named.pop() if named else default
    if scheme == "internal":
        return result("pass")  # reached from inside the VPC only
    if scheme != "internet-facing":
        return result("unknown", f"scheme {scheme[:40]!r} is neither internal nor "
                      "internet-facing")
    names = explicit(members, "wafv2-acl-name", "wafv2AclName")  # a name wins over an ARN
    if isinstance(names, Unknown):
        return result("unknown", names)
    names = [n for n in names if n[1]]
    arns = names or explicit(members, "wafv2-acl-arn", "wafv2AclArn")
    if isinstance(arns, Unknown):
        return result("unknown", arns)
    acls = {v for _, v, _ in arns}
    if len(acls) > 1:
        return result("unknown", "the Ingresses of its IngressGroup name different web ACLs: "
                      "the controller associates none of them")
    acl = acls.pop() if acls else None
    if acl not in (None, "", "none"):
        return result("pass")
    if acl is not None:
        reason = (f"{PREFIX}wafv2-acl-{'name' if names else 'arn'} is {acl!r}"
                  f"{_who(a, arns)}, which associates no web ACL")
    elif any(_has(m.ingress, key) for m in members for key in CLASSIC):
        reason = (f"only {CLASSIC[0]} is set: a WAF Classic web ACL, which wafv2 commands do "
                  "not reach and AWS no longer supports")
    else:
        others = [m.ingress.name for m in members if m is not a]
        reason = f"no {WAF} on it" + (
            f" or on the other Ingresses of its IngressGroup here ({', '.join(others)})"
            if others else "")
    return result("fail", reason=reason, scheme_from=(
        f"{PREFIX}scheme: internet-facing{_who(a, schemes)}" if schemes else
        "no scheme annotation: the controller's default scheme, as params.default_scheme "
        "says"))


def _ingress_logs(a: AlbIngress, grouped: dict[str, list[AlbIngress]], inv: Inventory
                  ) -> Outcome:
    r, members = a.ingress, group(a, grouped)
    base = _base(a, fix_vars(r, inv, ATTRIBUTES, _logs_value(r, None)))

    def result(status: Status, doubt: str | Unknown = "", where: Location | None = None,
               **found: Any) -> Outcome:
        return Outcome(r, status, path=(*ANNOTATIONS, ATTRIBUTES), reason=doubt,
                       location=where, vars={**base, **found})

    if isinstance(members, Unknown):
        return result("unknown", members)
    merged: dict[str, tuple[str, str]] = {}  # key -> (value, the Ingress that sets it)
    forced = _class_attributes(a)  # its IngressClassParams' attributes win over annotations
    for m in members:
        text = annotation(m.ingress, ATTRIBUTES) if not m.unread else Unknown(m.unread)
        parsed = text if text is None or isinstance(text, Unknown) else parse_attributes(text)
        if isinstance(parsed, Unknown | str):
            return result("unknown", parsed if isinstance(parsed, Unknown) else (
                f"{ATTRIBUTES} of Ingress {m.ingress.name} cannot be read: {parsed} (the "
                "controller refuses it)"))
        for key, setting in (parsed or {}).items():
            if key in merged and merged[key][0] != setting and key not in forced:
                return result("unknown", f"the Ingresses of its IngressGroup set {key[:60]} "
                              "to different values: the controller refuses the group")
            merged[key] = (setting, m.ingress.name)
    final = {**{k: v for k, (v, _) in merged.items()}, **forced}
    enabled, bucket = final.get("access_logs.s3.enabled"), final.get("access_logs.s3.bucket")
    if flag(enabled) is True and bucket:
        return result("pass")
    switch = forced.get("access_logs.s3.enabled")
    if a.params is not None and switch is not None:
        # Its class decides: no annotation can fix it, the IngressClassParams must change.
        setter = (f"IngressClassParams {a.params.name} (its loadBalancerAttributes win over "
                  "annotations)")
        reason = (f"{setter} enables access logs but names no access_logs.s3.bucket"
                  if flag(switch) is True else
                  f"{setter} sets access_logs.s3.enabled={switch[:40]}")
        return result("fail", reason=reason, class_params=a.params.name,
                      where=a.params.locate(("spec", "loadBalancerAttributes")))
    said = merged.get("access_logs.s3.enabled") or merged.get("access_logs.s3.bucket")
    by = f" (on Ingress {said[1]} of its IngressGroup)" if said and said[1] != r.name else ""
    if not final:
        others = [m.ingress.name for m in members if m is not a]
        reason = f"no {ATTRIBUTES}" + (f" on it or on the other Ingresses of its IngressGroup "
                                       f"here ({', '.join(others)})" if others else "")
    elif enabled is None:
        reason = f"{ATTRIBUTES} sets no access_logs.s3.enabled=true{by}"
    elif str(enabled).lower() != "true":
        reason = f"{ATTRIBUTES} sets access_logs.s3.enabled={enabled[:40]}{by}"
    else:
        reason = f"{ATTRIBUTES} enables access logs{by} but names no access_logs.s3.bucket"
    return result("fail", reason=reason, **fix_vars(r, inv, ATTRIBUTES, _logs_value(r, bucket)))


def _logs_value(r: Resource, bucket: str | None) -> list[str | Shell]:
    """The attributes list that turns the logs on: the Ingress's other attributes kept
    (the annotation is one list), the bucket a placeholder until one is named."""
    own = annotation(r, ATTRIBUTES)
    kept = parse_attributes(own) if isinstance(own, str) else {}
    listed = [f"{k}={v}" for k, v in kept.items() if k not in (
        "access_logs.s3.enabled", "access_logs.s3.bucket")] if isinstance(kept, dict) else []
    text = ",".join([*listed, "access_logs.s3.enabled=true", "access_logs.s3.bucket="])
    return [text, bucket if bucket else Shell("<log-bucket>")]


def _base(a: AlbIngress, fix: dict[str, Any]) -> dict[str, Any]:
    """What every outcome of an Ingress carries: its group, and how to set the annotation."""
    name = group_name(a)
    return {"group": name if isinstance(name, str) else None, "reason": "",
            "scheme_from": "", **fix}


def _class_attributes(a: AlbIngress) -> dict[str, str]:
    """The attributes its IngressClassParams sets: they win over every annotation."""
    listed = get(a.params.body, ("spec", "loadBalancerAttributes")) if a.params else None
    return {str(i["key"]): str(i.get("value")) for i in listed[:64]
            if isinstance(i, dict) and "key" in i} if isinstance(listed, list) else {}


def _who(a: AlbIngress, found: list[tuple[AlbIngress, str, str]]) -> str:
    """Where a group's setting came from, when not from ``a``'s own annotation."""
    who = found[0][2] if found else ""
    return "" if who in ("", f"Ingress {a.ingress.name}") else f" (set by {who})"


def _has(r: Resource, key: str) -> bool:
    found = get(r.body, ANNOTATIONS)
    return isinstance(found, dict) and key in found
