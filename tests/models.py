"""Typed ORM classes mapped onto the catalog's tables (``catalog.tables``), for the tests.

The product reads and writes through the Core tables (a read command never imports the ORM),
and Alembic compares migrations with ``catalog.tables.metadata``; only tests want objects.
"""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from catalog import tables


class Base(DeclarativeBase):
    metadata = tables.metadata


class Publication(Base):
    __table__ = tables.publications


class Download(Base):
    __table__ = tables.downloads


class Author(Base):
    __table__ = tables.authors


class PublicationAuthor(Base):
    __table__ = tables.publication_authors


class Topic(Base):
    __table__ = tables.topics


class PublicationTopic(Base):
    __table__ = tables.publication_topics


class CrawlRun(Base):
    __table__ = tables.crawl_runs


class ListingPage(Base):
    __table__ = tables.listing_pages


class PublicationChange(Base):
    __table__ = tables.publication_changes


class DeletedPublication(Base):
    __table__ = tables.deleted_publications


class CatalogState(Base):
    __table__ = tables.catalog_state
