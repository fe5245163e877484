"""What every route answers with: the catalog's version as an ETag, pages, JSON and errors.

The routes (:mod:`catalog.web.pages`, :mod:`catalog.web.api`) and the application that
holds them (:mod:`catalog.web.app`) all use these, so they live apart from both: the
application imports its routes, never the other way round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from catalog.errors import CatalogError
from catalog.web.service import CatalogService, Version

log = logging.getLogger("catalog.web")

# Answers may be kept by caches but are checked each time (cheaply: 304 by ETag).
CACHE_CONTROL = "public, no-cache"

try:
    VERSION = metadata.version("thinktank-catalog")
except metadata.PackageNotFoundError:  # run from a checkout that was never installed
    VERSION = "0"


class TooSlow(CatalogError):
    """A request ran past its time limit (HTTP 503)."""


@dataclass
class Web:
    """What every route reads: the catalog, the templates, the thread pool, the limits."""

    service: CatalogService
    templates: Any
    pool: ThreadPoolExecutor
    time_limit: float


def route_path(request: Request) -> str:
    """The request's path inside the app (without the root path a proxy serves it under)."""
    path = request.scope.get("path", "")
    root = request.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def wants_json(request: Request) -> bool:
    return route_path(request).startswith("/api/") or route_path(request) == "/api"


def web(request: Request) -> Web:
    return request.app.state.web


def page(request: Request, template: str, code: int = 200, **context: Any) -> Response:
    """A template rendered as an HTML response, with the links' root path at hand."""
    root = request.scope.get("root_path", "").rstrip("/")

    def url(path: str, query: str = "") -> str:
        return f"{root}{path}{query}"

    html = (
        web(request)
        .templates.get_template(template)
        .render(url=url, request_path=route_path(request), version=VERSION, **context)
    )
    return Response(html, status_code=code, media_type="text/html; charset=utf-8")


def json_response(body: str, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json")


def _matches(request: Request, tag: str) -> bool:
    wanted = request.headers.get("if-none-match")
    if not wanted:
        return False
    return wanted.strip() == "*" or tag in [t.strip() for t in wanted.split(",")]


async def answer(
    request: Request, work: Callable[[Version], Response], *, salt: str = ""
) -> Response:
    """``work(version)`` in a worker thread under the time limit, with ETag and caching.

    The catalog's version is read first (one statement): a client whose copy has that
    ETag gets 304 and nothing else is done.
    """
    state = web(request)

    def run() -> Response:
        version = state.service.version()
        tag = version.etag(salt)
        headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
        if _matches(request, tag):
            return Response(status_code=304, headers=headers)
        response = work(version)
        if response.status_code == 200:
            response.headers.update(headers)
        else:
            response.headers["Cache-Control"] = "no-store"
        return response

    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(loop.run_in_executor(state.pool, run), state.time_limit)
    except asyncio.TimeoutError:
        raise TooSlow(
            f"the request took longer than {state.time_limit:g} seconds and was stopped: "
            "try a narrower search"
        ) from None


def error_response(request: Request, status: int, message: str) -> Response:
    """One sentence, as JSON for the API and as a page for people; never cached."""
    headers = {"Cache-Control": "no-store"}
    if status == 503:
        headers["Retry-After"] = "10"
    if wants_json(request):
        from catalog.output import to_json

        response = json_response(to_json({"error": message, "status": status}), status)
    else:
        titles = {400: "Bad request", 404: "Not found", 405: "Not allowed", 503: "Unavailable"}
        response = page(
            request,
            "error.html",
            status,
            title=titles.get(status, "Error"),
            message=message,
            status=status,
        )
    response.headers.update(headers)
    return response
