"""``auditor site serve``: the built site over HTTP on 127.0.0.1 (a plain static server;
MkDocs' own live-reload server would rebuild from ``docs_dir``, which is our staging)."""

from __future__ import annotations

import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path as FsPath
from typing import Any

HOST = "127.0.0.1"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A browser that leaves a page mid-download closes the socket: not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def make_server(directory: FsPath, port: int = 8000) -> ThreadingHTTPServer:
    """A server for ``directory`` on 127.0.0.1 only (port 0 picks a free one)."""
    handler = partial(_QuietHandler, directory=str(directory))
    return _Server((HOST, port), handler)


def url(server: ThreadingHTTPServer) -> str:
    return f"http://{HOST}:{server.server_address[1]}/"
