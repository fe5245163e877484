"""What the topic spider's walks share besides navigation: its arguments read, the request
metadata its callbacks and signal handlers agree on, and the few facts read off a request or
response (validators, the URL first asked for).

Kept out of :mod:`crawler.spiders.rand_topic` so that the spider module holds navigation only:
where a walk goes next and when it ends. Nothing here parses a page (page objects do that,
under ``crawler/pages/``) or writes to the catalog (the pipeline does).
"""

from __future__ import annotations

from typing import Any

from scrapy.http import Request, Response

from catalog.queries import CatalogView
from catalog.urls import canonical_url

DEFAULT_TOPIC = "security-cooperation"
DEFAULT_PAGE_CAP = 500  # CATALOG_MAX_LISTING_PAGES: no real topic listing is this long
ROLE_LISTING = "listing"
ROLE_DETAILS = "details"
META_WALK = "catalog_walk"  # the start URL of the walk a listing request belongs to
VALIDATORS = ("If-None-Match", "If-Modified-Since")


def short_walk(value: Any, name: str = "pages") -> int | None:
    """The ``pages`` argument (listing pages per topic, a deliberate short walk) as a number;
    None when not given. ValueError names the argument when it is not a whole number >= 1."""
    if value in (None, ""):
        return None
    try:
        pages = int(str(value).strip())
    except ValueError:
        pages = 0
    if pages < 1:
        raise ValueError(f"{name} must be a whole number of listing pages, not {value!r}")
    return pages


def as_list(value: Any) -> list[str]:
    """A spider argument that may be one comma-separated string or a list (``-a`` vs in-process)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


def as_bool(value: Any) -> bool:
    """A spider argument's truth as ``-a full=1`` spells it (``-a`` passes strings only)."""
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def conditional_headers(catalog: CatalogView | None, url: str) -> dict[str, str]:
    """``If-None-Match`` / ``If-Modified-Since`` from what ``url`` answered last time; none
    without a catalog or validators (a first crawl, a feed-only ``scrapy crawl``)."""
    if catalog is None:
        return {}
    etag, last_modified = catalog.validators(url)
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def sent_validators(request: Request) -> bool:
    """Whether the request was conditional: a 304 to one that was not is a broken server."""
    return any(request.headers.get(name) for name in VALIDATORS)


def feed_page_key(url: str) -> str:
    """The one spelling under which a feed page's validators are kept and looked up."""
    return canonical_url(url, url) or url


def first_url(request: Request) -> str:
    """The URL the spider asked for, before any redirect."""
    return (request.meta.get("redirect_urls") or [request.url])[0]


def header(response: Response, name: str) -> str | None:
    """A response header as text (latin-1, as HTTP headers are), None when absent."""
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
