"""Read-side queries: what search, stats, export and the crawl read from the database.

Nothing here writes. Users' own SQL (`catalog sql`) runs in ``catalog.sql`` alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, String, and_, cast, false, func, or_, select

from catalog import tables, urls
from catalog.errors import UsageError
from catalog.index.model import (
    NO_FILTERS,
    PAGE_TEXT_FIELDS,
    UNTYPED,
    Entry,
    Facets,
    Filters,
    HitText,
    IndexDamaged,
    IndexState,
    SearchHit,
    page_text,
)
from catalog.tables import (
    CHUNK,
    DETAIL_COLUMNS,
    LISTING_FIELDS,
    RUN_COUNT_COLUMNS,
)

if TYPE_CHECKING:
    from catalog.index import SearchIndex
    from catalog.index.reader import IndexReader
    from catalog.records import ListingEntry

P = tables.publications
T = tables.topics
L = tables.publication_topics
R = tables.crawl_runs
LP = tables.listing_pages
C = tables.publication_changes
A = tables.authors
PA = tables.publication_authors
D = tables.downloads
DP = tables.deleted_publications
S = tables.catalog_state

PUBLICATION_COLUMNS = ("id", "url", *LISTING_FIELDS, "first_seen_at", "last_seen_at")
ALL_COLUMNS = PUBLICATION_COLUMNS + DETAIL_COLUMNS


def _topics_query(where: Any) -> Any:
    return (
        select(L.c.publication_id, T.c.slug, T.c.name)
        .distinct()
        .join(T, T.c.id == L.c.topic_id)
        .where(where, L.c.delisted_at.is_(None))
        .order_by(L.c.publication_id, T.c.slug)
    )


def _authors_query(where: Any) -> Any:
    return (
        select(PA.c.publication_id, A.c.name)
        .join(A, A.c.id == PA.c.author_id)
        .where(where)
        .order_by(PA.c.publication_id, PA.c.position)
    )


def _topics_for(engine: Engine, ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    topics: dict[int, list[tuple[str, str]]] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), CHUNK):
            where = L.c.publication_id.in_(ids[start : start + CHUNK])
            for pub_id, slug, name in conn.execute(_topics_query(where)).fetchall():
                topics.setdefault(pub_id, []).append((slug, name))
    return topics


def _authors_for(engine: Engine, ids: Sequence[int]) -> dict[int, list[str]]:
    authors: dict[int, list[str]] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), CHUNK):
            where = PA.c.publication_id.in_(ids[start : start + CHUNK])
            for pub_id, name in conn.execute(_authors_query(where)).fetchall():
                authors.setdefault(pub_id, []).append(name)
    return authors


def _attach(
    rows: list[dict[str, Any]],
    topics: dict[int, list[tuple[str, str]]],
    authors: dict[int, list[str]],
) -> list[dict[str, Any]]:
    for row in rows:
        pairs = topics.get(row["id"], [])
        row["topic_slugs"] = [slug for slug, _ in pairs]
        row["topic_names"] = [name for _, name in pairs]
        row["authors"] = authors.get(row["id"], [])
    return rows


def _with_topics(engine: Engine, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add each row's topics (slugs and names) and authors (page order), two queries a chunk."""
    ids = [r["id"] for r in rows]
    return _attach(rows, _topics_for(engine, ids), _authors_for(engine, ids))


# Publications read at a time when the whole catalog is streamed (a rebuild, an export).
STREAM_CHUNK = 2_000


# What the search index reads of a publication: fewer columns than an export, and none of the
# timestamps (whose conversion cost more than reading the rows).
INDEX_COLUMNS = ("id", "url", "title", "summary", "content_type", "published_on", "revision")


def index_documents(
    engine: Engine, ids: Iterable[int] | None = None, *, columns: Sequence[str] | None = None
) -> Iterator[dict[str, Any]]:
    """Publications with their topics and authors, streamed in chunks (all when ids is None).

    ``columns`` are the publication columns read (default: every column and the
    ``revision``, read with the row, so an index records the state it holds). The whole
    catalog is read a range of ids at a time: three statements a chunk (rows, their topics,
    their authors), each an index range scan, with no list of ids to send.
    """
    names = tuple(columns) if columns else (*ALL_COLUMNS, "revision")
    columns = [P.c[name] for name in names]
    if ids is not None:
        id_list = sorted(ids)
        for start in range(0, len(id_list), CHUNK):
            query = select(*columns).where(P.c.id.in_(id_list[start : start + CHUNK]))
            with engine.connect() as conn:
                rows = [dict(zip(names, r, strict=True)) for r in conn.execute(query).fetchall()]
            yield from _with_topics(engine, rows)
        return
    last_id = 0
    while True:
        query = select(*columns).where(P.c.id > last_id).order_by(P.c.id).limit(STREAM_CHUNK)
        with engine.connect() as conn:
            rows = [dict(zip(names, r, strict=True)) for r in conn.execute(query).fetchall()]
            if not rows:
                return
            first, last_id = rows[0]["id"], rows[-1]["id"]
            topics: dict[int, list[tuple[str, str]]] = {}
            span = L.c.publication_id.between(first, last_id)
            for pub_id, slug, name in conn.execute(_topics_query(span)).fetchall():
                topics.setdefault(pub_id, []).append((slug, name))
            authors: dict[int, list[str]] = {}
            span = PA.c.publication_id.between(first, last_id)
            for pub_id, name in conn.execute(_authors_query(span)).fetchall():
                authors.setdefault(pub_id, []).append(name)
        yield from _attach(rows, topics, authors)


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
            select(S.c.value).where(S.c.key == "catalog_id").scalar_subquery(),
            select(func.max(P.c.revision)).scalar_subquery(),
            select(func.max(DP.c.revision)).scalar_subquery(),
        )
        with self.engine.connect() as conn:
            catalog_id, published, deleted = conn.execute(query).one()
        return IndexState(int(catalog_id or 0), max(int(published or 0), int(deleted or 0)))

    def changes(self, after: int, upto: int) -> tuple[list[int], list[int]]:
        """Publications changed in ``(after, upto]``, and tombstones of that range whose id
        is not in use again (SQLite may reuse the highest id)."""
        changed = select(P.c.id).where(P.c.revision > after, P.c.revision <= upto)
        deleted = (
            select(DP.c.id)
            .outerjoin(P, P.c.id == DP.c.id)
            .where(DP.c.revision > after, DP.c.revision <= upto, P.c.id.is_(None))
        )
        with self.engine.connect() as conn:
            return list(conn.execute(changed).scalars()), list(conn.execute(deleted).scalars())

    def documents(self, ids: Iterable[int] | None = None) -> Iterator[dict[str, Any]]:
        return index_documents(self.engine, ids, columns=(*INDEX_COLUMNS, *PAGE_TEXT_FIELDS))

    def entries(self) -> Iterator[Entry]:
        """Every publication's id, URL and revision, streamed (one query)."""
        query = select(P.c.id, P.c.url, P.c.revision).order_by(P.c.id)
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=CHUNK).execute(query)
            for pub_id, url, revision in result:
                yield Entry(pub_id, url, revision)


def publications_by_url(engine: Engine, urls: Sequence[str]) -> dict[str, dict[str, Any]]:
    columns = [P.c[name] for name in ALL_COLUMNS]
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(urls), CHUNK):
        query = select(*columns).where(P.c.url.in_(urls[start : start + CHUNK]))
        with engine.connect() as conn:
            found.update({r["url"]: dict(r) for r in conn.execute(query).mappings()})
    _with_topics(engine, list(found.values()))
    return found


def publications_by_id(engine: Engine, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Publications by id, every column and their authors: what a citation is made of.

    The same record `show` reads (``publication``), without its topics and history.
    """
    columns = [P.c[name] for name in ALL_COLUMNS]
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), CHUNK):
        query = select(*columns).where(P.c.id.in_(ids[start : start + CHUNK]))
        with engine.connect() as conn:
            found.update({r["id"]: dict(r) for r in conn.execute(query).mappings()})
    authors = _authors_for(engine, list(found))
    for pub_id, record in found.items():
        record["authors"] = authors.get(pub_id, [])
    return found


def missing_publication_ids(engine: Engine, ids: Sequence[int]) -> list[int]:
    """Those of ``ids`` no publication has, in their order."""
    present: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        query = select(P.c.id).where(P.c.id.in_(ids[start : start + CHUNK]))
        with engine.connect() as conn:
            present.update(conn.execute(query).scalars())
    return [pub_id for pub_id in ids if pub_id not in present]


def hit_texts(engine: Engine, ids: Sequence[int]) -> dict[int, HitText]:
    """The title, summary and page text of these publications: what their snippets mark."""
    columns = [P.c.id, P.c.title, P.c.summary] + [P.c[name] for name in PAGE_TEXT_FIELDS]
    found: dict[int, HitText] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), CHUNK):
            query = select(*columns).where(P.c.id.in_(ids[start : start + CHUNK]))
            for row in conn.execute(query).mappings():
                found[row["id"]] = HitText(row["title"] or "", row["summary"] or "", page_text(row))
    return found


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
    columns = [P.c.id, P.c.title, P.c.summary] + [P.c[n] for n in PAGE_TEXT_FIELDS]
    with engine.connect() as conn:
        row = conn.execute(select(*columns).where(_by_key(key))).mappings().first()
    if row is None:
        return None
    text = "\n\n".join(t for t in (row["title"], row["summary"], page_text(row)) if t)
    hits, _ = reading(index, engine, lambda reader: reader.similar(row["id"], text, limit))
    return _hit_rows(engine, hits)


def export_rows(engine: Engine) -> Iterator[dict[str, Any]]:
    """Every publication with its topics and authors, oldest id first, for `catalog export`."""
    for row in index_documents(engine):
        row["topics"] = row.pop("topic_slugs")
        row.pop("topic_names")
        yield row


def _by_key(key: str) -> Any:
    """The condition picking a publication by id (all digits) or by URL.

    A URL is looked up as the crawl stored it (``catalog.urls``): as a browser gives it, with
    a fragment, tracking parameters or an upper-case scheme, it still finds its publication;
    one with a trailing slash is tried as given first, then without the slash.
    """
    key = key.strip()
    if key.isdigit():
        return P.c.id == int(key)
    forms = urls.lookup_forms(key)
    if not forms:
        return false()
    given = P.c.url == forms[0]
    if len(forms) == 1:
        return given
    exact = select(P.c.id).where(P.c.url == forms[0]).exists()
    return or_(given, and_(P.c.url == forms[1], ~exact))


def publication(engine: Engine, key: str) -> dict[str, Any] | None:
    """One publication whole, by id or URL: every column, authors, topics and history."""
    with engine.connect() as conn:
        row = conn.execute(select(*[P.c[n] for n in ALL_COLUMNS]).where(_by_key(key)))
        found = row.mappings().first()
        if found is None:
            return None
        record = dict(found)
        record["authors"] = _authors_for(engine, [record["id"]]).get(record["id"], [])
        record["downloads"] = [
            dict(r)
            for r in conn.execute(
                select(D.c.label, D.c.format, D.c.url, D.c.size)
                .where(D.c.publication_id == record["id"])
                .order_by(D.c.position)
            ).mappings()
        ]
        record["topics"] = [
            dict(r)
            for r in conn.execute(
                select(
                    T.c.slug,
                    T.c.name,
                    L.c.section,
                    L.c.position,
                    L.c.listing_url,
                    L.c.first_seen_at,
                    L.c.last_seen_at,
                    L.c.delisted_at,
                )
                .join(T, T.c.id == L.c.topic_id)
                .where(L.c.publication_id == record["id"])
                .order_by(L.c.section, T.c.slug)
            ).mappings()
        ]
        record["history"] = [
            dict(r)
            for r in conn.execute(
                select(
                    C.c.crawl_run_id,
                    C.c.kind,
                    C.c.field,
                    C.c.old_value,
                    C.c.new_value,
                    C.c.changed_at,
                    T.c.slug.label("topic"),
                )
                .outerjoin(T, T.c.id == C.c.topic_id)
                .where(C.c.publication_id == record["id"])
                .order_by(C.c.id)
            ).mappings()
        ]
    return record


# What a citation key is made of (``citations.base_key``): fewer columns than a whole record.
CITATION_KEY_COLUMNS = ("id", "title", "published_on", "date_text")


def citation_keys(engine: Engine) -> dict[int, str]:
    """Every publication's BibTeX/CSL key, computed over the whole catalog.

    A subset (a search, one publication) then gets the keys a full export gives it; see
    ``citations.citation_keys``.
    """
    from catalog import citations  # the command line imports it only for citation formats

    return citations.citation_keys(index_documents(engine, columns=CITATION_KEY_COLUMNS))


def catalog_version(engine: Engine) -> tuple[int, int, int, str]:
    """What anything read from the catalog depends on, in one statement: the catalog's id,
    its newest publication revision, and the newest crawl run's id and status.

    A web server derives its ``ETag`` from it: revisions move with every change to a
    publication, and the run with every crawl (which updates ``last_seen_at`` and the
    journal without touching a revision).
    """
    last_run = select(R.c.id, R.c.status).order_by(R.c.id.desc()).limit(1).subquery()
    query = select(
        select(S.c.value).where(S.c.key == "catalog_id").scalar_subquery(),
        select(func.max(P.c.revision)).scalar_subquery(),
        select(func.max(DP.c.revision)).scalar_subquery(),
        select(last_run.c.id).scalar_subquery(),
        select(last_run.c.status).scalar_subquery(),
    )
    with engine.connect() as conn:
        catalog_id, published, deleted, run_id, status = conn.execute(query).one()
    revision = max(int(published or 0), int(deleted or 0))
    return int(catalog_id or 0), revision, int(run_id or 0), status or ""


def topics_with_counts(engine: Engine) -> list[dict[str, Any]]:
    """Every topic with its name, listing URL and how many publications it lists now."""
    count = func.count(func.distinct(L.c.publication_id))
    query = (
        select(T.c.slug, T.c.name, T.c.url, count.label("count"))
        .outerjoin(L, and_(L.c.topic_id == T.c.id, L.c.delisted_at.is_(None)))
        .group_by(T.c.slug, T.c.name, T.c.url)
        .order_by(T.c.slug)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def catalogued_times(engine: Engine, ids: Sequence[int]) -> dict[int, tuple[Any, Any]]:
    """Per publication, when the catalog first saw it and when it last changed (its latest
    recorded change, else its first sighting): what a feed dates its entries by."""
    found: dict[int, tuple[Any, Any]] = {}
    latest = select(func.max(C.c.changed_at)).where(C.c.publication_id == P.c.id).scalar_subquery()
    with engine.connect() as conn:
        for start in range(0, len(ids), CHUNK):
            query = select(P.c.id, P.c.first_seen_at, latest).where(
                P.c.id.in_(ids[start : start + CHUNK])
            )
            for pub_id, first_seen, changed in conn.execute(query):
                found[pub_id] = (first_seen, max(x for x in (first_seen, changed) if x))
    return found


def ids_by_url(engine: Engine, urls: Sequence[str]) -> dict[str, int]:
    """Publication ids by their URLs (as stored), for those the catalog has."""
    found: dict[str, int] = {}
    wanted = sorted(set(urls))
    with engine.connect() as conn:
        for start in range(0, len(wanted), CHUNK):
            query = select(P.c.url, P.c.id).where(P.c.url.in_(wanted[start : start + CHUNK]))
            found.update({url: pub_id for url, pub_id in conn.execute(query)})
    return found


def publication_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(P)).scalar_one())


def stats(engine: Engine) -> dict[str, Any]:
    """Counts by type, by year and by topic, and the last crawl run."""
    year = func.substr(cast(P.c.published_on, String), 1, 4)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(P)).scalar_one()
        by_type = conn.execute(
            select(P.c.content_type, func.count().label("n"))
            .group_by(P.c.content_type)
            .order_by(func.count().desc(), P.c.content_type)
        ).all()
        by_year = conn.execute(
            select(year.label("year"), func.count().label("n")).group_by(year).order_by(year.desc())
        ).all()
        by_topic = conn.execute(
            select(T.c.slug, func.count(func.distinct(L.c.publication_id)).label("n"))
            .join(L, L.c.topic_id == T.c.id)
            .group_by(T.c.slug)
            .order_by(T.c.slug)
        ).all()
        last_run = conn.execute(select(R).order_by(R.c.id.desc()).limit(1)).mappings().first()
    return {
        "publications": total,
        # None for "no type" and "no date": JSON readers get null, the text table a label.
        "by_type": [{"content_type": t or None, "count": n} for t, n in by_type],
        "by_year": [{"year": y or None, "count": n} for y, n in by_year],
        "by_topic": [{"topic": s, "count": n} for s, n in by_topic],
        "last_run": dict(last_run) if last_run else None,
    }


def resolve_filters(engine: Engine, filters: Filters) -> Filters:
    """Search filters as the index takes them, checked against the catalog.

    A type is matched without regard to case (``none``: untyped publications); a topic may be
    given by its slug, its name or its listing's URL. A type or topic the catalog does not
    have, or dates the wrong way round, are a :class:`UsageError` naming what there is.
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
    return replace(filters, content_type=content_type, topic=topic)


def _known_type(engine: Engine, wanted: str) -> str:
    if wanted.strip().lower() in ("none", UNTYPED):
        return UNTYPED
    with engine.connect() as conn:
        types = conn.execute(select(P.c.content_type).distinct()).scalars().all()
    named = {t.lower(): t for t in types if t}
    if wanted.strip().lower() in named:
        return named[wanted.strip().lower()]
    known = ", ".join(sorted(named.values())) or "none yet"
    raise UsageError(f"no publication has the type {wanted!r} (types: {known}; or none)")


def _known_topic(engine: Engine, wanted: str) -> str:
    text = wanted.strip()
    with engine.connect() as conn:
        topics = conn.execute(select(T.c.slug, T.c.name, T.c.url)).all()
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


# --- what incremental crawls ask of the catalog ----------------------------------------------


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
    from catalog.store import listing_diffs  # crawls only: read commands never load the store

    urls = sorted({e.url for e in entries})
    slugs = sorted({e.topic.slug for e in entries})
    columns = [P.c.id, P.c.url, P.c.details_fetched_at] + [P.c[n] for n in LISTING_FIELDS]
    with engine.connect() as conn:
        rows = {
            r["url"]: r for r in conn.execute(select(*columns).where(P.c.url.in_(urls))).mappings()
        }
        listed: set[tuple[int, str, str]] = set()
        if rows:
            query = (
                select(L.c.publication_id, T.c.slug, L.c.section)
                .join(T, T.c.id == L.c.topic_id)
                .where(
                    L.c.publication_id.in_([r["id"] for r in rows.values()]),
                    T.c.slug.in_(slugs),
                    L.c.delisted_at.is_(None),
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
        return conn.execute(select(T.c.walk_state).where(T.c.slug == slug)).scalar_one_or_none()


def listing_validators(engine: Engine, url: str) -> tuple[str | None, str | None]:
    """The ETag and Last-Modified a listing page answered with last time."""
    with engine.connect() as conn:
        row = conn.execute(select(LP.c.etag, LP.c.last_modified).where(LP.c.url == url)).first()
    return (row[0], row[1]) if row else (None, None)


# --- runs and changes ---------------------------------------------------------------------

RUN_COLUMNS = (
    "id",
    "started_at",
    "finished_at",
    "status",
    "full",
    *RUN_COUNT_COLUMNS,
    "error",
    "host",
    "pid",
)


def recent_runs(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    query = select(*[R.c[n] for n in RUN_COLUMNS]).order_by(R.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def last_run(engine: Engine) -> dict[str, Any] | None:
    runs = recent_runs(engine, 1)
    return runs[0] if runs else None


def crawl_run(engine: Engine, run_id: int) -> dict[str, Any] | None:
    query = select(*[R.c[n] for n in RUN_COLUMNS]).where(R.c.id == run_id)
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None


CHANGE_COLUMNS = (
    "topic",
    "kind",
    "changed_at",
    "title",
    "url",
    "field",
    "old_value",
    "new_value",
    "run_id",
)


def changes(
    engine: Engine, *, since: datetime | None = None, run_id: int | None = None
) -> list[dict[str, Any]]:
    """Additions, field changes and delistings, one row per topic the publication is under.

    ``run_id`` limits them to one crawl run; ``since`` to those recorded at or after a time.
    """
    topic_of_change = select(T.c.slug).where(T.c.id == C.c.topic_id).scalar_subquery()
    listed_topics = (
        select(C.c.id.label("change_id"), T.c.slug.label("topic"))
        .join(L, L.c.publication_id == C.c.publication_id)
        .join(T, T.c.id == L.c.topic_id)
        .where(C.c.topic_id.is_(None))
        .distinct()
        .subquery()
    )
    query = (
        select(
            func.coalesce(topic_of_change, listed_topics.c.topic, "").label("topic"),
            C.c.kind,
            C.c.changed_at,
            P.c.title,
            P.c.url,
            C.c.field,
            C.c.old_value,
            C.c.new_value,
            C.c.crawl_run_id.label("run_id"),
        )
        .join(P, P.c.id == C.c.publication_id)
        .outerjoin(listed_topics, listed_topics.c.change_id == C.c.id)
        .order_by("topic", C.c.id)
    )
    if run_id is not None:
        query = query.where(C.c.crawl_run_id == run_id)
    if since is not None:
        query = query.where(C.c.changed_at >= since)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


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
    query = select(P.c.url).where(P.c.details_fetched_at.is_(None)).order_by(P.c.id).limit(limit)
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())
