"""What an incremental crawl asks of the catalog before it fetches or stores anything."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select

from catalog.tables import (
    LINKS,
    LISTING_FIELDS,
    PAGES,
    PUBLICATIONS,
    TOPICS,
)

if TYPE_CHECKING:
    from catalog.records import ListingEntry


@dataclass(frozen=True, slots=True)
class PageState:
    """What the catalog already knows of one listing page's entries."""

    unchanged: bool  # every entry catalogued, unchanged, and listed under its topic
    needs_details: frozenset[str]  # URLs whose own page is new, changed or never read


def page_state(engine: Engine, entries: Sequence[ListingEntry]) -> PageState:
    """One look at a listing page's publications answers both questions the crawl asks.

    A page of a newest-first listing that is unchanged means the rest of the listing is
    already known: an incremental crawl stops there. Asked before the entries are stored.
    """
    if not entries:
        return PageState(unchanged=False, needs_details=frozenset())
    from catalog.listings import listing_diffs  # crawls only: read commands never need it

    urls = sorted({e.url for e in entries})
    slugs = sorted({e.topic.slug for e in entries})
    columns = [PUBLICATIONS.c.id, PUBLICATIONS.c.url, PUBLICATIONS.c.details_fetched_at] + [
        PUBLICATIONS.c[n] for n in LISTING_FIELDS
    ]
    with engine.connect() as conn:
        rows = {
            r["url"]: r
            for r in conn.execute(select(*columns).where(PUBLICATIONS.c.url.in_(urls))).mappings()
        }
        listed: set[tuple[int, str, str]] = set()
        if rows:
            query = (
                select(LINKS.c.publication_id, TOPICS.c.slug, LINKS.c.section)
                .join(TOPICS, TOPICS.c.id == LINKS.c.topic_id)
                .where(
                    LINKS.c.publication_id.in_([r["id"] for r in rows.values()]),
                    TOPICS.c.slug.in_(slugs),
                    LINKS.c.delisted_at.is_(None),
                )
            )
            listed = {(pub, slug, section) for pub, slug, section in conn.execute(query)}
    unchanged = True
    wanted = set()
    for entry in entries:
        row = rows.get(entry.url)
        changed = row is None or bool(listing_diffs(row, entry))
        if changed or row["details_fetched_at"] is None:
            wanted.add(entry.url)
        if changed or (row["id"], entry.topic.slug, entry.section) not in listed:
            unchanged = False
    return PageState(unchanged=unchanged, needs_details=frozenset(wanted))


def topic_walk_state(engine: Engine, slug: str) -> str | None:
    """``complete``, ``partial``, or None for a topic the catalog has never seen."""
    with engine.connect() as conn:
        return conn.execute(
            select(TOPICS.c.walk_state).where(TOPICS.c.slug == slug)
        ).scalar_one_or_none()


def listing_validators(engine: Engine, url: str) -> tuple[str | None, str | None]:
    """The ETag and Last-Modified a listing page answered with last time."""
    with engine.connect() as conn:
        row = conn.execute(
            select(PAGES.c.etag, PAGES.c.last_modified).where(PAGES.c.url == url)
        ).first()
    return (row[0], row[1]) if row else (None, None)


class CatalogView:
    """The read-only questions a running crawl asks the catalog (handed to the spider)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def walk_state(self, slug: str) -> str | None:
        return topic_walk_state(self.engine, slug)

    def validators(self, url: str) -> tuple[str | None, str | None]:
        return listing_validators(self.engine, url)

    def page_state(self, entries: Sequence[ListingEntry]) -> PageState:
        return page_state(self.engine, entries)

    def pending_details(self, limit: int) -> list[str]:
        return pending_details(self.engine, limit)


def pending_details(engine: Engine, limit: int) -> list[str]:
    """Publications whose page was never read or failed last time, oldest first."""
    query = (
        select(PUBLICATIONS.c.url)
        .where(PUBLICATIONS.c.details_fetched_at.is_(None))
        .order_by(PUBLICATIONS.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())
