"""The ASGI application: pages, feeds and the JSON API over one read-only catalog.

Built with FastAPI (the API documents itself as OpenAPI at ``/api/openapi.json``) and served
by uvicorn (``catalog serve``). Every answer is made in a worker thread under a time limit,
from the same library the command line uses, and carries an ``ETag`` derived from the
catalog's version: a client that has the page already gets ``304 Not Modified`` without a
search being run. Errors are one sentence (400 for a malformed request, 404 for an unknown
id, 503 when the catalog or its index cannot be read, 500 for a bug, whose traceback goes to
the server's log and never to a client).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from catalog.config import CatalogConfig
from catalog.errors import CatalogError, UsageError
from catalog.web import render
from catalog.web.params import NotFound
from catalog.web.service import CatalogService, Version

log = logging.getLogger("catalog.web")

STATIC = Path(__file__).resolve().parent / "static"
TIME_LIMIT = 10.0  # seconds a request may take, queueing included
THREADS = 8  # requests worked on at once per process
# Nothing runs but the page's own stylesheet: no script at all, no framing, no plugins.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# Answers may be kept by caches but are checked each time (cheaply: 304 by ETag).
CACHE_CONTROL = "public, no-cache"
ENV_TIME_LIMIT = "CATALOG_WEB_TIME_LIMIT"

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


class SecurityHeaders:
    """Adds the security headers to every response, errors and static files included."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (n, v) for n, v in SECURITY_HEADERS if n not in names
                ]
            await send(message)

        await self.app(scope, receive, sending)


class HeadAsGet:
    """HEAD is GET without the body, for every route (link checkers and feed readers ask)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, sending)


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


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return error_response(request, 404, str(exc))

    @app.exception_handler(UsageError)
    async def usage(request: Request, exc: UsageError) -> Response:
        return error_response(request, 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = exc.errors()
        first = problems[0] if problems else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path"))
        return error_response(request, 400, f"{where or 'the request'}: {first.get('msg', '')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {
            404: f"there is no page at {route_path(request)[:200]}",
            405: "this catalog is read-only: only GET and HEAD requests are answered",
        }
        message = messages.get(exc.status_code, str(exc.detail))
        response = error_response(request, exc.status_code, message)
        if exc.status_code == 405:
            response.headers["Allow"] = "GET, HEAD"
        return response

    @app.exception_handler(CatalogError)
    async def unavailable(request: Request, exc: CatalogError) -> Response:
        # The catalog or its index cannot be read now (no catalog, another schema, no index
        # yet, a damaged one that cannot be rebuilt here), or the request ran too long: the
        # request was fine, so it is worth trying again (503), and the message says why.
        log.warning("%s: %s", route_path(request), exc)
        return error_response(request, 503, str(exc))

    @app.exception_handler(SQLAlchemyError)
    async def database(request: Request, exc: SQLAlchemyError) -> Response:
        log.error("database error on %s", route_path(request), exc_info=exc)
        return error_response(
            request, 503, "the catalog's database could not be read; try again in a moment"
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected error on %s", route_path(request), exc_info=exc)
        return error_response(
            request, 500, "something went wrong on the server; the details are in its log"
        )


def create_app(
    config: CatalogConfig | None = None,
    *,
    service: CatalogService | None = None,
    time_limit: float | None = None,
    root_path: str = "",
) -> FastAPI:
    """The application over ``config``'s catalog (or an open ``service``).

    Opening checks the catalog (a home without one, or of another schema, is an error here,
    before anything is served).
    """
    from catalog.web import api, pages

    if service is None:
        if config is None:
            from catalog.config import resolve

            config = resolve()
        service = CatalogService(config)
    if time_limit is None:
        time_limit = float(os.environ.get(ENV_TIME_LIMIT) or TIME_LIMIT)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.get_running_loop().run_in_executor(app.state.web.pool, service.warm)
        yield
        app.state.web.pool.shutdown(wait=False, cancel_futures=True)
        service.close()

    app = FastAPI(
        lifespan=lifespan,
        title="thinktank-catalog",
        version=VERSION,
        description=api.DESCRIPTION,
        docs_url=None,  # Swagger UI and ReDoc load scripts from elsewhere: not here
        redoc_url=None,
        openapi_url="/api/openapi.json",
        root_path=root_path,
    )
    app.state.web = Web(
        service=service,
        templates=render.environment(),
        pool=ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="catalog-web"),
        time_limit=time_limit,
    )
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)
    _install_errors(app)
    app.include_router(pages.router)
    app.include_router(api.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    return app


def app_from_environment() -> FastAPI:
    """The factory uvicorn's workers call: the catalog named by CATALOG_HOME / CATALOG_DB
    (``catalog serve`` sets them from its options), the root path by CATALOG_ROOT_PATH."""
    from catalog.config import resolve

    logger = logging.getLogger("catalog")
    if not logger.handlers:  # a worker process: warnings and tracebacks to stderr (the journal)
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    return create_app(resolve(), root_path=os.environ.get("CATALOG_ROOT_PATH", ""))
