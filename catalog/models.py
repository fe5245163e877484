"""Typed ORM classes mapped onto the catalog's tables (``catalog.tables``), for code that
wants objects: Alembic's autogenerate, tests, a user's own scripts.

The product's own code reads and writes through the Core tables, so that a read command never
imports the ORM; the schema itself is defined once, in ``catalog.tables``.
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
