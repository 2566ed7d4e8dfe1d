"""Terraform's encoding functions: base64, CSV, JSON, YAML, text encodings and URLs.

Encoders write what Terraform writes: JSON with sorted keys, Go's HTML-safe escapes (``<`` is
``\\u003c``) and numbers never in exponent form; YAML in block style with every string
double-quoted (multi-line ones as ``|`` blocks), through PyYAML's emitter, a port of the
libyaml emitter Terraform's go-cty-yaml uses. ``yamldecode`` reads with the repo's own loader
(:mod:`auditor.yamlfile`: aliases bounded) in go-cty-yaml's dialect (:mod:`auditor.yamlcty`:
``0777`` is decimal, timestamps become RFC 3339 strings, keys must be strings). A decoded
document deeper than :data:`auditor.limits.MAX_DEPTH` is refused, so later walks stay shallow.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import math
from collections.abc import Callable, Iterator
from urllib.parse import quote_plus

import yaml

from auditor import limits, yamlfile
from auditor.terraform.hcl_fn_common import check_items, known_deep, num_text
from auditor.terraform.hcl_values import EvalError, norm, to_str

_HTML_SAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
              "\u2029": "\\u2029"}


def _json_string(s: str) -> str:
    out = json.dumps(s, ensure_ascii=False)
    for raw, escaped in _HTML_SAFE.items():
        out = out.replace(raw, escaped)
    return out


def _json_parts(value: object) -> Iterator[str]:
    if value is None or isinstance(value, bool):
        yield json.dumps(value)
    elif isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise EvalError(f"jsonencode(): {num_text(value)} cannot be written as JSON")
        yield num_text(value)
    elif isinstance(value, str):
        yield _json_string(value)
    elif isinstance(value, list):
        yield "["
        for i, item in enumerate(value):
            yield from ([","] if i else [])
            yield from _json_parts(item)
        yield "]"
    else:
        assert isinstance(value, dict)
        yield "{"
        for i, k in enumerate(sorted(value)):
            yield f'{"," if i else ""}{_json_string(k)}:'
            yield from _json_parts(value[k])
        yield "}"


def json_text(value: object) -> str:
    """``value`` as Terraform's jsonencode writes it."""
    return "".join(_json_parts(known_deep(value)))


def _shallow(value: object, what: str) -> object:
    if limits.too_deep(value):
        raise EvalError(f"{what}: the document is nested more than {limits.MAX_DEPTH} deep")
    return value


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def _jsondecode(value: object) -> object:
    try:
        data = json.loads(to_str(value), parse_float=lambda t: norm(float(t)),
                          parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise EvalError(f"jsondecode(): invalid JSON: {exc}") from None
    return _shallow(data, "jsondecode()")


def _plain(data: object) -> object:  # YAML values as Terraform's: binary is base64 text
    if isinstance(data, bytes):
        return base64.b64encode(data).decode()
    if isinstance(data, float):
        return norm(data)
    if isinstance(data, list):
        return [_plain(x) for x in data]
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    return data


def _yamldecode(value: object) -> object:
    try:
        docs = yamlfile.load_all(to_str(value), strict=False, dialect=yamlfile.TERRAFORM)
    except yamlfile.YamlError as exc:
        raise EvalError(f"yamldecode(): {exc}") from None
    if len(docs) > 1:
        raise EvalError("yamldecode(): only one YAML document is allowed")
    return _plain(_shallow(docs[0].data, "yamldecode()")) if docs else None


def _yaml_events(value: object) -> Iterator[yaml.Event]:
    if isinstance(value, str):
        yield yaml.ScalarEvent(None, None, (True, True), value,
                               style="|" if "\n" in value else '"')
    elif isinstance(value, list):
        yield yaml.SequenceStartEvent(None, None, True, flow_style=False)
        for item in value:
            yield from _yaml_events(item)
        yield yaml.SequenceEndEvent()
    elif isinstance(value, dict):
        yield yaml.MappingStartEvent(None, None, True, flow_style=False)
        for k in sorted(value):
            yield from _yaml_events(k)
            yield from _yaml_events(value[k])
        yield yaml.MappingEndEvent()
    else:
        text = num_text(value) if isinstance(value, int | float) and not isinstance(
            value, bool) else json.dumps(value)  # null, true, false
        yield yaml.ScalarEvent(None, None, (True, True), text, style=None)


def _yamlencode(value: object) -> str:
    events = [yaml.StreamStartEvent(), yaml.DocumentStartEvent(explicit=False),
              *_yaml_events(known_deep(value)), yaml.DocumentEndEvent(explicit=False),
              yaml.StreamEndEvent()]
    return str(yaml.emit(events, allow_unicode=True))


def _csvdecode(value: object) -> list[object]:
    try:
        rows = [r for r in csv.reader(io.StringIO(to_str(value), newline=""), strict=True) if r]
    except csv.Error as exc:
        raise EvalError(f"csvdecode(): CSV parse error: {exc}") from None
    if not rows:
        raise EvalError("csvdecode(): missing header line")
    check_items(len(rows), "csvdecode()")
    header = rows[0]
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise EvalError(f"csvdecode(): duplicate column name {dup!r}")
    for n, row in enumerate(rows[1:], 2):
        if len(row) != len(header):
            raise EvalError(f"csvdecode(): CSV parse error on line {n}: wrong number of fields")
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def _decode64(value: object, what: str) -> bytes:
    try:  # Go's decoder skips line breaks; anything else outside the alphabet is an error
        return base64.b64decode(to_str(value).replace("\r", "").replace("\n", ""),
                                validate=True)
    except (binascii.Error, ValueError):
        raise EvalError(f"{what}: failed to decode base64 data") from None


def _base64decode(value: object) -> str:
    try:
        return _decode64(value, "base64decode()").decode("utf-8")
    except UnicodeDecodeError:
        raise EvalError("the result of decoding the provided string is not valid UTF-8") \
            from None


def _textencodebase64(value: object, encoding: object) -> str:
    name = to_str(encoding)
    try:
        return base64.b64encode(to_str(value).encode(name)).decode()
    except LookupError:
        raise EvalError(f"{name!r} is not a supported encoding name") from None
    except UnicodeEncodeError:
        raise EvalError(f"the given string contains characters that cannot be represented "
                        f"in {name}") from None


def _textdecodebase64(value: object, encoding: object) -> str:
    name, data = to_str(encoding), _decode64(value, "textdecodebase64()")
    try:
        return data.decode(name)
    except LookupError:
        raise EvalError(f"{name!r} is not a supported encoding name") from None
    except UnicodeDecodeError:
        raise EvalError(f"the given string contains symbols that are not defined for "
                        f"{name}") from None


FUNCTIONS: dict[str, Callable[..., object]] = {
    "base64encode": lambda s: base64.b64encode(to_str(s).encode()).decode(),
    "base64decode": _base64decode,
    "textencodebase64": _textencodebase64, "textdecodebase64": _textdecodebase64,
    "jsonencode": json_text, "jsondecode": _jsondecode,
    "yamlencode": _yamlencode, "yamldecode": _yamldecode, "csvdecode": _csvdecode,
    "urlencode": lambda s: quote_plus(to_str(s), safe=""),
}
