"""The JSON Schema of a policy file (``make schema`` writes schemas/policy.schema.json).

Built from the pydantic model of :mod:`auditor.policies`, with what the loader checks by
hand spelt out: the condition language of :mod:`auditor.conditions` (a recursive
``$defs/Condition``), kinds (:mod:`auditor.kinds`), ``applies_to.each``, named checks and
facts. An editor that reads the file's ``# yaml-language-server: $schema=...`` line then
flags what ``auditor policies validate`` would, as it is typed; the loader still checks
what a schema cannot (path syntax, regexes, declared parameters, templates, the file name).

``auditor policies validate`` validates each file with it (:func:`check_dir`) and reports
every error as ``FILE:LINE: PATH: message``.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any

from auditor import paths

if TYPE_CHECKING:
    from auditor.policies import Policy

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:runbook-auditor:policy:1"  # as the report's: urn:runbook-auditor:report:1
_NULL = {"type": "null"}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


def _condition_defs() -> dict[str, dict[str, Any]]:
    """The condition language (see :mod:`auditor.conditions`) as schemas."""
    from auditor.conditions import COMPARATORS, OPERATORS

    def pair(second: dict[str, Any], what: str) -> dict[str, Any]:
        return {"type": "array", "minItems": 2, "maxItems": 2, "description": what,
                "prefixItems": [_ref("Subject"), second]}

    def param_or(other: dict[str, Any]) -> dict[str, Any]:
        return {"if": {"type": "object"}, "then": _ref("ParamRef"), "else": other}

    operators: dict[str, dict[str, Any]] = {
        "missing": {**_ref("Path"), "description": "Fails when PATH is absent or null."},
        "exists": {**_ref("Path"), "description": "Fails when PATH has a value."},
        "compare": {
            "type": "array", "minItems": 3, "maxItems": 3,
            "description": "[SUBJECT, OP, OPERAND]: fails when the comparison holds "
                           "(quantities such as 512Mi or 30s compare by value).",
            "prefixItems": [_ref("Subject"), {"type": "string", "enum": list(COMPARATORS)},
                            _ref("Operand")]},
        "one_of": pair(param_or({"type": "array", "items": _ref("Operand")}),
                       "[SUBJECT, [OPERAND, ...] | {param: NAME}]: fails when the subject "
                       "equals one of the values."),
        "matches": pair(param_or({"type": "string", "description": "An RE2 regex."}),
                        "[SUBJECT, REGEX | {param: NAME}]: fails when the RE2 regex "
                        "matches (searches) the subject's string value."),
        "cel": {"type": "string",
                "description": "A CEL expression (as in a Kubernetes "
                               "ValidatingAdmissionPolicy) over object, item, params and "
                               "related: fails when it is true."},
        "any": {"type": "array", "minItems": 1, "items": _ref("Condition"),
                "description": "Fails when any of the conditions fails."},
        "all": {"type": "array", "minItems": 1, "items": _ref("Condition"),
                "description": "Fails when all of the conditions fail."},
        "not": {**_ref("Condition"), "description": "Fails when the condition passes."},
    }
    if unknown := sorted(set(OPERATORS) - set(operators)):  # the language grew
        raise RuntimeError(f"operators {unknown} are not in the policy schema: describe "
                           "them in auditor/policy_schema.py")
    operators = {op: operators[op] for op in OPERATORS}
    return {
        "Condition": {
            "title": "Condition",
            "description": "When the check fails: a mapping with exactly one operator ("
                           f"{', '.join(OPERATORS)}). Unknown values make it unknown, "
                           "never a pass.",
            "type": "object", "minProperties": 1, "maxProperties": 1,
            "additionalProperties": False, "properties": operators},
        "Path": {
            "type": "string",
            "description": "A path into the item: spec.replicas, containers[0].image, "
                           'metadata.labels["app.kubernetes.io/name"]; {NAME} inserts a '
                           "parameter's value."},
        "Subject": {
            "description": "What is checked (the first element): a path string, or "
                           "{path: P}, {path: P, default: V}, {param: NAME} or {value: V}.",
            "if": {"type": "object"}, "then": _ref("Reference"),
            "else": {"type": "string",
                     "description": "The first element is what is checked: a path string, "
                                    "or {path: P}, {param: NAME} or {value: V}."}},
        "Operand": {
            "description": "A value: a literal (a bare string is a string, not a path; a "
                           "list holds plain values), or {path: P}, {path: P, default: V}, "
                           "{param: NAME} or {value: V}.",
            "if": {"type": "object"}, "then": _ref("Reference"),
            "else": {"if": {"type": "array"}, "then": {"items": {
                "not": {"type": ["object", "array"]},
                "description": "A list literal holds plain values: write a list of "
                               "mappings or lists as {value: [...]}."}}}},
        "Reference": {
            "type": "object",
            "description": "An operand spelt out: {path: P} (the item's value), {path: P, "
                           "default: V} (V when it is absent or null), {param: NAME} (a "
                           "parameter) or {value: V} (a literal of any shape).",
            "properties": {"path": _ref("Path"), "default": {}, "value": {},
                           "param": {"type": "string", "description": "A parameter's name."}},
            "additionalProperties": False,
            "oneOf": [{"required": ["path"]}, {"required": ["param"]},
                      {"required": ["value"]}],
            "if": {"required": ["default"]},
            "then": {"required": ["path"], "description": "default goes with path: "
                                                          "{path: P, default: V}."}},
        "ParamRef": {
            "type": "object", "description": "{param: NAME}: a parameter's value.",
            "properties": {"param": {"type": "string", "description": "A parameter's name."}},
            "required": ["param"], "additionalProperties": False},
    }


def _nullable(prop: dict[str, Any], *branches: dict[str, Any]) -> None:
    """Replace the value branch of pydantic's ``X | None`` property with ``branches``."""
    if len(prop.get("anyOf", ())) != 2 or _NULL not in prop["anyOf"]:
        raise RuntimeError(f"expected an optional field, got {prop}")
    prop["anyOf"] = [*branches, _NULL]


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one policy file, as written (``pass``/``fail``)."""
    from auditor import checks, kinds
    from auditor.checks import plugins
    from auditor.config import FACTS
    from auditor.policies import EACH, Policy

    out = Policy.model_json_schema(by_alias=True, mode="validation")
    props, defs = out["properties"], out["$defs"]
    for internal in ("file", "broken"):  # set by the loader, never written
        del props[internal]
    defs.update(_condition_defs())
    defs["Kind"] = {
        "description": "A kind the sources produce (Deployment, HelmValues, DBInstance...), "
                       "or a custom resource written Kind.group (e.g. "
                       "ServiceMonitor.monitoring.coreos.com).",
        "anyOf": [{"type": "string", "enum": sorted(kinds.KNOWN)},
                  {"type": "string", "pattern": r"^[A-Z][A-Za-z0-9]*\.[^.]*\."}]}
    applies = defs["AppliesTo"]["properties"]
    for kinds_field in (applies["kinds"], applies.get("related"), props["requires"]):
        if kinds_field is not None:
            kinds_field["items"] = _ref("Kind")
    (listed,) = (b for b in props["partial"]["anyOf"] if b.get("type") == "array")
    listed["items"] = _ref("Kind")
    _nullable(props["condition"], _ref("Condition"))
    _nullable(applies["where"], _ref("Condition"))
    _nullable(applies["each"], {"type": "string", "enum": sorted(EACH)},
              {"type": "string", "pattern": r"\[\*\]$"})
    applies["each"]["description"] = (
        "Evaluate per item: containers, serving_container, or a path to a list written "
        "PATH[*] (e.g. spec.rules[*]).")
    _nullable(props["check"], {"type": "string", "enum": sorted(checks.CHECKS)},
              {"type": "string", "pattern": f"^(?:{plugins.NAME.pattern})$"})
    props["check"]["description"] = (
        "A named check: a built-in one, or a plugin check's dotted name (e.g. "
        "acme.queue_consumers).")
    _nullable(defs["Parameter"]["properties"]["fact"], {"type": "string",
                                                        "enum": sorted(FACTS)})
    out.update({
        "$schema": DRAFT, "$id": SCHEMA_ID, "title": "runbook-auditor policy",
        "description": "One policy file (policies/*.yaml, or a --policies DIR): the runbook "
                       "section it protects, what it applies to, when it fails (a "
                       "condition, or a named check), its message and remediation, and "
                       "pass/fail examples. `auditor policies validate DIR` checks it, "
                       "and what no schema can (paths, regexes, parameters, templates)."})
    return out


# -- validation (``auditor policies validate``) ---------------------------------------------


@cache
def _validator() -> Any:
    import jsonschema  # type: ignore[import-untyped]  # lazily: only `validate` needs it

    return jsonschema.Draft202012Validator(schema())


def problems(data: Any, lines: dict[paths.Path, int], shown: str) -> list[str]:
    """Every way ``data`` (a parsed policy file) breaks the schema, as
    ``FILE:LINE: PATH: message`` (the line of PATH, else of its nearest parent), in the
    file's order."""
    from auditor.errors import where
    from auditor.yamlfile import nearest_line

    explained = [found for error in _validator().iter_errors(data)
                 for found in _explain(error)]
    # "Not valid under any of": said only when nothing more precise is said of the value
    # or in it (an unknown key, a missing one).
    precise = {path[:end] for path, _, weak in explained if not weak
               for end in range(len(path) + 1)}
    found: dict[str, tuple[int, str]] = {}
    for path, message, weak in explained:
        if weak and path in precise:
            continue
        line = nearest_line(lines, path)
        text = f"{where(shown, line)}: {paths.format(path) or '(policy)'}: {message}"
        found.setdefault(text, (line or 0, paths.format(path)))
    return sorted(found, key=lambda text: found[text])


def check_dir(directory: FsPath) -> tuple[list[Policy], list[str]]:
    """Every policy file of ``directory`` checked against the schema, then loaded: the
    policies, and the problems of the files that are not (a file the schema rejects is
    not loaded). PolicyError when the directory does not exist."""
    from auditor.errors import PolicyError
    from auditor.policies import load_dir, load_file, policy_files
    from auditor.yamlfile import read_document

    if not directory.is_dir():
        load_dir(directory)  # its error, as for any other command
    loaded, found = [], []
    for file in policy_files(directory):
        try:
            doc = read_document(file, str(file), "policy file", PolicyError)
            rejected = problems(doc.data, doc.lines, str(file))
            found += rejected
            if not rejected:
                loaded.append(load_file(file))
        except PolicyError as exc:
            found.append(exc.message)
    return loaded, found


def _explain(error: Any) -> list[tuple[paths.Path, str, bool]]:
    """(path, message, weak) for one jsonschema error: the branch that applies, when all
    but one alternative of an anyOf/oneOf is ruled out by the value's type (a mapping where
    ``X | null`` is expected is judged as an X); one line per unknown key. ``weak``: the
    value matches none of several alternatives."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict[Any, list[Any]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        live = [subs for subs in branches.values()
                if not any(s.validator == "type" and not s.relative_path for s in subs)]
        if len(live) == 1:
            return [found for sub in live[0] for found in _explain(sub)]
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = sorted(error.schema.get("properties", {}))
        return [((*path, key), f"unknown key {_show(key)}{_hint(key, known)}"
                 + (f"; expected one of: {', '.join(known)}" if len(known) <= 10 else ""),
                 False) for key in error.instance if key not in known]
    return [(path, _message(error), error.validator in ("anyOf", "oneOf"))]


def _message(error: Any) -> str:
    kind, value, instance = error.validator, error.validator_value, error.instance
    about = error.schema.get("description") if isinstance(error.schema, dict) else None
    if kind == "enum":
        listed = ", ".join(map(_show, value))
        text = (f"{_show(instance)} is not one of: {listed}" if len(value) <= 30 else
                f"{_show(instance)} is not one of the {len(value)} allowed values")
        return text + _hint(instance, value)
    if kind in ("anyOf", "oneOf"):
        options = [v for sub in error.context if sub.validator == "enum"
                   for v in sub.validator_value]
        what = about or "expected " + " or ".join(
            _type_name(b.get("type")) for b in value if isinstance(b, dict))
        return f"{_show(instance)} is not valid{_hint(instance, options)}: {what}"
    if kind == "type":
        text = f"expected {_type_name(value)}, got {_type_name(_json_type(instance))}"
    elif kind == "required":  # one error per key: each says them all (and is said once)
        missing = [_show(k) for k in value if k not in instance]
        text = f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} required"
    elif kind in ("minProperties", "maxProperties", "minItems", "maxItems"):
        noun = "key" if kind.endswith("Properties") else "item"
        bound = "at least" if kind.startswith("min") else "at most"
        text = (f"expected {bound} {value} {noun}{'s' * (value != 1)}, got "
                f"{len(instance)}")
        if isinstance(instance, dict) and instance:
            text += f" ({', '.join(map(str, instance))})"
    elif kind == "pattern":
        text = f"{_show(instance)} does not match {value}"
    elif kind == "not":
        text = f"{_show(instance)} is not allowed here"
    else:
        text = error.message if len(error.message) <= 200 else error.message[:199] + "…"
    return f"{text}: {about}" if about else text


def _hint(value: Any, options: Any) -> str:
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, [o for o in options if isinstance(o, str)], n=1)
    return f" (did you mean {_show(close[0])}?)" if close else ""


_TYPES = {"object": "a mapping", "array": "a list", "string": "a string",
          "number": "a number", "integer": "an integer", "boolean": "a boolean",
          "null": "null"}


def _type_name(types: Any) -> str:
    names = [types] if isinstance(types, str) else list(types or [])
    return " or ".join(_TYPES.get(t, str(t)) for t in names) or "a value"


def _json_type(value: Any) -> str:
    for name, kind in (("boolean", bool), ("null", type(None)), ("integer", int),
                       ("number", float), ("string", str), ("object", dict),
                       ("array", list)):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _show(value: Any) -> str:
    """A value as a YAML user reads it, short: "text", 3, true, null; a mapping by its
    keys, a list by its length."""
    if isinstance(value, dict):
        text = "{" + ", ".join(map(str, value)) + "}"
    elif isinstance(value, list):
        return f"a list of {len(value)}"
    else:
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            text = str(value)
    return text if len(text) <= 60 else text[:59] + "…"


if __name__ == "__main__":
    print(json.dumps(schema(), indent=2, sort_keys=True))
