"""Fixtures for the real-browser tests: the example's site built from a real audit, served
on 127.0.0.1, opened in Debian's headless Chromium through Playwright.

Two sites are built, each served by `auditor site serve`'s own server on a free port:
"main" from the example's real JSON audit plus an older copy of it (one finding fewer, a
day earlier) so the history and "since" have something to show, and "hostile" from the
same pair with that finding's resource name and message replaced by markup. The browser
gets a fresh profile and a context-wide route that aborts (and records) every request that
is not to one of the two servers. A `Tab` records every request, console error, page
error, failed response and dialog; `Tab.assert_clean()` fails on any of them, and so does
the tab's teardown. Playwright is a dev
dependency; it never downloads a browser here. Without Debian's Chromium the tests skip,
unless the environment variable CI is set: then they fail.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from playwright.sync_api import (
    BrowserContext,
    Dialog,
    Locator,
    Page,
    Request,
    Route,
    sync_playwright,
)

from auditor import config as config_mod
from auditor.cli import cli
from auditor.models import Finding, Report
from auditor.site.pages import names_for
from auditor.site.serve import make_server, url
from tests.conftest import EXAMPLE, REPO

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; never Playwright's download
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = REPO / "test-artifacts"  # gitignored; screenshots are kept here
SITE_URL = "http://127.0.0.1:8000/"  # the config's default site_url, in SARIF helpUri
SECTION = "common-issues/database-connection-failures"  # the section page under test
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"  # markup that would run even if set as innerHTML
TIMEOUT_MS = 15_000


def require_chromium() -> None:
    """Skip without Debian's Chromium; under CI (env CI set) fail instead."""
    if not os.access(CHROMIUM, os.X_OK):
        reason = (f"real-browser tests need {CHROMIUM}: `apt-get install chromium` "
                  "(Playwright's own browser download is not used)")
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run them", pytrace=False)
        pytest.skip(reason)


# --- the reports and the sites ---------------------------------------------------------


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def audit(fmt: str, output: Path) -> Path:
    code, out = run("audit", "--config", EXAMPLE, "--live", EXAMPLE / "live-snapshot.json",
                    "--format", fmt, "--output", output)
    assert code in (0, 1) and output.is_file(), out  # 1: the example fails its gate
    return output


def section_finding(report: Report) -> Finding:
    """The failing declared finding (with file:line and commands) on the SECTION page."""
    return next(f for f in report.findings
                if f.status == "fail" and f.side == "declared" and f.location
                and f.location.line and f.remediation.commands
                and f.runbook.startswith(f"{SECTION}/#"))


def older(report: Report, drop: Finding) -> Report:
    """The previous nightly run: a day earlier, without ``drop`` (so it is new now)."""
    summary = report.summary
    by_status = {**summary.by_status, drop.status: summary.by_status[drop.status] - 1}
    by_severity = {**summary.by_severity, drop.severity: summary.by_severity[drop.severity] - 1}
    return report.model_copy(update={
        "generated_at": report.generated_at - timedelta(days=1),
        "findings": [f for f in report.findings if f is not drop],
        "summary": summary.model_copy(update={"by_status": by_status,
                                              "by_severity": by_severity})})


def hostile(report: Report, target: Finding) -> Report:
    """``report`` with ``target``'s resource name and message replaced by markup."""
    changed = target.model_copy(update={
        "resource": target.resource.model_copy(update={"name": SCRIPT}),
        "message": f"resource {SCRIPT} {IMG} is wrong"})
    return report.model_copy(update={
        "findings": [changed if f is target else f for f in report.findings]})


def build(out: Path, *reports: Path) -> Path:
    args: list[str | Path] = ["site", "build", "--config", EXAMPLE, "--output", out]
    for r in reports:
        args += ["--report", r]
    code, text = run(*args)
    assert code == 0, text
    return out


@dataclass(frozen=True)
class Sites:
    report: Report  # the real audit (the current report of both sites)
    sarif: dict[str, Any]  # the same audit as SARIF
    finding: Finding  # the SECTION finding: new since the older report; made hostile
    names: dict[str, str]  # the names the runbook's commands are filled with
    main: str  # base URL of the site built from the real reports
    hostile: str  # base URL of the site whose current report has markup in it
    main_dir: Path
    hostile_dir: Path


@pytest.fixture(scope="session", name="sites")
def sites_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    tmp = tmp_path_factory.mktemp("browser-sites")
    report_file = audit("json", tmp / "report.json")
    report = Report.model_validate_json(report_file.read_text("utf-8"))
    sarif = json.loads(audit("sarif", tmp / "report.sarif").read_text("utf-8"))
    finding = section_finding(report)
    previous = tmp / "previous.json"
    previous.write_text(older(report, finding).model_dump_json(), "utf-8")
    bad = tmp / "hostile.json"
    bad.write_text(hostile(report, finding).model_dump_json(), "utf-8")
    main_dir = build(tmp / "main", previous, report_file)
    hostile_dir = build(tmp / "hostile", previous, bad)
    servers = [make_server(d, 0) for d in (main_dir, hostile_dir)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    try:
        yield Sites(report, sarif, finding, names_for(config_mod.load(str(EXAMPLE))),
                    url(servers[0]), url(servers[1]), main_dir, hostile_dir)
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()


# --- the browser ---------------------------------------------------------------------


@dataclass
class Blocked:
    """Requests the context-wide route refused: any URL that is not on one of the test
    servers. The route's pattern is a regular expression (a negative lookahead) that
    Playwright's driver matches, so requests to the test servers are not held for Python."""

    allowed: list[str]  # base URLs, e.g. http://127.0.0.1:4242/
    urls: list[str] = field(default_factory=list)

    def pattern(self) -> re.Pattern[str]:
        return re.compile(f"^(?!{'|'.join(re.escape(a) for a in self.allowed)})")

    def route(self, route: Route) -> None:
        self.urls.append(route.request.url)
        route.abort()


@dataclass
class Browser:
    context: BrowserContext
    blocked: Blocked


@pytest.fixture(scope="session", name="browser")
def browser_fixture(tmp_path_factory: pytest.TempPathFactory,
                    request: pytest.FixtureRequest) -> Iterator[Browser]:
    """Debian's Chromium, headless, with a fresh profile; requests outside the two test
    servers are aborted and recorded."""
    require_chromium()  # before building the sites
    sites: Sites = request.getfixturevalue("sites")
    profile = tmp_path_factory.mktemp("chromium-profile")
    blocked = Blocked([sites.main, sites.hostile])
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900}, service_workers="block")
        try:
            context.set_default_timeout(TIMEOUT_MS)
            context.route(blocked.pattern(), blocked.route)
            yield Browser(context, blocked)
        finally:
            context.close()


@dataclass
class Tab:
    """A page and everything it did that a clean offline site must not do."""

    page: Page
    origin: str  # the only origin requests may go to
    blocked: Blocked
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # console errors, page errors, 4xx/5xx
    dialogs: list[str] = field(default_factory=list)

    def watch(self) -> None:
        page = self.page
        page.on("request", self._request)
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("response", lambda r: self.errors.append(f"HTTP {r.status}: {r.url}")
                if r.status >= 400 else None)
        page.on("dialog", self._dialog)

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def goto(self, path: str) -> None:
        """Open ``path`` (relative to the origin) and require a 200."""
        response = self.page.goto(self.origin + path)
        assert response is not None and response.status == 200, (path, response)

    def problems(self) -> list[str]:
        stray = [u for u in self.requests if not u.startswith(self.origin)]
        return ([f"request outside {self.origin}: {u}" for u in stray]
                + [f"blocked request: {u}" for u in self.blocked.urls]
                + self.errors + [f"dialog {d}" for d in self.dialogs])

    def assert_clean(self) -> None:
        assert self.requests, "no request was recorded: the watch is broken"
        assert not self.problems()

    def screenshot(self, name: str, element: Locator | None = None) -> Path:
        """The full page (or one element) as test-artifacts/NAME."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        if element is None:
            self.page.screenshot(path=str(path), full_page=True)
        else:
            element.screenshot(path=str(path))
        return path


def open_tab(browser: Browser, origin: str) -> Iterator[Tab]:
    browser.blocked.urls.clear()
    page = browser.context.new_page()
    tab = Tab(page, origin, browser.blocked)
    tab.watch()
    try:
        yield tab
    finally:
        page.close()
    assert not tab.problems()  # also when the test did not ask


@pytest.fixture(name="main_tab")
def main_tab_fixture(browser: Browser, sites: Sites) -> Iterator[Tab]:
    """A new page meant for the site built from the real reports."""
    yield from open_tab(browser, sites.main)


@pytest.fixture(name="hostile_tab")
def hostile_tab_fixture(browser: Browser, sites: Sites) -> Iterator[Tab]:
    """A new page meant for the site whose report has markup in a resource name."""
    yield from open_tab(browser, sites.hostile)
