"""What the AWS Load Balancer Controller makes of Ingresses, read as the controller reads them.

An Ingress is the controller's when its class is ``alb`` (the ``kubernetes.io/ingress.class``
annotation, else ``spec.ingressClassName``) or an IngressClass whose controller is
``ingress.k8s.aws/alb`` (also the cluster's default class, for an Ingress that names none).
Load balancer settings (scheme, WAF, attributes) belong to the IngressGroup, which shares one
ALB: any member may set them, and an IngressClassParams its class names wins over the
members' annotations. For a target group, the backend Service's annotations win over the
Ingress's. Annotation values are untrusted text, read bounded; a value the live collector
kept only as a hash is unknown, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from auditor import paths
from auditor.drift.hidden import REDACTED, is_marker
from auditor.models import Inventory, Location, Resource
from auditor.paths import Path, get
from auditor.shell import Shell, q
from auditor.unknown import Unknown

PREFIX = "alb.ingress.kubernetes.io/"
CLASS_ANNOTATION = "kubernetes.io/ingress.class"
CONTROLLER = "ingress.k8s.aws/alb"
CLASS = "alb"  # the controller's default --ingress-class, and the IngressClass its chart makes
MAX_VALUE = 4096  # characters of one annotation value read (an attribute list is far shorter)
MAX_ATTRIBUTES = 64  # entries of one attribute list (an ALB has about 20 attributes)
ANNOTATIONS: Path = ("metadata", "annotations")
# ALB DNS names: NAME-ID.REGION.elb.amazonaws.com (internal ones start with "internal-").
_ALB_HOST = re.compile(
    r"(?:internal-)?([A-Za-z0-9-]{1,32})-[0-9]+\.[a-z0-9-]+\.elb\.amazonaws\.com(?:\.cn)?")
_SET_WORD = re.compile(r"[A-Za-z0-9_./-]+")


@dataclass(frozen=True)
class AlbIngress:
    ingress: Resource
    params: Resource | None = None  # the IngressClassParams its class names, when declared
    unread: str = ""  # why its class's settings are not known (params named but not declared)


def annotation(r: Resource, name: str) -> str | Unknown | None:
    """Annotation ``name`` (the controller's prefix added to a bare name) as text; None
    when absent."""
    key = name if "/" in name else PREFIX + name
    found = get(r.body, ANNOTATIONS)
    if isinstance(found, Unknown):
        return found
    value = found.get(key) if isinstance(found, dict) else None
    if value is None or isinstance(value, Unknown):
        return value
    if is_marker(value) or value == REDACTED:
        return Unknown(f"{key} of {r.kind} {r.name} is kept only as a hash by the live "
                       "collector (not on its allow-list): its value cannot be read")
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str | int | float):
        return Unknown(f"{key} of {r.kind} {r.name} is not text")
    text = str(value)
    if len(text) > MAX_VALUE:
        return Unknown(f"{key} of {r.kind} {r.name} is longer than {MAX_VALUE} characters: "
                       "not read")
    return text


def alb_ingresses(inv: Inventory) -> list[AlbIngress]:
    """The Ingresses the controller turns into ALBs, each with its class's parameters."""
    classes = {c.name: c for c in inv.of_kind("IngressClass")}
    params = {p.name: p for p in inv.of_kind("IngressClassParams")}
    default = next((c for c in classes.values() if get(
        c.body, (*ANNOTATIONS, "ingressclass.kubernetes.io/is-default-class")) == "true"), None)
    out = []
    for ing in inv.of_kind("Ingress"):
        legacy = annotation(ing, CLASS_ANNOTATION)
        name = get(ing.body, ("spec", "ingressClassName"))
        if legacy is not None:  # the controller matches the annotation first
            if legacy == CLASS:
                out.append(AlbIngress(ing))
            continue
        cls = classes.get(name) if isinstance(name, str) and name else (
            None if name not in (None, paths.MISSING) else default)
        if cls is None:
            if name == CLASS:  # the class the controller's chart installs, not declared here
                out.append(AlbIngress(ing))
            continue
        if get(cls.body, ("spec", "controller")) != CONTROLLER:
            continue
        ref = get(cls.body, ("spec", "parameters"))
        if not (isinstance(ref, dict) and ref.get("kind") == "IngressClassParams"):
            out.append(AlbIngress(ing))
        elif str(ref.get("name")) in params:
            out.append(AlbIngress(ing, params[str(ref.get("name"))]))
        else:
            out.append(AlbIngress(ing, unread=(
                f"IngressClass {cls.name} takes settings from IngressClassParams "
                f"{ref.get('name')}, which is not declared here (it may set the scheme, the "
                "group, the WAF web ACL and the load balancer attributes)")))
    return out


def group_name(a: AlbIngress) -> str | Unknown | None:
    """The explicit IngressGroup (its class's parameters win), or None: a group of one."""
    if a.params is not None:
        name = get(a.params.body, ("spec", "group", "name"))
        if isinstance(name, str) and name:
            return name
    value = annotation(a.ingress, "group.name")
    if isinstance(value, Unknown):
        return value
    return value or None


def groups(every: list[AlbIngress]) -> dict[str, list[AlbIngress]]:
    """The explicit IngressGroups among ``every``, by name."""
    out: dict[str, list[AlbIngress]] = {}
    for a in every:
        name = group_name(a)
        if isinstance(name, str):
            out.setdefault(name, []).append(a)
    return out


def group(a: AlbIngress, grouped: dict[str, list[AlbIngress]]) -> list[AlbIngress] | Unknown:
    """The Ingresses that share ``a``'s ALB (those of this environment: an explicit group
    may have members elsewhere in the cluster). ``grouped``: :func:`groups`."""
    name = group_name(a)
    return name if isinstance(name, Unknown) else [a] if name is None else grouped[name]


def explicit(members: list[AlbIngress], name: str, param: str
             ) -> list[tuple[AlbIngress, str, str]] | Unknown:
    """(member, value, who set it) for each member that sets annotation ``name``; its
    class's ``spec.<param>`` wins over the annotation."""
    out = []
    for m in members:
        if m.unread:
            return Unknown(m.unread)
        value = get(m.params.body, ("spec", param)) if m.params is not None else None
        if isinstance(value, str) and value:
            out.append((m, value, f"IngressClassParams {m.params.name}" if m.params else ""))
            continue
        found = annotation(m.ingress, name)
        if isinstance(found, Unknown):
            return found
        if found is not None:
            out.append((m, found, f"Ingress {m.ingress.name}"))
    return out


def parse_attributes(text: str) -> dict[str, str] | str:
    """A ``k1=v1,k2=v2`` list split as the controller splits it (a backslash escapes the
    next character; a comma ends an entry only when an ``=`` follows it), or why the
    controller would refuse it. Linear in the text, which :func:`annotation` bounds."""
    entries: list[str] = []
    current: list[str] = []
    last_eq, last_text = text.rfind("="), len(text.rstrip()) - 1
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            current.append(text[i + 1])
            i += 1
        elif char == "," and i < last_eq:
            entries.append("".join(current).strip())
            current = []
        elif char == "," and i < last_text:  # text follows without an "="
            return f"{text[i + 1:].strip()[:40]!r} is not key=value"
        else:
            current.append(char)
        i += 1
    if current:
        entries.append("".join(current).strip())
    if len(entries) > MAX_ATTRIBUTES:
        return f"more than {MAX_ATTRIBUTES} entries"
    out: dict[str, str] = {}
    for entry in entries:
        key, equals, value = entry.partition("=")
        if not equals or not key.strip():
            return f"{entry[:40]!r} is not key=value"
        out[key.strip()] = value.strip()
    return out


def live_load_balancer(a: AlbIngress, inv: Inventory) -> Resource | None:
    """On the live side, the load balancer read from AWS that the Ingress's status names
    (its DNS name holds the ALB's name): AWS's own answer is judged there."""
    if inv.side != "live":
        return None
    names = {lb.name: lb for lb in inv.of_kind("LoadBalancer")}
    status = get(a.ingress.body, ("status", "loadBalancer", "ingress"))
    for entry in status[:16] if isinstance(status, list) else []:
        host = entry.get("hostname") if isinstance(entry, dict) else None
        found = _ALB_HOST.fullmatch(host) if isinstance(host, str) and len(host) < 256 else None
        if found and found.group(1) in names:
            return names[found.group(1)]
    return None


def fix_vars(r: Resource, inv: Inventory, key: str, value: list[str | Shell]) -> dict[str, Any]:
    """Where and how to set annotation ``key`` of ``r`` to ``value`` (text, and
    placeholders as :class:`Shell`): ``where``, the file:line of the annotation or of the
    annotations it would join; ``annotate``, ``KEY=VALUE`` for ``kubectl annotate``; and,
    when the chart's values feed those annotations, their values key (``annotations_key``)
    and ``helm_set``, the annotation under it as ``helm --set-string`` spells it."""
    full = key if "/" in key else PREFIX + key
    at: Location | None = r.field_locations.get((*ANNOTATIONS, full)) or r.locate(ANNOTATIONS)
    base = _annotations_key(r, inv)
    words = [*(str(k) for k in base), full] if base is not None else []
    set_key = ".".join(w.replace(".", "\\.") for w in words) if words and all(
        _SET_WORD.fullmatch(w) for w in words) else None
    return {"where": str(at) if at else (r.address or r.source),
            "annotations_key": paths.format(base) if base else None,
            "annotate": _word([f"{full}=", *value]),
            "helm_set": _word([f"{set_key}=", *value], helm=True) if set_key else None}


def _word(parts: list[str | Shell], helm: bool = False) -> Shell:
    """One shell word of text (quoted; commas escaped for Helm, which splits on them) and
    placeholders (bare, so a command still holding one fails at once)."""
    out, text = "", ""
    for part in [*parts, Shell("")]:
        if isinstance(part, Shell):
            out += (q(text.replace(",", "\\,") if helm else text) if text else "") + part
            text = ""
        else:
            text += part
    return Shell(out)


def _annotations_key(r: Resource, inv: Inventory) -> Path | None:
    """The values key of ``r``'s annotations: the one they, or one of them, came from; else
    the chart's ``<kind>.annotations`` (helm create's convention) when what it holds is
    among them, or, empty, when the chart renders no other object of this kind."""
    whole = r.field_locations.get(ANNOTATIONS)
    found = [(whole, None)] + [(loc, p[2]) for p, loc in r.field_locations.items()
                              if len(p) == 3 and p[:2] == ANNOTATIONS]
    for loc, name in found:
        if loc is None or not loc.key:
            continue
        try:
            path = paths.parse(loc.key)
        except ValueError:
            continue
        if name is not None:  # an annotation's own key: its parent is the map
            if path[-1:] != (name,):
                continue
            path = path[:-1]
        return path if path and all(isinstance(k, str) for k in path) else None
    values = [v for v in inv.of_kind("HelmValues") if v.source == r.source]
    conventional = (r.kind.lower(), "annotations")
    held = get(values[0].body, conventional) if values else None
    if not isinstance(held, dict):
        return None
    mine = get(r.body, ANNOTATIONS)
    mine = mine if isinstance(mine, dict) else {}
    alone = len([o for o in inv.of_kind(r.kind) if o.source == r.source]) == 1
    fits = all(mine.get(k) == v for k, v in held.items()) if held else alone
    return conventional if fits else None
