"""Live collection at account scale: `auditor snapshot` over the local fakes, with a round
trip per request (run with `make bench-live`, not in the tests; issue 19).

For each SIZE N an estate is built in moto (in a process of its own on 127.0.0.1, its
filter matching sped up: see serve_moto): N security groups with two ingress rules each
(every other one admitting the group before it, every tenth a shared group the config does
not list), N/20 RDS instances (each with its own parameter group setting max_connections,
and a manual snapshot), N/10 target groups with two registered targets each and N/100
application load balancers; and 2.5 N Kubernetes objects in the fake API server of
tests/live/k8s_api.py (per app a Deployment, a Service, a ConfigMap, an HPA and a PDB,
across NAMESPACES). The estate is built with boto3 straight at moto, one call at a time;
its time is printed, not budgeted.

The auditor.yaml has one environment per namespace (the Kubernetes collector reads the
namespace of its environment only); the first also lists every AWS name under `aws:`, and
each declares a fifth of its ConfigMaps in a manifest, so the collector reads their contents.
`auditor snapshot` runs as a command, as users run it, for each (size, latency), with
AWS_ENDPOINT_URL at a counting proxy in front of moto, dummy credentials and KUBECONFIG at
the fake server; LATENCY seconds are added to every AWS request (by the proxy) and every
Kubernetes request (by the fake server). Per run: wall time; AWS requests, per call, and
the most in flight at once; Kubernetes requests; the auditor's peak RSS (``wait4``: the
largest of the command and its worker processes); the CPU seconds of the auditor, of moto
and of this process (the proxy and the fake API server), since on few cores what the fakes
use is time the collector may wait that AWS and a cluster would not take; and the
resources per kind in the snapshot written, which must be the whole estate.

Prints a Markdown table and writes OUT (machine, versions, every run). Exits 1 when the
run at BUDGET_SIZE and BUDGET_LATENCY takes more than BUDGET_AWS_REQUESTS AWS requests or
BUDGET_SECONDS (Kubernetes requests are printed, not budgeted), 2 when a run did not read
the whole estate (its figures measure something else). ``--quick`` (N=20, no latency, no
budget, no OUT unless ``--out``) is a smoke test of a few seconds.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import boto3  # noqa: E402
import yaml  # noqa: E402

from auditor.parallel import cores  # noqa: E402
from bench.bench_triage import relay  # noqa: E402
from tests.live.fields_v1 import manage  # noqa: E402
from tests.live.k8s_api import FakeKubeApi  # noqa: E402
from tests.live.k8s_fixtures import CONTEXT, write_kubeconfig  # noqa: E402

SIZES = (200, 2000)
LATENCIES = (0.0, 0.020)
BUDGET_SIZE, BUDGET_LATENCY = 2000, 0.020
BUDGET_AWS_REQUESTS = 150
BUDGET_SECONDS = 8.0
SERVE_MOTO = "--serve-moto"  # (how moto_process runs this file)
OUT = REPO / "bench" / "results" / "live.json"
REGION = "us-east-1"
# An app's namespace, by its index modulo 10: most apps in one namespace (more than a
# page, 500, of each kind at the large size), the rest in three smaller ones.
NAMESPACES = ("shop",) * 6 + ("payments",) * 2 + ("search", "batch")
KUBE_PER_GROUP = 2.5  # Kubernetes objects per security group: 500 at 200, 5,000 at 2,000
APP_KINDS = ("Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler",
             "PodDisruptionBudget")
DECLARED_EVERY = 5  # every fifth app's ConfigMap is declared: 200 at the large size
DB_CLASSES = ("db.t3.medium", "db.r6g.large", "db.m6g.xlarge")


# ---- the estate ---------------------------------------------------------------------------

@dataclass
class Estate:
    """What one size holds: the names auditor.yaml lists, the Kubernetes objects, and the
    resources per kind a snapshot that read everything has."""

    size: int
    security_groups: list[str] = field(default_factory=list)
    db_instances: list[str] = field(default_factory=list)
    parameter_groups: list[str] = field(default_factory=list)
    target_groups: list[str] = field(default_factory=list)
    load_balancers: list[str] = field(default_factory=list)
    apps: dict[str, list[str]] = field(default_factory=dict)  # namespace -> app names
    build_s: float = 0.0

    @property
    def declared(self) -> int:
        """The ConfigMaps the manifests declare: the collector reads their contents."""
        return sum(len(apps[::DECLARED_EVERY]) for apps in self.apps.values())

    @property
    def expected(self) -> dict[str, int]:
        apps = sum(len(names) for names in self.apps.values())
        return {"SecurityGroup": len(self.security_groups),
                "DBInstance": len(self.db_instances),
                "DBParameterGroup": len(self.parameter_groups),
                "TargetGroup": len(self.target_groups),
                "LoadBalancer": len(self.load_balancers), "AWSAccount": 1,
                **dict.fromkeys(APP_KINDS, apps)}


def plan(size: int) -> Estate:
    """The names of an estate of ``size`` security groups (at least one of each kind)."""
    def names(prefix: str, per: int) -> list[str]:
        return [f"{prefix}-{i:05d}" for i in range(max(1, size // per))]

    estate = Estate(size, security_groups=names("bench-sg", 1),
                    db_instances=names("bench-db", 20), parameter_groups=names("bench-pg", 20),
                    target_groups=names("bench-tg", 10), load_balancers=names("bench-alb", 100))
    for i in range(int(size * KUBE_PER_GROUP) // len(APP_KINDS)):
        namespace = NAMESPACES[i % len(NAMESPACES)]
        apps = estate.apps.setdefault(namespace, [])
        apps.append(f"{namespace}-app-{len(apps):04d}")
    return estate


def build_aws(url: str, estate: Estate) -> None:
    """The estate's AWS side in moto, straight at ``url`` (no proxy, no latency), one call
    at a time: moto's backends are not thread-safe (CreateSecurityGroup calls at once fail
    with "dictionary changed size during iteration")."""
    session = boto3.Session(region_name=REGION, aws_access_key_id="testing",
                            aws_secret_access_key="testing")
    ec2, rds, elbv2 = (session.client(s, endpoint_url=url) for s in ("ec2", "rds", "elbv2"))
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]]
    # The services the collector reads and the estate does not write: moto loads each on its
    # first call (a second or more), which is not the collector's time.
    session.client("guardduty", endpoint_url=url).list_detectors()
    session.client("cloudtrail", endpoint_url=url).describe_trails()
    session.client("wafv2", endpoint_url=url).list_web_acls(Scope="REGIONAL")
    ec2.describe_instance_types(InstanceTypes=[c.removeprefix("db.") for c in DB_CLASSES])
    ids = _security_groups(ec2, vpc["VpcId"], estate)
    for i, db in enumerate(estate.db_instances):
        _database(rds, db, estate.parameter_groups[i], i, ids[i])
    for i, name in enumerate(estate.target_groups):
        arn = elbv2.create_target_group(
            Name=name, Protocol="HTTP", Port=8080, VpcId=vpc["VpcId"], TargetType="ip",
            HealthCheckPath="/health/ready")["TargetGroups"][0]["TargetGroupArn"]
        elbv2.register_targets(TargetGroupArn=arn, Targets=[
            {"Id": f"172.31.{i % 250}.{10 + k}", "Port": 8080} for k in range(2)])
    for i, name in enumerate(estate.load_balancers):
        elbv2.create_load_balancer(Name=name, Subnets=subnets[:2], SecurityGroups=[ids[i]],
                                   Type="application", Scheme="internal")


def _security_groups(ec2: Any, vpc: str, estate: Estate) -> list[str]:
    """The estate's groups (their ids, in order), each with two ingress rules: HTTPS from
    the VPC, and 8080 from the group before it (odd groups), from a shared group the config
    does not list (every tenth: the collector names those with one more describe) or SSH
    from a bastion range (the others)."""
    def create(name: str) -> str:
        return str(ec2.create_security_group(GroupName=name, Description=f"{name} (bench)",
                                             VpcId=vpc)["GroupId"])

    shared = [create(f"bench-shared-{i:03d}") for i in range(max(1, estate.size // 100))]
    ids = [create(name) for name in estate.security_groups]
    for i, gid in enumerate(ids):
        source = ids[i - 1] if i % 2 else shared[i // 10 % len(shared)] if i % 10 == 0 else None
        second = ({"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
                   "UserIdGroupPairs": [{"GroupId": source, "Description": "app"}]} if source
                  else {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                        "IpRanges": [{"CidrIp": "192.168.0.0/16", "Description": "bastion"}]})
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "vpc"}]}, second])
    return ids


def _database(rds: Any, db: str, pg: str, i: int, group: str) -> None:
    """An instance with its own parameter group (a user-set max_connections) and a manual
    snapshot."""
    rds.create_db_parameter_group(DBParameterGroupName=pg, DBParameterGroupFamily="postgres16",
                                  Description=f"{db} (bench)")
    rds.modify_db_parameter_group(DBParameterGroupName=pg, Parameters=[
        {"ParameterName": "max_connections", "ParameterValue": str(200 + i % 5 * 100),
         "ApplyMethod": "immediate"}])
    rds.create_db_instance(DBInstanceIdentifier=db, Engine="postgres",
                           DBInstanceClass=DB_CLASSES[i % len(DB_CLASSES)],
                           AllocatedStorage=100, MasterUsername="app",
                           MasterUserPassword="bench-not-a-secret", DBParameterGroupName=pg,
                           VpcSecurityGroupIds=[group], BackupRetentionPeriod=7)
    rds.create_db_snapshot(DBSnapshotIdentifier=f"{db}-manual", DBInstanceIdentifier=db)


def app_objects(namespace: str, app: str, index: int, created: datetime
                ) -> list[dict[str, Any]]:
    """An app's objects as the API server holds them (status, managedFields from helm)."""
    labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/managed-by": "Helm"}
    selector = {"matchLabels": {"app.kubernetes.io/name": app}}
    container = {
        "name": "app", "image": f"registry.example.com/{app}:1.{index % 7}.0",
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "CONFIG", "value": "/etc/app"}],
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"},
                      "limits": {"memory": "512Mi"}},
        "readinessProbe": {"httpGet": {"path": "/health/ready", "port": 8080},
                           "periodSeconds": 10},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}]}
    objects: list[dict[str, Any]] = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {
            "replicas": 3, "selector": selector, "template": {
                "metadata": {"labels": labels}, "spec": {
                    "containers": [container],
                    "volumes": [{"name": "config", "configMap": {"name": app}}]}}},
         "status": {"replicas": 3, "readyReplicas": 3, "availableReplicas": 3}},
        {"apiVersion": "v1", "kind": "Service", "spec": {
            "type": "ClusterIP", "selector": selector["matchLabels"],
            "clusterIP": f"172.20.{index // 250}.{index % 250 + 1}",
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}},
        configmap(namespace, app),
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
            "minReplicas": 3, "maxReplicas": 12, "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
         "spec": {"minAvailable": 2, "selector": selector}},
    ]
    for obj in objects:
        obj["metadata"] = {"name": app, "namespace": namespace, "labels": labels,
                           "creationTimestamp": created.strftime("%Y-%m-%dT%H:%M:%SZ")}
        fields = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "status")}
        manage(obj, "helm", {**fields, "metadata": {"labels": labels}}, created)
    return objects


def configmap(namespace: str, app: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": app, "namespace": namespace},
            "data": {"app.yaml": f"name: {app}\nport: 8080\npool: 20\n", "LOG_FORMAT": "json"}}


def load_kube(kube: FakeKubeApi, estate: Estate) -> None:
    kube.objects.clear()
    created = datetime.now(UTC) - timedelta(days=30)
    for namespace, apps in estate.apps.items():
        for index, app in enumerate(apps):
            kube.add(*app_objects(namespace, app, index, created))


def write_config(tmp: Path, estate: Estate) -> Path:
    """auditor.yaml (and its manifests) reading the whole estate: one environment per
    namespace, the first with the AWS names."""
    environments: dict[str, Any] = {}
    for namespace, apps in estate.apps.items():
        declared = [configmap(namespace, app) for app in apps[::DECLARED_EVERY]]
        manifest = tmp / "manifests" / f"{namespace}.yaml"
        manifest.parent.mkdir(exist_ok=True)
        manifest.write_text(yaml.safe_dump_all(declared), encoding="utf-8")
        environments[namespace] = {
            "manifests": [f"manifests/{namespace}.yaml"],
            "kubernetes": {"context": CONTEXT, "namespace": namespace}}
    first = environments[next(iter(environments))]
    first["aws"] = {"region": REGION, "security_groups": estate.security_groups,
                    "db_instances": estate.db_instances,
                    "parameter_groups": estate.parameter_groups,
                    "target_groups": estate.target_groups,
                    "load_balancers": estate.load_balancers}
    config = tmp / "auditor.yaml"
    config.write_text(yaml.safe_dump({"service": "bench-estate", "environments": environments},
                                     sort_keys=False), encoding="utf-8")
    return config


# ---- the fakes ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Moto:
    url: str
    pid: int

    def cpu_s(self) -> float:
        """The CPU seconds moto's process has used (all its threads)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def moto_process() -> Iterator[Moto]:
    """moto's server in a process of its own: its work does not share this process's GIL
    with the proxy and the Kubernetes API server, as AWS shares nothing with them."""
    proc = subprocess.Popen([sys.executable, __file__, SERVE_MOTO], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout
        yield Moto(f"http://127.0.0.1:{int(proc.stdout.readline())}", proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def serve_moto() -> None:
    """moto's server in this process (what moto_process runs): prints its port, then
    serves until it is ended."""
    import logging

    from moto.ec2.models import security_groups
    from moto.server import ThreadedMotoServer

    # moto matches every filter value against every group with a regular expression it
    # builds anew each time: DescribeSecurityGroups of 100 names among 2,000 groups takes
    # 0.9 s, most of a run's time. Built once per value, the same matching takes 0.14 s.
    security_groups.aws_api_matches = _aws_glob_matches  # type: ignore[attr-defined]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)
    threading.Event().wait()


@functools.cache
def _aws_glob(pattern: str) -> re.Pattern[str]:
    """moto.core.utils.aws_api_matches's regular expression for an AWS glob, compiled."""
    pattern = re.sub(r"(?<!\\)\*", ".*", pattern)
    pattern = re.sub(r"(?<!\\)\?", ".?", pattern)
    return re.compile(f"^{pattern}$")


def _aws_glob_matches(pattern: str, string: Any) -> bool:
    return _aws_glob(pattern).match(str(string)) is not None


def reset_moto(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200, f"moto reset: HTTP {answer.status}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The collector opens many connections at once: a burst can overflow the default
    # backlog of 5, and the client's SYN retry then adds a second to a request.
    request_queue_size = 128


class CountingProxy:
    """slow_proxy of bench/bench_triage.py that also counts: every request it forwards, and
    the most it holds at once (from arrival to answer, the latency included). A class of
    its own rather than a counting hop in front of slow_proxy, whose forwarding would add
    its own delay to each request counted."""

    def __init__(self, target: str) -> None:
        split = urlsplit(target)
        self.host, self.port = split.hostname or "127.0.0.1", split.port or 80
        self.latency = 0.0
        self.requests = self.in_flight = self.max_in_flight = 0
        self.calls: Counter[str] = Counter()  # requests per "service Operation"
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> CountingProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self, latency: float) -> None:
        with self._lock:
            self.latency, self.requests, self.max_in_flight = latency, 0, 0
            self.calls.clear()

    def _arrived(self) -> None:
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _called(self, call: str) -> None:
        with self._lock:
            self.calls[call] += 1

    def _answered(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                proxy._arrived()
                try:
                    self._answer()
                finally:
                    proxy._answered()

            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy._called(aws_call(self.command, self.path, self.headers, body))
                time.sleep(proxy.latency)
                relay(self, proxy.host, proxy.port, body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def aws_call(method: str, path: str, headers: Any, body: bytes) -> str:
    """A request's "service Operation": the service from its signature's scope, the
    operation from X-Amz-Target (JSON protocols) or Action (query protocols), else the
    method and path (REST protocols)."""
    scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", headers.get("Authorization", ""))
    service = scope.group(1) if scope else "?"
    if headers.get("X-Amz-Target"):
        return f"{service} {headers['X-Amz-Target'].rsplit('.', 1)[-1]}"
    action = parse_qs(body.decode(errors="replace")).get("Action")
    return f"{service} {action[0]}" if action else f"{service} {method} {urlsplit(path).path}"


# ---- one run ------------------------------------------------------------------------------

@dataclass
class Run:
    size: int
    latency_ms: float
    wall_s: float
    aws_requests: int
    aws_max_in_flight: int
    kube_requests: int
    peak_rss_mb: float
    # CPU seconds during the run: the auditor's (its workers included), moto's, and this
    # process's (the proxy and the fake Kubernetes API server). On few cores the fakes'
    # share is time the collector waits for them, which AWS and a cluster would not take.
    auditor_cpu_s: float
    moto_cpu_s: float
    fakes_cpu_s: float
    exit_code: int
    aws_calls: dict[str, int]  # requests per "service Operation", most first
    resources: dict[str, int]
    missing: list[str]  # why the snapshot is not the whole estate (empty: it is)


def child_env(tmp: Path, proxy: str, kubeconfig: Path) -> dict[str, str]:
    """The auditor's environment: only the fakes, with dummy credentials; nothing of the
    machine's AWS or Kubernetes settings, nor its HTTP proxies."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "BOTO_", "KUBE")) and not k.lower().endswith("_proxy")}
    # As installed tools run: their compiled bytecode cached, not every module compiled
    # again at each start (bench/measure.py).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return {**env, "AWS_ENDPOINT_URL": proxy, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(tmp / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true", "KUBECONFIG": str(kubeconfig)}


def snapshot(config: Path, output: Path, env: dict[str, str]
             ) -> tuple[float, int, float, float]:
    """(wall seconds, exit code, peak RSS MB, CPU seconds) of `auditor snapshot`, read from
    wait4: its peak is the largest of the process and the workers it waited for, its CPU
    theirs together."""
    command = [str(Path(sys.executable).with_name("auditor")), "snapshot", "--config",
               str(config), "--output", str(output), "--quiet"]
    with tempfile.TemporaryFile() as stderr:  # a file: a full pipe would block the child
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        said = stderr.read().decode(errors="replace").strip()
    if code not in (0, 3):  # 3: written, some kinds unread (checked with the counts)
        raise SystemExit(f"auditor snapshot exited {code}: {said[-800:]}")
    return seconds, code, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def tally(output: Path, estate: Estate) -> tuple[dict[str, int], list[str]]:
    """Resources per kind in the snapshot, and each way it falls short of the estate."""
    doc = json.loads(output.read_text(encoding="utf-8"))
    found = Counter(r["kind"] for env in doc["environments"].values()
                    for r in env["resources"])
    missing = [f"{kind}: {found.get(kind, 0)} of {want}"
               for kind, want in estate.expected.items() if found.get(kind, 0) != want]
    contents = sum(1 for env in doc["environments"].values() for r in env["resources"]
                   if r["kind"] == "ConfigMap" and "data" in r["body"])
    if contents != estate.declared:
        missing.append(f"ConfigMap contents: {contents} of the {estate.declared} declared")
    for name, env in doc["environments"].items():
        missing += [f"{name}: {kind} unavailable: {why}"
                    for kind, why in env["unavailable"].items()]
        missing += [f"{name}: problem: {p['message']}" for p in env["problems"]]
    return dict(sorted(found.items())), missing


def measure(estate: Estate, latency: float, config: Path, env: dict[str, str], moto: Moto,
            proxy: CountingProxy, kube: FakeKubeApi) -> Run:
    proxy.reset(latency)
    kube.requests.clear()
    kube.latency = latency
    output = config.parent / f"snapshot-{estate.size}-{latency * 1000:.0f}ms.json"
    moto_cpu, own_cpu = moto.cpu_s(), time.process_time()
    seconds, code, rss, cpu = snapshot(config, output, env)
    moto_cpu, own_cpu = moto.cpu_s() - moto_cpu, time.process_time() - own_cpu
    resources, missing = tally(output, estate)
    return Run(estate.size, round(latency * 1000, 1), round(seconds, 2), proxy.requests,
               proxy.max_in_flight, len(kube.requests), round(rss, 1), round(cpu, 2),
               round(moto_cpu, 2), round(own_cpu, 2), code, dict(proxy.calls.most_common()),
               resources, missing)


# ---- the report ---------------------------------------------------------------------------

def reference(runs: list[Run]) -> Run | None:
    """The run the budget judges, if this invocation made it."""
    return next((r for r in runs if r.size == BUDGET_SIZE
                 and r.latency_ms == round(BUDGET_LATENCY * 1000, 1)), None)


# Calls the API takes one object each: no batching can lower them (issue 19's budget of
# 150 requests at N=2,000 counts them too, and N/10 target groups alone make 200).
PER_OBJECT_CALLS = ("elasticloadbalancing DescribeTargetHealth", "rds DescribeDBParameters",
                    "elasticloadbalancing DescribeLoadBalancerAttributes",
                    "wafv2 GetWebACLForResource")


def per_object(run: Run) -> int:
    return sum(n for call, n in run.aws_calls.items() if call in PER_OBJECT_CALLS)


def judge(run: Run) -> list[str]:
    """Each budget ``run`` misses."""
    over = []
    if run.aws_requests > BUDGET_AWS_REQUESTS:
        over.append(f"aws_requests {run.aws_requests} > {BUDGET_AWS_REQUESTS}")
    if run.wall_s > BUDGET_SECONDS:
        over.append(f"wall_s {run.wall_s:.2f} > {BUDGET_SECONDS}")
    return over


def table(runs: list[Run], estates: list[Estate]) -> str:
    builds = "; ".join(f"N={e.size}: {e.build_s:.1f} s" for e in estates)
    lines = [f"AWS estate built in moto (not budgeted): {builds}", "",
             "| N | k8s objects | latency | wall s | AWS requests | AWS max in flight "
             "| k8s requests | peak RSS MB | CPU s: auditor / moto / proxy + k8s fake |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    apps = {e.size: sum(len(a) for a in e.apps.values()) * len(APP_KINDS) for e in estates}
    lines += [f"| {r.size:,} | {apps[r.size]:,} | {r.latency_ms:g} ms | {r.wall_s:.2f} "
              f"| {r.aws_requests} | {r.aws_max_in_flight} | {r.kube_requests} "
              f"| {r.peak_rss_mb:.0f} | {r.auditor_cpu_s:.1f} / {r.moto_cpu_s:.1f} / "
              f"{r.fakes_cpu_s:.1f} |" for r in runs]
    lines += ["", f"CPU s: used during the run ({cores()} cores here); what the fakes use is "
              "time the collector may wait for them that AWS and a cluster would not take."]
    last = runs[-1]
    lines += ["", f"AWS requests by call at N={last.size:,}, {last.latency_ms:g} ms: "
              + ", ".join(f"{call} {n}" for call, n in last.aws_calls.items())]
    lines += ["", "Resources per kind in each snapshot (all there): " + "; ".join(
        f"N={e.size}: " + ", ".join(f"{k} {v}" for k, v in e.expected.items())
        + f" ({e.declared} of the ConfigMaps declared: their contents read)"
        for e in estates)]
    return "\n".join(lines)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("boto3", "botocore", "moto", "kubernetes"):
        found[package] = metadata.version(package)
    # The collector measured: the commit, and whether auditor/ differs from it.
    git = ["git", "-C", str(REPO)]
    found["commit"] = subprocess.run([*git, "rev-parse", "--short", "HEAD"],
                                     capture_output=True, text=True).stdout.strip()
    changed = subprocess.run([*git, "status", "--porcelain", "auditor"],
                             capture_output=True, text=True).stdout.strip()
    found["auditor_tree"] = "modified" if changed else "clean"
    return found


def machine() -> dict[str, Any]:
    return {"system": platform.system(), "machine": platform.machine(), "cores": cores(),
            "processor": platform.processor() or platform.machine()}


# ---- the script ---------------------------------------------------------------------------

def _numbers(kind: Callable[[str], Any]) -> Callable[[str], tuple[Any, ...]]:
    return lambda text: tuple(kind(part) for part in text.split(",") if part.strip())


def run_all(sizes: tuple[int, ...], latencies: tuple[float, ...]
            ) -> tuple[list[Run], list[Estate]]:
    """Each size's estate built once, then `auditor snapshot` of it at each latency."""
    runs: list[Run] = []
    estates: list[Estate] = []
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp_dir, moto_process() as moto, \
            CountingProxy(moto.url) as proxy:
        tmp = Path(tmp_dir)
        kube = FakeKubeApi().start()
        try:
            env = child_env(tmp, proxy.url, write_kubeconfig(tmp / "kubeconfig", kube.url))
            for size in sizes:
                estate = plan(size)
                start = time.perf_counter()
                reset_moto(moto.url)
                build_aws(moto.url, estate)
                estate.build_s = round(time.perf_counter() - start, 1)
                load_kube(kube, estate)
                estates.append(estate)
                (tmp / f"n{size}").mkdir()
                config = write_config(tmp / f"n{size}", estate)
                for latency in latencies:
                    run = measure(estate, latency, config, env, moto, proxy, kube)
                    runs.append(run)
                    print(f"N={size:,} latency {run.latency_ms:g} ms: {run.wall_s:.2f} s, "
                          f"{run.aws_requests} AWS requests (at most {run.aws_max_in_flight} "
                          f"at once), {run.kube_requests} Kubernetes requests, "
                          f"{run.peak_rss_mb:.0f} MB", flush=True)
        finally:
            kube.stop()
    return runs, estates


def write_results(out: Path, runs: list[Run], estates: list[Estate], over: list[str]) -> None:
    out.write_text(json.dumps({
        "machine": machine(), "versions": versions(), "budget": {
            "size": BUDGET_SIZE, "latency_ms": BUDGET_LATENCY * 1000,
            "aws_requests": BUDGET_AWS_REQUESTS, "wall_s": BUDGET_SECONDS},
        "builds": [{"size": e.size, "aws_build_s": e.build_s, "expected": e.expected,
                    "configmaps_declared": e.declared} for e in estates],
        "runs": [asdict(r) for r in runs], "over": over}, indent=2) + "\n")
    print(f"\nwrote {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=_numbers(int), default=SIZES,
                        help="security groups per estate, comma-separated [200,2000]")
    parser.add_argument("--latencies", type=_numbers(float), default=LATENCIES,
                        help="seconds added per request, comma-separated [0,0.02]")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: N=20, no latency, no budget, no results file")
    parser.add_argument("--out", type=Path, default=None, help=f"[{OUT.relative_to(REPO)}]")
    parser.add_argument(SERVE_MOTO, action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_moto:
        serve_moto()
    sizes, latencies = ((20,), (0.0,)) if args.quick else (args.sizes, args.latencies)
    runs, estates = run_all(sizes, latencies)
    judged = None if args.quick else reference(runs)
    over = judge(judged) if judged else []
    print()
    print(table(runs, estates))
    out = args.out or (None if args.quick else OUT)
    if out:
        write_results(out, runs, estates, over)
    incomplete = [f"N={r.size} {r.latency_ms:g} ms: {m}" for r in runs for m in r.missing]
    if incomplete:
        print("INCOMPLETE: a snapshot is not the whole estate:\n  " + "\n  ".join(incomplete))
        return 2
    if judged:
        single = per_object(judged)
        print(f"at N={BUDGET_SIZE:,}, {BUDGET_LATENCY * 1000:g} ms: {single} of the "
              f"{judged.aws_requests} AWS requests take one object each "
              f"({', '.join(PER_OBJECT_CALLS)}); the other {judged.aws_requests - single} "
              "are the batched reads")
    for line in over:
        print(f"OVER budget at N={BUDGET_SIZE:,}, {BUDGET_LATENCY * 1000:g} ms: {line}")
    if over:
        return 1
    print("all budgets ok" if judged else
          f"no budget judged (it holds at N={BUDGET_SIZE:,}, {BUDGET_LATENCY * 1000:g} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
