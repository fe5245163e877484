"""Run every benchmark on one corpus size, every search engine side by side, and report.

    python -m benchmarks --size 10k                    # all of them, default repeats
    python -m benchmarks --size 100k --only search,index --json results.json
    python -m benchmarks --size 1k --quick             # one sample each: a smoke run

The machine heads the output; every figure is a min/median of N or a percentile set, and every
comparison is a ratio measured in the same run. Where the index is involved (search, indexing,
crawl, start-up) each engine is measured in the same run, interleaved. The run ends with the
targets table (``benchmarks.targets``), each target met or MISSED. ``--json`` keeps the
figures for later comparison (ratios, never absolute times, across machines or runs).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks import (
    bench_crawl,
    bench_index,
    bench_search,
    bench_startup,
    bench_store,
    bench_web,
    corpus,
    targets,
)
from benchmarks.harness import Report, machine_line, write_json

ALL = ("search", "index", "store", "crawl", "startup", "web")


@dataclass(frozen=True)
class Settings:
    """How many samples each benchmark takes; ``quick`` is one of each, for smoke tests."""

    rounds: int = 5  # passes over the query mix
    cli_runs: int = 5  # subprocess searches
    index_repeat: int = 3  # builds per engine
    store_repeat: int = 3  # passes per side
    crawl_pages: int = 100
    crawl_runs: int = 5
    startup_runs: int = 10
    web_rounds: int = 5  # passes over the query mix, in-process
    load_seconds: float = bench_web.LOAD_SECONDS  # the load run, per engine
    load_clients: int = bench_web.LOAD_CLIENTS

    @classmethod
    def quick(cls) -> Settings:
        return cls(1, 1, 1, 1, 3, 1, 1, web_rounds=1, load_seconds=2.0, load_clients=4)


def run_all(
    size: int,
    *,
    seed: int = corpus.DEFAULT_SEED,
    only: tuple[str, ...] = ALL,
    settings: Settings | None = None,
    store_sizes: tuple[int, ...] | None = None,
    cache: Path | None = None,
    quiet: bool = False,
) -> list[tuple[Report, list[str]]]:
    """Each benchmark's report with the figures it must contain."""
    s = settings or Settings()
    built = corpus.build(size, seed, root=cache)
    results: list[tuple[Report, list[str]]] = []
    if "search" in only:
        report = Report(f"search, {size:,} publications", quiet=quiet)
        bench_search.run(built, rounds=s.rounds, cli_runs=s.cli_runs, report=report)
        results.append((report, bench_search.FIGURES))
    if "index" in only:
        report = Report(f"indexing, {size:,} publications", quiet=quiet)
        bench_index.run(built, repeat_n=s.index_repeat, report=report)
        results.append((report, bench_index.FIGURES))
    if "store" in only:
        sizes = store_sizes or (size,)
        report = Report("store: write_batch vs the same statements in raw sqlite3", quiet=quiet)
        bench_store.run(sizes, seed=seed, repeat_n=s.store_repeat, report=report)
        results.append((report, bench_store.figures_for(sizes)))
    if "crawl" in only:
        report = Report(f"crawl: all pipelines / none, {s.crawl_pages} pages", quiet=quiet)
        bench_crawl.run(pages=s.crawl_pages, runs=s.crawl_runs, report=report)
        results.append((report, bench_crawl.FIGURES))
    if "startup" in only:
        small = corpus.build(1000, seed, root=cache)
        report = Report("CLI start-up", quiet=quiet)
        bench_startup.run(small, runs=s.startup_runs, report=report)
        results.append((report, bench_startup.FIGURES))
    if "web" in only:
        report = Report(f"web: catalog serve, {size:,} publications", quiet=quiet)
        bench_web.run(
            built,
            rounds=s.web_rounds,
            load_seconds=s.load_seconds,
            clients=s.load_clients,
            report=report,
        )
        results.append((report, bench_web.FIGURES))
    return results


def main() -> None:
    os.environ.pop("CATALOG_SEARCH_ENGINE", None)  # each engine's home says which it uses
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="10k", help="1k, 10k, 100k or a number")
    parser.add_argument("--seed", type=int, default=corpus.DEFAULT_SEED)
    parser.add_argument("--only", default=",".join(ALL), help=f"comma-separated: {','.join(ALL)}")
    parser.add_argument("--store-sizes", default=None, help="e.g. 10k,100k (default: --size)")
    parser.add_argument("--quick", action="store_true", help="one sample of everything")
    parser.add_argument(
        "--index-repeat",
        type=int,
        default=None,
        help="builds per engine (default 3; a Whoosh rebuild at 100k takes minutes)",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    print(machine_line())
    settings = Settings.quick() if args.quick else Settings()
    if args.index_repeat:
        settings = replace(settings, index_repeat=args.index_repeat)
    results = run_all(
        corpus.parse_size(args.size),
        seed=args.seed,
        only=tuple(n.strip() for n in args.only.split(",")),
        settings=settings,
        store_sizes=tuple(corpus.parse_size(s) for s in args.store_sizes.split(","))
        if args.store_sizes
        else None,
    )
    size = corpus.parse_size(args.size)
    print()
    checked = targets.check([report for report, _ in results], f"{size // 1000}k")
    print("\n".join(targets.render(checked, f"{size // 1000}k")))
    missing = [name for report, expected in results for name in report.missing(expected)]
    if args.json:
        write_json(args.json, [report for report, _ in results])
    if missing:
        raise SystemExit(f"figures missing or not numbers: {missing}")


if __name__ == "__main__":
    main()
