"""Batched upserts keyed on URL: counts, no duplicates, links, and what to re-index."""

from __future__ import annotations

import dataclasses
import re
import socket
import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, func, insert, select

from catalog.db import make_engine, upgrade
from catalog.records import (
    WALK_COMPLETED,
    WALK_STARTED,
    ListingEntry,
    ListingPageSeen,
    TopicRef,
    TopicWalk,
)
from catalog.store import CatalogStore, RunCounts
from tests.models import (
    CrawlRun,
    ListingPage,
    Publication,
    PublicationChange,
    PublicationTopic,
    Topic,
)

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


class Store(CatalogStore):
    """The store with a crawl run of its own, as every batch belongs to a run."""

    def __init__(self, engine):
        super().__init__(engine)
        self.run = self.start_run("test")

    def upsert(self, entries):
        return self.write_batch(entries, self.run)


@pytest.fixture
def store(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    upgrade(engine)
    return Store(engine)


def count(store, model) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_second_upsert_adds_nothing_and_bumps_last_seen(store):
    first = store.upsert([entry(i) for i in range(50)])
    assert (first.new, first.updated, first.unchanged) == (50, 0, 0)
    assert len(first.reindex_ids) == 50
    with store.engine.connect() as conn:
        seen_before = conn.execute(
            select(Publication.last_seen_at, Publication.first_seen_at)
        ).first()
    second = store.upsert([entry(i) for i in range(50)])
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
    store.upsert([entry(1), entry(2)])
    result = store.upsert([entry(1, title="Report 1, revised"), entry(2)])
    assert (result.new, result.updated, result.unchanged) == (0, 1, 1)
    assert len(result.reindex_ids) == 1
    with store.engine.connect() as conn:
        titles = set(conn.execute(select(Publication.title)).scalars())
    assert titles == {"Report 1, revised", "Report 2"}


def test_one_publication_in_many_topics_and_both_sections(store):
    first = store.upsert([entry(1, section="featured"), entry(1), entry(2)])
    # counts are of publications: the second sighting of RR1 is neither new nor "unchanged"
    assert (first.new, first.updated, first.unchanged) == (2, 0, 0)
    assert first.outcomes == {entry(1).url: "new", entry(2).url: "new"}
    result = store.upsert([entry(1, topic=AP)])
    assert result.unchanged == 1
    assert len(result.reindex_ids) == 1  # its topics changed, so the index must learn it
    assert count(store, Publication) == 2
    assert count(store, Topic) == 2
    assert count(store, PublicationTopic) == 4


def statements(store, records) -> list[str]:
    """The SQL a batch executes (an executemany counts once, as the database sees one)."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        store.upsert(records)
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    return seen


def test_a_batch_issues_the_same_statements_for_one_row_or_hundreds(store):
    """No statement per row: a re-crawl's batch costs a few set-based statements."""
    store.upsert([entry(n) for n in range(1, 301)])
    one = statements(store, [entry(1)])
    many = statements(store, [entry(n) for n in range(1, 301)])
    assert len(one) == len(many) <= 6
    # Known, unchanged topics are read once and not written again.
    on_topics = [sql for sql in many if re.search(r"\btopics\b", sql)]
    assert len(on_topics) == 1 and on_topics[0].lstrip().startswith("SELECT")


def test_a_known_topic_takes_its_new_name_and_url(store):
    store.upsert([entry(1), entry(2, topic=AP)])
    moved = dataclasses.replace(SC, name="Security Cooperation!", url=f"{SC.url}?moved")
    result = store.upsert([entry(1, topic=moved), entry(2, topic=AP)])
    with store.engine.connect() as conn:
        topics = {tuple(row) for row in conn.execute(select(Topic.slug, Topic.name, Topic.url))}
    assert topics == {(moved.slug, moved.name, moved.url), (AP.slug, AP.name, AP.url)}
    assert len(result.reindex_ids) == 1  # topic names are indexed: RR1 is re-indexed, RR2 not
    assert count(store, Topic) == 2


def test_run_counts_count_each_publication_once_across_batches(store):
    """RAND repeats the featured pair on every listing page: one run, one count each."""
    counts = RunCounts()
    counts.add(store.upsert([entry(1, section="featured"), entry(2), entry(3)]))
    counts.add(store.upsert([entry(1, section="featured"), entry(4)]))  # page 2
    counts.add(store.upsert([entry(1, section="featured"), entry(4)]))  # page 3
    assert (counts.items_seen, counts.items_new, counts.items_unchanged) == (4, 4, 0)

    later = RunCounts()
    later.add(store.upsert([entry(1, section="featured"), entry(2, title="Report 2, revised")]))
    later.add(store.upsert([entry(1, section="featured"), entry(3)]))
    assert (later.items_seen, later.items_new, later.items_updated) == (3, 0, 1)
    assert later.items_unchanged == 2


def test_a_sighting_that_lacks_a_field_never_erases_it(store):
    """The featured pair shows no photo on later pages; another topic's teaser has no type."""
    photo = {"image_url": "https://www.rand.org/i/1.jpg", "image_caption": "A ship, photo by X"}
    first = store.upsert([entry(1, section="featured"), entry(1, **photo)])  # one page
    assert first.outcomes == {entry(1).url: "new"}
    later = store.upsert([entry(1, section="featured"), entry(1, topic=AP, content_type="")])
    assert (later.updated, later.unchanged) == (0, 1) and not later.reindex_ids - {1}
    with store.engine.connect() as conn:
        row = conn.execute(select(Publication)).mappings().one()
    assert (row["image_url"], row["content_type"]) == (photo["image_url"], "Report")
    assert changes(store)[-1][0] == "added"  # no "changed" history for a missing field
    moved = store.upsert([entry(1, image_url="https://www.rand.org/i/2.jpg")])
    assert moved.updated == 1  # another non-empty value is a change
    with store.engine.connect() as conn:
        row = conn.execute(select(Publication)).mappings().one()
    assert (row["image_url"], row["image_caption"]) == ("https://www.rand.org/i/2.jpg", None)


def test_null_date_and_missing_optional_fields(store):
    store.upsert([entry(1, published_on=None, date_text="Winter 2020", content_type="")])
    with store.engine.connect() as conn:
        row = conn.execute(select(Publication)).mappings().one()
    assert row["published_on"] is None and row["date_text"] == "Winter 2020"


def test_large_batch_is_chunked(store):
    result = store.upsert([entry(i) for i in range(1300)])
    assert result.new == 1300 and count(store, Publication) == 1300


def test_run_journal(store):
    run_id = store.run
    store.finish_run(run_id, "succeeded", RunCounts(pages_fetched=3, items_seen=10, items_new=4))
    with store.engine.connect() as conn:
        run = conn.execute(select(CrawlRun)).mappings().one()
    assert run["status"] == "succeeded" and run["items_new"] == 4 and run["finished_at"]


def changes(store):
    with store.engine.connect() as conn:
        return conn.execute(
            select(
                PublicationChange.kind,
                PublicationChange.field,
                PublicationChange.old_value,
                PublicationChange.new_value,
            ).order_by(PublicationChange.id)
        ).all()


def test_history_records_additions_and_field_changes(store):
    store.upsert([entry(1)])
    store.upsert([entry(1, title="Report 1, revised", published_on=date(2021, 2, 2))])
    store.upsert([entry(1, title="Report 1, revised", published_on=date(2021, 2, 2))])
    assert changes(store) == [
        ("added", None, None, None),
        ("changed", "title", "Report 1", "Report 1, revised"),
        ("changed", "published_on", "2021-01-02", "2021-02-02"),
    ]


def test_unchanged_rows_only_get_last_seen(store):
    store.upsert([entry(1)])
    with store.engine.connect() as conn:
        before = conn.execute(select(Publication)).mappings().one()
    store.upsert([entry(1)])
    with store.engine.connect() as conn:
        after = conn.execute(select(Publication)).mappings().one()
    assert {k: v for k, v in after.items() if k != "last_seen_at"} == {
        k: v for k, v in before.items() if k != "last_seen_at"
    }


def walk(event, full=False, topic=SC):
    return TopicWalk(topic, event, full=full)


def topic_state(store):
    with store.engine.connect() as conn:
        return conn.execute(select(Topic.walk_state)).scalar_one()


def test_walk_markers_and_full_walk_delisting(store):
    store.upsert([walk(WALK_STARTED), entry(1), entry(2), walk(WALK_COMPLETED, full=True)])
    assert topic_state(store) == "complete"
    store.upsert([walk(WALK_STARTED), entry(1)])
    assert topic_state(store) == "partial"  # a walk under way (or cut short) is partial

    second = Store(store.engine)  # a later run: a full walk that no longer finds RR2
    result = second.upsert(
        [walk(WALK_STARTED, full=True), entry(1), walk(WALK_COMPLETED, full=True)]
    )
    assert result.delisted == 1 and len(result.reindex_ids) == 1
    with store.engine.connect() as conn:
        links = dict(
            conn.execute(
                select(PublicationTopic.publication_id, PublicationTopic.delisted_at)
            ).all()
        )
    assert links[1] is None and links[2] is not None
    assert count(store, Publication) == 2  # delisted, never deleted
    assert changes(store)[-1] == ("delisted", None, None, None)

    relisted = Store(store.engine).upsert([entry(2)])
    assert relisted.reindex_ids  # listed again: back in the topic
    with store.engine.connect() as conn:
        assert (
            conn.execute(
                select(PublicationTopic.delisted_at).where(PublicationTopic.publication_id == 2)
            ).scalar_one()
            is None
        )


def test_incremental_walk_never_delists(store):
    store.upsert([entry(1), entry(2), walk(WALK_COMPLETED, full=True)])
    later = Store(store.engine)
    assert later.upsert([entry(1), walk(WALK_COMPLETED, full=False)]).delisted == 0


def test_listing_page_validators_are_kept(store):
    page = ListingPageSeen(
        "https://www.rand.org/topics/security-cooperation.html", SC, '"abc"', None
    )
    store.upsert([page])
    store.upsert([ListingPageSeen(page.url, SC, '"def"', "Sun, 22 Nov 2026 10:00:00 GMT")])
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(ListingPage.url, ListingPage.etag, ListingPage.last_modified)
        ).all()
    assert rows == [(page.url, '"def"', "Sun, 22 Nov 2026 10:00:00 GMT")]


def test_abandoned_runs_are_closed_and_live_ones_left_alone(store):
    """A run of this live process stays running; one whose process died is interrupted."""
    finished = subprocess.Popen([sys.executable, "-c", "pass"])  # its pid is dead once waited
    finished.wait()
    now = datetime.now()
    rows = [  # (host, pid, started): dead here; another host, recent; another host, old
        (socket.gethostname(), finished.pid, now),
        ("elsewhere", 1, now - timedelta(hours=3)),
        ("elsewhere", 1, now - timedelta(days=30)),
    ]
    with store.engine.begin() as conn:
        for host, pid, started in rows:
            conn.execute(
                insert(CrawlRun).values(
                    started_at=started, status="running", spider="t", host=host, pid=pid
                )
            )
    assert store.close_abandoned_runs() == 2
    with store.engine.connect() as conn:
        statuses = conn.execute(select(CrawlRun.status).order_by(CrawlRun.id)).scalars().all()
    assert statuses == ["running", "interrupted", "running", "interrupted"]
