"""RAND's page objects: behaviours named one by one (tests/test_pages.py runs every case)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crawler.pages import rand
from tests.conftest import FIXTURES


def _load(case: Path) -> tuple[dict[str, Any], str, dict[str, Any]]:
    meta = json.loads((case / "meta.json").read_text(encoding="utf-8"))
    html = (case / "input.html").read_text(encoding="utf-8")
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    return meta, html, expected


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
