"""Batched upserts keyed on URL: counts, no duplicates, links, and what to re-index."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from sqlalchemy import func, select

from catalog.db import make_engine, upgrade
from catalog.models import Publication, PublicationTopic, Topic
from catalog.store import CatalogStore, RunCounts
from crawler.items import ListingEntry, TopicRef

SC = TopicRef(
    "security-cooperation",
    "Security Cooperation",
    "https://www.rand.org/topics/security-cooperation.html",
)
AP = TopicRef("alliances", "Alliances", "https://www.rand.org/topics/alliances.html")


def entry(n: int, topic: TopicRef = SC, section: str = "list", **changes) -> ListingEntry:
    base = ListingEntry(
        url=f"https://www.rand.org/pubs/research_reports/RR{n}.html",
        title=f"Report {n}",
        content_type="Report",
        published_on=date(2021, 1, 1 + n % 28),
        date_text="Jan 1, 2021",
        summary=f"Summary {n}",
        image_url=None,
        image_caption=None,
        topic=topic,
        section=section,
        listing_url=topic.url,
        position=n,
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
def store(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    upgrade(engine)
    return CatalogStore(engine)


def count(store, model) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_second_upsert_adds_nothing_and_bumps_last_seen(store):
    first = store.upsert_listings([entry(i) for i in range(50)])
    assert (first.new, first.updated, first.unchanged) == (50, 0, 0)
    assert len(first.reindex_ids) == 50
    with store.engine.connect() as conn:
        seen_before = conn.execute(
            select(Publication.last_seen_at, Publication.first_seen_at)
        ).first()
    second = store.upsert_listings([entry(i) for i in range(50)])
    assert (second.new, second.updated, second.unchanged) == (0, 0, 50)
    assert second.reindex_ids == set()
    assert count(store, Publication) == 50
    with store.engine.connect() as conn:
        seen_after = conn.execute(
            select(Publication.last_seen_at, Publication.first_seen_at)
        ).first()
    assert seen_after.last_seen_at >= seen_before.last_seen_at
    assert seen_after.first_seen_at == seen_before.first_seen_at


def test_changed_fields_update_in_place(store):
    store.upsert_listings([entry(1), entry(2)])
    result = store.upsert_listings([entry(1, title="Report 1, revised"), entry(2)])
    assert (result.new, result.updated, result.unchanged) == (0, 1, 1)
    assert len(result.reindex_ids) == 1
    with store.engine.connect() as conn:
        titles = set(conn.execute(select(Publication.title)).scalars())
    assert titles == {"Report 1, revised", "Report 2"}


def test_one_publication_in_many_topics_and_both_sections(store):
    first = store.upsert_listings([entry(1, section="featured"), entry(1), entry(2)])
    assert (first.new, first.unchanged) == (2, 1)  # the second sighting in a batch is not new
    result = store.upsert_listings([entry(1, topic=AP)])
    assert result.unchanged == 1
    assert len(result.reindex_ids) == 1  # its topics changed, so the index must learn it
    assert count(store, Publication) == 2
    assert count(store, Topic) == 2
    assert count(store, PublicationTopic) == 4


def test_null_date_and_missing_optional_fields(store):
    store.upsert_listings([entry(1, published_on=None, date_text="Winter 2020", content_type="")])
    with store.engine.connect() as conn:
        row = conn.execute(select(Publication)).mappings().one()
    assert row["published_on"] is None and row["date_text"] == "Winter 2020"


def test_large_batch_is_chunked(store):
    result = store.upsert_listings([entry(i) for i in range(1300)])
    assert result.new == 1300 and count(store, Publication) == 1300


def test_run_journal(store):
    run_id = store.start_run("rand_topic")
    store.finish_run(run_id, "succeeded", RunCounts(pages_fetched=3, items_seen=10, items_new=4))
    with store.engine.connect() as conn:
        from catalog.models import CrawlRun

        run = conn.execute(select(CrawlRun)).mappings().one()
    assert run["status"] == "succeeded" and run["items_new"] == 4 and run["finished_at"]
