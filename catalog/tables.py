"""The catalog's schema as SQLAlchemy Core tables: what every reader and writer goes through.

Table and column names are a public contract: users write SQL against them. Change them only
through an Alembic revision, and document the change in docs/schema.md.
Times are UTC, stored without a zone; dates are ISO ``YYYY-MM-DD``.

Core, not ORM-mapped classes: nothing here needs objects, and a read command (``catalog
search``) should not pay for mapping a dozen classes at every start. ``catalog.models`` maps
typed classes onto these same tables for code that wants them (Alembic, tests).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Sequence,
    String,
    Table,
    Text,
)
from sqlalchemy.sql.expression import false

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# PostgreSQL hands out publication revisions from this sequence (see ``catalog.store``); SQLite
# has no sequences and counts in ``catalog_state`` instead. Created by migration 0005.
REVISION_SEQUENCE = Sequence("publication_revision_seq", metadata=metadata)

# The listing fields whose change makes a publication "updated" (re-indexed, kept in history).
LISTING_FIELDS = (
    "title",
    "content_type",
    "published_on",
    "date_text",
    "summary",
    "image_url",
    "image_caption",
)
# Detail columns copied as they are from PublicationDetails to publications.
DETAIL_FIELDS = (
    "subtitle",
    "abstract",
    "body_text",
    "document_number",
    "doi",
    "isbn",
    "series",
    "page_count",
    "pdf_url",
    "pdf_size",
    "print_format",
    "print_price",
    "list_price",
    "journal",
)
# List fields stored as text, one item per line.
DETAIL_LINE_FIELDS = ("research_questions", "key_findings", "recommendations")
# Every column a publication page fills (or, failing, its error).
DETAIL_COLUMNS = (*DETAIL_FIELDS, *DETAIL_LINE_FIELDS, "details_fetched_at", "details_error")
# The counters of a crawl run, as ``crawl_runs`` columns.
RUN_COUNT_COLUMNS = (
    "pages_fetched",
    "pages_not_modified",
    "items_seen",
    "items_new",
    "items_updated",
    "items_unchanged",
    "items_skipped",
    "items_delisted",
    "details_fetched",
    "details_failed",
    "details_skipped",
    "warnings",
)
# SQLite allows 32766 bound parameters per statement; stay far below it on every backend.
CHUNK = 500


# One publication, keyed by its canonical URL; listing fields as last seen.
publications = Table(
    "publications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", String(2048), unique=True, nullable=False),
    Column("title", Text, nullable=False),
    Column("content_type", String(100), default="", index=True, nullable=False),
    Column("published_on", Date, index=True),
    Column("date_text", String(100), default="", nullable=False),
    Column("summary", Text, default="", nullable=False),
    Column("image_url", String(2048)),
    Column("image_caption", Text),
    # Who published it, as the publisher names itself ("RAND Corporation"): the listing's word
    # while the page has not been read, then the page's (embedded metadata). "" when unknown.
    Column("publisher", String(300), default="", server_default="", index=True, nullable=False),
    Column("first_seen_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    # From the publication's own page (NULL until fetched, or when the page lacks them).
    Column("subtitle", Text),
    Column("abstract", Text),
    Column("research_questions", Text),  # one per line
    Column("key_findings", Text),  # headings, then "- " points
    Column("recommendations", Text),  # one per line
    Column("body_text", Text),  # commentary and news pages
    Column("document_number", String(100), index=True),
    Column("doi", String(255)),
    Column("isbn", String(40)),
    Column("series", String(255)),
    Column("page_count", Integer),
    Column("pdf_url", String(2048)),
    Column("pdf_size", String(40)),
    Column("print_format", String(100)),
    Column("print_price", String(40)),  # what a buyer pays
    Column("list_price", String(40)),  # before any web discount
    Column("journal", String(500)),  # external publications
    Column("details_fetched_at", DateTime),
    Column("details_error", Text),  # why the last attempt failed
    # The catalog-wide change counter's value when anything the search index holds about this
    # publication last changed (listing fields, page details, authors, topics). Each search
    # index records the highest revision it has absorbed; ``revision > recorded`` is what it
    # still has to apply.
    Column("revision", BigInteger, index=True, nullable=False),
)


# A document a publication's page offers: full report, summary, EPUB, ... in page order.
downloads = Table(
    "downloads",
    metadata,
    Column("publication_id", ForeignKey("publications.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("label", String(200), nullable=False),  # "Full Document", "Research Summary"
    Column("format", String(20), nullable=False),  # PDF, EPUB, ...
    Column("url", String(2048), nullable=False),
    Column("size", String(40)),  # as printed, e.g. "16.4 MB"
)


# A person credited on publication pages, by name as the page prints it.
authors = Table(
    "authors",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(300), unique=True, nullable=False),
)


# Who wrote a publication, in page order (``position`` 1 is the first author).
publication_authors = Table(
    "publication_authors",
    metadata,
    Column("publication_id", ForeignKey("publications.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("author_id", ForeignKey("authors.id", ondelete="CASCADE"), index=True, nullable=False),
)


# A topic listing (e.g. RAND's Security Cooperation), keyed by its slug.
topics = Table(
    "topics",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(200), unique=True, nullable=False),
    Column("name", String(500), nullable=False),
    Column("url", String(2048), nullable=False),
    # "complete" once a crawl has walked the listing to its end (or to pages it already had);
    # "partial" while a walk is under way or after one was cut short. Incremental crawls stop
    # early only on a complete topic, so an interrupted walk is always finished next time.
    Column("walk_state", String(20), default="partial", server_default="partial", nullable=False),
    Column("walked_at", DateTime),
)


# Where a publication is listed: under which topic, in which section, at which place.
publication_topics = Table(
    "publication_topics",
    metadata,
    Column("publication_id", ForeignKey("publications.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True, index=True),
    # featured | list (the topic's listing) | related (the publication page's related topics)
    Column("section", String(20), primary_key=True),
    Column("listing_url", String(2048), nullable=False),
    Column("position", Integer, nullable=False),
    Column("first_seen_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    # Set by a --full crawl that walked the topic and no longer found the publication there.
    Column("delisted_at", DateTime),
)


# The journal of crawls: one row per run, written when it starts and when it ends.
crawl_runs = Table(
    "crawl_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("status", String(20), default="running", index=True, nullable=False),
    Column("spider", String(100), default="", nullable=False),
    Column("pages_fetched", Integer, default=0, nullable=False),
    Column("items_seen", Integer, default=0, nullable=False),
    Column("items_new", Integer, default=0, nullable=False),
    Column("items_updated", Integer, default=0, nullable=False),
    Column("items_unchanged", Integer, default=0, nullable=False),
    Column("items_skipped", Integer, default=0, nullable=False),
    Column("error", Text),
    Column("full", Boolean, default=False, server_default=false(), nullable=False),
    Column("pages_not_modified", Integer, default=0, server_default="0", nullable=False),
    Column("items_delisted", Integer, default=0, server_default="0", nullable=False),
    Column("details_fetched", Integer, default=0, server_default="0", nullable=False),
    Column("details_failed", Integer, default=0, server_default="0", nullable=False),
    # Problems that cost a field but not the run (a date out of range, ...); see the log.
    Column("warnings", Integer, default=0, server_default="0", nullable=False),
    # Publication pages not read because they are on a host the crawl does not visit (a
    # teaser linking to another site); the log names each.
    Column("details_skipped", Integer, default=0, server_default="0", nullable=False),
    # Which process runs it: a ``running`` row whose process is gone is closed by the next
    # command (same host: the pid is not alive; another host: only once it is very old).
    Column("host", String(255)),
    Column("pid", Integer),
)


# HTTP validators of each listing page, sent back as If-None-Match / If-Modified-Since.
listing_pages = Table(
    "listing_pages",
    metadata,
    Column("url", String(2048), primary_key=True),
    Column("topic_id", ForeignKey("topics.id", ondelete="SET NULL")),
    Column("etag", String(500)),
    Column("last_modified", String(100)),
    Column("fetched_at", DateTime, nullable=False),
)


# What a crawl run changed: a publication added, a field's old and new value, a delisting.
publication_changes = Table(
    "publication_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "crawl_run_id", ForeignKey("crawl_runs.id", ondelete="CASCADE"), index=True, nullable=False
    ),
    Column(
        "publication_id",
        ForeignKey("publications.id", ondelete="CASCADE"),
        index=True,
        nullable=False,
    ),
    Column("topic_id", ForeignKey("topics.id", ondelete="SET NULL")),
    Column("kind", String(20), nullable=False),  # added | changed | delisted
    Column("field", String(50)),
    Column("old_value", Text),
    Column("new_value", Text),
    Column("changed_at", DateTime, index=True, nullable=False),
)


# A tombstone: a publication removed from the catalog, so every search index drops it. Rows are
# deleted rarely (a migration merging duplicates); ``store.delete_publications`` writes the
# tombstone in the same transaction, under a fresh revision.
deleted_publications = Table(
    "deleted_publications",
    metadata,
    Column("id", Integer, primary_key=True),  # the publication's former id
    Column("url", String(2048), nullable=False),
    Column("revision", BigInteger, index=True, nullable=False),
    Column("deleted_at", DateTime, nullable=False),
)


# Small catalog-wide values: ``revision`` (SQLite's change counter) and ``catalog_id``.
# ``catalog_id`` is a random number fixed when the schema is created, so that a search index can
# tell that it was built from another database (a home pointed at a new --db).
catalog_state = Table(
    "catalog_state",
    metadata,
    Column("key", String(50), primary_key=True),
    Column("value", BigInteger, nullable=False),
)


# One name for each table, wherever it is read or written (the store's and the queries').
PUBLICATIONS = publications
TOPICS = topics
LINKS = publication_topics
RUNS = crawl_runs
PAGES = listing_pages
CHANGES = publication_changes
AUTHORS = authors
AUTHORSHIPS = publication_authors
DOWNLOADS = downloads
TOMBSTONES = deleted_publications
STATE = catalog_state
