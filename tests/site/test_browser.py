"""The example's runbook site in a real browser (Debian's headless Chromium, Playwright):
built from a real audit, served on 127.0.0.1, read the way an on-call engineer reads it.

The dashboard marks the failing sections and links to them; a section page shows its
finding with the filled commands and the declared file:line; search finds a policy; every
SARIF helpUri resolves to a heading; every page loads with nothing requested outside
127.0.0.1 and no console error; markup in a resource name is text, and no dialog opens.
Screenshots of the dashboard and of a section page are kept under test-artifacts/.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import Locator, Page, expect

from tests.site.browser_fixtures import (
    IMG,
    SCRIPT,
    SECTION,
    SITE_URL,
    Browser,
    Sites,
    Tab,
    browser_fixture,  # noqa: F401
    hostile_tab_fixture,  # noqa: F401
    main_tab_fixture,  # noqa: F401
    sites_fixture,  # noqa: F401
)


def page_of(anchor: str) -> str:
    """``common-issues/high-latency/#add-node-group`` -> ``common-issues/high-latency/``."""
    return anchor.partition("#")[0]


def one_line(text: str) -> str:
    return " ".join(text.split())


def table_after(page: Page, heading_id: str) -> Locator:
    """The first table after a heading (Material wraps tables in scroll containers)."""
    return page.locator(f"xpath=//*[@id='{heading_id}']/following::table[1]")


def test_the_dashboard_marks_the_failing_sections_and_links_to_them(
        main_tab: Tab, sites: Sites) -> None:
    page = main_tab.page
    main_tab.goto("dashboard/")
    failing = {page_of(f.runbook) for f in sites.report.findings
               if f.status == "fail" and f.runbook}
    table = table_after(page, "runbook-sections")
    assert sites.report.environments == ["prod"]  # one column of cells
    expect(table.locator("thead th").nth(1)).to_have_text("prod")
    rows = table.locator("tbody tr")
    expect(rows.first).to_be_visible()
    cells: dict[str, tuple[str, str | None]] = {}  # section URL -> (prod cell, its link)
    for row in rows.all():
        name, cell = row.locator("td").nth(0), row.locator("td").nth(1)
        href = name.locator("a").evaluate("a => a.href")
        links = cell.locator("a")
        cells[href] = (cell.inner_text(), links.evaluate("a => a.href")
                       if links.count() else None)
    assert failing, "the example's audit has no failing finding"
    for section in failing:
        target = sites.main + section
        assert target in cells, (section, sorted(cells))
        text, link = cells[target]
        assert text.startswith("✗ fail ("), (section, text)
        assert link == target, (section, link)
    for target, (text, _) in cells.items():
        if target.removeprefix(sites.main) not in failing:
            assert "fail" not in text, (target, text)
    # the counts by severity are there, and a marked cell opens its section
    expect(table_after(page, "counts-by-severity")).to_contain_text("failing, high")
    main_tab.screenshot("dashboard.png")
    table.locator(f'td:nth-child(2) a[href$="{SECTION}/"]').click()
    expect(page).to_have_url(sites.main + SECTION + "/")
    expect(page.locator("article h1")).to_contain_text("Database Connection Failures")
    main_tab.assert_clean()


def test_a_section_page_shows_its_finding_with_the_filled_commands(
        main_tab: Tab, sites: Sites) -> None:
    page, f = main_tab.page, sites.finding
    assert f.location and f.location.line
    main_tab.goto(page_of(f.runbook))
    article = page.locator("article")
    box = article.locator("div.admonition").filter(
        has=page.locator("p.admonition-title", has_text=f.title)).filter(
        has_text=f"{f.location.file}:{f.location.line}")
    expect(box).to_have_count(1)
    expect(box).to_be_visible()
    expect(box).to_contain_text("Failing")
    expect(box).to_contain_text(f"{f.resource.kind} {f.resource.name}")
    expect(box.locator("code", has_text=f"{f.location.file}:{f.location.line}")).to_be_visible()
    expect(box).to_contain_text("Failing since")
    blocks = [one_line(c) for c in box.locator("pre code").all_inner_texts()]
    assert one_line(f.remediation.commands[0]) in blocks, blocks
    # the runbook's own commands on the page are filled with the example's real names
    db, ns = sites.names["db_identifier"], sites.names["namespace"]
    assert not db.startswith("<") and not ns.startswith("<"), sites.names
    text = one_line(article.inner_text())
    assert f"--db-instance-identifier {db}" in text
    assert f"-n {ns}" in text
    assert "{{" not in text and "{%" not in text
    main_tab.screenshot("section-page.png")
    main_tab.assert_clean()


def test_search_finds_a_policy(main_tab: Tab, sites: Sites) -> None:
    page = main_tab.page
    main_tab.goto("")
    page.locator("input.md-search__input").click()
    page.keyboard.type("nodegroup")  # Material searches as one types; fill() is not typing
    results = page.locator(".md-search-result__item")
    expect(results.first).to_be_visible()
    hrefs = [h.split("?")[0] for h in
             page.locator(".md-search-result__item a").evaluate_all("as => as.map(a => a.href)")]
    assert sites.main + "policies/nodegroup-headroom/" in hrefs, hrefs
    assert sites.main + "common-issues/high-latency/" in hrefs, hrefs
    page.locator(".md-search-result__item a[href*='policies/nodegroup-headroom/']").first.click()
    expect(page).to_have_url(re.compile(re.escape(sites.main + "policies/nodegroup-headroom/")))
    expect(page.locator("article h1")).to_be_visible()
    expect(page.locator("article")).to_contain_text("nodegroup-headroom")
    main_tab.assert_clean()


def test_the_help_links_of_sarif_results_resolve_to_headings(main_tab: Tab, sites: Sites) -> None:
    run = sites.sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert run["results"], "the example's SARIF has no result"
    links = {rules[r["ruleIndex"]]["helpUri"] for r in run["results"]}
    by_page: dict[str, set[str]] = {}
    for link in links:
        assert link.startswith(SITE_URL), link
        path, _, fragment = link.removeprefix(SITE_URL).partition("#")
        assert fragment, link
        by_page.setdefault(path, set()).add(fragment)
    for path, fragments in sorted(by_page.items()):
        first = sorted(fragments)[0]
        response = main_tab.page.goto(f"{sites.main}{path}#{first}")
        assert response is not None and response.status == 200, path
        assert urlsplit(main_tab.page.url).path == f"/{path}"
        for fragment in fragments:
            tag = main_tab.page.evaluate(
                "id => document.getElementById(id)?.tagName ?? null", fragment)
            assert tag in ("H1", "H2", "H3", "H4", "H5", "H6"), (path, fragment, tag)
    main_tab.assert_clean()


def test_every_page_loads_offline_without_console_errors(main_tab: Tab, sites: Sites) -> None:
    pages = sorted(p.relative_to(sites.main_dir).as_posix()
                   for p in sites.main_dir.rglob("*.html"))
    assert len(pages) > 50, pages
    for rel in pages:
        main_tab.goto(rel.removesuffix("index.html"))
        expect(main_tab.page.locator("article h1").first).to_be_visible()
    requested = {urlsplit(u).path for u in main_tab.requests}
    assert any(p.endswith(".css") for p in requested)
    assert any(p.endswith(".js") for p in requested)
    main_tab.assert_clean()


def test_the_history_shows_the_trend_and_what_is_new(main_tab: Tab, sites: Sites) -> None:
    page, f = main_tab.page, sites.finding
    main_tab.goto("history/")
    expect(page.locator("article svg").first).to_be_visible()
    new = table_after(page, "new-since-the-previous-run")
    expect(new).to_contain_text(f.title)
    expect(new).to_contain_text(f.resource.name)
    main_tab.assert_clean()


def test_markup_in_a_resource_name_is_shown_as_text(hostile_tab: Tab, sites: Sites) -> None:
    page = hostile_tab.page
    for path in ("history/", page_of(sites.finding.runbook)):
        hostile_tab.goto(path)
        expect(page.get_by_text(SCRIPT).first).to_be_visible()
        text = page.locator("article").inner_text()
        assert SCRIPT in text and IMG in text, path
        assert page.locator("article script, article img, [onerror]").count() == 0, path
    box = page.locator("article div.admonition", has_text=SCRIPT)
    expect(box).to_be_visible()
    hostile_tab.screenshot("section-page-hostile.png", box)
    # search results show the page's text too: still as text
    page.locator("input.md-search__input").click()
    page.keyboard.type("onerror")
    hit = page.locator(".md-search-result__item", has_text=SCRIPT).first
    expect(hit).to_be_visible()
    expect(hit).to_contain_text(IMG)
    assert page.locator(".md-search-result script, .md-search-result img").count() == 0
    assert hostile_tab.dialogs == []
    hostile_tab.assert_clean()


def test_the_watch_catches_outside_requests_errors_and_dialogs(browser: Browser) -> None:
    """A control: the recording the other tests rely on does see what they forbid."""
    page = browser.context.new_page()
    tab = Tab(page, "http://127.0.0.1:1/", browser.blocked)
    tab.watch()
    browser.blocked.urls.clear()
    try:
        with page.expect_event("requestfailed"):
            page.set_content('<img src="http://example.invalid/x.png">')
        page.evaluate("() => { console.error('boom'); alert('hi'); }")
        page.wait_for_timeout(100)
    finally:
        page.close()
    assert browser.blocked.urls == ["http://example.invalid/x.png"]
    assert any("boom" in e for e in tab.errors)
    assert tab.dialogs == ["alert: hi"]
    browser.blocked.urls.clear()
