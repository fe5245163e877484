"""Page objects against stored pages: every case's output must equal its expected.json."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest

from crawler.pages import rand
from tests.conftest import FIXTURES

CASES = sorted(p.parent for p in (FIXTURES / "pages").glob("*/*/meta.json"))
PAGE_OBJECTS = {
    name: cls
    for name, cls in inspect.getmembers(rand, inspect.isclass)
    if name.endswith("Page") and cls.__module__ == rand.__name__
}


def _load(case: Path) -> tuple[dict[str, Any], str, dict[str, Any]]:
    meta = json.loads((case / "meta.json").read_text(encoding="utf-8"))
    html = (case / "input.html").read_text(encoding="utf-8")
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    return meta, html, expected


def _differences(actual: Any, expected: Any, path: str = "") -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(set(expected) | set(actual)):
            out += _differences(actual.get(key), expected.get(key), f"{path}.{key}")
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(actual)} items, expected {len(expected)}"]
        out = []
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            out += _differences(a, e, f"{path}[{i}]")
        return out
    return [] if actual == expected else [f"{path}: got {actual!r}, expected {expected!r}"]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_page_case(case: Path) -> None:
    meta, html, expected = _load(case)
    page = PAGE_OBJECTS[meta["page_object"]](meta["url"], html)
    differences = _differences(page.parse().to_dict(), expected)
    assert not differences, "\n".join(differences)


def test_every_page_object_has_cases() -> None:
    covered = {json.loads((c / "meta.json").read_text())["page_object"] for c in CASES}
    assert set(PAGE_OBJECTS) <= covered, (
        f"page objects without cases: {set(PAGE_OBJECTS) - covered}"
    )


def test_header_menu_teasers_are_not_publications() -> None:
    _, html, _ = _load(FIXTURES / "pages" / "rand" / "topic-first-page")
    listing = rand.RandTopicPage("https://www.rand.org/topics/security-cooperation.html", html)
    titles = {e.title for e in listing.listing().entries}
    assert "Defense and Security" not in titles and "About RAND" not in titles
    assert len(titles) == 17


def test_first_page_fields() -> None:
    _, html, _ = _load(FIXTURES / "pages" / "rand" / "topic-first-page")
    listing = rand.RandTopicPage("https://www.rand.org/topics/security-cooperation.html", html)
    result = listing.listing()
    featured = [e for e in result.entries if e.section == "featured"]
    assert [e.title for e in featured][0].startswith("Challenges of Deploying Ground-Based")
    assert featured[0].published_on.isoformat() == "2022-04-28"
    by_title = {e.title: e for e in result.entries}
    summit = by_title["The Japan-U.S. Summit and Cooperation with South Korea"]
    # tracking parameters are dropped; entities decoded; curly quotes and dashes kept
    assert (
        summit.url
        == "https://www.rand.org/blog/2021/04/the-japan-us-summit-and-cooperation-with-south-korea.html"
    )
    assert "Japan–South Korea–U.S." in summit.summary and "administration’s" in summit.summary
    yemen = by_title["Congressional Options to Advance Peace in Yemen"]
    assert "#" not in yemen.url
    panel = by_title["Reimagining U.S. Strategy in the Middle East Panel Discussion"]
    assert panel.image_url is None and panel.image_caption is None  # an icon, not a photo
    assert result.next_page_url == "https://www.rand.org/topics/security-cooperation.html?page=2"
    assert result.last_page == 3
    assert result.topic.name == "Security Cooperation"
