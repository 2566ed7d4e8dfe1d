"""The TLS collector against real TLS servers on 127.0.0.1 with trustme certificates, and
the cert-expiry policy on what it collects."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme

from auditor import engine
from auditor.config import Config
from auditor.live import tls
from auditor.live.collect import collect
from auditor.models import Inventory, Resource
from auditor.policies import PACK_DIR, load_file
from tests.live.ports import refused_port
from tests.live.tls_fixtures import (
    LocalServer,
    TlsHandler,
    leaf,
    plain_http_handler,
    serving,
    silent_handler,
)

pytestmark = pytest.mark.clock  # date-sensitive: `make clock` runs it with the clock moved

CERT_EXPIRY = load_file(PACK_DIR / "cert-expiry.yaml")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA(organization_name="Test Trust")


@pytest.fixture
def trusted(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system trust store is the test CA: SSL_CERT_FILE points at its bundle."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return bundle


@pytest.fixture
def server(ca: trustme.CA) -> Iterator[tuple[LocalServer, TlsHandler]]:
    handler = TlsHandler(leaf(ca, 200))
    with serving(handler) as srv:
        yield srv, handler


def _config(urls: list[str]) -> Config:
    return Config.model_validate({"service": "chess-ai",
                                  "environments": {"prod": {"endpoints": urls}}})


def _collect(*urls: str) -> tuple[dict[str, dict[str, object]], list[str]]:
    config = _config(list(urls))
    found = collect(config, "prod", config.environments["prod"], [], progress=lambda _: None)
    assert found.unavailable == {}  # an endpoint's failure is its own fact, not a lost kind
    assert all(r.kind == "TLSEndpoint" and r.source == "tls" for r in found.resources)
    return {r.name: r.body for r in found.resources}, [p.message for p in found.problems]


def _days_left(body: dict[str, object]) -> float:
    moment = datetime.fromisoformat(str(body["not_after"]))
    return (moment - datetime.now(UTC)) / timedelta(days=1)


def test_trusted_certificate_is_verified_with_its_expiry_and_names(
        trusted: Path, server: tuple[LocalServer, TlsHandler]) -> None:
    srv, handler = server
    bodies, problems = _collect(f"https://localhost:{srv.port}/health/ready")
    body = bodies[f"localhost:{srv.port}"]
    assert problems == []
    assert body["reachable"] is True and body["verified"] is True and body["error"] is None
    assert body["url"] == f"https://localhost:{srv.port}/health/ready"
    assert (body["host"], body["port"]) == ("localhost", srv.port)
    assert str(body["not_after"]).endswith("Z") and 199 < _days_left(body) <= 200
    assert body["dns_names"] == ["localhost"]
    assert "O=Test Trust" in str(body["issuer"]) and body["subject"] != body["issuer"]
    # Read-only: a handshake and nothing else; no HTTP request reaches the server.
    assert srv.settle() and handler.handshakes == 1 and handler.received == b""


def test_ssl_cert_file_is_what_decides_trust(
        ca: trustme.CA, trusted: Path, server: tuple[LocalServer, TlsHandler],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """create_default_context() reads SSL_CERT_FILE when called: the same server is trusted
    or not depending only on the variable at collection time."""
    srv, _ = server
    url = f"https://localhost:{srv.port}"
    assert _collect(url)[0][f"localhost:{srv.port}"]["verified"] is True
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    body = _collect(url)[0][f"localhost:{srv.port}"]
    assert body["verified"] is False and "unable to get local issuer" in str(body["error"])
    assert body["reachable"] is True and 199 < _days_left(body) <= 200  # expiry still read


def test_untrusted_ca_still_reports_the_expiry(trusted: Path) -> None:
    stranger = trustme.CA(organization_name="Nobody Trusts Me")
    with serving(TlsHandler(leaf(stranger, 60))) as srv:
        body = _collect(f"https://localhost:{srv.port}")[0][f"localhost:{srv.port}"]
        assert srv.connections == 2  # verified attempt, then one without verification
    assert body["reachable"] is True and body["verified"] is False
    assert str(body["error"]).startswith("certificate not trusted: unable to get local issuer")
    assert 59 < _days_left(body) <= 60 and "Nobody Trusts Me" in str(body["issuer"])


def test_host_name_mismatch_is_not_verified(ca: trustme.CA, trusted: Path) -> None:
    with serving(TlsHandler(leaf(ca, 200, "chess-ai.example.com"))) as srv:
        body = _collect(f"https://localhost:{srv.port}")[0][f"localhost:{srv.port}"]
    assert body["verified"] is False and "Hostname mismatch" in str(body["error"])
    assert body["dns_names"] == ["chess-ai.example.com"]


def test_expired_certificate_is_read_with_its_past_expiry(ca: trustme.CA, trusted: Path) -> None:
    with serving(TlsHandler(leaf(ca, -3))) as srv:
        body = _collect(f"https://127.0.0.1:{srv.port}")[0][f"127.0.0.1:{srv.port}"]
    assert body["verified"] is False and "expired" in str(body["error"])
    assert -3.01 < _days_left(body) < -2.9


def test_unreachable_and_non_tls_endpoints_are_endpoints_with_an_error(trusted: Path) -> None:
    port = refused_port()
    with serving(plain_http_handler) as plain:
        bodies, _ = _collect(f"https://127.0.0.1:{port}", f"https://localhost:{plain.port}")
    refused, not_tls = bodies[f"127.0.0.1:{port}"], bodies[f"localhost:{plain.port}"]
    for body in (refused, not_tls):
        assert body["reachable"] is False and body["verified"] is False
        assert body["not_after"] is None and body["dns_names"] == []
    assert refused["error"] == "connection refused"
    assert str(not_tls["error"]).startswith("TLS handshake failed:")
    assert "_ssl.c" not in str(not_tls["error"])


def test_a_silent_server_times_out(trusted: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tls, "TIMEOUT", 0.5)
    with serving(silent_handler) as srv:
        body = _collect(f"https://localhost:{srv.port}")[0][f"localhost:{srv.port}"]
    assert body["reachable"] is False and "timed out" in str(body["error"])


def test_unresolvable_host(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: object, **kwargs: object) -> socket.socket:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "create_connection", no_dns)  # no DNS query leaves
    body = tls.probe("https://chess-ai.invalid", "chess-ai.invalid", 443)
    assert body["reachable"] is False
    assert body["error"] == "cannot resolve the host name: Name or service not known"


def test_urls_are_parsed_deduplicated_and_bad_ones_are_problems(
        trusted: Path, server: tuple[LocalServer, TlsHandler]) -> None:
    srv, handler = server
    bodies, problems = _collect(f"https://localhost:{srv.port}/a", f"localhost:{srv.port}",
                                "http://chess-ai.example.com/", "https://:443/")
    assert list(bodies) == [f"localhost:{srv.port}"]
    assert srv.settle() and handler.handshakes == 1
    assert bodies[f"localhost:{srv.port}"]["url"] == f"https://localhost:{srv.port}/a"
    assert problems == ["endpoint 'http://chess-ai.example.com/': only https:// URLs carry a "
                        "certificate (got http://)", "endpoint 'https://:443/': no host name"]


@pytest.mark.parametrize(("url", "expected"), [
    ("https://chess-ai.example.com", ("chess-ai.example.com", 443)),
    ("https://chess-ai.example.com:8443/health", ("chess-ai.example.com", 8443)),
    ("chess-ai.example.com", ("chess-ai.example.com", 443)),
    ("https://[::1]:9443/", ("::1", 9443)),
])
def test_parse_endpoint(url: str, expected: tuple[str, int]) -> None:
    assert tls.parse_endpoint(url) == expected
    assert tls.endpoint_name(*expected).endswith(f":{expected[1]}")


def test_a_crashing_collector_costs_only_its_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object) -> dict[str, object]:
        raise RuntimeError("kaput")

    monkeypatch.setattr(tls, "probe", boom)
    config = _config(["x.test"])
    found = collect(config, "prod", config.environments["prod"], [], progress=lambda _: None)
    assert list(found.unavailable) == ["TLSEndpoint"] and "kaput" in found.unavailable[
        "TLSEndpoint"]


def test_cert_expiry_on_collected_endpoints(ca: trustme.CA, trusted: Path) -> None:
    """The whole path: real servers -> collector -> cert-expiry through the engine."""
    stranger = trustme.CA()
    handlers = [TlsHandler(leaf(ca, 5)), TlsHandler(leaf(ca, 20)), TlsHandler(leaf(ca, 200)),
                TlsHandler(leaf(stranger, 200))]
    with serving(handlers[0]) as soon, serving(handlers[1]) as month, \
            serving(handlers[2]) as fine, serving(handlers[3]) as untrusted:
        ports = [s.port for s in (soon, month, fine, untrusted)]
        config = _config([f"https://localhost:{p}" for p in [*ports, refused_port()]])
        found = collect(config, "prod", config.environments["prod"], [],
                        progress=lambda _: None)
    inventory = Inventory("prod", "live", found.resources, [], {}, found.unavailable)
    results = {r.name: r for r in engine.evaluate([CERT_EXPIRY], inventory, {})}
    by_port = [results[f"localhost:{p}"] for p in ports]
    assert [r.status for r in by_port] == ["fail", "fail", "pass", "fail"]
    assert "expires in 4 days" in by_port[0].message
    assert "critical: expires within 7 days" in by_port[0].message
    assert by_port[0].details["critical"] is True
    assert "expires in 19 days" in by_port[1].message and "critical" not in by_port[1].message
    assert "certificate not trusted" in by_port[3].message
    unreachable = next(r for r in results.values() if r.status == "error")
    assert "could not be reached: connection refused" in unreachable.message


def test_cert_expiry_thresholds_and_clock() -> None:
    body = {"url": "https://h", "host": "h", "port": 443, "reachable": True,
            "verified": True, "not_after": "2026-12-27T12:00:00Z"}
    inv = Inventory("prod", "live", [Resource("TLSEndpoint", "h:443", body, "tls")], [], {})

    def status(now: str, **params: object) -> str:
        (result,) = engine.evaluate([CERT_EXPIRY], inv, {"now": now, **params})
        return result.status

    assert status("2026-11-27T12:00:00Z") == "pass"  # exactly 30 days left
    assert status("2026-11-27T12:00:01Z") == "fail"
    assert status("2026-11-27T12:00:01Z", warn_days=14) == "pass"
    (bad,) = engine.evaluate([CERT_EXPIRY], inv, {"now": "next tuesday"})
    assert bad.status == "error" and "not an ISO 8601" in bad.message


def test_an_unreadable_kind_makes_cert_expiry_an_error() -> None:
    inv = Inventory("prod", "live", [], [], {}, {"Certificate": "403 Forbidden"})
    (result,) = engine.evaluate([CERT_EXPIRY], inv, {})
    assert result.status == "error" and "403 Forbidden" in result.message


def test_describe_parses_der(ca: trustme.CA) -> None:
    cert = leaf(ca, 10, "a.example", "b.example")
    der = ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())
    facts = tls.describe(der)
    assert facts["dns_names"] == ["a.example", "b.example"]
    assert 9.9 < _days_left(facts) <= 10
