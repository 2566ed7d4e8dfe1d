"""Traffic checks: the load balancer reaches the pods and asks them the right question.

The Service and the ALB target group must reach a port the pods listen on, and the target
group's health check must ask the path the readiness probe asks: a target group declared in
Terraform or read from AWS, or one the AWS Load Balancer Controller makes for a backend of
an ALB Ingress, from the annotations of the backend's Service (which win) or the Ingress.
"""

from __future__ import annotations

from typing import Any

from auditor import k8s
from auditor.checks.alb_health import ingress_health_checks
from auditor.checks.base import CheckContext, Outcome, flag
from auditor.drift.pairing import kubernetes
from auditor.models import Inventory, Resource
from auditor.paths import Path, get
from auditor.quantities import resolve_port
from auditor.unknown import Unknown


def port_consistency(ctx: CheckContext) -> list[Outcome]:
    inv = ctx.inventory
    workloads = inv.of_kind(*k8s.WORKLOAD_KINDS)
    out = []
    for svc in inv.of_kind("Service"):
        selected = [w for w in workloads if w.namespace == svc.namespace
                    and k8s.selects(get(svc.body, ("spec", "selector")), k8s.pod_labels(w))]
        if not selected:
            continue  # a selector-less or external Service: nothing here to compare
        named = _ports_of(selected)
        ports = get(svc.body, ("spec", "ports"))
        for i, port in enumerate(ports if isinstance(ports, list) else []):
            if not isinstance(port, dict):
                continue
            target = port.get("targetPort", port.get("port"))
            name = port.get("name")
            label = name if isinstance(name, str) and name else str(i)
            where = ("spec", "ports", i, "targetPort")
            if isinstance(target, Unknown):
                out.append(Outcome(svc, "unknown", item=label, path=where, reason=target))
                continue
            number = resolve_port(target, named)
            if not named and number is not None:
                out.append(Outcome(svc, "unknown", item=label, path=where, reason=(
                    f"targetPort {target}: the containers of "
                    f"{', '.join(w.name for w in selected)} declare no ports to compare")))
                continue
            ok = number is not None and number in named.values()
            out.append(Outcome(svc, "pass" if ok else "fail", item=label, path=where,
                               vars={"problem": f"Service {svc.name} targets port {target}, "
                                                "which no container of "
                                                f"{', '.join(w.name for w in selected)} declares "
                                                f"(container ports: {_listing(named)})"}))
    serving = _serving(inv, ctx.params)
    # An environment with no Kubernetes side has no pods behind its target groups here:
    # nothing to compare (its EC2 or Lambda targets are not this policy's).
    for tg in inv.of_kind("TargetGroup") if _kubernetes_side(inv) else []:
        outcome = _target_group_port(tg, serving)
        if outcome is not None:
            out.append(outcome)
    return out


def _target_group_port(tg: Resource, serving: list[Resource]) -> Outcome | None:
    port, target_type = tg.body.get("port"), tg.body.get("target_type", "instance")
    for value in (port, target_type):
        if isinstance(value, Unknown):
            return Outcome(tg, "unknown", path=("port",), reason=value)
    if target_type == "lambda" or target_type == "alb":
        return None  # no pod port behind it: nothing to compare
    if target_type != "ip":
        # Its targets are nodes (or other EC2 instances): the port is a Service's node
        # port only when the load balancer controller made it so, which is known live.
        return Outcome(tg, "unknown", path=("port",), reason=f"target_type {target_type}: the "
                       "targets are EC2 instances, so the port is a node port or another "
                       "program's, only known live")
    if not serving:
        return Outcome(tg, "unknown", path=("port",), reason="no workload declared to compare")
    named = _ports_of(serving)
    if not named:
        return Outcome(tg, "unknown", path=("port",), reason="the serving containers declare "
                       "no ports to compare")
    if resolve_port(port, {}) not in named.values():
        return Outcome(tg, "fail", path=("port",), vars={
            "problem": f"target group {tg.name} sends traffic to port {port}, but the pods "
                       f"listen on {_listing(named)}"})
    # The health check asks its own port when one is given (else "traffic-port").
    hc = tg.body.get("health_check")
    hc = hc[0] if isinstance(hc, list) and hc else hc
    checked = hc.get("port") if isinstance(hc, dict) else None
    where: Path = ("health_check", "port")
    if isinstance(checked, Unknown):
        return Outcome(tg, "unknown", path=where, reason=checked)
    if checked not in (None, "", "traffic-port") and resolve_port(checked, {}) not in (
            named.values()):
        return Outcome(tg, "fail", path=where, vars={
            "problem": f"target group {tg.name} health-checks port {checked}, but the pods "
                       f"listen on {_listing(named)}"})
    return Outcome(tg, "pass", path=("port",))


def health_check_path(ctx: CheckContext) -> list[Outcome]:
    serving = _serving(ctx.inventory, ctx.params)
    declared = ctx.params.get("ready_path")  # the service's own, where it states one
    paths = [declared] if isinstance(declared, str) and declared else sorted(
        {p for w in serving if (p := readiness_path(w, ctx.params)) is not None})
    expected_from = ("the service's ready path" if declared else
                     "the readiness probe's path")
    pods_here = _kubernetes_side(ctx.inventory)
    out = []
    for tg in ctx.inventory.of_kind("TargetGroup"):
        hc = tg.body.get("health_check")
        location: Path = ("health_check", 0, "path") if isinstance(hc, list) else (
            "health_check", "path")
        if isinstance(hc, Unknown):
            out.append(Outcome(tg, "unknown", path=("health_check",), reason=hc))
            continue
        if not _http_health_check(tg, hc[0] if isinstance(hc, list) and hc else hc):
            continue  # TCP checks, disabled checks and Lambda targets have no path to compare
        path = hc[0].get("path", "/") if isinstance(hc, list) and hc else (
            hc.get("path", "/") if isinstance(hc, dict) else "/")
        path = "/" if path is None else path  # the AWS default for HTTP health checks
        if isinstance(path, Unknown):
            out.append(Outcome(tg, "unknown", path=location, reason=path))
        elif not paths and not pods_here:
            continue  # no pods here, no ready path given: nothing to compare
        elif not paths:
            out.append(Outcome(tg, "unknown", path=location,
                               reason="no readiness probe with an HTTP path to compare"))
        else:
            out.append(Outcome(tg, "pass" if path in paths else "fail", path=location,
                               vars={"health_path": path, "ready_path": ", ".join(paths),
                                     "expected_from": expected_from}))
    own = declared if isinstance(declared, str) and declared else None
    return out + ingress_health_checks(ctx, own)


def _kubernetes_side(inv: Inventory) -> bool:
    return any(kubernetes(r) for r in inv.resources)


def _http_health_check(tg: Resource, hc: Any) -> bool:
    if tg.body.get("target_type") == "lambda":
        return False
    hc = hc if isinstance(hc, dict) else {}
    if flag(hc.get("enabled")) is False:  # a variable may render the flag as a string
        return False
    # The health check protocol defaults to the target group's (HTTP for an ALB's).
    protocol = hc.get("protocol") or tg.body.get("protocol") or "HTTP"
    return not isinstance(protocol, str) or protocol.upper() in ("HTTP", "HTTPS")


def readiness_path(workload: Resource, params: dict[str, Any]) -> str | None:
    found = k8s.serving_container(workload, params.get("serving_container"))
    if found is None:
        return None
    probe = get(found[1], ("readinessProbe", "httpGet"))
    if not isinstance(probe, dict):
        return None
    path = probe.get("path")
    return "/" if path is None or path == "" else path if isinstance(path, str) else None


def _serving(inv: Inventory, params: dict[str, Any]) -> list[Resource]:
    """The workloads behind the load balancer: the named one, else every Deployment."""
    deployments = inv.of_kind("Deployment")
    wanted = params.get("deployment")
    return [d for d in deployments if d.name == wanted] if wanted else deployments


def _ports_of(workloads: list[Resource]) -> dict[str, int]:
    named: dict[str, int] = {}
    for w in workloads:
        for path, c in k8s.containers(w):
            # An init container has exited before traffic comes, unless it is a native
            # sidecar (restartPolicy: Always), which keeps running beside the others.
            if "initContainers" in path and c.get("restartPolicy") != "Always":
                continue
            named.update(k8s.container_ports(c))
    return named


def _listing(named: dict[str, int]) -> str:
    pairs = sorted({f"{k}={v}" if not k.isdigit() else k for k, v in named.items()})
    return ", ".join(pairs) or "none"
