"""Indexing: ``catalog.search.rebuild`` against an FTS5 bulk insert of the same documents.

    python -m benchmarks.bench_index --size 10k --repeat 3

Each build runs in a fresh process reading the documents from the same cached catalog the
way ``catalog index rebuild`` does (``queries.index_documents``), so peak RSS (VmHWM) is the
build's own, not the benchmark's. While Whoosh builds, a thread samples the size of the
staging folder and of the process's private TMPDIR (Whoosh's external sort spills its runs
there) to give the peak temporary disk, reported against the final index's size (the
staging folder holds the index itself, so 1x is the floor). Reading the documents alone is
timed too, so the engines' share of a rebuild is visible. Then an incremental sync, as a crawl
makes it: 1% of the publications get a new revision in a copy of the catalog, and
``search.sync`` brings a copy of the full index up to it; timed against the full rebuild.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from sqlalchemy import update

from benchmarks import corpus
from benchmarks.harness import (
    Report,
    Samples,
    machine_line,
    python_env,
    run_python,
)
from catalog import queries, search
from catalog.db import make_engine
from catalog.store import PUBLICATIONS, next_revision

# Runs in a child process: argv = db_url, workdir, engine ("whoosh" | "fts5" | "read").
CHILD = r"""
import json, os, resource, sys, threading, time
from pathlib import Path
from benchmarks import corpus
from benchmarks.harness import folder_size
from catalog import queries, search
from catalog.db import make_engine

db_url, work, kind = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
engine = make_engine(db_url, read_only=True)
peak = {"work": 0, "tmp": 0}
stop = threading.Event()

def sample():
    while not stop.is_set():
        peak["work"] = max(peak["work"], folder_size(work))
        peak["tmp"] = max(peak["tmp"], folder_size(Path(os.environ["TMPDIR"])))
        stop.wait(0.1)

watcher = threading.Thread(target=sample, daemon=True)
watcher.start()
before = resource.getrusage(resource.RUSAGE_SELF)
started = time.perf_counter()
if kind == "whoosh":
    count = search.rebuild(work / "index", queries.index_documents(engine))
elif kind == "fts5":
    conn = corpus.create_fts(work / "fts5.db")
    count = corpus.fill_fts(conn, queries.index_documents(engine))
    conn.close()
else:
    count = sum(1 for _ in queries.index_documents(engine))
seconds = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
stop.set()
watcher.join()
peak["work"] = max(peak["work"], folder_size(work))
hwm = 0
for line in Path("/proc/self/status").read_text().splitlines():
    if line.startswith("VmHWM:"):
        hwm = int(line.split()[1]) * 1024
print(json.dumps({
    "seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime,
     "count": count, "peak_work": peak["work"], "peak_tmp": peak["tmp"],
    "final": folder_size(work), "vmhwm": hwm,
    "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
}))
"""

MIB = 1024 * 1024


def build_once(built: corpus.BuiltCorpus, kind: str) -> dict[str, float]:
    """One build in a child process with its own work folder and TMPDIR."""
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        work, private_tmp = Path(tmp) / "work", Path(tmp) / "tmp"
        work.mkdir()
        private_tmp.mkdir()
        return run_python(
            CHILD, built.db_url, str(work), kind, env=python_env(TMPDIR=str(private_tmp))
        )


def run(built: corpus.BuiltCorpus, *, repeat_n: int = 3, report: Report | None = None) -> Report:
    report = report or Report(f"indexing, {built.size:,} publications")
    samples: dict[str, Samples] = {k: Samples() for k in ("whoosh", "fts5", "read")}
    cpu: dict[str, Samples] = {k: Samples() for k in samples}
    last: dict[str, dict[str, float]] = {}
    for _ in range(repeat_n):  # interleaved: each engine sees the same drift in load
        for kind in samples:
            result = build_once(built, kind)
            samples[kind].add(result["seconds"])
            cpu[kind].add(result["cpu"])
            last[kind] = result
    n = built.size
    report.timing("whoosh rebuild (search.rebuild)", samples["whoosh"], "s")
    report.timing("fts5 bulk insert (one transaction)", samples["fts5"], "s")
    report.timing("reading the documents alone (index_documents)", samples["read"], "s")
    report.add("whoosh docs/s (best run)", n / samples["whoosh"].min, "docs/s")
    report.add("fts5 docs/s (best run)", n / samples["fts5"].min, "docs/s")
    report.add(
        "whoosh docs/s less the read (best runs)",
        n / max(1e-9, samples["whoosh"].min - samples["read"].min),
        "docs/s",
    )
    report.add(
        "whoosh docs per CPU-second (best run)",
        n / cpu["whoosh"].min,
        "docs/s",
        "process CPU time: robust when other work shares the cores",
    )
    report.add("fts5 docs per CPU-second (best run)", n / cpu["fts5"].min, "docs/s")
    report.ratio(
        "ratio whoosh / fts5 rebuild time, min", samples["whoosh"].min, samples["fts5"].min
    )
    report.ratio("ratio whoosh / fts5 rebuild CPU time, min", cpu["whoosh"].min, cpu["fts5"].min)
    report.ratio(
        "ratio whoosh / fts5 rebuild time, median", samples["whoosh"].median, samples["fts5"].median
    )
    w, f = last["whoosh"], last["fts5"]
    report.add("whoosh peak RSS (VmHWM)", w["vmhwm"] / MIB, "MiB")
    report.add("fts5 peak RSS (VmHWM)", f["vmhwm"] / MIB, "MiB")
    report.add("read-only peak RSS (VmHWM)", last["read"]["vmhwm"] / MIB, "MiB", "the baseline")
    report.add(
        "whoosh peak temp disk (staging + TMPDIR)", (w["peak_work"] + w["peak_tmp"]) / MIB, "MiB"
    )
    report.add("whoosh peak TMPDIR (external sort runs)", w["peak_tmp"] / MIB, "MiB")
    report.add("whoosh final index size", w["final"] / MIB, "MiB")
    report.ratio(
        "whoosh peak temp disk / final index",
        w["peak_work"] + w["peak_tmp"],
        w["final"],
        "staging + TMPDIR at their peak",
    )
    report.add("fts5 final database size", f["final"] / MIB, "MiB")
    report.note(f"  (peaks sampled every 0.1 s; child results: {json.dumps(last['whoosh'])})")

    incremental(built, samples["whoosh"], report)
    return report


def incremental(built: corpus.BuiltCorpus, full: Samples, report: Report) -> None:
    """1% of the publications changed in a copy of the catalog; ``search.sync`` catches up.

    What a crawl's periodic sync does: one indexed query for the head, one for the changes,
    then the changed documents read and rewritten in one Whoosh commit.
    """
    part = Samples()
    updated = 0
    with tempfile.TemporaryDirectory(prefix="bench-incr-") as tmp:
        home = Path(tmp) / "home"
        for _ in range(max(1, len(full.values))):
            shutil.rmtree(home, ignore_errors=True)
            shutil.copytree(built.home, home)
            engine = make_engine(f"sqlite:///{home / 'catalog.db'}")
            source = queries.CatalogIndexSource(engine)
            with engine.begin() as conn:
                revision = next_revision(conn)
                conn.execute(
                    update(PUBLICATIONS)
                    .where(PUBLICATIONS.c.id % 100 == 1)
                    .values(revision=revision)
                )
            started = time.perf_counter()
            result = search.sync(home / "index", source)
            part.add(time.perf_counter() - started)
            engine.dispose()
            if result.rebuilt or result.updated == 0:
                raise RuntimeError(f"the sync was not incremental: {result}")
            updated = result.updated
    report.timing(f"whoosh incremental sync, 1% ({updated} docs)", part, "s")
    report.ratio("ratio incremental 1% / full rebuild, min", part.min, full.min)


FIGURES = [
    "whoosh docs/s (best run)",
    "fts5 docs/s (best run)",
    "ratio whoosh / fts5 rebuild time, min",
    "whoosh peak RSS (VmHWM)",
    "fts5 peak RSS (VmHWM)",
    "whoosh peak temp disk (staging + TMPDIR)",
    "whoosh final index size",
    "whoosh peak temp disk / final index",
    "ratio incremental 1% / full rebuild, min",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="10k", help="1k, 10k, 100k or a number")
    parser.add_argument("--seed", type=int, default=corpus.DEFAULT_SEED)
    parser.add_argument("--repeat", type=int, default=3, help="builds per engine")
    args = parser.parse_args()
    print(machine_line())
    run(corpus.build(corpus.parse_size(args.size), args.seed), repeat_n=args.repeat)


if __name__ == "__main__":
    main()
