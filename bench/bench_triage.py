"""Section triage beside a full audit, over the local fakes with a round trip per request
(run with `make bench-triage`, not in the tests).

The example's production runs as the recording script builds it (the fake Kubernetes API
server, moto, the local CloudTrail and TLS endpoint: scripts/record_example_snapshot.py),
with LATENCY seconds added to every Kubernetes, AWS and CloudTrail request (AWS through a
forwarding proxy in front of moto). `auditor audit` of the whole config and `auditor audit
--section SECTION` run in turns, RUNS times each, in this process (the fakes' hooks live
here); CloudTrail is read at its real pace (2 calls a second). Prints the medians and
exits 1 when the triage takes more than BUDGET of the full audit (the full audit with
CloudTrail unpaced is printed beside it, for comparison).
"""

from __future__ import annotations

import argparse
import gc
import http.client
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from click.testing import CliRunner  # noqa: E402

from auditor.cli import GC_YOUNG, cli  # noqa: E402
from scripts.record_example_snapshot import _env, live_world, local_aws  # noqa: E402

LATENCY = 0.020
RUNS = 3
SECTION = "scale-up-pods"
BUDGET = 0.25  # the triage's share of a full audit's time, at most


def relay(handler: BaseHTTPRequestHandler, host: str, port: int, body: bytes) -> None:
    """Sends the request ``handler`` holds (``body``: its body, already read) on to
    host:port, and the answer back."""
    conn = http.client.HTTPConnection(host, port, timeout=60)
    headers = {k: v for k, v in handler.headers.items() if k.lower() != "connection"}
    conn.request(handler.command, handler.path, body=body, headers=headers)
    answer = conn.getresponse()
    data = answer.read()
    handler.send_response(answer.status)
    for name, value in answer.getheaders():
        if name.lower() not in ("content-length", "connection", "transfer-encoding"):
            handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
    conn.close()


@contextmanager
def slow_proxy(target: str, latency: list[float]) -> Iterator[str]:
    """An HTTP proxy to ``target`` that waits ``latency[0]`` seconds before each answer."""
    host, port = urlsplit(target).hostname or "127.0.0.1", urlsplit(target).port or 80

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            time.sleep(latency[0])
            relay(self, host, port, body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@contextmanager
def _cloudtrail_unpaced() -> Iterator[None]:
    from auditor.live.aws import cloudtrail

    paced = cloudtrail.CALLS_PER_SECOND
    cloudtrail.CALLS_PER_SECOND = 1000.0
    try:
        yield
    finally:
        cloudtrail.CALLS_PER_SECOND = paced


def _audit(root: Path, *extra: str) -> float:
    start = time.perf_counter()
    result = CliRunner().invoke(cli, ["audit", "--config", str(root), "--format", "json",
                                      "--quiet", *extra])
    seconds = time.perf_counter() - start
    if result.exit_code not in (0, 1):
        raise SystemExit(f"audit {' '.join(extra)} exited {result.exit_code}: "
                         f"{result.stderr.strip()}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=LATENCY)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--section", default=SECTION)
    args = parser.parse_args(argv)
    delay = [0.0]
    with tempfile.TemporaryDirectory(prefix="bench-triage-") as tmp_dir:
        tmp = Path(tmp_dir)
        with local_aws(tmp) as url, live_world(tmp, url) as world, \
                slow_proxy(url, delay) as proxy, _env("AWS_ENDPOINT_URL", proxy):
            delay[0] = world.kube.latency = world.trail.latency = args.latency
            # As the `auditor` command runs (auditor.cli.main), and with the fakes' own
            # heap (moto's estate) out of the collector's way: it is not the auditor's.
            gc.collect()
            gc.freeze()
            gc.set_threshold(GC_YOUNG, 20, 20)
            full, unpaced, triage = [], [], []
            for _ in range(args.runs):  # in turns, so drift in the machine hits all
                full.append(_audit(world.root))
                with _cloudtrail_unpaced():
                    unpaced.append(_audit(world.root))
                triage.append(_audit(world.root, "--section", args.section))
            requests = len(world.kube.requests)
    full_s, triage_s = statistics.median(full), statistics.median(triage)
    unpaced_s = statistics.median(unpaced)
    ratio = triage_s / full_s
    print(f"latency {args.latency * 1000:.0f} ms per request, medians of {args.runs}: "
          f"full audit {full_s:.2f} s, --section {args.section} {triage_s:.2f} s, "
          f"ratio {ratio:.2f} (budget {BUDGET}); {requests} Kubernetes requests in all")
    print(f"for comparison, not budgeted: the full audit with CloudTrail unpaced (as if it "
          f"allowed any rate) {unpaced_s:.2f} s")
    if ratio > BUDGET:
        print(f"over budget: triage_ratio {ratio:.2f} > {BUDGET}")
        return 1
    print("all budgets ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
