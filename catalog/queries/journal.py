"""What crawls did: the run journal, the changes per topic, and the catalog's counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, String, and_, cast, func, select

from catalog.tables import (
    CHANGES,
    CHUNK,
    LINKS,
    PUBLICATIONS,
    RUN_COUNT_COLUMNS,
    RUNS,
    STATE,
    TOMBSTONES,
    TOPICS,
)

if TYPE_CHECKING:
    pass


def stats(engine: Engine) -> dict[str, Any]:
    """Counts by publisher, by type, by year and by topic, and the last crawl run."""
    year = func.substr(cast(PUBLICATIONS.c.published_on, String), 1, 4)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(PUBLICATIONS)).scalar_one()
        by_publisher = conn.execute(
            select(PUBLICATIONS.c.publisher, func.count().label("n"))
            .group_by(PUBLICATIONS.c.publisher)
            .order_by(func.count().desc(), PUBLICATIONS.c.publisher)
        ).all()
        by_type = conn.execute(
            select(PUBLICATIONS.c.content_type, func.count().label("n"))
            .group_by(PUBLICATIONS.c.content_type)
            .order_by(func.count().desc(), PUBLICATIONS.c.content_type)
        ).all()
        by_year = conn.execute(
            select(year.label("year"), func.count().label("n")).group_by(year).order_by(year.desc())
        ).all()
        by_topic = conn.execute(
            select(TOPICS.c.slug, func.count(func.distinct(LINKS.c.publication_id)).label("n"))
            .join(LINKS, LINKS.c.topic_id == TOPICS.c.id)
            .group_by(TOPICS.c.slug)
            .order_by(TOPICS.c.slug)
        ).all()
        last_run = conn.execute(select(RUNS).order_by(RUNS.c.id.desc()).limit(1)).mappings().first()
    return {
        "publications": total,
        # None for "no publisher", "no type" and "no date": JSON readers get null, the text
        # table a label.
        "by_publisher": [{"publisher": p or None, "count": n} for p, n in by_publisher],
        "by_type": [{"content_type": t or None, "count": n} for t, n in by_type],
        "by_year": [{"year": y or None, "count": n} for y, n in by_year],
        "by_topic": [{"topic": s, "count": n} for s, n in by_topic],
        "last_run": dict(last_run) if last_run else None,
    }


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
    query = select(*[RUNS.c[n] for n in RUN_COLUMNS]).order_by(RUNS.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def last_run(engine: Engine) -> dict[str, Any] | None:
    runs = recent_runs(engine, 1)
    return runs[0] if runs else None


def crawl_run(engine: Engine, run_id: int) -> dict[str, Any] | None:
    query = select(*[RUNS.c[n] for n in RUN_COLUMNS]).where(RUNS.c.id == run_id)
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
    topic_of_change = (
        select(TOPICS.c.slug).where(TOPICS.c.id == CHANGES.c.topic_id).scalar_subquery()
    )
    listed_topics = (
        select(CHANGES.c.id.label("change_id"), TOPICS.c.slug.label("topic"))
        .join(LINKS, LINKS.c.publication_id == CHANGES.c.publication_id)
        .join(TOPICS, TOPICS.c.id == LINKS.c.topic_id)
        .where(CHANGES.c.topic_id.is_(None))
        .distinct()
        .subquery()
    )
    query = (
        select(
            func.coalesce(topic_of_change, listed_topics.c.topic, "").label("topic"),
            CHANGES.c.kind,
            CHANGES.c.changed_at,
            PUBLICATIONS.c.title,
            PUBLICATIONS.c.url,
            CHANGES.c.field,
            CHANGES.c.old_value,
            CHANGES.c.new_value,
            CHANGES.c.crawl_run_id.label("run_id"),
        )
        .join(PUBLICATIONS, PUBLICATIONS.c.id == CHANGES.c.publication_id)
        .outerjoin(listed_topics, listed_topics.c.change_id == CHANGES.c.id)
        .order_by("topic", CHANGES.c.id)
    )
    if run_id is not None:
        query = query.where(CHANGES.c.crawl_run_id == run_id)
    if since is not None:
        query = query.where(CHANGES.c.changed_at >= since)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def catalog_version(engine: Engine) -> tuple[int, int, int, str]:
    """What anything read from the catalog depends on, in one statement: the catalog's id,
    its newest publication revision, and the newest crawl run's id and status.

    A web server derives its ``ETag`` from it: revisions move with every change to a
    publication, and the run with every crawl (which updates ``last_seen_at`` and the
    journal without touching a revision).
    """
    last_run = select(RUNS.c.id, RUNS.c.status).order_by(RUNS.c.id.desc()).limit(1).subquery()
    query = select(
        select(STATE.c.value).where(STATE.c.key == "catalog_id").scalar_subquery(),
        select(func.max(PUBLICATIONS.c.revision)).scalar_subquery(),
        select(func.max(TOMBSTONES.c.revision)).scalar_subquery(),
        select(last_run.c.id).scalar_subquery(),
        select(last_run.c.status).scalar_subquery(),
    )
    with engine.connect() as conn:
        catalog_id, published, deleted, run_id, status = conn.execute(query).one()
    revision = max(int(published or 0), int(deleted or 0))
    return int(catalog_id or 0), revision, int(run_id or 0), status or ""


def topics_with_counts(engine: Engine) -> list[dict[str, Any]]:
    """Every topic with its name, listing URL and how many publications it lists now."""
    count = func.count(func.distinct(LINKS.c.publication_id))
    query = (
        select(TOPICS.c.slug, TOPICS.c.name, TOPICS.c.url, count.label("count"))
        .outerjoin(LINKS, and_(LINKS.c.topic_id == TOPICS.c.id, LINKS.c.delisted_at.is_(None)))
        .group_by(TOPICS.c.slug, TOPICS.c.name, TOPICS.c.url)
        .order_by(TOPICS.c.slug)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def catalogued_times(engine: Engine, ids: Sequence[int]) -> dict[int, tuple[Any, Any]]:
    """Per publication, when the catalog first saw it and when it last changed (its latest
    recorded change, else its first sighting): what a feed dates its entries by."""
    found: dict[int, tuple[Any, Any]] = {}
    latest = (
        select(func.max(CHANGES.c.changed_at))
        .where(CHANGES.c.publication_id == PUBLICATIONS.c.id)
        .scalar_subquery()
    )
    with engine.connect() as conn:
        for start in range(0, len(ids), CHUNK):
            query = select(PUBLICATIONS.c.id, PUBLICATIONS.c.first_seen_at, latest).where(
                PUBLICATIONS.c.id.in_(ids[start : start + CHUNK])
            )
            for pub_id, first_seen, changed in conn.execute(query):
                found[pub_id] = (first_seen, max(x for x in (first_seen, changed) if x))
    return found
