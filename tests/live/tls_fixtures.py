"""Real local TLS servers for the TLS collector's tests, with trustme certificates.

Each server is a listening socket on 127.0.0.1 served by a thread: a TLS server completes
real handshakes with the certificate it was given, a plain server answers like an HTTP
server that speaks no TLS, a silent server accepts and never answers. Nothing leaves the
machine.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta

import trustme

Handler = Callable[[socket.socket], None]


class LocalServer:
    """A thread accepting connections on 127.0.0.1 and handing each to ``handle``."""

    def __init__(self, handle: Handler) -> None:
        self._handle = handle
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)  # lets the thread notice stop() between accepts
        self.port: int = self._sock.getsockname()[1]
        self.connections = 0
        self._handled = 0
        self._settled = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(5)
                with suppress(OSError):  # a client that gives up mid-handshake is fine
                    self._handle(conn)
            with self._settled:
                self._handled += 1
                self._settled.notify_all()

    def settle(self, timeout: float = 5.0) -> bool:
        """Waits until every connection accepted so far has been handled (the client may
        be done with a connection before this thread has counted what happened on it);
        False if that took longer than ``timeout``."""
        with self._settled:
            return self._settled.wait_for(lambda: self._handled >= self.connections, timeout)

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


class TlsHandler:
    """Completes a TLS handshake with ``cert``, then records whatever the client sends
    until it closes (a read-only prober sends nothing after the handshake)."""

    def __init__(self, cert: trustme.LeafCert) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(self.context)
        self.handshakes = 0
        self.received = b""

    def __call__(self, conn: socket.socket) -> None:
        with self.context.wrap_socket(conn, server_side=True) as tls:
            self.handshakes += 1
            while chunk := tls.recv(4096):
                self.received += chunk


def plain_http_handler(conn: socket.socket) -> None:
    """An HTTP server on the port the URL says is HTTPS: the ClientHello is garbage to it."""
    conn.recv(1024)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def silent_handler(conn: socket.socket) -> None:
    """Accepts and never answers, like a black-holed load balancer."""
    conn.recv(1024)
    with suppress(OSError):
        conn.recv(1024)


@contextmanager
def serving(handle: Handler) -> Iterator[LocalServer]:
    server = LocalServer(handle).start()
    try:
        yield server
    finally:
        server.stop()


def leaf(ca: trustme.CA, days: float, *names: str) -> trustme.LeafCert:
    """A certificate for ``names`` (default localhost and 127.0.0.1) that expires in
    ``days`` (negative: already expired)."""
    now = datetime.now(UTC)
    return ca.issue_cert(*(names or ("localhost", "127.0.0.1")),
                         not_before=now - timedelta(days=30) + timedelta(days=min(days, 0)),
                         not_after=now + timedelta(days=days))
