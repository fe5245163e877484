from datetime import date

import pytest

from crawler.pages.common import (
    canonical_url,
    clean_text,
    listing_page_url,
    page_number,
    parse_date,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Apr 28, 2022", date(2022, 4, 28)),
        ("Apr\xa028,  2022", date(2022, 4, 28)),
        ("April 28, 2022", date(2022, 4, 28)),
        ("Sept. 3, 2020", date(2020, 9, 3)),
        ("Sep 3, 2020", date(2020, 9, 3)),
        ("Published Aug 29, 2019", date(2019, 8, 29)),
        ("2019-08-29", date(2019, 8, 29)),
        ("2019-08-29T12:00:00Z", date(2019, 8, 29)),
        ("Winter 2020", None),
        ("Feb 30, 2021", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text) == expected


def test_clean_text_collapses_whitespace_and_keeps_quotes():
    assert clean_text("  a\n\t b\xa0\xa0c “d” ") == "a b c “d”"


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/pubs/RR1.html", "https://www.rand.org/pubs/RR1.html"),
        ("/pubs/RR1.html#x", "https://www.rand.org/pubs/RR1.html"),
        ("/pubs/RR1.html?utm_source=a&utm_medium=b", "https://www.rand.org/pubs/RR1.html"),
        ("/pubs/RR1.html?fbclid=1&v=2", "https://www.rand.org/pubs/RR1.html?v=2"),
        ("HTTPS://WWW.RAND.ORG/pubs/RR1.html", "https://www.rand.org/pubs/RR1.html"),
        ("../pubs/RR1.html", "https://www.rand.org/pubs/RR1.html"),
    ],
)
def test_canonical_url(href, expected):
    assert canonical_url("https://www.rand.org/topics/x.html", href) == expected


def test_listing_page_urls_keep_only_the_page():
    url = "https://www.rand.org/topics/x.html?page=2&query=%22Security+Cooperation%22"
    assert page_number(url) == 2
    assert listing_page_url(url, 2) == "https://www.rand.org/topics/x.html?page=2"
    assert listing_page_url(url, 1) == "https://www.rand.org/topics/x.html"
    assert page_number("https://www.rand.org/topics/x.html?page=abc") == 1
