"""Atom feeds of a topic or of any search, written with feedgen.

A researcher subscribes to ``"security cooperation" AND japan`` and hears of each new match.
Entries are the publications a search matches, newest in the catalog first (by when a crawl
first saw them, which is what "new" means to a subscriber, not the publication date). Ids are
stable across runs and re-crawls: a feed's id is a ``tag:`` URI of the catalog and the search,
an entry's the publication's canonical URL (the catalog's key for it). Dates come from the
catalog: an entry is published when it was first catalogued and updated at its latest
recorded change; the feed is updated at its newest entry's update. Nothing is dated by the
request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlencode

from catalog.web.render import http_url

TAG = "tag:thinktank-catalog,2026:"
FEED_SIZE = 50  # entries a feed holds
# Matches a feed looks at to find its newest catalogued ones (ranked by publication date): a
# search with more matches than this considers the most recently published of them.
FEED_WINDOW = 1_000
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def how_many(total: int) -> str:
    """``3 match`` or ``1,200 match; the 50 catalogued last are listed``."""
    if total <= FEED_SIZE:
        return f"{total:,} match"
    return f"{total:,} match; the {FEED_SIZE} catalogued last are listed"


def clean(text: Any) -> str:
    """Text XML can carry: characters XML 1.0 forbids (crawled pages can hold them) dropped."""
    return _NOT_XML.sub("", str(text or ""))


def utc(value: datetime | None) -> datetime | None:
    """A catalog time (naive UTC) as an aware one, as Atom needs."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def feed_id(catalog_id: int, what: str) -> str:
    return f"{TAG}catalog-{catalog_id:x}/{what}"


def search_id(catalog_id: int, values: dict[str, str]) -> str:
    """The same search (whatever order its parameters came in) is the same feed."""
    return feed_id(catalog_id, "search?" + urlencode(sorted(values.items()), quote_via=quote))


def _entry_class() -> type:
    """feedgen's entry, with its links' ``rel`` and ``type`` written.

    feedgen 1.0.0 drops both from entry links (its writer reads them from the new XML
    element instead of the link it was given), which leaves an entry with two links that
    both count as ``alternate``: invalid Atom. This puts them back on the elements it wrote.
    """
    from feedgen.entry import FeedEntry

    class Entry(FeedEntry):
        def atom_entry(self, extensions: bool = True) -> Any:
            element = super().atom_entry(extensions)
            written = [e for e in element if str(e.tag).rpartition("}")[2] == "link"]
            for link, given in zip(written, self.link() or [], strict=False):
                for key in ("rel", "type"):
                    if given.get(key):
                        link.set(key, given[key])
            return element

    return Entry


def atom(
    *,
    id: str,
    title: str,
    subtitle: str,
    self_url: str,
    page_url: str,
    entries: Sequence[dict[str, Any]],
    fallback_updated: datetime | None,
    generator_version: str,
) -> bytes:
    """The Atom document. ``entries`` are publications (catalog rows with ``page_url``, their
    ``first_seen_at`` and ``changed_at``), newest first."""
    from feedgen.feed import FeedGenerator

    feed = FeedGenerator()
    feed.id(id)
    feed.title(clean(title))
    feed.subtitle(clean(subtitle))
    feed.author({"name": "thinktank-catalog"})
    feed.link(href=self_url, rel="self", type="application/atom+xml")
    feed.link(href=page_url, rel="alternate", type="text/html")
    feed.generator("thinktank-catalog", generator_version)
    newest = max((utc(e["changed_at"]) for e in entries), default=None)
    feed.updated(newest or utc(fallback_updated) or EPOCH)
    Entry = _entry_class()
    for row in entries:
        entry = feed.add_entry(Entry(), order="append")
        entry.id(clean(row["url"]))
        entry.title(clean(row["title"]) or clean(row["url"]))
        entry.link(href=row["page_url"], rel="alternate", type="text/html")
        original = http_url(row["url"])
        if original:
            entry.link(href=original, rel="related", type="text/html")
        entry.published(utc(row["first_seen_at"]))
        entry.updated(utc(row["changed_at"]))
        summary = clean(row.get("summary"))
        if summary:
            entry.summary(summary)
        for author in row.get("authors") or ():
            entry.author({"name": clean(author)})
        for slug, name in zip(
            row.get("topic_slugs") or (), row.get("topic_names") or (), strict=True
        ):
            entry.category(term=clean(slug), label=clean(name))
    return feed.atom_str(pretty=True)
