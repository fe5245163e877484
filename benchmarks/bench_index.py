"""Indexing: every engine's rebuild against an FTS5 bulk insert of the same documents.

    python -m benchmarks.bench_index --size 10k --repeat 3

Each build runs in a fresh process reading the documents from the same cached catalog the
way ``catalog index rebuild`` does (``SearchIndex.rebuild`` over ``CatalogIndexSource``), so
peak RSS (VmHWM) is the build's own, not the benchmark's. While an engine builds, a thread
samples the size of its work folder (the staged index beside the final one) and of the
process's private TMPDIR (Whoosh's external sort spills its runs there) to give the peak
temporary disk, reported against the final index's size (the staging folder holds the index
itself, so 1x is the floor). Reading the documents alone is timed too, so the engines' share
of a rebuild is visible. Builds are interleaved (each engine, FTS5, the read; then again), so
all see the same drift in machine load. Then an incremental sync per engine, as a crawl makes
it: 1% of the publications get a new revision in a copy of the catalog, and ``sync`` brings a
copy of the engine's full index up to it; timed against that engine's full rebuild.
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
from catalog import queries
from catalog.db import make_engine
from catalog.index import open_index
from catalog.store import PUBLICATIONS, next_revision

ENGINES = corpus.SEARCH_ENGINES
KINDS = (*ENGINES, "fts5", "read")

# Runs in a child process: argv = db_url, workdir, kind (an engine, "fts5" or "read").
CHILD = r"""
import json, os, resource, sys, threading, time
from pathlib import Path
from benchmarks import corpus
from benchmarks.harness import folder_size
from catalog import queries
from catalog.db import make_engine
from catalog.index import ENGINES, open_index

db_url, work, kind = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
engine = make_engine(db_url, read_only=True)
if kind in ENGINES:
    index = open_index(work / "index", kind)  # imports the engine before the clock starts
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
if kind in ENGINES:
    count = index.rebuild(queries.CatalogIndexSource(engine))
elif kind == "fts5":  # the same rows an index rebuild reads, read the same way
    conn = corpus.create_fts(work / "fts5.db")
    count = corpus.fill_fts(conn, queries.CatalogIndexSource(engine).documents())
    conn.close()
else:
    count = sum(1 for _ in queries.CatalogIndexSource(engine).documents())
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
    samples: dict[str, Samples] = {k: Samples() for k in KINDS}
    cpu: dict[str, Samples] = {k: Samples() for k in KINDS}
    last: dict[str, dict[str, float]] = {}
    for _ in range(repeat_n):  # interleaved: each kind sees the same drift in load
        for kind in KINDS:
            result = build_once(built, kind)
            if result["count"] != built.size:
                raise RuntimeError(f"{kind} built {result['count']} of {built.size} documents")
            samples[kind].add(result["seconds"])
            cpu[kind].add(result["cpu"])
            last[kind] = result
    n = built.size
    for name in ENGINES:
        report.timing(f"{name} rebuild (SearchIndex.rebuild)", samples[name], "s")
    report.timing("fts5 bulk insert (one transaction)", samples["fts5"], "s")
    report.timing("reading the documents alone (index_documents)", samples["read"], "s")
    for name in (*ENGINES, "fts5"):
        report.add(f"{name} docs/s (best run)", n / samples[name].min, "docs/s")
    for name in ENGINES:
        report.add(
            f"{name} docs/s less the read (best runs)",
            n / max(1e-9, samples[name].min - samples["read"].min),
            "docs/s",
        )
    for name in (*ENGINES, "fts5"):
        report.add(
            f"{name} docs per CPU-second (best run)",
            n / cpu[name].min,
            "docs/s",
            "process CPU time, all threads" if name == ENGINES[0] else "",
        )
    for name in ENGINES:
        report.ratio(
            f"ratio {name} / fts5 rebuild rate (docs/s, best runs)",
            samples["fts5"].min,
            samples[name].min,
            "above 1: faster than FTS5",
        )
        report.ratio(
            f"ratio {name} / fts5 rebuild time, median",
            samples[name].median,
            samples["fts5"].median,
        )
        report.ratio(f"ratio {name} / fts5 rebuild CPU time, min", cpu[name].min, cpu["fts5"].min)
    for name in (*ENGINES, "fts5", "read"):
        note = "the baseline: reading the documents" if name == "read" else ""
        report.add(f"{name} peak RSS (VmHWM)", last[name]["vmhwm"] / MIB, "MiB", note)
    for name in ENGINES:
        w = last[name]
        report.add(
            f"{name} peak temp disk (staging + TMPDIR)",
            (w["peak_work"] + w["peak_tmp"]) / MIB,
            "MiB",
        )
        report.add(f"{name} peak TMPDIR", w["peak_tmp"] / MIB, "MiB")
        report.add(f"{name} final index size", w["final"] / MIB, "MiB")
        report.ratio(
            f"{name} peak temp disk / final index",
            w["peak_work"] + w["peak_tmp"],
            w["final"],
            "staging + TMPDIR at their peak",
        )
    report.add("fts5 final database size", last["fts5"]["final"] / MIB, "MiB")
    report.note("  (peaks sampled every 0.1 s; last child results:)")
    for kind in KINDS:
        report.note(f"    {kind}: {json.dumps(last[kind])}")
    report.details["builds"] = {
        kind: {"seconds": samples[kind].values, "cpu": cpu[kind].values, "last": last[kind]}
        for kind in KINDS
    }
    for name in ENGINES:
        incremental(built, name, samples[name], report)
    return report


def incremental(built: corpus.BuiltCorpus, name: str, full: Samples, report: Report) -> None:
    """1% of the publications changed in a copy of the catalog; the engine's index catches up.

    What a crawl's periodic sync does: one indexed query for the head, one for the changes,
    then the changed documents read and rewritten in one commit.
    """
    part = Samples()
    updated = 0
    with tempfile.TemporaryDirectory(prefix="bench-incr-") as tmp:
        home = Path(tmp) / "home"
        for _ in range(max(1, len(full.values))):
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir()
            shutil.copy2(built.db_path, home / "catalog.db")
            shutil.copytree(built.index_dir_for(name), home / "index")
            engine = make_engine(f"sqlite:///{home / 'catalog.db'}")
            source = queries.CatalogIndexSource(engine)
            with engine.begin() as conn:
                revision = next_revision(conn)
                conn.execute(
                    update(PUBLICATIONS)
                    .where(PUBLICATIONS.c.id % 100 == 1)
                    .values(revision=revision)
                )
            index = open_index(home / "index", name)
            started = time.perf_counter()
            result = index.sync(source)
            part.add(time.perf_counter() - started)
            engine.dispose()
            if result.rebuilt or result.updated == 0:
                raise RuntimeError(f"the {name} sync was not incremental: {result}")
            updated = result.updated
    report.timing(f"{name} incremental sync, 1% ({updated} docs)", part, "s")
    report.ratio(f"ratio {name} incremental 1% / full rebuild, min", part.min, full.min)


FIGURES = [
    *(f"{n} docs/s (best run)" for n in (*ENGINES, "fts5")),
    *(f"{n} docs per CPU-second (best run)" for n in (*ENGINES, "fts5")),
    *(f"ratio {n} / fts5 rebuild rate (docs/s, best runs)" for n in ENGINES),
    *(f"{n} peak RSS (VmHWM)" for n in (*ENGINES, "fts5", "read")),
    *(f"{n} peak temp disk (staging + TMPDIR)" for n in ENGINES),
    *(f"{n} final index size" for n in ENGINES),
    *(f"{n} peak temp disk / final index" for n in ENGINES),
    *(f"ratio {n} incremental 1% / full rebuild, min" for n in ENGINES),
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
