"""Publications as the catalog holds them: rows with topics and authors, streamed or by key."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, and_, false, func, or_, select

from catalog import urls
from catalog.index.model import (
    PAGE_TEXT_FIELDS,
    HitText,
    page_text,
)
from catalog.tables import (
    AUTHORS,
    AUTHORSHIPS,
    CHANGES,
    CHUNK,
    DETAIL_COLUMNS,
    DOWNLOADS,
    LINKS,
    LISTING_FIELDS,
    PUBLICATIONS,
    TOPICS,
)

if TYPE_CHECKING:
    pass


PUBLICATION_COLUMNS = ("id", "url", *LISTING_FIELDS, "publisher", "first_seen_at", "last_seen_at")

ALL_COLUMNS = PUBLICATION_COLUMNS + DETAIL_COLUMNS


def _topics_query(where: Any) -> Any:
    return (
        select(LINKS.c.publication_id, TOPICS.c.slug, TOPICS.c.name)
        .distinct()
        .join(TOPICS, TOPICS.c.id == LINKS.c.topic_id)
        .where(where, LINKS.c.delisted_at.is_(None))
        .order_by(LINKS.c.publication_id, TOPICS.c.slug)
    )


def _authors_query(where: Any) -> Any:
    return (
        select(AUTHORSHIPS.c.publication_id, AUTHORS.c.name)
        .join(AUTHORS, AUTHORS.c.id == AUTHORSHIPS.c.author_id)
        .where(where)
        .order_by(AUTHORSHIPS.c.publication_id, AUTHORSHIPS.c.position)
    )


def _topics_for(engine: Engine, ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    topics: dict[int, list[tuple[str, str]]] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), CHUNK):
            where = LINKS.c.publication_id.in_(ids[start : start + CHUNK])
            for pub_id, slug, name in conn.execute(_topics_query(where)).fetchall():
                topics.setdefault(pub_id, []).append((slug, name))
    return topics


def _authors_for(engine: Engine, ids: Sequence[int]) -> dict[int, list[str]]:
    authors: dict[int, list[str]] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), CHUNK):
            where = AUTHORSHIPS.c.publication_id.in_(ids[start : start + CHUNK])
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
INDEX_COLUMNS = (
    "id",
    "url",
    "title",
    "summary",
    "content_type",
    "publisher",
    "published_on",
    "revision",
)


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
    columns = [PUBLICATIONS.c[name] for name in names]
    if ids is not None:
        id_list = sorted(ids)
        for start in range(0, len(id_list), CHUNK):
            query = select(*columns).where(PUBLICATIONS.c.id.in_(id_list[start : start + CHUNK]))
            with engine.connect() as conn:
                rows = [dict(zip(names, r, strict=True)) for r in conn.execute(query).fetchall()]
            yield from _with_topics(engine, rows)
        return
    last_id = 0
    while True:
        query = (
            select(*columns)
            .where(PUBLICATIONS.c.id > last_id)
            .order_by(PUBLICATIONS.c.id)
            .limit(STREAM_CHUNK)
        )
        with engine.connect() as conn:
            rows = [dict(zip(names, r, strict=True)) for r in conn.execute(query).fetchall()]
            if not rows:
                return
            first, last_id = rows[0]["id"], rows[-1]["id"]
            topics: dict[int, list[tuple[str, str]]] = {}
            span = LINKS.c.publication_id.between(first, last_id)
            for pub_id, slug, name in conn.execute(_topics_query(span)).fetchall():
                topics.setdefault(pub_id, []).append((slug, name))
            authors: dict[int, list[str]] = {}
            span = AUTHORSHIPS.c.publication_id.between(first, last_id)
            for pub_id, name in conn.execute(_authors_query(span)).fetchall():
                authors.setdefault(pub_id, []).append(name)
        yield from _attach(rows, topics, authors)


def publications_by_url(engine: Engine, urls: Sequence[str]) -> dict[str, dict[str, Any]]:
    columns = [PUBLICATIONS.c[name] for name in ALL_COLUMNS]
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(urls), CHUNK):
        query = select(*columns).where(PUBLICATIONS.c.url.in_(urls[start : start + CHUNK]))
        with engine.connect() as conn:
            found.update({r["url"]: dict(r) for r in conn.execute(query).mappings()})
    _with_topics(engine, list(found.values()))
    return found


def publications_by_id(engine: Engine, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Publications by id, every column and their authors: what a citation is made of.

    The same record `show` reads (``publication``), without its topics and history.
    """
    columns = [PUBLICATIONS.c[name] for name in ALL_COLUMNS]
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), CHUNK):
        query = select(*columns).where(PUBLICATIONS.c.id.in_(ids[start : start + CHUNK]))
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
        query = select(PUBLICATIONS.c.id).where(PUBLICATIONS.c.id.in_(ids[start : start + CHUNK]))
        with engine.connect() as conn:
            present.update(conn.execute(query).scalars())
    return [pub_id for pub_id in ids if pub_id not in present]


def hit_texts(engine: Engine, ids: Sequence[int]) -> dict[int, HitText]:
    """The title, summary and page text of these publications: what their snippets mark."""
    columns = [PUBLICATIONS.c.id, PUBLICATIONS.c.title, PUBLICATIONS.c.summary] + [
        PUBLICATIONS.c[name] for name in PAGE_TEXT_FIELDS
    ]
    found: dict[int, HitText] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), CHUNK):
            query = select(*columns).where(PUBLICATIONS.c.id.in_(ids[start : start + CHUNK]))
            for row in conn.execute(query).mappings():
                found[row["id"]] = HitText(row["title"] or "", row["summary"] or "", page_text(row))
    return found


def export_rows(engine: Engine) -> Iterator[dict[str, Any]]:
    """Every publication with its topics and authors, oldest id first, for `catalog export`."""
    for row in index_documents(engine):
        row["topics"] = row.pop("topic_slugs")
        row.pop("topic_names")
        yield row


def by_key(key: str) -> Any:
    """The condition picking a publication by id (all digits) or by URL.

    A URL is looked up as the crawl stored it (``catalog.urls``): as a browser gives it, with
    a fragment, tracking parameters or an upper-case scheme, it still finds its publication;
    one with a trailing slash is tried as given first, then without the slash.
    """
    key = key.strip()
    if key.isdigit():
        return PUBLICATIONS.c.id == int(key)
    forms = urls.lookup_forms(key)
    if not forms:
        return false()
    given = PUBLICATIONS.c.url == forms[0]
    if len(forms) == 1:
        return given
    exact = select(PUBLICATIONS.c.id).where(PUBLICATIONS.c.url == forms[0]).exists()
    return or_(given, and_(PUBLICATIONS.c.url == forms[1], ~exact))


def publication(engine: Engine, key: str) -> dict[str, Any] | None:
    """One publication whole, by id or URL: every column, authors, topics and history."""
    with engine.connect() as conn:
        row = conn.execute(select(*[PUBLICATIONS.c[n] for n in ALL_COLUMNS]).where(by_key(key)))
        found = row.mappings().first()
        if found is None:
            return None
        record = dict(found)
        record["authors"] = _authors_for(engine, [record["id"]]).get(record["id"], [])
        record["downloads"] = [
            dict(r)
            for r in conn.execute(
                select(DOWNLOADS.c.label, DOWNLOADS.c.format, DOWNLOADS.c.url, DOWNLOADS.c.size)
                .where(DOWNLOADS.c.publication_id == record["id"])
                .order_by(DOWNLOADS.c.position)
            ).mappings()
        ]
        record["topics"] = [
            dict(r)
            for r in conn.execute(
                select(
                    TOPICS.c.slug,
                    TOPICS.c.name,
                    LINKS.c.section,
                    LINKS.c.position,
                    LINKS.c.listing_url,
                    LINKS.c.first_seen_at,
                    LINKS.c.last_seen_at,
                    LINKS.c.delisted_at,
                )
                .join(TOPICS, TOPICS.c.id == LINKS.c.topic_id)
                .where(LINKS.c.publication_id == record["id"])
                .order_by(LINKS.c.section, TOPICS.c.slug)
            ).mappings()
        ]
        record["history"] = [
            dict(r)
            for r in conn.execute(
                select(
                    CHANGES.c.crawl_run_id,
                    CHANGES.c.kind,
                    CHANGES.c.field,
                    CHANGES.c.old_value,
                    CHANGES.c.new_value,
                    CHANGES.c.changed_at,
                    TOPICS.c.slug.label("topic"),
                )
                .outerjoin(TOPICS, TOPICS.c.id == CHANGES.c.topic_id)
                .where(CHANGES.c.publication_id == record["id"])
                .order_by(CHANGES.c.id)
            ).mappings()
        ]
    return record


def publication_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(PUBLICATIONS)).scalar_one())


# What a citation key is made of (``citations.base_key``): fewer columns than a whole record.
CITATION_KEY_COLUMNS = ("id", "title", "published_on", "date_text")


def citation_keys(engine: Engine) -> dict[int, str]:
    """Every publication's BibTeX/CSL key, computed over the whole catalog.

    A subset (a search, one publication) then gets the keys a full export gives it; see
    ``citations.citation_keys``.
    """
    from catalog import citations  # the command line imports it only for citation formats

    return citations.citation_keys(index_documents(engine, columns=CITATION_KEY_COLUMNS))


def ids_by_url(engine: Engine, urls: Sequence[str]) -> dict[str, int]:
    """Publication ids by their URLs (as stored), for those the catalog has."""
    found: dict[str, int] = {}
    wanted = sorted(set(urls))
    with engine.connect() as conn:
        for start in range(0, len(wanted), CHUNK):
            query = select(PUBLICATIONS.c.url, PUBLICATIONS.c.id).where(
                PUBLICATIONS.c.url.in_(wanted[start : start + CHUNK])
            )
            found.update({url: pub_id for url, pub_id in conn.execute(query)})
    return found
