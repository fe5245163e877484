"""`catalog serve` in a real browser: Debian's chromium, driven by Playwright.

What a colleague who never opens a terminal does: types a query and presses Enter, narrows by
a facet, pages forward, opens a publication, downloads its BibTeX, follows "did you mean".
Titles crafted to run script run nothing; everything works with JavaScript off; pages fit a
phone's width and a laptop's; inputs are labelled, headings in order, the keyboard reaches
everything. Chromium is the system's (``apt-get install chromium``; ``.ci/run`` installs it),
never a browser Playwright downloads. Without it these tests skip, except under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Catalog, catalog_command, served

# A browser driving a real server.
pytestmark = pytest.mark.slow

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE_TITLE = (
    '<script>document.title="pwned";alert(1)</script>'
    "<img src=x onerror=\"alert(2);document.title='pwned'\"> Alliances under attack"
)
SCREENSHOTS = os.environ.get("CATALOG_SCREENSHOTS")  # a folder to keep the screenshots in


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        _missing("no chromium on PATH (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def hostile_catalog(crawled_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The demo catalog with one publication's title and links crafted to run script."""
    home = tmp_path_factory.mktemp("browser") / "home"
    shutil.copytree(crawled_home, home)
    with sqlite3.connect(home / "catalog.db") as conn:
        conn.execute(
            "UPDATE publications SET title = ?, summary = ?, pdf_url = ?, subtitle = ? "
            "WHERE id = (SELECT min(id) FROM publications WHERE title LIKE '%Alliances%')",
            (
                HOSTILE_TITLE,
                'Alliances <svg onload="alert(3)"></svg>',
                "javascript:alert(4)",
                "</title><script>alert(5)</script>",
            ),
        )
    return Catalog("sqlite", home)


@pytest.fixture(scope="module")
def server(hostile_catalog: Catalog):
    with served(catalog_command(hostile_catalog.home, "serve", "--port", "0")) as running:
        yield running


@pytest.fixture
def page(browser, server, tmp_path):
    context = browser.new_context(
        base_url=server.url, accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    opened = context.new_page()
    opened.dialogs = []
    opened.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))
    yield opened
    context.close()


def total(page) -> int:
    words = page.locator(".total").inner_text().split()
    return int(words[0].replace(",", ""))


def test_type_a_query_press_enter_narrow_page_and_open(page, hostile_catalog):
    page.goto("/")
    page.get_by_label("Search the catalog").fill("alliances")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=alliances*")
    everything = total(page)
    assert everything > 20 and page.locator("ol.hits > li").count() == 20
    # a facet narrows to its count
    facet = page.locator("aside.facets li", has_text="Report").first
    count = int(facet.locator(".count").inner_text().strip("()"))
    facet.get_by_role("link").click()
    page.wait_for_url("**type=Report*")
    assert total(page) == count < everything
    assert page.locator(".chips li").inner_text().startswith("Type: Report")
    # back to everything, then the next page
    page.get_by_role("link", name="Remove the filter Type: Report").click()
    page.wait_for_url("**/search?q=alliances")
    first_page = page.locator("ol.hits h3").all_inner_texts()
    page.get_by_role("link", name="Next page").click()
    page.wait_for_url("**page=2*")
    assert page.locator("ol.hits").get_attribute("start") == "21"
    assert not set(page.locator("ol.hits h3").all_inner_texts()) & set(first_page)
    # open a publication
    title = page.locator("ol.hits h3 a").first.inner_text()
    page.locator("ol.hits h3 a").first.click()
    assert page.locator("h1").inner_text() == title
    assert page.locator("#similar-heading").is_visible()


def test_download_a_bibtex_citation_and_read_it(page, hostile_catalog):
    import bibtexparser

    page.goto("/search?q=thickening")
    page.locator("ol.hits h3 a").first.click()
    key = page.locator(".cite code").inner_text()
    pub_id = page.url.rstrip("/").rsplit("/", 1)[1]
    with page.expect_download() as download:
        page.get_by_role("link", name="BibTeX").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert download.value.suggested_filename == f"{key}.bib"
    library = bibtexparser.parse_string(text)
    [entry] = library.entries
    assert entry.key == key and "Thickening" in entry.fields_dict["title"].value
    assert text == hostile_catalog.invoke("show", pub_id, "--format", "bibtex").stdout


def test_did_you_mean_is_followed(page):
    page.goto("/search?q=allainces")
    assert total(page) == 0
    page.get_by_role("link", name="alliances").click()
    page.wait_for_url("**q=alliances*")
    assert total(page) > 0


def test_hostile_titles_execute_nothing(page):
    page.goto("/search?q=alliances")
    expected = "alliances: search · Think-tank catalog"
    hostile = page.locator("ol.hits > li", has_text="Alliances under attack")
    assert hostile.count() == 1
    assert "<script>" in hostile.locator("h3").inner_text()  # shown as text
    hostile.locator("h3 a").click()
    page.wait_for_load_state("load")
    assert "<img src=x" in page.locator("h1").inner_text()
    assert page.locator('a[href^="javascript:"]').count() == 0
    assert page.locator("script, img, svg").count() == 0
    assert page.title().startswith("<script>")  # the title element holds it as text
    page.goto("/search?q=alliances")
    assert page.title() == expected and page.evaluate("document.title") == expected
    assert page.dialogs == []


def test_everything_works_with_javascript_off(browser, server):
    context = browser.new_context(base_url=server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/")
        page.get_by_label("Search the catalog").fill('"security cooperation"')
        page.keyboard.press("Enter")
        page.wait_for_url("**/search?q=*")
        before = total(page)
        assert before > 0
        page.locator("aside.facets a").first.click()
        page.wait_for_load_state("load")
        assert 0 < total(page) <= before
        page.get_by_label("Order").select_option("newest")
        page.get_by_role("button", name="Search").click()
        page.wait_for_url("**sort=newest*")
        page.locator("ol.hits h3 a").first.click()
        assert page.locator("h1").is_visible() and page.locator(".cite a").count() == 3
    finally:
        context.close()


PAGES = ["/", "/search?q=alliances", "/search?q=alliances&page=2", "/changes", "/runs", "/api"]


@pytest.mark.parametrize("width", [1280, 390])
def test_pages_fit_the_window_at_1280_and_390_pixels(browser, server, width, tmp_path):
    context = browser.new_context(base_url=server.url, viewport={"width": width, "height": 900})
    page = context.new_page()
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    try:
        page.goto("/search?q=alliances")
        publication = page.locator("ol.hits h3 a").first.get_attribute("href")
        for path in [*PAGES, publication]:
            page.goto(path)
            overflow = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert overflow[0] <= overflow[1] == width, (path, overflow)
            name = path.strip("/").replace("/", "-").replace("?", "-") or "home"
            page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
    finally:
        context.close()


def test_labels_headings_and_keyboard(page):
    for path in ["/", "/search?q=alliances", "/changes", "/runs"]:
        page.goto(path)
        unlabelled = page.evaluate(
            """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                 .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
                 .map(e => e.outerHTML)"""
        )
        assert unlabelled == [], path
        levels = page.evaluate(
            "[...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => +h.tagName[1])"
        )
        assert levels.count(1) == 1 and levels[0] == 1, path
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), (path, levels)
    # The keyboard alone: the skip link first, then the site's links, the search box, a hit.
    page.goto("/search?q=alliances")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate("document.activeElement.id || document.activeElement.textContent")
        )
    assert "q" in reached and "sort" in reached
    page.focus("#q")
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_load_state("load")
    assert total(page) > 0
    hit = page.locator("ol.hits h3 a").first
    hit.focus()
    title = hit.inner_text()
    page.keyboard.press("Enter")
    page.wait_for_load_state("load")
    assert page.locator("h1").inner_text() == title
