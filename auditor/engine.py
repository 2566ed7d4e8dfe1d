"""Evaluates policies against one side of one environment. Pure: no I/O.

For each policy that applies to the inventory's side, either run its condition on every
matching resource (or item, e.g. container) or call its named check, then render the
message and remediation with the real names. A condition that hits an unresolved value
gives ``unknown`` with the reason; a check that crashes gives ``error``, never a pass.
Templates are bounded (:mod:`auditor.templates`): one that would hang or fill the memory
makes its policy an ``error`` instead.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Any, Literal

from jinja2 import TemplateError
from jinja2.exceptions import SecurityError

from auditor import cel_worker, checks, conditions, k8s, paths
from auditor.checks.base import CheckContext, Outcome
from auditor.models import Inventory, Resource, Result
from auditor.policies import Policy
from auditor.templates import TemplateBoundError, bounded, compiled
from auditor.unknown import Unknown, shown

RENDER_SECONDS = 20.0  # for all of one policy's findings in one inventory


def evaluate(policies: Iterable[Policy], inventory: Inventory,
             overrides: dict[str, Any]) -> list[Result]:
    results: list[Result] = []
    for policy in policies:
        if inventory.side not in policy.sides:
            continue
        if policy.broken:
            results.append(_error(policy, inventory, f"not evaluated: {policy.broken}"))
            continue
        params = _params(policy, overrides, inventory.environment)
        if policy.unmet(params):  # a fact of the service nobody gave: see not_applicable()
            continue
        if "*" in inventory.unavailable:  # nothing was read at all
            results.append(_error(policy, inventory, "the live state could not be read: "
                                  f"{inventory.unavailable['*']}"))
            continue
        missing = [k for k in policy.needs() if k in inventory.unavailable]
        if missing:  # what was not read cannot pass
            # Kinds checked each on its own (the workloads whose references are looked up,
            # certificates from TLS, ACM and cert-manager) are still reported on when one
            # of them could not be read; a kind looked up or summed over is needed whole.
            rest = set(missing) <= policy.independent_kinds()
            reasons = "; ".join(f"{k} could not be read: {inventory.unavailable[k]}"
                                for k in missing)
            results.append(_error(policy, inventory, reasons + (
                " (the other kinds were checked)" if rest else "")))
            if not rest:
                continue
        try:
            outcomes = _outcomes(policy, inventory, params)
        except Exception as exc:  # a broken check must not hide the other policies
            results.append(_error(policy, inventory, f"check failed: {exc!r}"))
            continue
        started = time.monotonic()
        for outcome in outcomes:
            if time.monotonic() - started > RENDER_SECONDS:  # each render is bounded; all too
                results.append(_error(policy, inventory, "its findings took more than "
                                      f"{RENDER_SECONDS:g} s to report: stopped"))
                break
            try:
                results.append(_result(policy, inventory, params, outcome))
            except TemplateBoundError as exc:
                results.append(_error(policy, inventory, f"template stopped at a bound: {exc}",
                                      outcome.resource))
                break  # its other findings would spend the same budget on the same template
            except Exception as exc:  # e.g. a template tripping over an odd value
                results.append(_error(policy, inventory, f"cannot report: {exc!r}",
                                      outcome.resource))
    return results


def not_applicable(policies: Iterable[Policy], environment: str,
                   overrides: dict[str, Any]) -> list[tuple[str, str]]:
    """(policy id, reason) for the policies that do not apply to this environment because a
    fact of the service they need was not given."""
    out = []
    for policy in policies:
        reason = policy.unmet(_params(policy, overrides, environment))
        if reason:
            out.append((policy.id, reason))
    return out


def _params(policy: Policy, overrides: dict[str, Any], environment: str) -> dict[str, Any]:
    # The reserved parameters reach every policy: `now` when the run has one (--now, or
    # the time a live snapshot was recorded); else checks read the clock.
    reserved = {"environment": environment, "now": overrides.get("now")}
    return {**policy.params(overrides), **{k: v for k, v in reserved.items()
                                           if v is not None}}


def _outcomes(policy: Policy, inventory: Inventory, params: dict[str, Any]) -> list[Outcome]:
    if policy.check is not None:
        return checks.find(policy.check)(CheckContext(inventory, params))
    assert policy.applies_to is not None and policy.condition is not None
    out = []
    locate = paths.parse(policy.locate.format(**params)) if policy.locate else ()
    where = policy.applies_to.where
    found = [(resource, path, item, label)
             for resource in inventory.of_kind(*policy.applies_to.kinds)
             for path, item, label in _items(resource, policy.applies_to.each, params)]
    answers = _cel_answers(policy, inventory, params, found)
    for n, (resource, path, item, label) in enumerate(found):
        mine = answers[n] if answers else None
        try:
            applies = (True if where is None else
                       conditions.evaluate(where, item, params, mine))
            if applies is False:
                continue  # not applicable: neither a pass nor a fail
            verdict = (applies if isinstance(applies, Unknown) else
                       conditions.evaluate(policy.condition, item, params, mine))
        except conditions.CelError as exc:
            out.append(Outcome(resource, "error", label, (*path, *locate), str(exc)))
            continue
        except Exception as exc:  # one odd value costs this item, not the policy
            out.append(Outcome(resource, "error", label, (*path, *locate),
                               f"cannot evaluate: {exc!r}"))
            continue
        if isinstance(verdict, Unknown):
            out.append(Outcome(resource, "unknown", label, (*path, *locate), verdict,
                               vars={"item": item}))  # its remediation names the item too
        else:
            status: Literal["pass", "fail"] = "fail" if verdict else "pass"
            out.append(Outcome(resource, status, label, (*path, *locate),
                               vars={"item": item}))
    return out


def _cel_answers(policy: Policy, inventory: Inventory, params: dict[str, Any],
                 found: list[tuple[Resource, paths.Path, Any, str | None]]
                 ) -> list[dict[str, Any]]:
    """Every ``cel:`` expression of the policy on every item, in one batch (one round trip
    to the CEL worker, the related objects sent once per namespace)."""
    assert policy.applies_to is not None
    exprs = list(dict.fromkeys([*conditions.cel_expressions(policy.applies_to.where),
                                *conditions.cel_expressions(policy.condition)]))
    if not exprs or not found:
        return []
    related = {kind: inventory.of_kind(kind) for kind in policy.applies_to.related}
    groups: dict[str | None, int] = {}
    batch = cel_worker.Batch(exprs, params)
    for resource, _, item, _ in found:
        ns = resource.namespace
        if ns not in groups:
            groups[ns] = len(batch.related)
            batch.related.append({kind: [r.body for r in objects if r.namespace in (ns, None)]
                                  for kind, objects in related.items()})
        batch.items.append((resource.body, None if item is resource.body else item,
                            groups[ns]))
    return cel_worker.evaluate(batch)


def _items(resource: Resource, each: str | None, params: dict[str, Any]
           ) -> list[tuple[paths.Path, Any, str | None]]:
    """(path, item, label) for what a policy looks at in one resource."""
    if each is None:
        return [((), resource.body, None)]
    if each == "containers":
        return [(p, c, shown(c.get("name"))) for p, c in k8s.containers(resource)]
    if each == "serving_container":
        found = k8s.serving_container(resource, params.get("serving_container"))
        return [(found[0], found[1], shown(found[1].get("name")))] if found else []
    base = paths.parse(each.removesuffix("[*]"))
    items = paths.get(resource.body, base)
    if not isinstance(items, list):
        return []
    return [((*base, i), it, str(i)) for i, it in enumerate(items)]


def _result(policy: Policy, inventory: Inventory, params: dict[str, Any],
            outcome: Outcome) -> Result:
    r = outcome.resource
    names = {**inventory.names, **_own_names(r), "name": r.name, "kind": r.kind,
             "namespace": r.namespace or inventory.names.get("namespace", "<namespace>")}
    ctx = {**names, **outcome.vars, "names": names, "params": params, "resource": r.body,
           "container": outcome.item, "environment": inventory.environment,
           "init_container": "initContainers" in outcome.path,
           # The chart's values key behind the finding's field (or another field of the
           # resource): a `helm --set` names only keys the chart's values really have.
           "values_key": values_key(r, outcome.path),
           "values_key_for": lambda text: values_key(r, paths.parse(str(text))),
           "values_has": lambda text: _values_have(inventory, r, str(text))}
    passed = outcome.status == "pass"
    if outcome.status in ("unknown", "error"):
        message = f"cannot be evaluated: {outcome.reason}"
    else:
        message = (_render(policy.message, ctx, "message") if outcome.status == "fail"
                   else policy.title)
    return Result(
        policy_id=policy.id, status=outcome.status, environment=inventory.environment,
        side=inventory.side, kind=r.kind, name=r.name, namespace=r.namespace, source=r.source,
        item=outcome.item, message=message, address=r.address,
        location=outcome.location or r.locate(outcome.path), path=outcome.path,
        # Passes are only counted: rendering their remediation would be wasted work.
        remediation_text="" if passed else _render(policy.remediation.text, ctx,
                                                   "remediation.text"),
        fix_value=None if outcome.status != "fail" else outcome.value
        if outcome.value is not None or policy.remediation.value is None
        else _value(_render(policy.remediation.value, ctx, "remediation.value")),
        commands=[] if passed else _commands(policy.remediation.commands, ctx, "commands"),
        checks=[] if passed else _commands(policy.remediation.checks, ctx, "checks"),
        details={k: v for k, v in outcome.vars.items()
                 if k not in ("item", "changed") and _plain(v)},
        provenance=outcome.provenance,
    )


# The finding's own resource names itself in commands; the environment-wide names (the
# first database, the release, ...) only fill what the resource does not say.
_NAME_OF_KIND = {"DBInstance": "db_identifier", "DBClusterInstance": "db_identifier",
                 "DBCluster": "db_cluster",
                 "DBParameterGroup": "parameter_group", "Nodegroup": "nodegroup",
                 "TargetGroup": "target_group", "LoadBalancer": "load_balancer",
                 "SecurityGroup": "security_group", "Deployment": "deployment",
                 "StatefulSet": "statefulset", "HorizontalPodAutoscaler": "hpa"}
_NAME_ATTRS = {"parameter_group_name": "parameter_group", "cluster_name": "cluster",
               "db_cluster_parameter_group_name": "parameter_group"}


_SET_KEY = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")


def values_key(r: Resource, path: paths.Path) -> str | None:
    """The values key (as ``helm --set`` names it) that sets the field at ``path``: the key
    of its nearest rendered ancestor that came from the values, with the rest of the path
    after it (``resources`` rendered with toYaml -> ``resources.limits.memory``). None when
    the chart's template writes it, or a list lies on the way (``--set a[0].b`` replaces the
    whole list)."""
    for end in range(len(path), 0, -1):
        loc = r.field_locations.get(path[:end])
        if loc is None:
            continue
        rest = path[end:]
        if loc.key is None or not all(isinstance(k, str) for k in rest):
            return None
        key = ".".join([loc.key, *(str(k) for k in rest)])
        return key if _SET_KEY.fullmatch(key) else None
    return None


def _values_have(inventory: Inventory, r: Resource, key: str) -> bool:
    """Whether the values of ``r``'s Helm release have ``key`` (set to anything)."""
    try:
        path = paths.parse(key)
    except ValueError:
        return False
    return any(v.source == r.source and paths.get(v.body, path) is not paths.MISSING
               for v in inventory.of_kind("HelmValues"))


def _own_names(r: Resource) -> dict[str, str]:
    # A Terraform address stands in for a name it could not resolve: no CLI accepts it, so
    # the command keeps its placeholder rather than a made-up name.
    resolved = r.name != r.address
    own = {_NAME_OF_KIND[r.kind]: r.name} if r.kind in _NAME_OF_KIND and resolved else {}
    for attr, key in _NAME_ATTRS.items():
        value = r.body.get(attr) if isinstance(r.body, dict) else None
        if isinstance(value, str) and value:
            own[key] = value
    return own


def _error(policy: Policy, inventory: Inventory, reason: str,
           resource: Resource | None = None) -> Result:
    if resource is not None:
        return Result(policy_id=policy.id, status="error", environment=inventory.environment,
                      side=inventory.side, kind=resource.kind, name=resource.name,
                      namespace=resource.namespace, source=resource.source, message=reason,
                      location=resource.location)
    return Result(policy_id=policy.id, status="error", environment=inventory.environment,
                  side=inventory.side, kind="Policy", name=policy.id,
                  source=f"policy {policy.id}", message=reason)


def _commands(templates: list[str], ctx: dict[str, Any], field: str) -> list[str]:
    # A command whose template renders nothing does not apply to this finding.
    return [text for i, c in enumerate(templates)
            if (text := _render(c, ctx, f"remediation.{field}[{i}]", collapse=False))]


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def _value(text: str) -> str | int | float | bool | None:
    """A rendered remedy value as the YAML scalar it spells; None for nothing (or for a
    template that failed: no value is better than a wrong one)."""
    if not text or "(template error:" in text:
        return None
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return value if isinstance(value, str | int | float | bool) else None


def _render(template: str, ctx: dict[str, Any], field: str, collapse: bool = True) -> str:
    """``collapse``: a message or text (whitespace folded); else a command (values quoted)."""
    try:
        text = bounded(compiled(template, command=not collapse), ctx).strip()
        return " ".join(text.split()) if collapse else text
    except TemplateBoundError as exc:
        raise TemplateBoundError(f"{field}: {exc}") from None
    except SecurityError as exc:  # the sandbox refused: an error of the policy, not a typo
        raise TemplateBoundError(f"{field}: {exc}") from None
    except (TemplateError, TypeError, ValueError) as exc:  # e.g. an Unknown tested for truth
        return f"{template} (template error: {exc})"
