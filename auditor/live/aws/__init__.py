"""Live AWS: what Terraform declares, as it runs, read strictly read-only through boto3.

The names to describe come from the declared resources (and ``aws:`` in ``auditor.yaml``,
see :mod:`.targets`); one module per service maps the API's answers onto Terraform's
attribute names (``docs/live-model.md``). The services are read concurrently, each on its
own thread with clients made up front. A service that cannot be read (403, throttled or
5xx after retries, timeout, no connection, no credentials) costs only its kinds, which
become unavailable with a one-line reason naming the API call and the error code; a
service collector that crashes costs only its own kinds too. A name ``auditor.yaml`` lists
that was read for and not found is a problem (an error) at its line: with no Terraform
there is no declared resource whose drift would say it is missing. boto3 is imported only
when a collection runs, never at ``auditor`` import time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import TYPE_CHECKING

from auditor.config import AwsConfig, Config, Environment
from auditor.live.base import LiveCollected
from auditor.models import Location, Problem, Resource
from auditor.yamlfile import nearest_line

if TYPE_CHECKING:
    from auditor.live.aws.targets import Targets

KINDS = ("SecurityGroup", "DBInstance", "DBCluster", "DBClusterInstance", "DBParameterGroup",
         "Nodegroup", "TargetGroup", "LoadBalancer", "ACMCertificate", "MetricAlarm",
         "SecretsManagerSecret", "AWSAccount", "CloudTrailEvents")
# Remediation commands' placeholders filled from what was found (first of each kind).
_NAMES = {"DBInstance": "db_identifier", "DBCluster": "db_cluster",
          "DBParameterGroup": "parameter_group",
          "Nodegroup": "nodegroup", "TargetGroup": "target_group",
          "LoadBalancer": "load_balancer"}
# auditor.yaml's aws: key -> the kind its names are
_CONFIGURED = {"security_groups": "SecurityGroup", "db_instances": "DBInstance",
               "db_clusters": "DBCluster",
               "parameter_groups": "DBParameterGroup", "target_groups": "TargetGroup",
               "load_balancers": "LoadBalancer", "certificates": "ACMCertificate",
               "secrets": "SecretsManagerSecret", "nodegroups": "Nodegroup"}


def collect(config: Config, env_name: str, env: Environment,
            declared: list[Resource], kinds: frozenset[str] | None = None) -> LiveCollected:
    from auditor.live.aws import account, acm, aurora, cloudwatch, ec2, eks, elbv2, rds, secrets
    from auditor.live.aws.api import Api, CallFailed
    from auditor.live.aws.targets import targets

    aws = env.aws or AwsConfig()

    def origin(key: str, index: int | None) -> Location:
        at = ("environments", env_name, "aws", key, *(() if index is None else (index,)))
        line = nearest_line(config.lines, at)
        return Location(config.config_rel(), line)

    wanted = targets(aws, declared, origin)
    # Each service module with something to read, and the kinds it reads.
    modules: list[ModuleType] = [ec2, rds, aurora, eks, elbv2, acm, cloudwatch, secrets,
                                 account]
    readers = [(m, read) for m in modules if (read := m.wanted(wanted))
               and (kinds is None or kinds & set(read))]
    if not readers:
        return LiveCollected()
    try:
        api = Api(aws.profile, aws.region, sorted({s for m, _ in readers for s in m.SERVICES}))
    except CallFailed as exc:  # nothing can be read: every kind we would have read says why
        return LiveCollected(unavailable={k: str(exc) for _, read in readers for k in read})
    out = LiveCollected()
    with ThreadPoolExecutor(max_workers=len(readers), thread_name_prefix="aws") as pool:
        futures = [pool.submit(_guarded, m, read, api, wanted) for m, read in readers]
        for future in futures:  # in a fixed order, so reports do not depend on timing
            out.extend(future.result())
    out.names.update(_names(out.resources))
    read_kinds = {k for _, read in readers for k in read}
    out.problems += _not_found(wanted, out, api.region, aws.eks_cluster, read_kinds)
    return out


def _not_found(wanted: Targets, out: LiveCollected, region: str,
               cluster: str | None, read: set[str]) -> list[Problem]:
    """A problem for each name auditor.yaml lists that was read for (``read``: the kinds
    this run read) and is not there."""
    # Each resource's identifiers, by kind (a linear search per name was 2,000 x 2,300
    # comparisons for an account's security groups).
    found: dict[str, set[tuple[str | None, ...]]] = {}
    for r in out.resources:
        found.setdefault(r.kind, set()).update(_identifiers(r))
    problems = []
    for key, name in wanted.configured:
        kind = _CONFIGURED[key]
        if kind not in read or kind in out.unavailable or _identifier(
                key, name, cluster) in found.get(kind, ()) or (
                key == "secrets" and name.startswith("arn:") and any(
                    f":secret:{r.name}-" in name  # the ARN ends in -<6 random chars>
                    for r in out.resources if r.kind == kind)):
            continue
        what = f"{name} (eks_cluster {cluster})" if key == "nodegroups" else name
        problems.append(Problem("aws", f"configured {key} {what} was not found in {region}",
                                wanted.origins.get((key, name)) or Location("auditor.yaml")))
    return problems


def _identifier(key: str, name: str, cluster: str | None) -> tuple[str | None, ...]:
    """How a name auditor.yaml lists is found among :func:`_identifiers`."""
    if key == "nodegroups":
        return ("nodegroup", name, cluster)
    if key in ("db_instances", "db_clusters", "parameter_groups"):  # RDS lowercases them
        return ("lower", name.lower())
    return ("id", name)


def _identifiers(r: Resource) -> list[tuple[str | None, ...]]:
    """A resource's name, id and ARN; its name lowercased; its name with its cluster."""
    cluster = r.body.get("cluster_name")
    return [("lower", r.name.lower()), *(("id", v) for v in (
        r.name, r.body.get("id"), r.body.get("arn")) if isinstance(v, str)),
        *((("nodegroup", r.name, cluster),) if cluster is None or isinstance(cluster, str)
          else ())]


def _guarded(module: ModuleType, kinds: tuple[str, ...], api: object,
             wanted: object) -> LiveCollected:
    try:
        found: LiveCollected = module.collect(api, wanted)
    except Exception as exc:  # a bug in one service's mapping must not cost the others
        short = module.__name__.rsplit(".", 1)[-1]
        return LiveCollected(unavailable={k: f"aws {short} collector failed: {exc!r}"
                                          for k in kinds})
    return found


def _names(resources: list[Resource]) -> dict[str, str]:
    names: dict[str, str] = {}
    for r in resources:
        if r.kind in _NAMES:
            names.setdefault(_NAMES[r.kind], r.name)
        if r.kind == "Nodegroup" and isinstance(r.body.get("cluster_name"), str):
            names.setdefault("cluster", r.body["cluster_name"])
    return names
