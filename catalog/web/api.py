"""The JSON API under ``/api/``: the command line's ``--json`` over HTTP, same keys.

Read-only, like everything the server answers. Each answer carries an ``ETag`` derived from
the catalog's version and ``Cache-Control: public, no-cache``: send the ETag back as
``If-None-Match`` and an unchanged catalog answers ``304`` without searching. Errors are
``{"error": "one sentence", "status": N}`` with status 400 (malformed parameter or query), 404
(unknown id), 503 (the catalog or its index cannot be read now; retry).
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from catalog import queries
from catalog.errors import UsageError
from catalog.output import HIT_JSON_COLUMNS, SIMILAR_JSON_COLUMNS, to_json
from catalog.web.answers import answer, json_response, web
from catalog.web.pages import MAX_RUNS, RUNS, SIMILAR, changes_rows, run_search
from catalog.web.params import (
    MAX_PER_PAGE,
    NotFound,
    publication_id,
    search_params,
    whole_number,
)
from catalog.web.service import Version

DESCRIPTION = (
    "The catalog of think-tank publications, read-only. Every endpoint answers GET with JSON "
    "whose keys are those of the command line's `--json` output, an ETag derived from the "
    "catalog's version and `Cache-Control: public, no-cache`. Errors are "
    '`{"error": "...", "status": N}`: 400 for a malformed parameter or query, 404 for an '
    "unknown id, 503 when the catalog or its search index cannot be read (retry)."
)
# `catalog search --json`'s keys, plus the id that /api/publications/{id} takes.
SEARCH_COLUMNS = ("id", *HIT_JSON_COLUMNS)
SIMILAR_COLUMNS = ("id", *SIMILAR_JSON_COLUMNS)

router = APIRouter(prefix="/api", tags=["catalog"])

_TEXT = "Text, as `catalog search` takes it."


@router.get("/search", summary="Search with facets (as `catalog search --facets --json`)")
async def api_search(
    request: Request,
    q: str | None = Query(
        None,
        description='The query: words, "phrases", AND/OR/NOT, '
        "field:word, prefix*; `*` for everything.",
    ),
    type: str | None = Query(None, description="A content type (any case); `none`: untyped."),
    since: str | None = Query(None, description="Published on or after: YYYY[-MM[-DD]]."),
    until: str | None = Query(None, description="Published on or before: YYYY[-MM[-DD]]."),
    topic: str | None = Query(None, description="A topic's slug, name or URL."),
    author: str | None = Query(None, description="An author's name or surname."),
    publisher: str | None = Query(None, description="A publisher's whole name (any case)."),
    sort: str | None = Query(None, description="relevance (default), newest or oldest."),
    page: str | None = Query(None, description="Page number, from 1 (offset = (page-1)*limit)."),
    limit: str | None = Query(None, description=f"Hits a page, 1 to {MAX_PER_PAGE} (default 20)."),
) -> Response:
    """`{"hits": [...], "total": N, "facets": {"type": [{"value", "count"}], "year",
    "topic", "author", "publisher"}, "suggestion": null | "corrected query", "page": N,
    "limit": N}`.

    Hits have `catalog search --json`'s keys plus `id`; snippets mark matched words
    `[like this]`. Facets count every match, not only the hits shown. Without `q`, the
    filters alone choose (newest first is `sort=newest`); neither is a 400.
    """
    state = web(request)

    def work(version: Version) -> Response:
        params = search_params(request.query_params, per_page_name="limit")
        if not params.asked:
            raise UsageError("give a query (q=words, or * for everything) or a filter")
        found = run_search(state.service, version, params)
        document = {
            "hits": [{c: row.get(c) for c in SEARCH_COLUMNS} for row in found.rows],
            "total": found.total,
            "facets": found.facets.as_dict() if found.facets else None,
            "suggestion": found.suggestion,
            "page": params.page,
            "limit": params.per_page,
        }
        return json_response(to_json(document))

    return await answer(request, work)


@router.get("/publications/{id}", summary="One publication whole (as `catalog show --json`)")
async def api_publication(request: Request, id: str) -> Response:
    """Every column, authors, downloads, topics (with section and delisting) and history."""
    state = web(request)
    pub_id = publication_id(id)

    def work(version: Version) -> Response:
        record = queries.publication(state.service.engine, str(pub_id))
        if record is None:
            raise NotFound(f"no publication {pub_id} in the catalog")
        return json_response(to_json(record))

    return await answer(request, work)


@router.get(
    "/publications/{id}/similar", summary="Similar publications (as `catalog similar --json`)"
)
async def api_similar(
    request: Request,
    id: str,
    limit: str | None = Query(None, description=f"How many, 1 to {MAX_PER_PAGE} (default 5)."),
) -> Response:
    """The publications most like this one, best first, never itself."""
    state = web(request)
    pub_id = publication_id(id)

    def work(version: Version) -> Response:
        how_many = whole_number(request.query_params, "limit", SIMILAR, 1, MAX_PER_PAGE)
        with state.service.searching(version.head) as index:
            rows = queries.similar_publications(state.service.engine, index, str(pub_id), how_many)
        if rows is None:
            raise NotFound(f"no publication {pub_id} in the catalog")
        return json_response(to_json([{c: r.get(c) for c in SIMILAR_COLUMNS} for r in rows]))

    return await answer(request, work)


@router.get("/changes", summary="What crawls added, changed or delisted (as `catalog changes`)")
async def api_changes(
    request: Request,
    since: str | None = Query(None, description="Changes recorded on or after: YYYY[-MM[-DD]]."),
    run: str | None = Query(None, description="The changes of this crawl run (id)."),
) -> Response:
    """A list of `{"topic", "kind", "changed_at", "title", "url", "field", "old_value",
    "new_value", "run_id"}`, per topic; by default the latest run's. At most 10,000."""
    state = web(request)

    def work(version: Version) -> Response:
        rows, _ = changes_rows(state.service, request.query_params)
        return json_response(to_json([{c: r.get(c) for c in queries.CHANGE_COLUMNS} for r in rows]))

    return await answer(request, work)


@router.get("/runs", summary="Recent crawl runs, newest first (as `catalog runs --json`)")
async def api_runs(
    request: Request,
    limit: str | None = Query(None, description=f"How many, 1 to {MAX_RUNS} (default {RUNS})."),
) -> Response:
    """Each run's status, counts, error, host and pid."""
    state = web(request)

    def work(version: Version) -> Response:
        how_many = whole_number(request.query_params, "limit", RUNS, 1, MAX_RUNS)
        rows = queries.recent_runs(state.service.engine, how_many)
        return json_response(to_json([{c: r.get(c) for c in queries.RUN_COLUMNS} for r in rows]))

    return await answer(request, work)


@router.get("/stats", summary="Counts by type, year and topic (as `catalog stats --json`)")
async def api_stats(request: Request) -> Response:
    """Publications, by type, by year, by topic, the last run and the search index's state."""
    state = web(request)

    def work(version: Version) -> Response:
        figures = queries.stats(state.service.engine)
        figures["search_index"] = queries.index_status(state.service.index, state.service.engine)
        return json_response(to_json(figures))

    return await answer(request, work)
