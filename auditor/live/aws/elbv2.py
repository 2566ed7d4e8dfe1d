"""ELBv2 target groups (with target health) and load balancers (with access logs and WAF).

Both take the Terraform shapes of ``aws_lb_target_group`` and ``aws_lb``. A target group
adds its registered targets and their health; a load balancer its attributes (access logs,
deletion protection, invalid-header dropping) and, for an application load balancer, the
WAFv2 web ACL associated with it (absent when there is none; WAF cannot front other
types). A failed call costs only its kind: target groups still count when the WAF or
attribute calls of the load balancers fail, and the other way round. Names are described
NAMES at a time; target health, attributes and WAF take one object per call and are read
Api.PER_OBJECT at a time.
"""

from __future__ import annotations

from typing import Any

from auditor.live.aws.api import Api, read
from auditor.live.aws.targets import Targets
from auditor.live.base import LiveCollected
from auditor.models import Resource

KINDS = ("TargetGroup", "LoadBalancer")
SERVICES = ("elbv2", "wafv2")
# Load balancer attribute -> (body key, sub-key or None); values are strings in the API.
_ATTRIBUTES = {
    "access_logs.s3.enabled": ("access_logs", "enabled"),
    "access_logs.s3.bucket": ("access_logs", "bucket"),
    "access_logs.s3.prefix": ("access_logs", "prefix"),
    "deletion_protection.enabled": ("enable_deletion_protection", None),
    "routing.http.drop_invalid_header_fields.enabled": ("drop_invalid_header_fields", None),
}


def wanted(t: Targets) -> tuple[str, ...]:
    return (("TargetGroup",) if t.target_groups else ()) + (
        ("LoadBalancer",) if t.load_balancers else ())


NAMES = 20  # names per describe (the load balancer call takes at most 20)


def collect(api: Api, t: Targets) -> LiveCollected:
    out = LiveCollected()  # each kind only when asked for: see wanted()
    if t.target_groups:
        read(out, ("TargetGroup",), lambda: _target_groups(api, t.target_groups))
    if t.load_balancers:
        read(out, ("LoadBalancer",), lambda: _load_balancers(api, t.load_balancers))
    return out


def _target_groups(api: Api, names: list[str]) -> list[Resource]:
    groups = api.batched("elbv2", "describe_target_groups", "TargetGroups",
                         "TargetGroupNotFound", "Names", names, NAMES)
    return api.each(lambda tg: _target_group(api, tg), groups)


def _load_balancers(api: Api, names: list[str]) -> list[Resource]:
    found = api.batched("elbv2", "describe_load_balancers", "LoadBalancers",
                        "LoadBalancerNotFound", "Names", names, NAMES)
    return api.each(lambda lb: _load_balancer(api, lb), found)


def _target_group(api: Api, tg: dict[str, Any]) -> Resource:
    health = api.call("elbv2", "describe_target_health", TargetGroupArn=tg["TargetGroupArn"])
    matcher = tg.get("Matcher") or {}
    check = {
        "enabled": tg.get("HealthCheckEnabled"), "path": tg.get("HealthCheckPath"),
        "port": tg.get("HealthCheckPort"), "protocol": tg.get("HealthCheckProtocol"),
        "matcher": matcher.get("HttpCode") or matcher.get("GrpcCode"),
        "interval": tg.get("HealthCheckIntervalSeconds"),
        "timeout": tg.get("HealthCheckTimeoutSeconds"),
        "healthy_threshold": tg.get("HealthyThresholdCount"),
        "unhealthy_threshold": tg.get("UnhealthyThresholdCount"),
    }
    return api.resource("TargetGroup", tg["TargetGroupName"], {
        "name": tg["TargetGroupName"], "port": tg.get("Port"), "protocol": tg.get("Protocol"),
        "target_type": tg.get("TargetType"), "vpc_id": tg.get("VpcId"),
        "health_check": {k: v for k, v in check.items() if v is not None},
        "targets": [{"id": d.get("Target", {}).get("Id"), "port": d.get("Target", {}).get("Port"),
                     "state": d.get("TargetHealth", {}).get("State"),
                     "reason": d.get("TargetHealth", {}).get("Reason")}
                    for d in (health or {}).get("TargetHealthDescriptions") or []],
    })


def _load_balancer(api: Api, lb: dict[str, Any]) -> Resource:
    arn = lb["LoadBalancerArn"]
    body: dict[str, Any] = {"name": lb["LoadBalancerName"], "load_balancer_type": lb.get("Type"),
                            "internal": lb.get("Scheme") == "internal", "arn": arn}
    attributes = api.call("elbv2", "describe_load_balancer_attributes", LoadBalancerArn=arn)
    for attr in (attributes or {}).get("Attributes") or []:
        key, sub = _ATTRIBUTES.get(attr.get("Key"), (None, None))
        if key is None:
            continue
        value = attr.get("Value")
        typed = value == "true" if value in ("true", "false") else value
        if sub is None:
            body[key] = typed
        else:
            body.setdefault(key, {})[sub] = typed
    if lb.get("Type") == "application":
        acl = api.call("wafv2", "get_web_acl_for_resource",
                       missing=("WAFNonexistentItemException",), ResourceArn=arn)
        web_acl = (acl or {}).get("WebACL")
        if web_acl:
            body["web_acl"] = web_acl.get("ARN")
    return api.resource("LoadBalancer", lb["LoadBalancerName"], body)
