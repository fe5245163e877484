"""CLI start-up: what a user waits for before any work, and which imports it is made of.

    python -m benchmarks.bench_startup --runs 10

Times ``python -c pass`` (the interpreter alone), ``import catalog.cli``,
``python -m catalog --help``, and, per search engine, ``catalog search`` on a small catalog
(the 1k corpus) beside the command's import floor (the libraries it cannot do without,
imported alone): median of N fresh processes each, interleaved. Then ``python -X importtime``
of the search command per engine: the ten imports with the largest cumulative time, the self
time summed per top-level package, and whether Alembic, the SQLAlchemy ORM, Scrapy or the
other engine are loaded by a read-only search.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import defaultdict

from benchmarks import corpus
from benchmarks.harness import REPO, Report, interleaved, machine_line, python_env

# What `catalog search` cannot do without, per engine: the floor its start-up is judged by.
# The Whoosh adapter analyses text with tantivy's analyzer, so it needs tantivy too.
IMPORT_FLOORS = {
    "tantivy": "import click, sqlalchemy, tantivy",
    "whoosh": (
        "import click, sqlalchemy, tantivy, whoosh.index, whoosh.query.spans, whoosh.scoring, "
        "whoosh.writing, whoosh.fields, whoosh.columns"
    ),
}


def _run(args: list[str]) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, *args], cwd=REPO, env=python_env(), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"{args} failed: {result.stderr[-2000:]}")
    return result


def importtime(args: list[str]) -> list[tuple[int, int, int, str]]:
    """(self us, cumulative us, depth, module) for each import ``args`` makes."""
    result = _run(["-X", "importtime", *args])
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = line.split(":", 1)[1].split("|")
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        rows.append((int(self_us), int(cumulative), depth, name.strip()))
    return rows


def run(built: corpus.BuiltCorpus, *, runs: int = 10, report: Report | None = None) -> Report:
    report = report or Report("CLI start-up")
    engines = corpus.SEARCH_ENGINES
    search = {
        name: ["-m", "catalog", *built.cli_args(name), "search", "alliances"] for name in engines
    }
    commands = {
        "python -c pass": ["-c", "pass"],
        "import sqlalchemy": ["-c", "import sqlalchemy"],
        **{f"import floor, {name}": ["-c", IMPORT_FLOORS[name]] for name in engines},
        "import catalog.cli": ["-c", "import catalog.cli"],
        "python -m catalog --help": ["-m", "catalog", "--help"],
        **{f"catalog search (1k catalog), {name}": search[name] for name in engines},
    }
    for args in search.values():
        _run(args)  # write .pyc files once, untimed
    samples = interleaved({k: (lambda a=v: _run(a)) for k, v in commands.items()}, runs)
    for name, s in samples.items():
        report.timing(name, s)
    base = samples["python -c pass"].median
    report.add(
        "import catalog.cli less the interpreter (median)",
        (samples["import catalog.cli"].median - base) * 1000,
        "ms",
    )
    for name in engines:
        report.ratio(
            f"ratio catalog search (1k catalog) / import floor, {name} (median)",
            samples[f"catalog search (1k catalog), {name}"].median,
            samples[f"import floor, {name}"].median,
        )
        report.ratio(
            f"ratio catalog search (1k catalog) / --help, {name} (median)",
            samples[f"catalog search (1k catalog), {name}"].median,
            samples["python -m catalog --help"].median,
        )
    for name in engines:
        imports(name, search[name], report)
    return report


def imports(engine: str, args: list[str], report: Report) -> None:
    """What ``catalog search`` with ``engine`` imports, by ``python -X importtime``."""
    rows = importtime(args)
    names = {name for _, _, _, name in rows}

    def loaded(package: str) -> float:
        return 1.0 if any(n == package or n.startswith(package + ".") for n in names) else 0.0

    report.add(f"modules imported by catalog search, {engine}", len(rows), "modules")
    report.add(f"alembic imported by a read-only search, {engine} (1 = yes)", loaded("alembic"), "")
    report.add(
        f"sqlalchemy.orm imported by a read-only search, {engine} (1 = yes)",
        loaded("sqlalchemy.orm"),
        "",
    )
    report.add(f"scrapy imported by a read-only search, {engine} (1 = yes)", loaded("scrapy"), "")
    for other in corpus.SEARCH_ENGINES:
        if other != engine and other != "tantivy":  # every engine analyses with tantivy
            report.add(
                f"{other} imported by a read-only search, {engine} (1 = yes)", loaded(other), ""
            )
    report.note(f"  top 10 cumulative imports of `catalog search`, {engine} (-X importtime):")
    for self_us, cumulative, _depth, name in sorted(rows, key=lambda r: -r[1])[:10]:
        report.note(
            f"    {cumulative / 1000:8.1f} ms cumulative {self_us / 1000:7.1f} ms self  {name}"
        )
    per_package: dict[str, int] = defaultdict(int)
    for self_us, _cumulative, _depth, name in rows:
        per_package[name.split(".")[0]] += self_us
    report.note(f"  self time per top-level package, {engine}:")
    for package, micros in sorted(per_package.items(), key=lambda kv: -kv[1])[:10]:
        report.note(f"    {micros / 1000:8.1f} ms  {package}")
    for package in ("sqlalchemy", "alembic", "whoosh", "tantivy"):
        report.add(
            f"import self time: {package}, {engine} search",
            per_package.get(package, 0) / 1000,
            "ms",
        )


FIGURES = [
    "python -m catalog --help median",
    "import catalog.cli less the interpreter (median)",
    *(f"catalog search (1k catalog), {n} median" for n in corpus.SEARCH_ENGINES),
    *(f"import floor, {n} median" for n in corpus.SEARCH_ENGINES),
    *(
        f"ratio catalog search (1k catalog) / import floor, {n} (median)"
        for n in corpus.SEARCH_ENGINES
    ),
    *(f"modules imported by catalog search, {n}" for n in corpus.SEARCH_ENGINES),
    *(f"alembic imported by a read-only search, {n} (1 = yes)" for n in corpus.SEARCH_ENGINES),
    *(
        f"sqlalchemy.orm imported by a read-only search, {n} (1 = yes)"
        for n in corpus.SEARCH_ENGINES
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=corpus.DEFAULT_SEED)
    args = parser.parse_args()
    print(machine_line())
    run(corpus.build(1000, args.seed), runs=args.runs)


if __name__ == "__main__":
    main()
