"""`catalog serve` under measurement: latency with the index kept open, then a bounded load.

    python -m benchmarks.bench_web --size 10k --rounds 5 --load-seconds 30 --clients 20

Two parts, each engine side by side:

- In-process: the app (``catalog.web.create_app``) over the cached corpus, one per engine,
  each holding its index open as a server does, driven through Starlette's TestClient (the
  ASGI app whole: routing, parameter checks, the ETag's version query, the search, the
  database read of the hits, JSON or the rendered page). Every query of ``bench_search``'s
  mix is asked of the JSON API (``/api/search``, with facets, as the API always answers)
  and of the search page (``/search``), engines interleaved query by query; p50/p95/p99.
- Load: a real ``catalog serve`` process per engine (one worker) on 127.0.0.1, and N
  concurrent clients (threads, each with a keep-alive connection) asking the same mix of
  API searches and search pages for a fixed time, then stopping: requests per second, the
  latency percentiles, errors (any answer but 200; the target is none), and the server's
  resident memory (VmRSS) after warm-up, halfway and at the end: the first half fills the
  server's threads, connections and caches; the second half should add nothing.

Only 127.0.0.1 is ever sent a request; the load is bounded in time and stops by itself.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from itertools import cycle
from pathlib import Path

from benchmarks import corpus
from benchmarks.bench_search import MixQuery, query_mix
from benchmarks.harness import REPO, Report, Samples, machine_line, python_env

ENGINES = corpus.SEARCH_ENGINES
LOAD_SECONDS = 30.0
LOAD_CLIENTS = 20


def mix_params(q: MixQuery) -> dict[str, str]:
    """A query of the mix as the web asks it (the search page's and API's parameters)."""
    params = {"q": q.text}
    names = {"content_type": "type", "since": "since", "until": "until", "topic": "topic"}
    for key, value in q.filters.items():
        if key == "sort":
            params["sort"] = value
        else:
            params[names[key]] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return params


def requests_of_mix() -> list[tuple[str, dict[str, str]]]:
    """Every query of the mix once as an API search and once as a search page."""
    mix = [mix_params(q) for q in query_mix()]
    return [("/api/search", p) for p in mix] + [("/search", p) for p in mix]


def in_process(built: corpus.BuiltCorpus, rounds: int, report: Report) -> None:
    from fastapi.testclient import TestClient

    from catalog.config import CatalogConfig
    from catalog.web import app as web_app
    from catalog.web.service import CatalogService

    clients = {}
    for name in ENGINES:
        config = CatalogConfig(home=built.home_for(name), db_url=built.db_url)
        service = CatalogService(config, engine=name)
        clients[name] = TestClient(web_app.create_app(service=service)).__enter__()
    api: dict[str, Samples] = {name: Samples() for name in ENGINES}
    pages: dict[str, Samples] = {name: Samples() for name in ENGINES}
    mix = [mix_params(q) for q in query_mix()]
    try:
        for params in mix:  # imports, the OS cache, the reader's caches: untimed
            for name in ENGINES:
                for path in ("/api/search", "/search"):
                    answer = clients[name].get(path, params=params)
                    if answer.status_code != 200:
                        raise RuntimeError(f"{name} {path} {params}: {answer.status_code}")
        for _ in range(rounds):
            for params in mix:
                for name in ENGINES:
                    for path, samples in (("/api/search", api[name]), ("/search", pages[name])):
                        started = time.perf_counter()
                        answer = clients[name].get(path, params=params)
                        samples.add(time.perf_counter() - started)
                        if answer.status_code != 200:
                            raise RuntimeError(f"{name} {path} {params}: {answer.status_code}")
    finally:
        for client in clients.values():
            client.__exit__(None, None, None)
    report.note(
        f"  in-process, index kept open: {len(mix)} queries x {rounds} rounds per engine, "
        "engines interleaved; the API answers with facets"
    )
    for name in ENGINES:
        report.latency(f"{name} API search, index open", api[name])
        report.latency(f"{name} search page, index open", pages[name])


@contextmanager
def serving(built: corpus.BuiltCorpus, engine: str):
    """A `catalog serve --port 0` on the corpus with ``engine``; yields (url, pid)."""
    command = [sys.executable, "-m", "catalog", *built.cli_args(engine), "serve", "--port", "0"]
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=python_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    log: list[str] = []
    try:
        url = None
        for line in process.stderr:
            log.append(line)
            found = re.search(r"^serving .* at (http://\S+) ", line)
            if found:
                url = found.group(1).rstrip("/")
                break
        if url is None:
            raise RuntimeError(f"catalog serve did not start: {''.join(log)[-2000:]}")
        threading.Thread(target=lambda: log.extend(process.stderr), daemon=True).start()
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def watch(pid: int, done: threading.Event, series: list[float]) -> None:
    """The server's resident memory, twice a second, until ``done``."""
    while not done.wait(0.5):
        series.append(rss_mib(pid))


def load(url: str, seconds: float, clients: int) -> tuple[Samples, int, int, float]:
    """``clients`` threads asking the mix for ``seconds``: (latencies, answers, errors,
    elapsed). Each request is bounded by its timeout; the run stops at its deadline."""
    import httpx2 as httpx

    work = requests_of_mix()
    samples = Samples()
    errors = [0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1, timeout=120)
    deadline = [0.0]

    def client(number: int) -> None:
        mine = cycle(work[number % len(work) :] + work[: number % len(work)])
        own: list[float] = []
        failed = 0
        with httpx.Client(base_url=url, timeout=30) as http:
            start.wait()
            while time.perf_counter() < deadline[0]:
                path, params = next(mine)
                began = time.perf_counter()
                try:
                    answer = http.get(path, params=params)
                    failed += answer.status_code != 200
                except httpx.HTTPError:
                    failed += 1
                own.append(time.perf_counter() - began)
        with lock:
            samples.values.extend(own)
            errors[0] += failed

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return samples, len(samples.values), errors[0], time.perf_counter() - began


def load_run(built: corpus.BuiltCorpus, seconds: float, clients: int, report: Report) -> None:
    import httpx2 as httpx

    report.note(
        f"  load: a `catalog serve` process per engine (1 worker) on 127.0.0.1, {clients} "
        f"concurrent clients for {seconds:g} s, API searches and search pages of the mix"
    )
    for name in ENGINES:
        with serving(built, name) as (url, pid):
            with httpx.Client(base_url=url, timeout=60) as http:  # warm-up, untimed
                for path, params in requests_of_mix():
                    http.get(path, params=params)
            before = rss_mib(pid)
            done = threading.Event()
            series: list[float] = []

            watcher = threading.Thread(target=watch, args=(pid, done, series), daemon=True)
            watcher.start()
            try:
                samples, answers, errors, elapsed = load(url, seconds, clients)
            finally:
                done.set()
                watcher.join()
            after = rss_mib(pid)
        halfway = series[len(series) // 2] if series else before
        report.add(f"{name} load: requests/s", answers / elapsed, "req/s", f"{answers} answers")
        report.latency(f"{name} load latency", samples)
        report.add(f"{name} load: errors", errors, "")
        report.add(f"{name} load: server RSS after warm-up", before, "MiB")
        report.add(f"{name} load: server RSS halfway", halfway, "MiB")
        report.add(f"{name} load: server RSS at the end", after, "MiB")
        report.add(f"{name} load: server RSS growth", after - before, "MiB")
        report.add(
            f"{name} load: server RSS growth, second half",
            after - halfway,
            "MiB",
            "flat memory: about 0",
        )


def run(
    built: corpus.BuiltCorpus,
    *,
    rounds: int = 5,
    load_seconds: float = LOAD_SECONDS,
    clients: int = LOAD_CLIENTS,
    report: Report | None = None,
) -> Report:
    report = report or Report(f"web, {built.size:,} publications")
    in_process(built, rounds, report)
    load_run(built, load_seconds, clients, report)
    return report


FIGURES = [
    *(f"{n} API search, index open p{q}" for n in ENGINES for q in (50, 95, 99)),
    *(f"{n} search page, index open p{q}" for n in ENGINES for q in (50, 95, 99)),
    *(f"{n} load: requests/s" for n in ENGINES),
    *(f"{n} load latency p{q}" for n in ENGINES for q in (50, 95, 99)),
    *(f"{n} load: errors" for n in ENGINES),
    *(f"{n} load: server RSS growth" for n in ENGINES),
    *(f"{n} load: server RSS growth, second half" for n in ENGINES),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="10k", help="1k, 10k, 100k or a number")
    parser.add_argument("--seed", type=int, default=corpus.DEFAULT_SEED)
    parser.add_argument("--rounds", type=int, default=5, help="passes over the query mix")
    parser.add_argument("--load-seconds", type=float, default=LOAD_SECONDS)
    parser.add_argument("--clients", type=int, default=LOAD_CLIENTS)
    args = parser.parse_args()
    if not 1 <= args.clients <= 100 or not 0 < args.load_seconds <= 600:
        raise SystemExit("--clients 1 to 100 and --load-seconds up to 600: a bounded load")
    print(machine_line())
    built = corpus.build(corpus.parse_size(args.size), args.seed)
    run(built, rounds=args.rounds, load_seconds=args.load_seconds, clients=args.clients)


if __name__ == "__main__":
    os.environ.pop("CATALOG_SEARCH_ENGINE", None)  # each engine's home says which it uses
    main()
