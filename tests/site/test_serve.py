"""``auditor site serve``'s server: the built directory over HTTP on 127.0.0.1 only."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path

from auditor.site.serve import make_server, url
from tests.conftest import CliResult

Run = Callable[..., CliResult]


def test_serves_the_built_directory_on_loopback(tmp_path: Path) -> None:
    (tmp_path / "dashboard").mkdir()
    (tmp_path / "dashboard" / "index.html").write_text("<h1>ok</h1>", encoding="utf-8")
    server = make_server(tmp_path, port=0)
    assert server.server_address[0] == "127.0.0.1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(url(server) + "dashboard/", timeout=5) as response:
            assert response.status == 200 and response.read() == b"<h1>ok</h1>"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_serve_help_names_the_address(run_cli: Run) -> None:
    result = run_cli("site", "serve", "--help")
    assert result.exit_code == 0 and "127.0.0.1" in result.stdout
