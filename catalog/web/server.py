"""`catalog serve`: the web app under uvicorn, on a socket bound before anything is served.

The socket is bound here (port 0: any free port), so the line that says where the catalog is
served names the real port, and is printed only once connections are accepted (they wait in
the socket's queue until the first worker is ready). Workers are uvicorn's: each a process
with the app of its own (its own reader of the index), all on this one socket.
"""

from __future__ import annotations

import os
import socket
import sys

from catalog.config import ENV_DB, ENV_HOME, CatalogConfig

ENV_ROOT_PATH = "CATALOG_ROOT_PATH"
APP = "catalog.web.app:app_from_environment"


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (IPv6 when the host is an IPv6 address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket, root_path: str = "") -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{root_path.rstrip('/')}/"


def serve(
    config: CatalogConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    root_path: str = "",
    access_log: bool = False,
) -> None:
    """Serve ``config``'s catalog until SIGINT or SIGTERM (then finish what is in flight)."""
    import uvicorn

    from catalog.web.service import CatalogService

    CatalogService(config).close()  # no catalog, an old schema: one line now, not per request
    sock = bind(host, port)
    os.environ[ENV_HOME] = str(config.home)
    os.environ[ENV_DB] = config.db_url
    os.environ[ENV_ROOT_PATH] = root_path
    settings = uvicorn.Config(
        APP,
        factory=True,
        workers=workers,
        root_path=root_path,
        proxy_headers=True,  # X-Forwarded-For/-Proto from a proxy on this machine
        server_header=False,
        access_log=access_log,
        log_level="info" if access_log else "warning",
        timeout_graceful_shutdown=10,
        timeout_keep_alive=5,
    )
    print(
        f"serving {config.home} at {url_of(sock, root_path)} (Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )
    try:
        if workers == 1:
            uvicorn.Server(settings).run(sockets=[sock])
        else:
            import inspect

            from uvicorn.supervisors import Multiprocess

            if "target" in inspect.signature(Multiprocess).parameters:  # uvicorn before 0.55
                target = uvicorn.Server(settings).run
                Multiprocess(settings, target=target, sockets=[sock]).run()
            else:
                Multiprocess(settings, sockets=[sock]).run()
    finally:
        sock.close()
