"""Serve a folder of RAND-shaped pages on 127.0.0.1, for the demo and the tests.

``/topics/x.html?page=N`` is served from ``topics/x--page-N.html`` (other query parameters are
ignored, as rand.org ignores them); ``robots.txt`` and any other file by its path. A
``_status.json`` at the root maps a path (with its query) to an HTTP status to answer instead,
so tests can make a page fail. Run ``python -m catalog.localsite DIR`` to serve a folder; it
prints ``serving URL`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit


def resolve_page(root: Path, raw_path: str) -> Path | None:
    """The file answering ``raw_path``, or None; never a file outside ``root``."""
    parts = urlsplit(raw_path)
    relative = parts.path.lstrip("/") or "index.html"
    page = dict(parse_qsl(parts.query)).get("page", "1")
    if page.isdigit() and int(page) > 1 and relative.endswith(".html"):
        relative = f"{relative[: -len('.html')]}--page-{int(page)}.html"
    candidate = (root / relative).resolve()
    if root.resolve() not in candidate.parents or not candidate.is_file():
        return None
    return candidate


class _Handler(BaseHTTPRequestHandler):
    root: Path
    server_version = "LocalSite/1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        status_file = self.root / "_status.json"
        if status_file.is_file():
            forced = json.loads(status_file.read_text(encoding="utf-8")).get(self.path)
            if forced:
                self._send(int(forced), b"<html><body>error</body></html>", "text/html")
                return
        path = resolve_page(self.root, self.path)
        if path is None:
            self._send(404, b"<html><body>not found</body></html>", "text/html")
            return
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if ctype.startswith("text/"):
            ctype += "; charset=utf-8"
        self._send(200, path.read_bytes(), ctype)

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def make_server(root: Path, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    handler = type("SiteHandler", (_Handler,), {"root": Path(root)})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


@contextmanager
def serve(root: Path, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``root`` in a background thread; yields the base URL (no trailing slash)."""
    server = make_server(root, host, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = make_server(args.root, port=args.port)
    print(f"serving http://127.0.0.1:{server.server_address[1]}", flush=True)
    with suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
