"""The search index: one boundary, two engines.

The database is the source of truth; the index is derived from it and follows it
(:mod:`catalog.index.sync`). What is engine-neutral lives here: the query language
(:mod:`~catalog.index.query`), the analysis every engine shares (:mod:`~catalog.index.analysis`),
the order of hits (:mod:`~catalog.index.ordering`), snippets, facets, suggestions and
similar publications (:mod:`~catalog.index.reader`). Each engine adapter
(:mod:`~catalog.index.whoosh_engine`, :mod:`~catalog.index.tantivy_engine`) holds only what
differs between engines, and is imported only when a home uses it.

Usage::

    index = open_index(config.index_dir, config.search_engine)
    index.sync(queries.CatalogIndexSource(engine))
    with index.open_reader() as reader:
        result = reader.search('"security cooperation" AND japan', limit=20)
"""

from __future__ import annotations

from pathlib import Path

from catalog.index.engines import DEFAULT_ENGINE, ENGINES, get_engine
from catalog.index.model import (
    FACET_TOP,
    MAX_LIMIT,
    NO_FILTERS,
    PAGE_TEXT_FIELDS,
    SORTS,
    UNTYPED,
    Entry,
    FacetCount,
    Facets,
    Filters,
    IndexDamaged,
    IndexDiff,
    IndexDocument,
    IndexSource,
    IndexState,
    IndexUnavailable,
    NotIndexed,
    SearchHit,
    SyncReport,
    page_text,
)
from catalog.index.sync import CRASH_ENV, SearchIndex, crash_point

__all__ = [
    "CRASH_ENV",
    "DEFAULT_ENGINE",
    "ENGINES",
    "FACET_TOP",
    "MAX_LIMIT",
    "NO_FILTERS",
    "PAGE_TEXT_FIELDS",
    "SORTS",
    "UNTYPED",
    "Entry",
    "FacetCount",
    "Facets",
    "Filters",
    "IndexDamaged",
    "IndexDiff",
    "IndexDocument",
    "IndexSource",
    "IndexState",
    "IndexUnavailable",
    "NotIndexed",
    "SearchHit",
    "SearchIndex",
    "SyncReport",
    "crash_point",
    "get_engine",
    "open_index",
    "page_text",
]


def open_index(folder: Path, engine: str = DEFAULT_ENGINE) -> SearchIndex:
    """The index in ``folder`` as engine ``engine`` writes and reads it."""
    return SearchIndex(Path(folder), engine)
