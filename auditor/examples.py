"""Runs a policy's own pass/fail/unknown examples through the real engine.

Used by ``auditor policies validate`` and by the test suite for every policy, so an
example that no longer behaves as declared is caught before a user sees it. In example
bodies, ``{"$unknown": "reason"}`` stands for a value that cannot be known offline (with
``"$ref": "aws_s3_bucket.logs.id"``, a reference to a declared resource's attribute).
"""

from __future__ import annotations

from typing import Any

from auditor import engine, paths
from auditor.models import Inventory, Resource, Result
from auditor.pipeline import PLACEHOLDERS
from auditor.policies import Example, Policy
from auditor.sources.manifests import to_resource
from auditor.unknown import Unknown


def inventory(example: Example) -> Inventory:
    inv = Inventory(example.environment, example.side, _resources(example.resources), [],
                    dict(PLACEHOLDERS))
    if example.side == "drift":  # `resources` is the live side, `declared` the baseline
        inv.baseline = Inventory(example.environment, "declared",
                                 _resources(example.declared), [], dict(PLACEHOLDERS))
    return inv


def _resources(raws: list[dict[str, Any]]) -> list[Resource]:
    resources = []
    for raw in raws:
        raw = _unknowns(raw)
        # A Kubernetes object, even without its apiVersion; else {kind, name, body}.
        if "apiVersion" in raw or "metadata" in raw:
            resources.append(to_resource(raw, "example", "default", {}))
        else:
            resources.append(Resource(kind=str(raw.get("kind")), name=str(raw.get("name")),
                                      body=raw.get("body") or {}, namespace=raw.get("namespace"),
                                      source="example"))
    return resources


def run_examples(policy: Policy) -> list[str]:
    """Problems with the policy's examples (empty when all behave as declared)."""
    problems = []
    groups = (("pass", policy.examples.passing), ("fail", policy.examples.failing),
              ("unknown", policy.examples.unknown), ("error", policy.examples.error),
              ("not apply", policy.examples.not_applicable))
    for expected, examples in groups:
        for example in examples:
            if example.side not in policy.sides:
                problems.append(f"{policy.file}: example {example.name!r}: side "
                                f"{example.side} is not one of the policy's sides")
                continue
            results = engine.evaluate([policy], inventory(example), example.params)
            statuses = {r.status for r in results}
            broken = [t for r in results for t in (r.message, r.remediation_text, *r.commands,
                                                          *r.checks)
                      if "(template error:" in t]
            if broken:
                problems.append(f"{policy.file}: example {example.name!r}: {broken[0]}")
            # The expected status must appear, and nothing but it and passes; a check that
            # must not apply gives no result at all.
            if (statuses if expected == "not apply" else
                    expected not in statuses or not statuses <= {expected, "pass"}):
                problems.append(f"{policy.file}: example {example.name!r} should {expected} "
                                f"but gave [{_detail(results)}]")
            elif (example.message, example.path, example.item, example.details) != (
                    None, None, None, None):
                problems.extend(_expected(policy, example, expected, results))
    return problems


def _detail(results: list[Result]) -> str:
    return "; ".join(f"{r.status}: {r.message}" for r in results) or "no result"


def _expected(policy: Policy, example: Example, expected: str,
              results: list[Result]) -> list[str]:
    """One result with the expected status must carry the example's message, path, item
    and details."""
    where = f"{policy.file}: example {example.name!r}"
    if expected in ("pass", "not apply"):
        return [f"{where}: message/path/item/details: only a fail, unknown or error example "
                "has them"]
    wanted = [r for r in results if r.status == expected
              and (example.message is None or example.message in r.message)]
    if example.message is not None and not wanted:
        return [f"{where}: no {expected} message contains {example.message!r}: "
                f"[{_detail(results)}]"]
    if example.path is not None:
        found = ", ".join(sorted({repr(paths.format(r.path)) for r in wanted}))
        wanted = [r for r in wanted if paths.format(r.path) == example.path]
        if not wanted:
            return [f"{where}: no {expected} result points at {example.path!r} (it points "
                    f"at {found})"]
    if example.item is not None:
        found = ", ".join(sorted({repr(r.item) for r in wanted}))
        wanted = [r for r in wanted if r.item == example.item]
        if not wanted:
            return [f"{where}: no {expected} result is about item {example.item!r} (it is "
                    f"about {found})"]
    details = example.details or {}
    if any(all(k in r.details and r.details[k] == v for k, v in details.items())
           for r in wanted):
        return []
    return [f"{where}: no {expected} result has the details {details!r} (it has "
            f"{'; '.join(repr(r.details) for r in wanted)})"]


def _unknowns(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) in ({"$unknown"}, {"$unknown", "$ref"}):
            ref = value.get("$ref")
            return Unknown(str(value["$unknown"]), ref=None if ref is None else str(ref))
        return {k: _unknowns(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unknowns(v) for v in value]
    return value
