"""A port on 127.0.0.1 where connections are refused, for the tests of unreachable servers."""

from __future__ import annotations

import socket

_held: list[socket.socket] = []  # open until the process ends


def refused_port() -> int:
    """Bound by this process and never listened on: a connection is refused, and no other
    process (a test run beside this one) can take the port meanwhile, as it could between
    closing a probe socket and using its number."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    _held.append(sock)
    port: int = sock.getsockname()[1]
    return port
