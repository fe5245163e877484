"""The catalog's tables as SQLAlchemy 2.x typed models.

Table and column names are a public contract: users write SQL against them. Change them only
through an Alembic revision, and document the change in the README's schema section.
Times are UTC, stored without a zone; dates are ISO ``YYYY-MM-DD``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Sequence,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# PostgreSQL hands out publication revisions from this sequence (see ``catalog.store``); SQLite
# has no sequences and counts in ``catalog_state`` instead. Created by migration 0005.
REVISION_SEQUENCE = Sequence("publication_revision_seq", metadata=Base.metadata)


class Publication(Base):
    """One publication, keyed by its canonical URL; listing fields as last seen."""

    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(100), default="", index=True)
    published_on: Mapped[date | None] = mapped_column(Date, index=True)
    date_text: Mapped[str] = mapped_column(String(100), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str | None] = mapped_column(String(2048))
    image_caption: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)

    # From the publication's own page (NULL until fetched, or when the page lacks them).
    subtitle: Mapped[str | None] = mapped_column(Text)
    abstract: Mapped[str | None] = mapped_column(Text)
    research_questions: Mapped[str | None] = mapped_column(Text)  # one per line
    key_findings: Mapped[str | None] = mapped_column(Text)  # headings, then "- " points
    recommendations: Mapped[str | None] = mapped_column(Text)  # one per line
    body_text: Mapped[str | None] = mapped_column(Text)  # commentary and news pages
    document_number: Mapped[str | None] = mapped_column(String(100), index=True)
    doi: Mapped[str | None] = mapped_column(String(255))
    isbn: Mapped[str | None] = mapped_column(String(40))
    series: Mapped[str | None] = mapped_column(String(255))
    page_count: Mapped[int | None] = mapped_column(Integer)
    pdf_url: Mapped[str | None] = mapped_column(String(2048))
    pdf_size: Mapped[str | None] = mapped_column(String(40))
    print_format: Mapped[str | None] = mapped_column(String(100))
    print_price: Mapped[str | None] = mapped_column(String(40))  # what a buyer pays
    list_price: Mapped[str | None] = mapped_column(String(40))  # before any web discount
    journal: Mapped[str | None] = mapped_column(String(500))  # external publications
    details_fetched_at: Mapped[datetime | None] = mapped_column(DateTime)
    details_error: Mapped[str | None] = mapped_column(Text)  # why the last attempt failed
    # The catalog-wide change counter's value when anything the search index holds about this
    # publication last changed (listing fields, page details, authors, topics). Each search
    # index records the highest revision it has absorbed; ``revision > recorded`` is what it
    # still has to apply.
    revision: Mapped[int] = mapped_column(BigInteger, index=True)

    listings: Mapped[list[PublicationTopic]] = relationship(back_populates="publication")
    authorships: Mapped[list[PublicationAuthor]] = relationship(
        back_populates="publication", order_by="PublicationAuthor.position"
    )
    downloads: Mapped[list[Download]] = relationship(
        back_populates="publication", order_by="Download.position"
    )


class Download(Base):
    """A document a publication's page offers: full report, summary, EPUB, ... in page order."""

    __tablename__ = "downloads"

    publication_id: Mapped[int] = mapped_column(
        ForeignKey("publications.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(200))  # "Full Document", "Research Summary"
    format: Mapped[str] = mapped_column(String(20))  # PDF, EPUB, ...
    url: Mapped[str] = mapped_column(String(2048))
    size: Mapped[str | None] = mapped_column(String(40))  # as printed, e.g. "16.4 MB"

    publication: Mapped[Publication] = relationship(back_populates="downloads")


class Author(Base):
    """A person credited on publication pages, by name as the page prints it."""

    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)

    authorships: Mapped[list[PublicationAuthor]] = relationship(back_populates="author")


class PublicationAuthor(Base):
    """Who wrote a publication, in page order (``position`` 1 is the first author)."""

    __tablename__ = "publication_authors"

    publication_id: Mapped[int] = mapped_column(
        ForeignKey("publications.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"), index=True)

    publication: Mapped[Publication] = relationship(back_populates="authorships")
    author: Mapped[Author] = relationship(back_populates="authorships")


class Topic(Base):
    """A topic listing (e.g. RAND's Security Cooperation), keyed by its slug."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(500))
    url: Mapped[str] = mapped_column(String(2048))
    # "complete" once a crawl has walked the listing to its end (or to pages it already had);
    # "partial" while a walk is under way or after one was cut short. Incremental crawls stop
    # early only on a complete topic, so an interrupted walk is always finished next time.
    walk_state: Mapped[str] = mapped_column(String(20), default="partial", server_default="partial")
    walked_at: Mapped[datetime | None] = mapped_column(DateTime)

    listings: Mapped[list[PublicationTopic]] = relationship(back_populates="topic")


class PublicationTopic(Base):
    """Where a publication is listed: under which topic, in which section, at which place."""

    __tablename__ = "publication_topics"

    publication_id: Mapped[int] = mapped_column(
        ForeignKey("publications.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # featured | list (the topic's listing) | related (the publication page's related topics)
    section: Mapped[str] = mapped_column(String(20), primary_key=True)
    listing_url: Mapped[str] = mapped_column(String(2048))
    position: Mapped[int] = mapped_column(Integer)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    # Set by a --full crawl that walked the topic and no longer found the publication there.
    delisted_at: Mapped[datetime | None] = mapped_column(DateTime)

    publication: Mapped[Publication] = relationship(back_populates="listings")
    topic: Mapped[Topic] = relationship(back_populates="listings")


class CrawlRun(Base):
    """The journal of crawls: one row per run, written when it starts and when it ends."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)
    spider: Mapped[str] = mapped_column(String(100), default="")
    pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    items_seen: Mapped[int] = mapped_column(Integer, default=0)
    items_new: Mapped[int] = mapped_column(Integer, default=0)
    items_updated: Mapped[int] = mapped_column(Integer, default=0)
    items_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    items_skipped: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    full: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    pages_not_modified: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    items_delisted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    details_fetched: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    details_failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Problems that cost a field but not the run (a date out of range, ...); see the log.
    warnings: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Which process runs it: a ``running`` row whose process is gone is closed by the next
    # command (same host: the pid is not alive; another host: only once it is very old).
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)


class ListingPage(Base):
    """HTTP validators of each listing page, sent back as If-None-Match / If-Modified-Since."""

    __tablename__ = "listing_pages"

    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id", ondelete="SET NULL"))
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    fetched_at: Mapped[datetime] = mapped_column(DateTime)


class PublicationChange(Base):
    """What a crawl run changed: a publication added, a field's old and new value, a delisting."""

    __tablename__ = "publication_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crawl_run_id: Mapped[int] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="CASCADE"), index=True
    )
    publication_id: Mapped[int] = mapped_column(
        ForeignKey("publications.id", ondelete="CASCADE"), index=True
    )
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))  # added | changed | delisted
    field: Mapped[str | None] = mapped_column(String(50))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class DeletedPublication(Base):
    """A tombstone: a publication removed from the catalog, so every search index drops it.

    Rows are deleted rarely (a migration merging duplicates); ``store.delete_publications``
    writes the tombstone in the same transaction, under a fresh revision.
    """

    __tablename__ = "deleted_publications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the publication's former id
    url: Mapped[str] = mapped_column(String(2048))
    revision: Mapped[int] = mapped_column(BigInteger, index=True)
    deleted_at: Mapped[datetime] = mapped_column(DateTime)


class CatalogState(Base):
    """Small catalog-wide values: ``revision`` (SQLite's change counter) and ``catalog_id``.

    ``catalog_id`` is a random number fixed when the schema is created, so that a search
    index can tell that it was built from another database (a home pointed at a new --db).
    """

    __tablename__ = "catalog_state"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
