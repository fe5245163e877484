"""The pages people read: home, search, publication, what changed, the run journal, feeds.

Each route reads the catalog through the library the command line uses (``catalog.queries``
and the index's reader), in a worker thread (see :func:`catalog.web.answers.answer`).
"""

from __future__ import annotations

import io
import itertools
from collections import Counter
from datetime import datetime, time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from catalog import queries
from catalog.errors import CatalogError, UsageError
from catalog.index import Filters, NotIndexed
from catalog.index.query import compile_query
from catalog.web import feeds, render
from catalog.web.answers import VERSION, answer, page, web
from catalog.web.params import (
    NotFound,
    SearchParams,
    date_bound,
    publication_id,
    search_params,
    text,
    whole_number,
)
from catalog.web.service import CatalogService, Version

router = APIRouter(include_in_schema=False)

LATEST = 10  # publications on the home page
SIMILAR = 5  # similar publications on a publication's page
RUNS = 50  # runs the journal lists (at most MAX_RUNS with ?limit=)
MAX_RUNS = 1_000
MAX_CHANGES = 10_000  # changes one page (or API answer) lists at most
# Citation downloads: the file suffix, the format's name for the writer, and its media type.
CITATIONS = {
    "ris": ("ris", "application/x-research-info-systems; charset=utf-8"),
    "bib": ("bibtex", "application/x-bibtex; charset=utf-8"),
    "json": ("csl-json", "application/vnd.citationstyles.csl+json; charset=utf-8"),
}
FACET_LABELS = {
    "type": "Type",
    "year": "Year",
    "topic": "Topic",
    "author": "Author",
    "publisher": "Publisher",
}


# --- shared with the API and the feeds --------------------------------------------------------


def run_search(
    service: CatalogService,
    version: Version,
    params: SearchParams,
    *,
    facets: bool = True,
    suggest: bool = True,
) -> queries.SearchOutcome:
    """One search as `catalog search --facets` runs it: the query checked first (its cost
    limits included), the filters checked against the catalog, then the index asked."""
    compile_query(params.text)
    filters = queries.resolve_filters(service.engine, params.filters)
    with service.searching(version.head) as index:
        return queries.search_catalog(
            service.engine,
            index,
            params.text,
            filters=filters,
            facets=facets,
            suggest=suggest and bool(params.q),
            sort=params.sort,
            limit=params.per_page,
            offset=params.offset,
        )


def topic_names(service: CatalogService, version: Version) -> dict[str, dict[str, Any]]:
    topics = service.cached("topics", version, lambda: queries.topics_with_counts(service.engine))
    return {t["slug"]: t for t in topics}


def citation_keys(service: CatalogService, version: Version) -> dict[int, str]:
    """The whole catalog's keys, as `show --format bibtex` gives them; once per version."""
    return service.cached("keys", version, lambda: queries.citation_keys(service.engine))


def feed_rows(
    service: CatalogService, version: Version, text_: str, filters: Filters
) -> tuple[list[dict[str, Any]], int]:
    """A feed's publications, newest in the catalog first, and how many matched in all."""
    compile_query(text_)
    with service.searching(version.head) as index:

        def ask(reader: Any) -> Any:
            return reader.search(text_, filters=filters, sort="newest", limit=feeds.FEED_WINDOW)

        result, _ = queries.reading(index, service.engine, ask)
    ids = [hit.id for hit in result.hits if hit.id is not None]
    times = queries.catalogued_times(service.engine, ids)
    ranked = sorted(times, key=lambda pub_id: (times[pub_id][0], pub_id), reverse=True)
    ranked = ranked[: feeds.FEED_SIZE]
    columns = ("id", "url", "title", "summary")
    rows = {r["id"]: r for r in queries.index_documents(service.engine, ranked, columns=columns)}
    found = []
    for pub_id in ranked:
        if pub_id in rows:
            first_seen, changed = times[pub_id]
            found.append({**rows[pub_id], "first_seen_at": first_seen, "changed_at": changed})
    return found, result.total


def absolute(request: Request, path: str) -> str:
    """An absolute URL of this server's ``path`` (behind a proxy: as the proxy says)."""
    return str(request.base_url).rstrip("/") + path


def atom_response(body: bytes) -> Response:
    return Response(body, media_type="application/atom+xml; charset=utf-8")


# --- pages ------------------------------------------------------------------------------------


@router.get("/")
async def home(request: Request) -> Response:
    state = web(request)
    service = state.service

    def work(version: Version) -> Response:
        topics = list(topic_names(service, version).values())
        latest: list[dict[str, Any]] = []
        problem = None
        try:
            latest = run_search(
                service,
                version,
                SearchParams(sort="newest", per_page=LATEST),
                facets=False,
                suggest=False,
            ).rows
        except CatalogError as exc:  # no index yet: the rest of the page still helps
            problem = str(exc)
        return page(
            request,
            "home.html",
            topics=topics,
            latest=latest,
            problem=problem,
            total=queries.publication_count(service.engine),
            last_run=queries.last_run(service.engine),
        )

    return await answer(request, work)


@router.get("/search")
async def search_page(request: Request) -> Response:
    state = web(request)
    service = state.service

    def work(version: Version) -> Response:
        try:
            params = search_params(request.query_params)
        except CatalogError as exc:
            return page(
                request, "search.html", 400, p=SearchParams(q=text_or_none(request)), error=str(exc)
            )
        if not params.asked:
            return page(request, "search.html", p=params, found=None)
        try:
            found = run_search(service, version, params)
        except UsageError as exc:  # a malformed query, an unknown type or topic
            return page(request, "search.html", 400, p=params, error=str(exc), found=None)
        topics = topic_names(service, version)
        return page(
            request,
            "search.html",
            p=params,
            found=found,
            pages=pagination(params, found.total),
            facets=facet_links(params, found, topics),
            chips=active_filters(params, topics),
            topics=topics,
            warning=service.warning,
            feed=f"/search.atom{params.link()}",
            is_mark=render.mark_test(params.text),
        )

    return await answer(request, work)


def text_or_none(request: Request) -> str | None:
    value = request.query_params.get("q")
    return value[:1000] if value else None


def pagination(params: SearchParams, total: int) -> dict[str, Any]:
    last = max(1, -(-min(total, 10_000) // params.per_page))
    return {
        "page": params.page,
        "last": last,
        "previous": params.link(page=params.page - 1) if params.page > 1 else None,
        "next": params.link(page=params.page + 1) if params.page < last else None,
        "first_hit": params.offset + 1,
        "last_hit": min(params.offset + params.per_page, total),
    }


def facet_links(
    params: SearchParams, found: queries.SearchOutcome, topics: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each facet's values as links that add the filter (or remove it when it is on)."""
    if found.facets is None:
        return []
    groups = []
    for name, counts in found.facets.counts.items():
        values = []
        for count in counts:
            value = count.value
            if name == "type":
                on = (params.type or "").lower() == value.lower()
                change = {"type": None if on else value}
                label = value
            elif name == "year":
                on = params.since == value and params.until == value
                change = {"since": None, "until": None} if on else {"since": value, "until": value}
                label = value
            elif name == "topic":
                on = params.topic == value
                change = {"topic": None if on else value}
                label = (topics.get(value) or {}).get("name") or value
            elif name == "publisher":
                on = (params.publisher or "").lower() == value.lower()
                change = {"publisher": None if on else value}
                label = value
            else:
                on = (params.author or "").lower() == value.lower()
                change = {"author": None if on else value}
                label = value
            values.append(
                {"label": label, "count": count.count, "on": on, "link": params.link(**change)}
            )
        if values:
            groups.append({"name": name, "label": FACET_LABELS.get(name, name), "values": values})
    return groups


def active_filters(params: SearchParams, topics: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    """The filters on, each with a link that removes it."""
    chips = []
    if params.type:
        chips.append({"label": f"Type: {params.type}", "link": params.link(type=None)})
    if params.topic:
        name = (topics.get(params.topic) or {}).get("name") or params.topic
        chips.append({"label": f"Topic: {name}", "link": params.link(topic=None)})
    if params.author:
        chips.append({"label": f"Author: {params.author}", "link": params.link(author=None)})
    if params.publisher:
        chips.append(
            {"label": f"Publisher: {params.publisher}", "link": params.link(publisher=None)}
        )
    if params.since and params.since == params.until:
        chips.append(
            {"label": f"Year: {params.since}", "link": params.link(since=None, until=None)}
        )
    else:
        if params.since:
            chips.append({"label": f"Since {params.since}", "link": params.link(since=None)})
        if params.until:
            chips.append({"label": f"Until {params.until}", "link": params.link(until=None)})
    return chips


@router.get("/publications/{key}")
async def publication_page(request: Request, key: str) -> Response:
    state = web(request)
    service = state.service
    pub_id = publication_id(key)

    def work(version: Version) -> Response:
        record = queries.publication(service.engine, str(pub_id))
        if record is None:
            raise NotFound(f"no publication {pub_id} in the catalog")
        similar: list[dict[str, Any]] = []
        try:
            with service.searching(version.head) as index:
                similar = (
                    queries.similar_publications(service.engine, index, str(pub_id), SIMILAR) or []
                )
        except (NotIndexed, CatalogError):
            similar = []
        return page(
            request,
            "publication.html",
            pub=record,
            similar=similar,
            key=citation_keys(service, version).get(pub_id),
            topics=topic_names(service, version),
        )

    return await answer(request, work)


@router.get("/publications/{key}/cite.{suffix}")
async def citation(request: Request, key: str, suffix: str) -> Response:
    from catalog import citations

    state = web(request)
    service = state.service
    pub_id = publication_id(key)
    if suffix not in CITATIONS:
        raise NotFound(f"no citation format .{suffix[:20]} (formats: .ris, .bib, .json)")
    fmt, media_type = CITATIONS[suffix]

    def work(version: Version) -> Response:
        record = queries.publication(service.engine, str(pub_id))
        if record is None:
            raise NotFound(f"no publication {pub_id} in the catalog")
        keys = citation_keys(service, version)
        out = io.StringIO()
        citations.write(fmt, [record], out, keys)
        name = f"{keys.get(pub_id) or f'publication-{pub_id}'}.{suffix}"
        return Response(
            out.getvalue(),
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return await answer(request, work, salt=suffix)


def changes_rows(
    service: CatalogService, params: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The changes a request asks for (``since`` a date, ``run`` an id, or the last run's)
    and what was asked, as `catalog changes` reads them."""
    since = date_bound(params, "since", end=False)
    run_id = whole_number(params, "run", 0, 1, 2**63 - 1) if text(params, "run") else None
    if since is not None and run_id is not None:
        raise UsageError("choose one of since and run")
    if since is not None:
        rows = queries.changes(service.engine, since=datetime.combine(since, time()))
        asked = {"since": since, "run": None}
    else:
        run = (
            queries.crawl_run(service.engine, run_id)
            if run_id is not None
            else queries.last_run(service.engine)
        )
        if run_id is not None and run is None:
            raise NotFound(f"no crawl run {run_id} in the catalog")
        rows = queries.changes(service.engine, run_id=run["id"]) if run else []
        asked = {"since": None, "run": run}
    return rows[:MAX_CHANGES], {**asked, "total": len(rows)}


@router.get("/changes")
async def changes_page(request: Request) -> Response:
    state = web(request)
    service = state.service

    def work(version: Version) -> Response:
        rows, asked = changes_rows(service, request.query_params)
        ids = queries.ids_by_url(service.engine, [r["url"] for r in rows])
        groups = []
        for topic, group in itertools.groupby(rows, key=lambda r: r["topic"]):
            group = [{**r, "id": ids.get(r["url"])} for r in group]
            tally = Counter(r["kind"] for r in group)
            groups.append(
                {
                    "topic": topic,
                    "name": (topic_names(service, version).get(topic) or {}).get("name"),
                    "tally": ", ".join(f"{n} {kind}" for kind, n in sorted(tally.items())),
                    "rows": group,
                }
            )
        return page(request, "changes.html", groups=groups, asked=asked, limit=MAX_CHANGES)

    return await answer(request, work)


@router.get("/runs")
async def runs_page(request: Request) -> Response:
    state = web(request)
    service = state.service

    def work(version: Version) -> Response:
        limit = whole_number(request.query_params, "limit", RUNS, 1, MAX_RUNS)
        return page(request, "runs.html", runs=queries.recent_runs(service.engine, limit))

    return await answer(request, work)


@router.get("/api")
async def api_page(request: Request) -> Response:
    """The API's endpoints, read from its own OpenAPI description (no script needed)."""
    schema = request.app.openapi()
    endpoints = []
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            endpoints.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": operation.get("parameters", []),
                }
            )
    return page(request, "api.html", endpoints=endpoints, description=schema["info"]["description"])


# --- feeds ------------------------------------------------------------------------------------


@router.get("/topics/{slug}/feed.atom")
async def topic_feed(request: Request, slug: str) -> Response:
    state = web(request)
    service = state.service

    def work(version: Version) -> Response:
        topic = topic_names(service, version).get(slug)
        if topic is None:
            raise NotFound(f"no topic {slug[:100]!r} in the catalog")
        rows, total = feed_rows(service, version, "*", Filters(topic=slug))
        for row in rows:
            row["page_url"] = absolute(request, f"/publications/{row['id']}")
        last = queries.last_run(service.engine)
        body = feeds.atom(
            id=feeds.feed_id(version.catalog_id, f"topic/{slug}"),
            title=f"{topic['name'] or slug}: new in the catalog",
            subtitle=f"The newest publications the catalog lists under {topic['name'] or slug}",
            self_url=absolute(request, f"/topics/{slug}/feed.atom"),
            page_url=absolute(request, f"/search?topic={slug}&sort=newest"),
            entries=rows,
            fallback_updated=last["started_at"] if last else None,
            generator_version=VERSION,
        )
        return atom_response(body)

    return await answer(request, work)


@router.get("/search.atom")
async def search_feed(request: Request) -> Response:
    state = web(request)
    service = state.service

    def work(version: Version) -> Response:
        params = search_params(request.query_params)
        if not params.asked:
            raise UsageError("a feed needs a query (q=words, or * for everything) or a filter")
        filters = queries.resolve_filters(service.engine, params.filters)
        rows, total = feed_rows(service, version, params.text, filters)
        for row in rows:
            row["page_url"] = absolute(request, f"/publications/{row['id']}")
        values = params.values(sort=None)
        described = params.q or "everything"
        last = queries.last_run(service.engine)
        body = feeds.atom(
            id=feeds.search_id(version.catalog_id, values),
            title=f"Catalog search: {described}",
            subtitle=f"New publications matching {described} ({feeds.how_many(total)})",
            self_url=absolute(request, "/search.atom" + params.link(sort=None)),
            page_url=absolute(request, "/search" + params.link(sort="newest")),
            entries=rows,
            fallback_updated=last["started_at"] if last else None,
            generator_version=VERSION,
        )
        return atom_response(body)

    return await answer(request, work)
