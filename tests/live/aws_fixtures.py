"""A local AWS for the AWS collector's tests: moto's server over real HTTP, and a fault
server that fails the way AWS fails (the chess-ai stack built in moto is chess_ai_aws.py).

moto runs once per session (its first EC2 call takes seconds) on 127.0.0.1 at a free port.
Every test starts from an empty account (``POST /moto-api/reset``), with dummy credentials,
``AWS_ENDPOINT_URL`` pointing at moto, no shared config files and no instance metadata, so
nothing can reach a real account. The fault server answers in each protocol's own error
format (query XML, EC2 XML, JSON, CBOR) so botocore parses the error code as it would from
AWS; a test routes one service to it with ``AWS_ENDPOINT_URL_<SERVICE>``.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.live.cloudtrail_fixture import CloudTrailServer

# What tests/live/conftest.py re-exports: the fixtures (helpers are imported by name).
__all__ = ["aws", "fault_server", "moto_server"]

REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in reports
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    with eks_answers_like_aws():
        yield f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    server.stop()


@contextmanager
def eks_answers_like_aws() -> Iterator[None]:
    """EKS answers ListNodegroups for a cluster that does not exist with
    ResourceNotFoundException; moto fails with a 500 (a KeyError)."""
    from moto.eks.exceptions import ResourceNotFoundException
    from moto.eks.models import CLUSTER_NOT_FOUND_MSG, EKSBackend

    original = EKSBackend.list_nodegroups

    def list_nodegroups(self: EKSBackend, cluster_name: str, **kwargs: Any) -> Any:
        if cluster_name not in self.clusters:
            raise ResourceNotFoundException(
                clusterName=cluster_name, nodegroupName=None, fargateProfileName=None,
                addonName=None, message=CLUSTER_NOT_FOUND_MSG.format(clusterName=cluster_name))
        return original(self, cluster_name, **kwargs)

    EKSBackend.list_nodegroups = list_nodegroups  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        EKSBackend.list_nodegroups = original  # type: ignore[method-assign]


@pytest.fixture
def aws(moto_server: str, cloudtrail_server: CloudTrailServer,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """An empty moto account, reachable only through the environment, as a user's would be.
    CloudTrail (which moto lacks) is the local one, with no events, and is not paced at 2
    calls a second (the CloudTrail tests pace it again)."""
    from auditor.live.aws import cloudtrail

    for var in list(os.environ):
        if var.startswith(("AWS_", "BOTO_")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", cloudtrail_server.url)
    cloudtrail_server.upstream = moto_server
    monkeypatch.setattr(cloudtrail, "CALLS_PER_SECOND", 1000.0)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    isolate(monkeypatch, tmp_path)
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    return moto_server


def client(service: str) -> Any:
    """A client of moto itself (never of a fault server), made once per session."""
    return _client(service, os.environ["AWS_ENDPOINT_URL"])


@functools.cache
def _client(service: str, endpoint: str) -> Any:
    return boto3.Session(region_name=REGION, aws_access_key_id="testing",
                         aws_secret_access_key="testing").client(service, endpoint_url=endpoint)


def isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ~/.aws, no ~/.boto, no instance metadata: only what the test sets counts."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("BOTO_CONFIG", str(tmp_path / "no-boto-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


# ---- a server that fails like AWS -------------------------------------------------------

# mode -> (HTTP status, error code for JSON protocols, error code for query protocols)
FAULTS = {
    "500": (500, "InternalFailure", "InternalError"),
    "throttle": (400, "ThrottlingException", "Throttling"),
    "403": (403, "AccessDeniedException", "AccessDenied"),
}


class FaultServer:
    """Answers every request with the fault ``mode`` (see FAULTS), or, in mode "hang",
    answers only after ``delay`` seconds. Counts the requests it received. With ``only``
    (API operation names), other operations are passed on to ``upstream`` (moto) and its
    answer relayed, so one call of a service can fail while the others succeed."""

    def __init__(self, mode: str, delay: float = 3.0, only: set[str] | None = None,
                 upstream: str | None = None) -> None:
        self.mode, self.delay, self.only, self.upstream = mode, delay, only, upstream
        self.requests: list[str] = []
        # Every request's operation, relayed or not, and the most answered at once; each
        # waits `latency` seconds first (a round trip to AWS).
        self.operations: list[str] = []
        self.latency = 0.0
        self.max_in_flight = 0
        self._flight = 0
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the http.server API
                outer._answer(self)

            def do_GET(self) -> None:  # REST-JSON reads are GETs
                outer._answer(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        with self._lock:
            self.operations.append(_operation(handler, raw))
            self._flight += 1
            self.max_in_flight = max(self.max_in_flight, self._flight)
        try:
            time.sleep(self.latency)
            self._respond(handler, raw)
        finally:
            with self._lock:
                self._flight -= 1

    def _respond(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        if self.only is not None and _operation(handler, raw) not in self.only:
            self._relay(handler, raw)
            return
        self.requests.append(handler.path)
        if self.mode == "hang":
            time.sleep(self.delay)
            return  # closes without an answer, long after the client gave up
        status, json_code, query_code = FAULTS[self.mode]
        kind = handler.headers.get("Content-Type", "")
        headers: dict[str, str] = {}
        if "x-www-form-urlencoded" in kind:  # query protocols: RDS, ELBv2, EC2
            form = parse_qs(raw.decode())
            error = (f"<Error><Code>{query_code}</Code><Message>injected {self.mode}</Message>"
                     "</Error>")
            body = (f"<Response><Errors>{error}</Errors><RequestID>r</RequestID></Response>"
                    if form.get("Version") == ["2016-11-15"] else
                    f"<ErrorResponse>{error}<RequestId>r</RequestId></ErrorResponse>").encode()
            headers["Content-Type"] = "text/xml"
        elif "cbor" in kind:  # smithy RPC v2 CBOR: CloudWatch
            body = _cbor_map({"__type": json_code, "message": f"injected {self.mode}"})
            headers.update({"Content-Type": "application/cbor",
                            "smithy-protocol": "rpc-v2-cbor"})
        else:  # JSON and REST-JSON
            body = json.dumps({"__type": json_code, "message": f"injected {self.mode}"}).encode()
            headers.update({"Content-Type": "application/json", "x-amzn-ErrorType": json_code})
        handler.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)


    def _relay(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        assert self.upstream, "a FaultServer with `only` needs an upstream"
        request = urllib.request.Request(
            self.upstream + handler.path, data=raw or None, method=handler.command,
            headers={k: v for k, v in handler.headers.items() if k.lower() != "host"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, headers, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, headers, body = exc.code, exc.headers, exc.read()
        handler.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection",
                                    "server", "date"):
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


def _operation(handler: BaseHTTPRequestHandler, raw: bytes) -> str:
    """The API operation of a request: the query protocols' Action, or X-Amz-Target's."""
    target = handler.headers.get("X-Amz-Target", "")
    if target:
        return target.rsplit(".", 1)[-1]
    return (parse_qs(raw.decode()).get("Action") or [""])[0]


def _cbor_map(items: dict[str, str]) -> bytes:
    """A CBOR map of short text strings (all the error body needs)."""
    def text(value: str) -> bytes:
        data = value.encode()
        return (bytes([0x60 + len(data)]) if len(data) < 24 else bytes([0x78, len(data)])) + data

    return bytes([0xA0 + len(items)]) + b"".join(text(k) + text(v) for k, v in items.items())


@pytest.fixture
def fault_server() -> Iterator[type[FaultServer]]:
    started: list[FaultServer] = []

    class Started(FaultServer):
        def __init__(self, mode: str, delay: float = 3.0, only: set[str] | None = None,
                     upstream: str | None = None) -> None:
            super().__init__(mode, delay, only, upstream)
            started.append(self)

    yield Started
    for server in started:
        server.stop()
