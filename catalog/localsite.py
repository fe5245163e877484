"""Serve a folder of RAND-shaped pages on 127.0.0.1, for the demo and the tests.

``/topics/x.html?page=N`` is served from ``topics/x--page-N.html`` (other query parameters are
ignored, as rand.org ignores them); ``robots.txt`` and any other file by its path; a folder's
path (``/tag/x/feed/``) by its ``index.html`` or ``index.xml``, and its ``?paged=N`` (WordPress)
by ``index--page-N.xml``. Pages carry
an ETag and Last-Modified and answer conditional requests with 304, like rand.org's servers.

For tests, a ``_status.json`` at the root maps a request path (with its query) to a status to
answer instead: ``{"/topics/x.html?page=2": 500}``, or ``{"...": {"status": 429, "times": 1,
"headers": {"Retry-After": "0"}}}`` to fail only the first ``times`` requests. A redirect is
``{"status": 302, "headers": {"Location": "..."}}`` (a loop points back at itself; another host
name for this server, ``localhost`` for ``127.0.0.1``, is off the site). ``{"status": 304}``
answers "not modified" whatever the request sent. A rule without a status serves the file as
usual with its ``"content_type"`` sent exactly as given (``"text/html"``: no charset, so the
client must guess the encoding of the bytes on disk).

Endless pagination: when ``topics/x--page-N.html`` does not exist but ``topics/x--page-any.html``
does, that template answers every page N >= 2 with ``@PAGE@`` and ``@NEXT@`` replaced by N and
N + 1, so its "next" link always points one page further.

``LocalSite`` also records every request and can hold one path until a test releases it.

``python -m catalog.localsite DIR`` serves a folder and prints ``serving URL`` once ready.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit, urlunsplit

HOLD_TIMEOUT = 30.0  # a held request is answered after this long even if nobody releases it


INDEX_FILES = ("index.html", "index.xml")


def resolve_page(root: Path, raw_path: str) -> Path | None:
    """The file answering ``raw_path``, or None; never a file outside ``root``.

    A folder's path (``/tag/alliances/feed/``, as WordPress names its pages and feeds) is
    answered by its ``index.html`` or ``index.xml``. Page N >= 2 of a paged file (``?page=N``,
    or WordPress's ``?paged=N``) is ``<name>--page-N.<suffix>``; a page past the last is 404,
    as WordPress answers.
    """
    parts = urlsplit(raw_path)
    relative = parts.path.lstrip("/") or "index.html"
    base = root.resolve()
    folder = (root / relative).resolve()
    if parts.path.endswith("/") or folder.is_dir():
        if base != folder and base not in folder.parents:
            return None
        found = next((folder / name for name in INDEX_FILES if (folder / name).is_file()), None)
        if found is None:
            return None
        relative = str(found.relative_to(base))
    query = dict(parse_qsl(parts.query))
    page = query.get("page") or query.get("paged") or "1"
    stem, dot, suffix = relative.rpartition(".")
    if page.isdigit() and int(page) > 1 and dot and "/" not in suffix:
        relative = f"{stem}--page-{int(page)}.{suffix}"
    candidate = (root / relative).resolve()
    if base not in candidate.parents or not candidate.is_file():
        return None
    return candidate


ENDLESS_SUFFIX = "--page-any.html"


def endless_page(root: Path, raw_path: str) -> bytes | None:
    """Page N of a listing whose pagination never ends, from its ``--page-any`` template."""
    parts = urlsplit(raw_path)
    page = dict(parse_qsl(parts.query)).get("page", "1")
    relative = parts.path.lstrip("/")
    if not (page.isdigit() and int(page) > 1 and relative.endswith(".html")):
        return None
    template = (root / (relative[: -len(".html")] + ENDLESS_SUFFIX)).resolve()
    if root.resolve() not in template.parents or not template.is_file():
        return None
    number = int(page)
    text = template.read_text(encoding="utf-8")
    return text.replace("@PAGE@", str(number)).replace("@NEXT@", str(number + 1)).encode()


@dataclass
class Hold:
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass
class LocalSite:
    """A running site: its base URL, the requests it answered, and request holds."""

    root: Path
    url: str = ""
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    holds: dict[str, Hold] = field(default_factory=dict)
    forced_counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hold(self, path: str) -> Hold:
        """Keep the next request for ``path`` waiting until ``.release`` is set."""
        self.holds[path] = Hold()
        return self.holds[path]

    def paths(self) -> list[str]:
        with self.lock:
            return [path for path, _ in self.requests]


class _Handler(BaseHTTPRequestHandler):
    site: LocalSite
    server_version = "LocalSite/1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        # A request sent to this server as to a proxy names the whole URL (``GET http://host/
        # path``, as the demo's crawl does): its path and query answer it all the same.
        if self.path.lower().startswith(("http://", "https://")):
            parts = urlsplit(self.path)
            self.path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        site = self.site
        with site.lock:
            site.requests.append((self.path, dict(self.headers.items())))
        hold = site.holds.get(self.path)
        if hold is not None:
            hold.arrived.set()
            hold.release.wait(HOLD_TIMEOUT)
        rule = self._rule()
        if rule.get("status") is not None and self._forced(rule):
            return
        path = resolve_page(site.root, self.path)
        if path is None:
            generated = endless_page(site.root, self.path)
            if generated is None:
                self._send(404, b"<html><body>not found</body></html>", "text/html")
            else:
                self._send(200, generated, "text/html; charset=utf-8")
            return
        body = path.read_bytes()
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        mtime = int(path.stat().st_mtime)
        validators = {"ETag": etag, "Last-Modified": formatdate(mtime, usegmt=True)}
        if self._not_modified(etag, mtime):
            self._send(304, b"", None, validators)
            return
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if ctype.startswith("text/"):
            ctype += "; charset=utf-8"
        self._send(200, body, rule.get("content_type", ctype), validators)

    def _rule(self) -> dict:
        """This path's entry in ``_status.json`` as a dict; empty when there is none."""
        status_file = self.site.root / "_status.json"
        if not status_file.is_file():
            return {}
        rule = json.loads(status_file.read_text(encoding="utf-8")).get(self.path)
        if not rule:
            return {}
        return {"status": rule} if isinstance(rule, int) else rule

    def _forced(self, rule: dict) -> bool:
        with self.site.lock:
            count = self.site.forced_counts.get(self.path, 0)
            self.site.forced_counts[self.path] = count + 1
        if "times" in rule and count >= rule["times"]:
            return False
        self._send(
            int(rule["status"]),
            b"<html><body>error</body></html>",
            "text/html",
            rule.get("headers", {}),
        )
        return True

    def _not_modified(self, etag: str, mtime: int) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return etag in [tag.strip() for tag in if_none_match.split(",")]
        since = self.headers.get("If-Modified-Since")
        if since:
            with suppress(TypeError, ValueError):
                return mtime <= parsedate_to_datetime(since).timestamp()
        return False

    def _send(
        self, status: int, body: bytes, ctype: str | None, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def make_server(site: LocalSite, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    handler = type("SiteHandler", (_Handler,), {"site": site})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    site.url = f"http://{host}:{server.server_address[1]}"
    return server


@contextmanager
def serve(root: Path, host: str = "127.0.0.1", port: int = 0) -> Iterator[LocalSite]:
    """Serve ``root`` in a background thread for the length of the block."""
    site = LocalSite(Path(root))
    server = make_server(site, host, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        for hold in site.holds.values():
            hold.release.set()
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    site = LocalSite(args.root)
    server = make_server(site, port=args.port)
    print(f"serving {site.url}", flush=True)
    with suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
