"""Canonical URLs: the one spelling of a page that the catalog stores, compares and crawls.

Publications are keyed on their canonical URL, and catalog.toml's topics are compared by the
canonical URL of their listing, so two spellings of one page (tracking parameters, a fragment,
``?page=1``, a RAND slug and its URL) are never two rows or two topics.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urljoin, urlsplit

from w3lib.url import canonicalize_url, url_query_cleaner

# Query parameters that only track where a click came from; they never change the page.
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "_ga", "_gl", "cid", "ref"}
)
RAND_BASE = "https://www.rand.org"


def canonical_url(base: str, href: str) -> str:
    """Absolute URL without fragment or tracking parameters; the key a publication is stored by.

    w3lib's ``canonicalize_url`` (the one Scrapy uses) does the normalising that must agree
    everywhere a URL is compared: lower-case scheme and host, one percent-encoding
    (``caf%c3%a9`` and ``caf%C3%A9`` are one URL), sorted query arguments, no fragment.
    ``url_query_cleaner`` drops the tracking parameters first (``utm_*``, ``fbclid``, ...).
    Returns ``""`` for an href no URL can be made of (``http://[x``: a malformed host), so
    that one broken link costs its teaser, not the page.
    """
    try:
        absolute = urljoin(base, href.strip())
        names = [name for name, _ in parse_qsl(urlsplit(absolute).query, keep_blank_values=True)]
        tracking = sorted(
            {n for n in names if n.lower() in TRACKING_PARAMS or n.lower().startswith("utm_")}
        )
        if tracking:
            absolute = url_query_cleaner(absolute, tracking, remove=True, unique=False)
        return canonicalize_url(absolute, keep_fragments=False)
    except ValueError:  # urllib: "Invalid IPv6 URL", bad port, ...
        return ""


def rand_topic_url(slug: str, base: str = RAND_BASE) -> str:
    """The listing page of a RAND topic slug."""
    return f"{base.rstrip('/')}/topics/{slug.strip()}.html"


def listing_key(topic: str) -> str:
    """The listing a topic entry (a RAND slug or a listing URL) names, as one canonical URL.

    A slug is its rand.org listing; a URL loses its fragment, tracking parameters and a
    ``page=1`` (the first page, however it is written). Two entries with one key are one topic.
    """
    topic = topic.strip()
    if "://" not in topic:
        return rand_topic_url(topic)
    url = canonical_url(topic, topic)
    if not url:
        return topic
    query = [(k, v) for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)]
    if ("page", "1") in query:
        url = url_query_cleaner(url, ["page"], remove=True, unique=False)
        url = canonicalize_url(url, keep_fragments=False)
    return url
