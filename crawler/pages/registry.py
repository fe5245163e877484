"""Which page objects read which site: publishers, picked by host.

A publisher whose pages say more than their embedded metadata (RAND) has page objects of its
own, registered here with the hosts they read. Every other host gets the generic publisher,
which reads RSS and Atom feeds and the standard metadata publication pages embed (JSON-LD,
OpenGraph, Highwire ``citation_*``, Dublin Core): no site-specific code at all.

Adding a publisher with a parser of its own is one module (or package) under
``crawler/pages/`` with a listing page object and a publication page object, one entry in
:data:`PUBLISHERS`, and stored cases for each page object under
``tests/fixtures/pages/<key>/`` (``tests/test_pages.py`` fails for a page object without one),
as Fundus does it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from catalog.records import ListingEntry
from crawler.pages import generic, rand


class PageObject(Protocol):
    """What every page object is: built from (url, page) and read with ``parse()``."""

    def __init__(self, url: str, html: str | bytes) -> None: ...

    def parse(self) -> Any: ...


@dataclass(frozen=True)
class Publisher:
    """A publisher's page objects and the hosts they read."""

    key: str  # its fixtures folder (tests/fixtures/pages/<key>/) and its name in logs
    name: str | None  # its own name when fixed ("RAND Corporation"); None: each page names it
    hosts: tuple[str, ...]  # host names read (subdomains too); () for the generic publisher
    listing_page: type[PageObject]  # a topic: RAND's topic pages; a feed, or a page linking one
    publication_page: type[PageObject]  # a publication's own page
    # Its publication page object takes the listing's entry (``listing=``), whose values stand
    # where the page says nothing: a feed's entry says more than a teaser.
    reads_listing: bool = False

    @property
    def page_objects(self) -> dict[str, type[PageObject]]:
        """Its page objects by class name, as fixture cases name them (``meta.json``)."""
        return {cls.__name__: cls for cls in (self.listing_page, self.publication_page)}

    def publication(
        self, url: str, html: str | bytes, listing: ListingEntry | None = None
    ) -> PageObject:
        """The publication page object for ``url``, given the listing's entry when it reads
        one (the spider need not know which publishers do)."""
        if self.reads_listing and listing is not None:
            return self.publication_page(url, html, listing=listing)  # type: ignore[call-arg]
        return self.publication_page(url, html)

    def reads(self, host: str) -> bool:
        """Whether ``host`` (a lower-case host name) is one of this publisher's sites."""
        return any(host == known or host.endswith("." + known) for known in self.hosts)


RAND = Publisher(
    key="rand",
    name=rand.PUBLISHER,
    hosts=rand.HOSTS,
    listing_page=rand.RandTopicPage,
    publication_page=rand.RandProductPage,
)
GENERIC = Publisher(
    key="generic",
    name=None,
    hosts=(),
    listing_page=generic.GenericFeedPage,
    publication_page=generic.GenericPublicationPage,
    reads_listing=True,
)
# Publishers with page objects of their own first; the generic one reads every other host.
PUBLISHERS = (RAND, GENERIC)


def by_key(key: str) -> Publisher:
    """The registered publisher called ``key``; KeyError when there is none."""
    for publisher in PUBLISHERS:
        if publisher.key == key:
            return publisher
    raise KeyError(f"no publisher {key!r} is registered (known: {', '.join(known_keys())})")


def known_keys() -> list[str]:
    return [publisher.key for publisher in PUBLISHERS]


def publisher_for(url: str, hosts: Mapping[str, str] | None = None) -> Publisher:
    """The publisher whose page objects read ``url``: by its host, else the generic one.

    ``hosts`` maps host names, or ``host:port``, to publisher keys before the registry's own:
    a crawl that serves a generic site on 127.0.0.1 (whose pages are otherwise read as RAND's
    local copies) says so there.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if hosts:
        try:
            port = parts.port
        except ValueError:
            port = None
        for name in (f"{host}:{port}" if port else None, host):
            if name and name in hosts:
                return by_key(hosts[name])
    for publisher in PUBLISHERS:
        if publisher.hosts and publisher.reads(host):
            return publisher
    return GENERIC
