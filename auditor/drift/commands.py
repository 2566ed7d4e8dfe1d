"""The commands of a drift finding: the one that most likely made declared and live
differ (the runbook's emergency fix), and the one that puts Git's value back.

Both are spelt for the tool that owns the object: ``helm upgrade`` or ``kubectl`` for a
chart's objects, ``terraform apply -target`` or the ``aws`` CLI for AWS resources. Every
name and value in them is shell-quoted (auditor.shell): they are copied into terminals.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from auditor.drift.compare import Difference, render
from auditor.drift.hidden import hidden, scrub
from auditor.models import Inventory, Location, Resource
from auditor.paths import MISSING, Path, get
from auditor.shell import Shell, dq, q, sq

WORKLOADS = {"Deployment", "StatefulSet"}  # whose replica count drifts when no HPA owns it
CONTAINER_FIELD = re.compile(r"containers\[([^\]]+)\]((?:\.[A-Za-z_][\w-]*)*)(.*)$")


# ---- restoring Git's value ------------------------------------------------------------------

def restore(declared: Resource, inventory: Inventory) -> Shell:
    """The command that puts the declared value back, run from the config's directory."""
    names = inventory.names
    if declared.source.startswith("helm chart"):
        files = " ".join(f"-f {q(f)}" for f in values_files(inventory))
        sets = " ".join(f"--set {q(s)}" for s in _config_sets(inventory))
        return Shell(" ".join(p for p in (
            "helm upgrade", q(names.get("release", "<release>")),
            q(names.get("chart", "<chart-dir>")), files, sets, "-n",
            q(names.get("namespace", "<namespace>"))) if p))
    if declared.source.startswith("terraform "):
        tf_dir = declared.source.removeprefix("terraform ")
        return Shell(f"terraform -chdir={q(tf_dir)} apply -target={q(declared.address)}")
    if declared.source.startswith("manifest "):
        return Shell(f"kubectl apply -f {q(declared.source.removeprefix('manifest '))}")
    if "apiVersion" in declared.body:
        return Shell("kubectl apply -f <manifest>")
    return Shell(f"terraform apply -target={q(declared.address or '<address>')}")


def _values(inventory: Inventory) -> Resource | None:
    base = inventory.baseline
    release = inventory.names.get("release")
    return next((r for r in (base.resources if base else [])
                 if r.kind == "HelmValues" and r.name == release), None)


def _config_sets(inventory: Inventory) -> list[str]:
    """The config's own ``set:`` values (located at the config file), as --set flags."""
    values = _values(inventory)
    config = values.location.file if values and values.location else None
    if values is None or config is None:
        return []
    return [f"{_set_key(k)}={render(v)}" for k, loc in values.field_locations.items()
            if loc.file == config and not isinstance(v := get(values.body, k), dict | list)]


def values_files(inventory: Inventory) -> list[str]:
    """The release's -f files: the config may name them (``values_files``); else those the
    merged values were read from, less the chart's own values.yaml (Helm applies it)."""
    named = inventory.names.get("values_files")
    if named:
        return named.split()
    values = _values(inventory)
    if values is None:
        return []
    chart = inventory.names.get("chart", "").removeprefix("./")
    skip = {posixpath.join(chart, "values.yaml"), str(values.location.file if values.location
                                                       else "")}
    return list(dict.fromkeys(loc.file for loc in values.field_locations.values()
                              if loc.file not in skip))


def helm_key(inventory: Inventory, declared: Resource, path: Path) -> str | None:
    """The values key (``resources.limits.memory``) whose line set ``path``, as --set
    spells it, when the field came straight from one values key."""
    where: Location | None = declared.field_locations.get(path)
    values = _values(inventory)
    if where is None or values is None or where.file == (declared.location or where).file:
        return None
    keys = [k for k, loc in values.field_locations.items() if loc == where
            and not isinstance(get(values.body, k), dict | list)]
    if not keys:
        return None
    return _set_key(max(keys, key=len))


def _set_key(path: Path) -> str:
    return "".join(f"[{k}]" if isinstance(k, int) else
                   ("." if i else "") + str(k).replace(".", "\\.") for i, k in enumerate(path))


# ---- the commands that most likely caused it ----------------------------------------------

def kubectl(r: Resource, verb: str) -> Shell:
    return Shell(f"kubectl {verb} {q(r.kind.lower())} {q(r.name)} "
                 f"-n {q(r.namespace or '<namespace>')}")


def helm_cause(inv: Inventory, declared: Resource, live: Resource, d: Difference) -> Shell:
    ns = q(declared.namespace or "<namespace>")
    ref = q(f"{declared.kind.lower()}/{declared.name}")
    secret = hidden(d.field, d.live)
    value = "<value>" if secret else render(d.live, d.field)
    if declared.kind == "PersistentVolumeClaim":
        return Shell(f"kubectl edit pvc {q(declared.name)} -n {ns}")
    if declared.kind == "Ingress" and d.path[:2] == ("metadata", "annotations") and len(
            d.path) == 3:
        return Shell(f"kubectl annotate ingress {q(declared.name)} -n {ns} "
                     f"{q(f'{d.path[2]}={value}')} --overwrite")
    m = CONTAINER_FIELD.search(d.field)
    container, tail, rest = m.groups() if m else ("", "", "")
    if m and tail == ".image" and not rest:
        return Shell(f"kubectl set image {ref} {q(f'{container}={value}')} -n {ns}")
    if m and tail.startswith((".readinessProbe", ".livenessProbe", ".startupProbe")) \
            and not rest and scrub(d.live) == d.live:  # the runbook's probe fix
        return Shell(f"kubectl patch {ref} -n {ns} -p {sq(_container_patch(container, tail, d))}")
    if m and tail == ".env" and rest.startswith("["):
        var = q(rest[1:].split("]", 1)[0])
        if d.live is MISSING:
            return Shell(f"kubectl set env {ref} -c {q(container)} {var}- -n {ns}")
        return Shell(f"kubectl set env {ref} -c {q(container)} {var}=<value> -n {ns}")
    key = helm_key(inv, declared, d.path) if d.live is not MISSING else None
    if key is not None:  # the runbook's `helm upgrade --set`
        return Shell(f"helm upgrade {q(inv.names.get('release', '<release>'))} "
                     f"{q(inv.names.get('chart', '<chart-dir>'))} --set {q(f'{key}={value}')} "
                     f"-n {ns}")
    parts = tail.split(".")
    if m and len(parts) == 4 and parts[1] == "resources" and not rest and d.live is not MISSING:
        return Shell(f"kubectl set resources {ref} -c {q(container)} "
                     f"{q(f'--{parts[2]}={parts[3]}={value}')} -n {ns}")
    return Shell(f"kubectl edit {q(declared.kind.lower())} {q(declared.name)} -n {ns}")


def _container_patch(container: str, tail: str, d: Difference) -> str:
    nested: Any = None if d.live is MISSING else d.live
    for key in reversed(tail.strip(".").split(".")):
        nested = {key: nested}
    patch = {"spec": {"template": {"spec": {"containers": [{"name": container, **nested}]}}}}
    return json.dumps(patch, separators=(",", ":"))


def hpa_cause(inv: Inventory, declared: Resource, live: Resource, d: Difference) -> Shell:
    ns = q(declared.namespace or "<namespace>")
    if declared.kind in WORKLOADS:
        return Shell(f"kubectl scale {q(f'{declared.kind.lower()}/{declared.name}')} "
                     f"--replicas={q(render(d.live))} -n {ns}")
    if d.path in (("spec", "minReplicas"), ("spec", "maxReplicas")) and d.live is not MISSING:
        patch = json.dumps({"spec": {d.path[1]: d.live}}, separators=(",", ":"))
        return Shell(f"kubectl patch hpa {q(declared.name)} -n {ns} -p {sq(patch)}")
    return Shell(f"kubectl edit hpa {q(declared.name)} -n {ns}")


_HEALTH_FLAGS = {"path": "--health-check-path", "port": "--health-check-port",
                 "protocol": "--health-check-protocol",
                 "interval": "--health-check-interval-seconds",
                 "timeout": "--health-check-timeout-seconds",
                 "healthy_threshold": "--healthy-threshold-count",
                 "unhealthy_threshold": "--unhealthy-threshold-count"}
_DB_FLAGS = {"backup_retention_period": "--backup-retention-period",
             "instance_class": "--db-instance-class"}


def aws_cause(inv: Inventory, declared: Resource, live: Resource, d: Difference) -> Shell:
    value, attr = render(d.live, d.field), str(d.path[-1]) if d.path else ""
    name = q(declared.name)
    if declared.kind == "DBParameterGroup":
        group = f"--db-parameter-group-name {name}"
        if d.live is MISSING:
            return Shell(f"aws rds reset-db-parameter-group {group} --parameters "
                         f"{dq(f'ParameterName={attr},ApplyMethod=pending-reboot')}")
        spec = f"ParameterName={attr},ParameterValue={value},ApplyMethod=pending-reboot"
        return Shell(f"aws rds modify-db-parameter-group {group} --parameters {dq(spec)}")
    if declared.kind == "Nodegroup":
        scaling = live.body.get("scaling_config")
        scaling = scaling if isinstance(scaling, dict) else {}
        sizes = ",".join(f"{flag}={render(scaling.get(key, MISSING))}" for key, flag in (
            ("min_size", "minSize"), ("max_size", "maxSize"), ("desired_size", "desiredSize")))
        return Shell(f"aws eks update-nodegroup-config --cluster-name "
                     f"{q(live.body.get('cluster_name', '<eks-cluster>'))} --nodegroup-name "
                     f"{name} --scaling-config {q(sizes)}")
    if declared.kind == "TargetGroup":
        if d.path[:1] != ("health_check",):
            return Shell(f"aws elbv2 create-target-group --name {name} --port {q(value)} "
                         "(the target group was replaced outside Terraform)")
        flag = (f"--matcher {q(f'HttpCode={value}')}" if attr == "matcher" else
                f"--{'' if d.live in (True, 'true') else 'no-'}health-check-enabled"
                if attr == "enabled" else f"{_HEALTH_FLAGS.get(attr, q('--' + attr))} {q(value)}")
        return Shell(f"aws elbv2 modify-target-group --target-group-arn <tg-arn> {flag}")
    if declared.kind == "StorageClass":
        patch = json.dumps({"allowVolumeExpansion": d.live}, separators=(",", ":"))
        return Shell(f"kubectl patch storageclass {name} -p {sq(patch)}")
    if declared.kind == "LoadBalancer":
        arn = q(live.body.get("arn") or "<lb-arn>")
        lb = f"--load-balancer-arn {arn}"
        if d.path[:1] == ("web_acl",):
            return Shell(f"aws wafv2 {'associate' if d.live is True else 'disassociate'}-web-acl "
                         f"--resource-arn {arn}"
                         + (" --web-acl-arn <web-acl-arn>" if d.live is True else ""))
        key = f"access_logs.s3.{'enabled' if attr == 'access_logs' else attr}"
        return Shell(f"aws elbv2 modify-load-balancer-attributes {lb} --attributes "
                     f"{q(f'Key={key},Value={value}')}")
    if declared.kind == "SecretsManagerSecret":
        secret = f"--secret-id {name}"
        return Shell(f"aws secretsmanager rotate-secret {secret} --rotation-lambda-arn "
                     "<rotation-lambda-arn>" if d.live in (True, "true") else
                     f"aws secretsmanager cancel-rotate-secret {secret}")
    if declared.kind == "DBCluster" and attr == "multi_az":  # a replica came or went
        return Shell(f"aws rds {'create' if d.live in (True, 'true') else 'delete'}"
                     f"-db-instance --db-instance-identifier <replica> (of cluster {name})")
    named = _DB_FLAGS.get(attr)
    if d.path[:1] == ("vpc_security_group_ids",):  # live holds names; the CLI takes ids
        ids = {sg.name: sg.body.get("id") for sg in inv.of_kind("SecurityGroup")}
        groups = live.body.get("vpc_security_group_ids")
        listed = [g for g in groups if isinstance(g, str)] if isinstance(groups, list) else []
        flag = "--vpc-security-group-ids " + (" ".join(
            q(i) if isinstance(i := ids.get(g), str) else q(f"<id of {g}>")
            for g in listed) or "<sg-ids>")
    elif named:
        flag = f"{named} {q(value)}"
    else:
        flag = q(f"--{'' if d.live in (True, 'true') else 'no-'}{attr.replace('_', '-')}")
    what = ("modify-db-cluster --db-cluster-identifier" if declared.kind == "DBCluster"
            else "modify-db-instance --db-instance-identifier")
    return Shell(f"aws rds {what} {name} {flag} --apply-immediately")


def sg_cause(verb: str, direction: str, group_id: str, key: tuple[str, int, int, str]
             ) -> Shell:
    """The runbook's ``aws ec2 authorize-security-group-ingress`` (or revoke, or egress,
    which takes only --ip-permissions) for one grant."""
    proto, low, high, source = key
    command = f"aws ec2 {verb}-security-group-{direction} --group-id {q(group_id)}"
    plain = direction == "ingress" and (source.startswith("sg:") or source == "self"
                                        or ("/" in source and ":" not in source))
    if plain:
        ports = "" if proto == "-1" else f" --port {low}" if low == high else \
            f" --port {low}-{high}"
        peer = f"--source-group {q(source[3:] if source.startswith('sg:') else group_id)}" \
            if not source[:1].isdigit() else f"--cidr {q(source)}"
        return Shell(f"{command} --protocol {q(proto)}{ports} {peer}")
    ports = "" if proto == "-1" else f",FromPort={low},ToPort={high}"
    peer = (f"UserIdGroupPairs=[{{GroupId={source[3:] if source != 'self' else group_id}}}]"
            if source.startswith("sg:") or source == "self" else
            f"PrefixListIds=[{{PrefixListId={source[3:]}}}]" if source.startswith("pl:") else
            f"Ipv6Ranges=[{{CidrIpv6={source}}}]" if ":" in source else
            f"IpRanges=[{{CidrIp={source}}}]")
    return Shell(f"{command} --ip-permissions {sq(f'IpProtocol={proto}{ports},{peer}')}")
