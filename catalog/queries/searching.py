"""What a search reads: the index, then the catalog for the hits; filters checked against it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, select

from catalog import urls
from catalog.errors import UsageError
from catalog.index.model import (
    NO_FILTERS,
    PAGE_TEXT_FIELDS,
    UNTYPED,
    Entry,
    Facets,
    Filters,
    IndexDamaged,
    IndexState,
    SearchHit,
    page_text,
)
from catalog.queries.records import (
    INDEX_COLUMNS,
    by_key,
    hit_texts,
    index_documents,
    publications_by_url,
)
from catalog.tables import (
    CHUNK,
    PUBLICATIONS,
    STATE,
    TOMBSTONES,
    TOPICS,
)

if TYPE_CHECKING:
    from catalog.index import SearchIndex
    from catalog.index.reader import IndexReader


class CatalogIndexSource:
    """What a search index reads to follow the catalog (see ``catalog.index.sync``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def head(self) -> IndexState:
        """The catalog's id and newest revision: one statement, two index lookups.

        Revisions commit in order (see ``catalog.store``), so everything up to this one is
        visible to the statements that follow.
        """
        query = select(
            select(STATE.c.value).where(STATE.c.key == "catalog_id").scalar_subquery(),
            select(func.max(PUBLICATIONS.c.revision)).scalar_subquery(),
            select(func.max(TOMBSTONES.c.revision)).scalar_subquery(),
        )
        with self.engine.connect() as conn:
            catalog_id, published, deleted = conn.execute(query).one()
        return IndexState(int(catalog_id or 0), max(int(published or 0), int(deleted or 0)))

    def changes(self, after: int, upto: int) -> tuple[list[int], list[int]]:
        """Publications changed in ``(after, upto]``, and tombstones of that range whose id
        is not in use again (SQLite may reuse the highest id)."""
        changed = select(PUBLICATIONS.c.id).where(
            PUBLICATIONS.c.revision > after, PUBLICATIONS.c.revision <= upto
        )
        deleted = (
            select(TOMBSTONES.c.id)
            .outerjoin(PUBLICATIONS, PUBLICATIONS.c.id == TOMBSTONES.c.id)
            .where(
                TOMBSTONES.c.revision > after,
                TOMBSTONES.c.revision <= upto,
                PUBLICATIONS.c.id.is_(None),
            )
        )
        with self.engine.connect() as conn:
            return list(conn.execute(changed).scalars()), list(conn.execute(deleted).scalars())

    def documents(self, ids: Iterable[int] | None = None) -> Iterator[dict[str, Any]]:
        return index_documents(self.engine, ids, columns=(*INDEX_COLUMNS, *PAGE_TEXT_FIELDS))

    def entries(self) -> Iterator[Entry]:
        """Every publication's id, URL and revision, streamed (one query)."""
        query = select(PUBLICATIONS.c.id, PUBLICATIONS.c.url, PUBLICATIONS.c.revision).order_by(
            PUBLICATIONS.c.id
        )
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=CHUNK).execute(query)
            for pub_id, url, revision in result:
                yield Entry(pub_id, url, revision)


def search_publications(
    engine: Engine,
    index: SearchIndex,
    text: str,
    *,
    sort: str = "relevance",
    limit: int = 20,
    **filters: Any,
) -> list[dict[str, Any]]:
    """Search the index, then read the hits from the database (the source of truth).

    Each row is a publication with its topics and authors, plus the hit's ``score`` and
    ``snippet``; a hit the database no longer has (a stale index) is left out. ``filters``
    are :class:`~catalog.index.Filters`' fields by name.
    """
    found = search_catalog(
        engine, index, text, filters=Filters(**filters), suggest=False, sort=sort, limit=limit
    )
    return found.rows


@dataclass(slots=True)
class SearchOutcome:
    """A search's rows, and what else was asked of the same searcher."""

    rows: list[dict[str, Any]]
    total: int = 0  # how many publications matched in all
    facets: Facets | None = None  # over every match, not just the rows
    suggestion: str | None = None  # a corrected query that finds something (no rows only)
    notice: str | None = None  # the index could not be read and was rebuilt first


def search_catalog(
    engine: Engine,
    index: SearchIndex,
    text: str,
    *,
    filters: Filters = NO_FILTERS,
    facets: bool = False,
    suggest: bool = True,
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
) -> SearchOutcome:
    """One search with its facets and, when nothing matched, a spelling suggestion.

    All three are answered by one open index. ``filters`` narrow the facets and the
    suggestion's check as they narrow the hits. ``offset`` skips that many hits (pages).
    """

    def ask(reader: IndexReader) -> SearchOutcome:
        result = reader.search(
            text,
            filters=filters,
            sort=sort,
            limit=limit,
            offset=offset,
            texts=lambda ids: hit_texts(engine, ids),
        )
        outcome = SearchOutcome(rows=_hit_rows(engine, result.hits), total=result.total)
        if facets:
            outcome.facets = reader.facets(text, filters=filters)
        if suggest and not result.total:
            outcome.suggestion = reader.suggest(text, filters=filters)
        return outcome

    outcome, notice = reading(index, engine, ask)
    outcome.notice = notice
    return outcome


def reading(index: SearchIndex, engine: Engine, ask):
    """``ask(reader)`` on the open index, and a notice when the index had to be rebuilt.

    An index whose files cannot be read (cut short, overwritten) is rebuilt from the catalog
    and asked again; when it cannot be rebuilt here (a read-only home), the error says which
    command does it.
    """
    try:
        with index.open_reader() as reader:
            return ask(reader), None
    except IndexDamaged as exc:
        from catalog.index import IndexUnavailable

        try:
            count = index.rebuild(CatalogIndexSource(engine))
        except IndexUnavailable as unavailable:
            raise IndexDamaged(
                f"the search index at {index.folder} cannot be read ({exc}) and cannot be "
                f"rebuilt here ({unavailable}): run `catalog index rebuild` where it can be "
                "written"
            ) from exc
        notice = f"the search index could not be read ({exc}); rebuilt it: {count} publications"
        with index.open_reader() as reader:
            return ask(reader), notice


def _hit_rows(engine: Engine, hits: Sequence[SearchHit]) -> list[dict[str, Any]]:
    """Index hits joined with their database rows, in the hits' order; stale hits left out."""
    rows_by_url = publications_by_url(engine, [h.url for h in hits])
    return [
        {
            **rows_by_url[hit.url],
            "topics": rows_by_url[hit.url]["topic_slugs"],
            "score": hit.score,
            "snippet": hit.snippet or (rows_by_url[hit.url]["summary"] or "")[:160],
        }
        for hit in hits
        if hit.url in rows_by_url
    ]


def similar_publications(
    engine: Engine, index: SearchIndex, key: str, limit: int = 10
) -> list[dict[str, Any]] | None:
    """Publications most like the one with id or URL ``key``; None when there is no such one.

    Similarity is judged on the publication's title, summary and page text, read here from
    the database (the index does not store the page text) and searched for in the others'.
    """
    columns = [PUBLICATIONS.c.id, PUBLICATIONS.c.title, PUBLICATIONS.c.summary] + [
        PUBLICATIONS.c[n] for n in PAGE_TEXT_FIELDS
    ]
    with engine.connect() as conn:
        row = conn.execute(select(*columns).where(by_key(key))).mappings().first()
    if row is None:
        return None
    text = "\n\n".join(t for t in (row["title"], row["summary"], page_text(row)) if t)
    hits, _ = reading(index, engine, lambda reader: reader.similar(row["id"], text, limit))
    return _hit_rows(engine, hits)


def resolve_filters(engine: Engine, filters: Filters) -> Filters:
    """Search filters as the index takes them, checked against the catalog.

    A type is matched without regard to case (``none``: untyped publications); a topic may be
    given by its slug, its name or its listing's URL; a publisher by its name, or by words of
    it that name one publisher only (``rand``, ``atlantic council``). A type, topic or
    publisher the catalog does not have, or dates the wrong way round, are a
    :class:`UsageError` naming what there is.
    """
    from dataclasses import replace

    if filters.since and filters.until and filters.since > filters.until:
        raise UsageError(
            f"--since {filters.since} is after --until {filters.until}: nothing can match"
        )
    content_type, topic = filters.content_type, filters.topic
    if content_type is not None:
        content_type = _known_type(engine, content_type)
    if topic is not None:
        topic = _known_topic(engine, topic)
    publisher = filters.publisher
    if publisher is not None:
        publisher = _known_publisher(engine, publisher)
    return replace(filters, content_type=content_type, topic=topic, publisher=publisher)


def _known_publisher(engine: Engine, wanted: str) -> str:
    """The catalog's publisher named by ``wanted``: its whole name in any case, or words of it
    (in order) that only one publisher's name holds."""
    given = " ".join(wanted.split()).lower()
    with engine.connect() as conn:
        names = conn.execute(select(PUBLICATIONS.c.publisher).distinct()).scalars().all()
    named = {" ".join(n.split()).lower(): n for n in names if n and n.strip()}
    if given in named:
        return named[given]
    words = re.compile(rf"(?<!\w){re.escape(given)}(?!\w)") if given else None
    partial = sorted(n for key, n in named.items() if words and words.search(key))
    if len(partial) == 1:
        return partial[0]
    if partial:
        raise UsageError(
            f"--publisher {wanted!r} names several publishers ({'; '.join(partial)}): "
            "give one whole name"
        )
    known = "; ".join(sorted(named.values())) or "none yet"
    raise UsageError(f"no publisher {wanted!r} in the catalog (publishers: {known})")


def _known_type(engine: Engine, wanted: str) -> str:
    if wanted.strip().lower() in ("none", UNTYPED):
        return UNTYPED
    with engine.connect() as conn:
        types = conn.execute(select(PUBLICATIONS.c.content_type).distinct()).scalars().all()
    named = {t.lower(): t for t in types if t}
    if wanted.strip().lower() in named:
        return named[wanted.strip().lower()]
    known = ", ".join(sorted(named.values())) or "none yet"
    raise UsageError(f"no publication has the type {wanted!r} (types: {known}; or none)")


def _known_topic(engine: Engine, wanted: str) -> str:
    text = wanted.strip()
    with engine.connect() as conn:
        topics = conn.execute(select(TOPICS.c.slug, TOPICS.c.name, TOPICS.c.url)).all()
    key = urls.listing_key(text) if "://" in text else None
    for slug, name, url in topics:
        if text.lower() in (slug, (name or "").lower()) or (
            key and url and key == urls.listing_key(url)
        ):
            return slug
    raise UsageError(
        f"no topic {wanted!r} in the catalog: give its slug, its name or its URL "
        "(`catalog stats` lists the topics)"
    )


def index_status(index: SearchIndex, engine: Engine) -> dict[str, Any]:
    """Which engine the home searches with, which built its index, and whether it is level."""
    recorded = index.recorded()
    head = CatalogIndexSource(engine).head()
    return {
        "engine": index.engine_name,
        "built_by": index.built_by(),
        "revision": recorded[0].revision if recorded else None,
        "catalog_revision": head.revision,
        "up_to_date": index.state() == head,
    }
