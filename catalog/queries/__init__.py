"""Read-side queries: what search, stats, export and the crawl read from the database.

Nothing here writes. Users' own SQL (`catalog sql`) runs in ``catalog.sql`` alone.
"""

from catalog.queries.crawling import (
    CatalogView,
    PageState,
    listing_validators,
    page_state,
    pending_details,
    topic_walk_state,
)
from catalog.queries.journal import (
    CHANGE_COLUMNS,
    RUN_COLUMNS,
    changes,
    crawl_run,
    last_run,
    recent_runs,
    stats,
)
from catalog.queries.records import (
    ALL_COLUMNS,
    INDEX_COLUMNS,
    PUBLICATION_COLUMNS,
    STREAM_CHUNK,
    by_key,
    export_rows,
    hit_texts,
    index_documents,
    missing_publication_ids,
    publication,
    publication_count,
    publications_by_id,
    publications_by_url,
)
from catalog.queries.searching import (
    CatalogIndexSource,
    SearchOutcome,
    index_status,
    reading,
    resolve_filters,
    search_catalog,
    search_publications,
    similar_publications,
)

__all__ = [
    "ALL_COLUMNS",
    "CHANGE_COLUMNS",
    "CatalogIndexSource",
    "CatalogView",
    "INDEX_COLUMNS",
    "PUBLICATION_COLUMNS",
    "PageState",
    "RUN_COLUMNS",
    "STREAM_CHUNK",
    "SearchOutcome",
    "by_key",
    "changes",
    "crawl_run",
    "export_rows",
    "hit_texts",
    "index_documents",
    "index_status",
    "last_run",
    "listing_validators",
    "missing_publication_ids",
    "page_state",
    "pending_details",
    "publication",
    "publication_count",
    "publications_by_id",
    "publications_by_url",
    "reading",
    "recent_runs",
    "resolve_filters",
    "search_catalog",
    "search_publications",
    "similar_publications",
    "stats",
    "topic_walk_state",
]
