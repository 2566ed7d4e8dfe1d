"""The health checks of the target groups the AWS Load Balancer Controller makes for ALB
Ingresses: one per Service backend, asking the path the annotations say (the Service's win
over the Ingress's, else the controller's default "/"), on the backend's port unless
``healthcheck-port`` names another. The path it should ask is the service's ready path,
where the service declares one, else the readiness probe's path of the container behind
that port; where neither says, the outcome is unknown with the reason, never a default.
"""

from __future__ import annotations

from typing import Any

from auditor import k8s
from auditor.checks.alb_ingress import (
    ANNOTATIONS,
    PREFIX,
    alb_ingresses,
    annotation,
    fix_vars,
)
from auditor.checks.base import CheckContext, Outcome
from auditor.models import Resource, Status
from auditor.paths import get
from auditor.quantities import port_number, resolve_port
from auditor.shell import Shell
from auditor.unknown import Unknown

HEALTH_PATH = PREFIX + "healthcheck-path"
MAX_BACKENDS = 200  # backends of one Ingress looked at


def ingress_health_checks(ctx: CheckContext, declared: str | None) -> list[Outcome]:
    """One outcome per Service backend of each ALB Ingress: the path the controller's
    target group asks (the Service's annotation, else the Ingress's, else its default "/")
    against the service's ready path, else the readiness probe of the container behind the
    backend's port."""
    inv = ctx.inventory
    services = {(s.namespace, s.name): s for s in inv.of_kind("Service")}
    out = []
    for a in alb_ingresses(inv):
        found = _backends(a.ingress)
        several = len({name for name, _ in found}) > 1
        for name, port in found:
            outcome = _backend_health(a.ingress, services.get((a.ingress.namespace, name)),
                                      (name, port), ctx, declared, several)
            if outcome is not None:
                out.append(outcome)
    return out


def _backends(ing: Resource) -> list[tuple[str, str | int]]:
    """(service, port) of each Service backend, once each; ``use-annotation`` ports are
    the controller's actions, not a Service's target group."""
    spec = ing.body.get("spec")
    refs = [get(spec, ("defaultBackend", "service")), get(spec, ("backend",))]
    rules = get(spec, ("rules",))
    for rule in rules[:MAX_BACKENDS] if isinstance(rules, list) else []:
        found = get(rule, ("http", "paths"))
        refs += [get(p, ("backend",)) for p in found[:MAX_BACKENDS]] if isinstance(
            found, list) else []
    out: dict[tuple[str, str | int], None] = {}
    for ref in refs:
        if not isinstance(ref, dict):
            continue
        ref = ref.get("service", ref)  # networking/v1 nests it; v1beta1 had serviceName
        name = ref.get("name", ref.get("serviceName")) if isinstance(ref, dict) else None
        port = get(ref, ("port", "name")) or get(ref, ("port", "number")) or (
            ref.get("servicePort") if isinstance(ref, dict) else None)
        if isinstance(name, str) and isinstance(port, str | int) and port != "use-annotation":
            out[(name, port)] = None
    return list(out)[:MAX_BACKENDS]


def _backend_health(ing: Resource, svc: Resource | None, backend: tuple[str, str | int],
                    ctx: CheckContext, declared: str | None, several: bool) -> Outcome | None:
    name, port = backend
    item, here = f"{name}:{port}", (*ANNOTATIONS, HEALTH_PATH)

    def result(status: Status, fix: Resource, expected: list[str], reason: str | Unknown = "",
               **found: Any) -> Outcome:
        """The outcome, with where and how to set the path (the fix), whatever it is."""
        path = expected[0] if len(expected) == 1 else None
        return Outcome(ing, status, item, here, reason=reason, vars={
            "service": name, "port": port, "fix_kind": fix.kind, "fix_name": fix.name,
            "fix_path": path, **found, **fix_vars(fix, ctx.inventory, HEALTH_PATH, [
                path if path else Shell("<ready-path>")])})

    if svc is None:
        return result("unknown", ing, [], f"its backend Service {name} is not declared here: "
                      "its annotations may set the health check, and the pods behind it are "
                      "not known")

    def setting(key: str) -> tuple[str | Unknown | None, Resource | None]:
        for r in (svc, ing):  # the Service's annotation wins for its target group
            value = annotation(r, key)
            if value is not None:
                return value, r
        return None, None

    version, (path, at) = setting("backend-protocol-version")[0], setting("healthcheck-path")
    if isinstance(version, str) and version.upper() == "GRPC":
        return None  # a gRPC health check names a method, not an HTTP path to compare
    fix = svc if at is svc or several else ing  # a Service's path is its backend's alone
    given = [declared] if declared is not None else []
    for value in (version, path):
        if isinstance(value, Unknown):
            return result("unknown", fix, given, value)
    workloads = [w for w in ctx.inventory.of_kind(*k8s.WORKLOAD_KINDS)
                 if w.namespace == svc.namespace and k8s.pod_labels(w)
                 and k8s.selects(get(svc.body, ("spec", "selector")), k8s.pod_labels(w))]
    wanted = ctx.params.get("deployment")
    if wanted:
        if not any(w.name == wanted for w in workloads):
            return None  # another workload's target group
        workloads = [w for w in workloads if w.name == wanted]
    target = _checked_port(svc, port, setting("healthcheck-port")[0])
    if declared is not None:
        expected, expected_from = given, "the service's ready path"
    elif isinstance(target, Unknown):
        return result("unknown", fix, [], target)
    else:
        expected = sorted({p for w in workloads
                           if (p := _behind_port(w, target, ctx.params)) is not None})
        expected_from = "the readiness probe's path"
        if not expected:
            return result("unknown", fix, [], f"Service {name} selects no workload declared "
                          "here" if not workloads else "no readiness probe with an HTTP path "
                          "to compare")
    health = "/" if path is None else str(path)
    outcome = result("pass" if health in expected else "fail", fix, expected,
                     health_path=health, ready_path=", ".join(expected),
                     expected_from=expected_from, health_from=(
                         f"{HEALTH_PATH} on Service {name}, which wins over the Ingress's"
                         if at is svc else f"{HEALTH_PATH} on the Ingress" if at is ing else
                         f"no {HEALTH_PATH} on the Ingress or Service {name}: the "
                         "controller's default"))
    outcome.location = (at or ing).locate(here)
    return outcome


def _checked_port(svc: Resource, port: str | int, checked: str | Unknown | None
                  ) -> str | int | Unknown:
    """The pod port the health check asks: the backend's target port ("traffic-port", the
    default), a number, or the target port of the Service port it names."""
    if isinstance(checked, Unknown):
        return checked
    if checked not in (None, "traffic-port") and port_number(checked) is not None:
        return int(str(checked))
    wanted = port if checked in (None, "traffic-port") else checked
    ports = get(svc.body, ("spec", "ports"))
    for entry in ports if isinstance(ports, list) else []:
        if isinstance(entry, dict) and (entry.get("name") == wanted or (
                port_number(wanted) is not None and entry.get("port") == port_number(wanted))):
            target = entry.get("targetPort", entry.get("port"))
            return target if isinstance(target, str | int) else Unknown(
                f"Service {svc.name} port {wanted} has no target port")
    return Unknown(f"Service {svc.name} has no port {wanted}")


def _behind_port(workload: Resource, port: str | int, params: dict[str, Any]) -> str | None:
    """The readiness path of the container that declares ``port`` (else the serving
    container: a port need not be declared to be served)."""
    chosen = None
    for path, c in k8s.containers(workload):
        if "initContainers" in path and c.get("restartPolicy") != "Always":
            continue
        named = k8s.container_ports(c)
        if resolve_port(port, named) in named.values():
            chosen = c
            break
    if chosen is None:
        found = k8s.serving_container(workload, params.get("serving_container"))
        chosen = found[1] if found else None
    probe = get(chosen, ("readinessProbe", "httpGet"))
    asked = probe.get("path") if isinstance(probe, dict) else None
    return "/" if asked in (None, "") and isinstance(probe, dict) else (
        asked if isinstance(asked, str) else None)
