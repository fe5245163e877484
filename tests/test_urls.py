"""Canonical URLs: the key every publication is stored by, so equal pages must give one URL."""

import pytest

from crawler.pages.common import canonical_url

BASE = "https://www.rand.org/topics/x.html"


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/pubs/caf%c3%a9.html", "https://www.rand.org/pubs/caf%C3%A9.html"),
        ("/pubs/caf%C3%A9.html", "https://www.rand.org/pubs/caf%C3%A9.html"),
        ("/pubs/café.html", "https://www.rand.org/pubs/caf%C3%A9.html"),
        ("/pubs/RR1.html?b=2&a=1", "https://www.rand.org/pubs/RR1.html?a=1&b=2"),
        (
            "/pubs/RR1.html?a=1&utm_source=x&b=2&fbclid=y",
            "https://www.rand.org/pubs/RR1.html?a=1&b=2",
        ),
        ("/pubs/RR1.html?UTM_Campaign=x", "https://www.rand.org/pubs/RR1.html"),
        ("/pubs/RR1.html#main", "https://www.rand.org/pubs/RR1.html"),
        ("HTTPS://WWW.RAND.ORG/pubs/RR1.html", "https://www.rand.org/pubs/RR1.html"),
        ("https://www.rand.org", "https://www.rand.org/"),
        ("  /pubs/a b.html  ", "https://www.rand.org/pubs/a%20b.html"),
    ],
)
def test_equal_pages_give_one_url(href, expected):
    assert canonical_url(BASE, href) == expected


def test_canonical_url_is_idempotent():
    for href in ("/pubs/caf%c3%a9.html?b=2&a=1&utm_medium=z#x", "/a b?q=x y"):
        once = canonical_url(BASE, href)
        assert canonical_url(once, once) == once


def test_the_crawler_and_the_catalog_share_one_url_rule():
    """The crawl stores by the rule `show` and `similar` look up by (catalog.urls)."""
    from catalog import urls
    from crawler.pages import common

    assert common.canonical_url is urls.canonical_url


@pytest.mark.parametrize(
    ("given", "forms"),
    [
        ("https://www.rand.org/pubs/RR1.html", ["https://www.rand.org/pubs/RR1.html"]),
        ("HTTP://WWW.RAND.ORG/pubs/RR1.html#top", ["http://www.rand.org/pubs/RR1.html"]),
        (
            " https://www.rand.org/pubs/RR1.html?utm_source=x&gclid=y ",
            ["https://www.rand.org/pubs/RR1.html"],
        ),
        (
            "https://www.rand.org/pubs/RR1.html/",
            ["https://www.rand.org/pubs/RR1.html/", "https://www.rand.org/pubs/RR1.html"],
        ),
        (
            "https://www.rand.org/topics/x/?page=2#a",
            ["https://www.rand.org/topics/x/?page=2", "https://www.rand.org/topics/x?page=2"],
        ),
        ("https://www.rand.org/", ["https://www.rand.org/"]),
        ("http://[x", []),
    ],
)
def test_lookup_forms_of_a_pasted_url(given, forms):
    from catalog.urls import lookup_forms

    assert lookup_forms(given) == forms
