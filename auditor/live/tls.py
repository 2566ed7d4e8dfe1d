"""TLS endpoints: the leaf certificate each configured ``https://`` URL serves.

For each URL in the environment's ``endpoints`` this opens a TCP connection and a TLS
handshake with SNI set to the host, verifying the chain and host name against the system
trust store (``ssl.create_default_context()``, which honours ``SSL_CERT_FILE``). When
verification fails it connects once more with verification off, so an untrusted or
expired certificate still reports its expiry and the check can say what is wrong. The
handshake is all it sends: no HTTP request. An endpoint that cannot be reached is still a
``TLSEndpoint`` (``reachable: false`` with the error), because "cannot connect" is a fact
about that endpoint for the check to report, not an unreadable kind.
"""

from __future__ import annotations

import re
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from auditor.config import Config, Environment
from auditor.live.base import LiveCollected, iso
from auditor.models import Location, Problem, Resource

KINDS = ("TLSEndpoint",)
TIMEOUT = 10.0  # seconds per connection attempt (connect and handshake)
_WORKERS = 8
_SSL_SOURCE = re.compile(r"\s*\(_ssl\.c:\d+\)")  # CPython's source line: noise to a reader


def collect(config: Config, env_name: str, env: Environment,
            declared: list[Resource], kinds: frozenset[str] | None = None) -> LiveCollected:
    out = LiveCollected()  # (one kind: `kinds` without it does not call this collector)
    targets: dict[str, tuple[str, str, int]] = {}  # host:port -> (url, host, port)
    for i, url in enumerate(env.endpoints):
        try:
            host, port = parse_endpoint(url)
        except ValueError as exc:
            line = config.line_of(("environments", env_name, "endpoints", i))
            out.problems.append(Problem("tls", f"endpoint {url!r}: {exc}",
                                        Location(config.config_rel(), line)))
            continue
        # Several paths on one host:port serve one certificate: probe it once.
        targets.setdefault(endpoint_name(host, port), (url, host, port))
    if not targets:
        return out
    with ThreadPoolExecutor(max_workers=min(_WORKERS, len(targets)),
                            thread_name_prefix="tls") as pool:
        bodies = list(pool.map(lambda t: probe(*t), targets.values()))
    for name, body in zip(targets, bodies, strict=True):
        out.resources.append(Resource(kind="TLSEndpoint", name=name, body=body, source="tls"))
    return out


def parse_endpoint(url: str) -> tuple[str, int]:
    """(host, port) of ``https://host[:port][/path]``; a bare ``host[:port]`` means https."""
    text = url.strip()
    parts = urlsplit(text if "://" in text else f"https://{text}")
    if parts.scheme != "https":
        raise ValueError(f"only https:// URLs carry a certificate (got {parts.scheme}://)")
    try:
        port = parts.port or 443
    except ValueError:
        raise ValueError("the port is not a number between 0 and 65535") from None
    if not parts.hostname:
        raise ValueError("no host name")
    return parts.hostname, port


def endpoint_name(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def probe(url: str, host: str, port: int, timeout: float | None = None) -> dict[str, Any]:
    """The ``TLSEndpoint`` body for one endpoint; never raises for a network failure."""
    body: dict[str, Any] = {"url": url, "host": host, "port": port, "reachable": False,
                            "verified": False, "error": None, "not_after": None,
                            "subject": None, "issuer": None, "dns_names": []}
    wait = TIMEOUT if timeout is None else timeout
    # Created per probe so the trust store (SSL_CERT_FILE) is read as it is now.
    verifying = ssl.create_default_context()
    try:
        der = _leaf(host, port, verifying, wait)
        body["verified"] = True
    except ssl.SSLCertVerificationError as exc:
        # The chain or the name did not verify: read the certificate anyway, for its
        # expiry, and keep why it is not trusted.
        body["error"] = f"certificate not trusted: {exc.verify_message or exc.reason}"
        try:
            der = _leaf(host, port, _unverified(), wait)
        except (OSError, ssl.SSLError) as again:
            body["error"] += f"; reading it without verification failed too: {_why(again)}"
            return body
    except (OSError, ssl.SSLError) as exc:  # refused, DNS, timeout, not TLS, ...
        body["error"] = _why(exc)
        return body
    body["reachable"] = True
    if der is None:
        body["error"] = "the server sent no certificate"
        return body
    try:
        body.update(describe(der))
    except ValueError as exc:
        body["error"] = f"cannot parse the certificate: {exc}"
    return body


def _leaf(host: str, port: int, context: ssl.SSLContext, timeout: float) -> bytes | None:
    with socket.create_connection((host, port), timeout=timeout) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls:
        return tls.getpeercert(binary_form=True)


def _unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False  # must be off before verify_mode can be CERT_NONE
    context.verify_mode = ssl.CERT_NONE
    return context


def describe(der: bytes) -> dict[str, Any]:
    """Expiry, subject, issuer and DNS names of a DER certificate (``getpeercert()`` is
    empty when verification is off, so the bytes are parsed here)."""
    from cryptography import x509  # only an audit with endpoints needs it

    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = san.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    return {"not_after": iso(cert.not_valid_after_utc),
            "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(), "dns_names": list(names)}


def _why(exc: BaseException) -> str:
    """One line a reader can act on, for any connection failure."""
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError
        return "timed out connecting or during the TLS handshake"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name: {exc.strerror or exc}"
    if isinstance(exc, ssl.SSLError):  # e.g. a plain-HTTP server on the port
        text = _SSL_SOURCE.sub("", exc.strerror or str(exc))
        return f"TLS handshake failed: {text}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot connect: {exc.strerror}"
    return f"cannot connect: {exc!r}"
