"""Canonical URLs: the one spelling of a page that the catalog stores, compares and looks up.

Publications are keyed on their canonical URL, and catalog.toml's topics are compared by the
canonical URL of their listing, so two spellings of one page (tracking parameters, a fragment,
``?page=1``, a RAND slug and its URL) are never two rows or two topics. The command line
canonicalizes a URL a user pastes (from a browser's address bar: a fragment, tracking
parameters, an upper-case scheme) with the same function, so that ``catalog show URL`` finds
the row the crawl stored. Both floors import it from here: the catalog core never imports the
crawler.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urljoin, urlsplit

# Query parameters that only track where a click came from; they never change the page.
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "_ga", "_gl", "cid", "ref"}
)
RAND_BASE = "https://www.rand.org"


def is_tracking_param(name: str) -> bool:
    """``utm_*`` and the click identifiers above, in any case."""
    name = name.lower()
    return name in TRACKING_PARAMS or name.startswith("utm_")


def canonical_url(base: str, href: str) -> str:
    """Absolute, canonical URL: the key a publication is upserted on.

    w3lib's ``canonicalize_url`` lower-cases the scheme and host, applies one percent-encoding
    (so ``caf%c3%a9`` and ``caf%C3%A9`` are one URL), sorts the query and drops the fragment;
    tracking parameters (``utm_*``, ``fbclid``...) are removed first.

    Returns ``""`` for an href no URL can be made of (``http://[x``: a malformed host), so
    that one broken link costs its teaser, not the page.
    """
    # Imported on use: `catalog show 17` and the other read commands never need w3lib.
    from w3lib.url import canonicalize_url, url_query_cleaner

    try:
        absolute = urljoin(base, href.strip())
        names = [name for name, _ in parse_qsl(urlsplit(absolute).query, keep_blank_values=True)]
        tracking = sorted({n for n in names if is_tracking_param(n)})
        if tracking:
            absolute = url_query_cleaner(absolute, tracking, remove=True, unique=False)
        return canonicalize_url(absolute, keep_fragments=False)
    except ValueError:
        return ""


def rand_topic_url(slug: str, base: str = RAND_BASE) -> str:
    """The listing page of a RAND topic slug."""
    return f"{base.rstrip('/')}/topics/{slug.strip()}.html"


def listing_key(topic: str) -> str:
    """The listing a topic entry (a RAND slug or a listing URL) names, as one canonical URL.

    A slug is its rand.org listing; a URL loses its fragment, tracking parameters and a
    ``page=1`` (the first page, however it is written). Two entries with one key are one topic.
    """
    from w3lib.url import canonicalize_url, url_query_cleaner

    topic = topic.strip()
    if "://" not in topic:
        return rand_topic_url(topic)
    url = canonical_url(topic, topic)
    if not url:
        return topic
    query = list(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    if ("page", "1") in query:
        url = url_query_cleaner(url, ["page"], remove=True, unique=False)
        url = canonicalize_url(url, keep_fragments=False)
    return url


def lookup_forms(url: str) -> list[str]:
    """The stored URLs a URL a user typed or pasted may stand for, most likely first.

    Its canonical form, and the same without a trailing slash: a browser (or a person) adds
    one that the catalog's URL, as the listing linked it, does not have. Empty when no URL
    can be made of the text.
    """
    text = url.strip()
    forms = [canonical_url(text, text)]
    try:
        parts = urlsplit(text)
    except ValueError:  # no URL can be made of it ("http://[x"): canonical_url said ""
        parts = None
    if parts is not None and len(parts.path) > 1 and parts.path.endswith("/"):
        bare = parts._replace(path=parts.path.rstrip("/")).geturl()
        forms.append(canonical_url(bare, bare))
    return [f for i, f in enumerate(forms) if f and f not in forms[:i]]
