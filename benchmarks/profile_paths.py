"""Profile the slow paths under cProfile, each in a fresh process, and print where time goes.

    python -m benchmarks.profile_paths --size 10k [--only search,rebuild,recrawl,startup]
        [--engine whoosh|tantivy]

- ``search``: the search benchmark's query mix through ``queries.search_catalog``.
- ``rebuild``: ``SearchIndex.rebuild_documents`` of the corpus's first 2,000 documents.
- ``recrawl``: an unchanged re-crawl (``write_batch`` of every listing entry again) against a
  copy of the cached catalog, so the tables are full size.
- ``startup``: ``import catalog.cli``, the search command's database set-up and opening
  the index (importing its engine).

Each prints the top functions by cumulative and by own time; the ``.prof`` files stay in
``--out`` for snakeviz or ``python -m pstats``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import corpus
from benchmarks.harness import REPO, machine_line, python_env

PRELUDE = r"""
import cProfile, pstats, shutil, sys, tempfile
from pathlib import Path
db_url, index_dir, out, size = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
engine_name = sys.argv[5]
profiler = cProfile.Profile()
"""

BODIES = {
    "search": r"""
from benchmarks.bench_search import query_mix, LIMIT
from catalog import queries
from catalog.db import make_engine
from catalog.index import open_index
engine = make_engine(db_url, read_only=True)
index = open_index(index_dir, engine_name)
mix = query_mix()
def search(q):
    queries.search_catalog(
        engine, index, q.text, filters=q.catalog_filters, sort=q.sort, limit=LIMIT
    )
for q in mix:
    search(q)
profiler.enable()
for _ in range(3):
    for q in mix:
        search(q)
profiler.disable()
""",
    "rebuild": r"""
import itertools
from catalog import queries
from catalog.db import make_engine
from catalog.index import IndexState, open_index
engine = make_engine(db_url, read_only=True)
docs = list(itertools.islice(queries.index_documents(engine), 2000))
target = Path(tempfile.mkdtemp()) / "index"
index = open_index(target, engine_name)
profiler.enable()
index.rebuild_documents(docs, IndexState(0, 0))
profiler.disable()
shutil.rmtree(target.parent)
""",
    "recrawl": r"""
from benchmarks import corpus
from catalog.db import make_engine
from catalog.store import CatalogStore
source = Path(db_url.removeprefix("sqlite:///"))
work = Path(tempfile.mkdtemp())
shutil.copy(source, work / "catalog.db")
engine = make_engine(f"sqlite:///{work / 'catalog.db'}")
store = CatalogStore(engine)
run = store.start_run("profile")
batches = list(corpus.recrawl_batches(list(corpus.generate(size))))
profiler.enable()
for batch in batches:
    store.write_batch(batch, run)
profiler.disable()
engine.dispose()
shutil.rmtree(work)
""",
    "startup": r"""
profiler.enable()
import catalog.cli
from catalog import config as catalog_config
config = catalog_config.resolve(index_dir.parent, db_url)
engine = catalog.cli.reading_engine(config)
config.search_index(engine_name).open_reader().close()
profiler.disable()
""",
}

EPILOGUE = r"""
path = out / f"{NAME}.prof"
profiler.dump_stats(path)
stats = pstats.Stats(str(path))
print(f"--- {NAME}: top by cumulative time")
stats.sort_stats("cumulative").print_stats(22)
print(f"--- {NAME}: top by own time")
stats.sort_stats("tottime").print_stats(12)
"""


def profile(name: str, built: corpus.BuiltCorpus, out: Path, engine: str) -> str:
    code = PRELUDE + BODIES[name] + EPILOGUE.replace("NAME", repr(f"{name}-{engine}"))
    args = [built.db_url, str(built.index_dir_for(engine)), str(out), str(built.size), engine]
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env=python_env(),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"profiling {name} failed:\n{result.stderr[-3000:]}")
    return _trim(result.stdout)


def _trim(text: str) -> str:
    """pstats prints absolute paths; shorten site-packages and the repo for reading."""
    text = text.replace(str(REPO) + "/", "")
    return re.sub(r"\S*/site-packages/", "", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="10k", help="1k, 10k, 100k or a number")
    parser.add_argument("--seed", type=int, default=corpus.DEFAULT_SEED)
    parser.add_argument("--only", default=",".join(BODIES), help="comma-separated paths")
    parser.add_argument("--out", type=Path, default=None, help="folder for the .prof files")
    parser.add_argument("--engine", default=corpus.SEARCH_ENGINES[0], choices=corpus.SEARCH_ENGINES)
    args = parser.parse_args()
    print(machine_line())
    built = corpus.build(corpus.parse_size(args.size), args.seed)
    out = args.out or Path(tempfile.mkdtemp(prefix="catalog-profiles-"))
    out.mkdir(parents=True, exist_ok=True)
    for name in args.only.split(","):
        print(profile(name.strip(), built, out, args.engine))
    print(f"profiles saved in {out}")


if __name__ == "__main__":
    main()
