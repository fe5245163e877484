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
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
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
from catalog.web.answers import VERSION, Web, error_response, route_path
from catalog.web.params import NotFound
from catalog.web.service import CatalogService

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
ENV_TIME_LIMIT = "CATALOG_WEB_TIME_LIMIT"


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
