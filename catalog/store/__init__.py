"""The only package that writes the catalog database.

Crawl records arrive in batches; each batch is one transaction of a few set-based statements
(one SELECT to classify, one upsert per table, one insert of history rows), never a round trip
per item.

Revisions: every change to what a search index holds about a publication (listing fields, page
details, authors, topics, listing and delisting, a new row, a deletion) sets the publication's
``revision`` in the same transaction, from a catalog-wide counter. Each index records the
highest revision it has absorbed, so ``revision > recorded`` is exactly what it must apply.
That only holds if revisions become visible in the order they are handed out:

- SQLite: the counter is the ``revision`` row of ``catalog_state``, bumped inside the writing
  transaction. SQLite admits one writer at a time, so transactions commit in counter order and
  a reader can never see revision 11 committed while 10 is still to come.
- PostgreSQL: the counter is the sequence ``publication_revision_seq`` (``nextval`` never
  hands two crawlers the same value and never blocks on a hot row). A sequence alone does not
  order commits, though: a transaction holding 10 may commit after one holding 11, and an
  index that absorbed 11 would never look at 10 again. So each writing transaction first
  takes a transaction-scoped advisory lock: batches on one database commit one after another,
  in revision order. Batches are short; crawls spend their time fetching, not writing.
- Other backends (MySQL/MariaDB): the counter row, whose row lock orders commits the same way.
"""

from catalog.store.results import NEW, UNCHANGED, UPDATED, BatchResult, RunCounts, utcnow
from catalog.store.revisions import Revision, next_revision
from catalog.store.statements import SECTION_RELATED, Record
from catalog.store.writer import STALE_REMOTE_RUN, CatalogStore
from catalog.tables import PUBLICATIONS

__all__ = [
    "NEW",
    "PUBLICATIONS",
    "SECTION_RELATED",
    "STALE_REMOTE_RUN",
    "UNCHANGED",
    "UPDATED",
    "BatchResult",
    "CatalogStore",
    "Record",
    "Revision",
    "RunCounts",
    "next_revision",
    "utcnow",
]
