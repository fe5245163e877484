"""A batch's records written: topics, listing entries, walks, page details, failures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    select,
    update,
)

from catalog.listings import LISTED, as_listed, field_diffs
from catalog.records import (
    SECTION_FEATURED,
    SECTION_LIST,
    WALK_COMPLETED,
    WALK_STARTED,
    DetailFailure,
    ListingEntry,
    PublicationDetails,
    TopicRef,
    TopicWalk,
    merge_fields,
)
from catalog.store.results import NEW, UNCHANGED, UPDATED, BatchResult
from catalog.store.revisions import Revision
from catalog.store.statements import (
    AUTHOR_IDS,
    CLEAR_AUTHORSHIPS,
    CLEAR_DOWNLOADS,
    CLEAR_RELATED,
    DETAIL_FAILURE,
    DETAILS,
    LISTED_SLICE,
    PAGE_DATE,
    SECTION_RELATED,
    SET_PUBLISHER,
    STORED_PUBLISHER,
    TOPIC_IDS,
    TOPIC_PUBLICATIONS,
    TOPICS_BY_SLUG,
    TOUCH,
    chunks,
    existing_publications,
    history_row,
    insert,
    listed_pairs,
    publication_ids,
    stored_publishers,
    text,
    upsert,
)
from catalog.tables import (
    AUTHORS,
    AUTHORSHIPS,
    CHANGES,
    DETAIL_FIELDS,
    DETAIL_LINE_FIELDS,
    DOWNLOADS,
    LINKS,
    LISTING_FIELDS,
    PUBLICATIONS,
    RUNS,
    TOPICS,
)


def upsert_topics(conn: Connection, topics: list[TopicRef], reindex: set[int]) -> dict[str, int]:
    """Topic ids by slug; a renamed topic's publications go to ``reindex`` (names are indexed).

    One read of the batch's topics; only new or changed topics are upserted, and only new
    slugs are read again for their ids (every batch names the same few topics).
    """
    unique = {t.slug: t for t in topics}
    if not unique:
        return {}
    stored = {
        slug: (topic_id, name, url)
        for topic_id, slug, name, url in conn.execute(TOPICS_BY_SLUG, {"slugs": list(unique)}).all()
    }
    renamed = [
        stored[slug][0]
        for slug, t in unique.items()
        if slug in stored and stored[slug][1] != t.name
    ]
    for chunk in chunks(renamed):
        reindex.update(conn.execute(TOPIC_PUBLICATIONS, {"ids": chunk}).scalars())
    upsert(
        conn,
        TOPICS,
        [
            {"slug": t.slug, "name": t.name, "url": t.url}
            for slug, t in unique.items()
            if stored.get(slug, (None, None, None))[1:] != (t.name, t.url)
        ],
        keys=["slug"],
        update=["name", "url"],
    )
    ids = {slug: row[0] for slug, row in stored.items()}
    new = [slug for slug in unique if slug not in stored]
    if new:
        ids.update(conn.execute(TOPIC_IDS, {"slugs": new}).all())
    return ids


def write_entries(
    conn: Connection,
    entries: list[ListingEntry],
    topic_ids: dict[str, int],
    run_id: int,
    now: datetime,
    result: BatchResult,
    revision: Revision,
) -> None:
    # Listing fields by URL, in LISTING_FIELDS order; sightings of one publication merge (the
    # first non-empty value wins). Plain dicts: the entries themselves are left as they came.
    latest: dict[str, dict[str, Any]] = {}
    # The publisher as the listing names it (the first sighting that names one). It is not a
    # listing field: it fills a publication's publisher only while that is unknown, since the
    # publication page's word is better and replaces it (see ``write_details``).
    publishers: dict[str, str] = {}
    for entry in entries:
        listed = dict(zip(LISTING_FIELDS, LISTED(entry), strict=True))
        if entry.url in latest:
            merge_fields(latest[entry.url], listed)
        else:
            latest[entry.url] = listed
        if entry.publisher and not publishers.get(entry.url):
            publishers[entry.url] = entry.publisher
    urls = list(latest)
    existing = existing_publications(conn, urls)

    changed: dict[str, list[tuple[str, Any, Any]]] = {}
    for url in urls:  # each publication once, however often the batch lists it
        before = existing.get(url)
        if before is None:
            result.outcomes[url] = NEW
            continue
        stored = before[LISTED_SLICE]
        diffs = field_diffs(stored, as_listed(latest[url], stored))
        if diffs:
            result.outcomes[url] = UPDATED
            result.reindex_ids.add(before[0])
            changed[url] = diffs
        else:
            result.outcomes[url] = UNCHANGED
    result.new = sum(1 for o in result.outcomes.values() if o == NEW)
    result.updated = sum(1 for o in result.outcomes.values() if o == UPDATED)
    result.unchanged = len(result.outcomes) - result.new - result.updated

    # Only new and changed rows are written in full; the rest get last_seen_at alone.
    writes = [u for u in urls if u not in existing or u in changed]
    upsert(
        conn,
        PUBLICATIONS,
        [
            {
                "url": u,
                **latest[u],
                # New rows only: an existing row's publisher is not in the update list.
                "publisher": publishers.get(u, ""),
                "first_seen_at": now,
                "last_seen_at": now,
                "revision": revision.value,
            }
            for u in writes
        ],
        keys=["url"],
        update=[*LISTING_FIELDS, "last_seen_at", "revision"],
    )
    seen_only = [existing[u][0] for u in urls if u in existing and u not in changed]
    for chunk in chunks(seen_only):
        conn.execute(TOUCH, {"now": now, "ids": chunk})
    ids = {url: row[0] for url, row in existing.items()}
    ids.update(publication_ids(conn, [u for u in urls if u not in existing]))
    added = [ids[u] for u in urls if u not in existing]
    result.reindex_ids.update(added)
    filled = {
        url: publishers[url]
        for url in urls
        if url in existing and not existing[url][STORED_PUBLISHER] and publishers.get(url)
    }
    if filled:
        conn.execute(SET_PUBLISHER, [{"b_id": ids[u], "b_publisher": p} for u, p in filled.items()])
        result.reindex_ids.update(ids[u] for u in filled)

    history = [
        {"crawl_run_id": run_id, "publication_id": pub_id, "kind": "added", "changed_at": now}
        for pub_id in added
    ] + [
        {
            "crawl_run_id": run_id,
            "publication_id": ids[url],
            "kind": "changed",
            "field": name,
            "old_value": text(old),
            "new_value": text(new),
            "changed_at": now,
        }
        for url, diffs in changed.items()
        for name, old, new in diffs
    ]
    history += [publisher_change(run_id, ids[u], "", p, now) for u, p in filled.items()]
    insert(conn, CHANGES, [history_row(row) for row in history])

    links: dict[tuple[int, int, str], dict[str, Any]] = {}
    for e in entries:
        key = (ids[e.url], topic_ids[e.topic.slug], e.section)
        links[key] = {
            "publication_id": key[0],
            "topic_id": key[1],
            "section": key[2],
            "listing_url": e.listing_url,
            "position": e.position,
            "first_seen_at": now,
            "last_seen_at": now,
            "delisted_at": None,
        }
    pairs = {(k[0], k[1]) for k in links}
    known = listed_pairs(conn, pairs)
    # A publication newly listed under a topic is re-indexed: its topics changed.
    result.reindex_ids.update(pub for pub, topic in pairs if (pub, topic) not in known)
    upsert(
        conn,
        LINKS,
        list(links.values()),
        keys=["publication_id", "topic_id", "section"],
        update=["listing_url", "position", "last_seen_at", "delisted_at"],
    )


def apply_walk(
    conn: Connection,
    walk: TopicWalk,
    topic_id: int,
    run_id: int,
    now: datetime,
    result: BatchResult,
) -> None:
    if walk.event == WALK_STARTED:
        conn.execute(update(TOPICS).where(TOPICS.c.id == topic_id).values(walk_state="partial"))
        return
    if walk.event != WALK_COMPLETED:
        raise ValueError(f"unknown walk event {walk.event!r}")
    conn.execute(
        update(TOPICS).where(TOPICS.c.id == topic_id).values(walk_state="complete", walked_at=now)
    )
    if not walk.full:
        return
    # A full walk saw every listing of the topic: what it did not see is no longer listed.
    started_at = conn.execute(select(RUNS.c.started_at).where(RUNS.c.id == run_id)).scalar_one()
    gone = (
        (LINKS.c.topic_id == topic_id)
        & LINKS.c.section.in_([SECTION_FEATURED, SECTION_LIST])
        & (LINKS.c.last_seen_at < started_at)
        & LINKS.c.delisted_at.is_(None)
    )
    rows = conn.execute(select(LINKS.c.publication_id, LINKS.c.section).where(gone)).all()
    if not rows:
        return
    conn.execute(update(LINKS).where(gone).values(delisted_at=now))
    still_listed = listed_pairs(
        conn, {(pub, topic_id) for pub, _ in rows}, sections=(SECTION_FEATURED, SECTION_LIST)
    )
    delisted = sorted({pub for pub, _ in rows if (pub, topic_id) not in still_listed})
    result.delisted += len(delisted)
    result.reindex_ids.update(delisted)
    insert(
        conn,
        CHANGES,
        [
            history_row(
                {
                    "crawl_run_id": run_id,
                    "publication_id": pub,
                    "topic_id": topic_id,
                    "kind": "delisted",
                    "changed_at": now,
                }
            )
            for pub in delisted
        ],
    )


def publisher_change(run_id: int, pub_id: int, old: str, new: str, now: datetime) -> dict[str, Any]:
    """The history row of a publication whose publisher changed (or became known)."""
    return {
        "crawl_run_id": run_id,
        "publication_id": pub_id,
        "kind": "changed",
        "field": "publisher",
        "old_value": old,
        "new_value": new,
        "changed_at": now,
    }


def write_details(
    conn: Connection,
    details: list[PublicationDetails],
    topic_ids: dict[str, int],
    run_id: int,
    now: datetime,
    result: BatchResult,
) -> None:
    """Detail columns, authors in order and related topics of publications already stored.

    The page's publisher, when it names one, replaces the listing's; a change goes to the
    history like a listing field's.
    """
    latest = {d.url: d for d in details}
    stored = stored_publishers(conn, list(latest))
    ids = {url: pub_id for url, (pub_id, _) in stored.items()}
    found = [d for url, d in latest.items() if url in ids]
    if not found:
        return
    renamed = [
        (ids[d.url], stored[d.url][1], d.publisher)
        for d in found
        if d.publisher and d.publisher != stored[d.url][1]
    ]
    if renamed:
        conn.execute(SET_PUBLISHER, [{"b_id": i, "b_publisher": new} for i, _, new in renamed])
        insert(
            conn,
            CHANGES,
            [history_row(publisher_change(run_id, *change, now)) for change in renamed],
        )
    rows = [
        {
            "b_id": ids[d.url],
            **{name: getattr(d, name) for name in DETAIL_FIELDS},
            **{name: "\n".join(getattr(d, name)) or None for name in DETAIL_LINE_FIELDS},
            "details_fetched_at": now,
            "details_error": None,
        }
        for d in found
    ]
    conn.execute(DETAILS, rows)
    dated = [
        {"b_id": ids[d.url], "b_date": d.published_on, "b_text": d.date_text}
        for d in found
        if d.published_on
    ]
    if dated:
        conn.execute(PAGE_DATE, dated)
    pub_ids = [ids[d.url] for d in found]
    names = sorted({name for d in found for name in d.authors})
    if names:
        upsert(conn, AUTHORS, [{"name": n} for n in names], keys=["name"], update=["name"])
    author_ids: dict[str, int] = {}
    for chunk in chunks(names):
        author_ids.update(conn.execute(AUTHOR_IDS, {"names": chunk}).all())
    related = {(ids[d.url], topic_ids[t.slug]) for d in found for t in d.related_topics}
    newly_related = related - listed_pairs(conn, related)
    for chunk in chunks(pub_ids):
        conn.execute(CLEAR_AUTHORSHIPS, {"ids": chunk})
        conn.execute(CLEAR_DOWNLOADS, {"ids": chunk})
        conn.execute(CLEAR_RELATED, {"ids": chunk})
    authorships = [
        {"publication_id": ids[d.url], "position": position, "author_id": author_ids[name]}
        for d in found
        for position, name in enumerate(dict.fromkeys(d.authors), start=1)
    ]
    links = [
        {
            "publication_id": ids[d.url],
            "topic_id": topic_ids[t.slug],
            "section": SECTION_RELATED,
            "listing_url": d.url,
            "position": position,
            "first_seen_at": now,
            "last_seen_at": now,
            "delisted_at": None,
        }
        for d in found
        for position, t in enumerate(d.related_topics, start=1)
    ]
    downloads = [
        {
            "publication_id": ids[d.url],
            "position": position,
            "label": f.label,
            "format": f.format,
            "url": f.url,
            "size": f.size,
        }
        for d in found
        for position, f in enumerate(d.downloads, start=1)
    ]
    insert(conn, AUTHORSHIPS, authorships)
    insert(conn, LINKS, links)
    insert(conn, DOWNLOADS, downloads)
    result.details_fetched += len(found)
    result.reindex_ids.update(pub_ids)
    result.reindex_ids.update(pub for pub, _ in newly_related)


def write_detail_failures(
    conn: Connection, failures: list[DetailFailure], result: BatchResult
) -> None:
    """Keep the reason; details_fetched_at stays NULL, so the next crawl tries again."""
    latest = {f.url: f for f in failures}
    ids = publication_ids(conn, list(latest))
    rows = [
        {"b_id": ids[url], "b_error": f.reason[:2000]} for url, f in latest.items() if url in ids
    ]
    if rows:
        conn.execute(DETAIL_FAILURE, rows)
    result.details_failed += len(latest)
