"""CLI start-up: what a user waits for before any work, and which imports it is made of.

    python -m benchmarks.bench_startup --runs 10

Times ``python -c pass`` (the interpreter alone), ``import catalog.cli``,
``python -m catalog --help`` and ``catalog search`` on a small catalog (the 1k corpus), median
of N fresh processes each, interleaved. Then ``python -X importtime`` of the search command:
the ten imports with the largest cumulative time, the self time summed per top-level package,
and whether Alembic and the SQLAlchemy ORM are loaded by a read-only search.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from benchmarks import corpus
from benchmarks.harness import REPO, Report, interleaved, machine_line, python_env


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


def run(home: Path, *, runs: int = 10, report: Report | None = None) -> Report:
    report = report or Report("CLI start-up")
    commands = {
        "python -c pass": ["-c", "pass"],
        # The floor: the two libraries a search cannot do without, imported alone.
        "import sqlalchemy": ["-c", "import sqlalchemy"],
        "import whoosh (searching)": [
            "-c",
            "import whoosh.index, whoosh.qparser, whoosh.searching, whoosh.highlight",
        ],
        "import catalog.cli": ["-c", "import catalog.cli"],
        "python -m catalog --help": ["-m", "catalog", "--help"],
        "catalog search (1k catalog)": [
            *("-m", "catalog", "--home", str(home)),
            *("search", "alliances"),
        ],
    }
    _run(commands["catalog search (1k catalog)"])  # write .pyc files once, untimed
    samples = interleaved({k: (lambda a=v: _run(a)) for k, v in commands.items()}, runs)
    for name, s in samples.items():
        report.timing(name, s)
    base = samples["python -c pass"].median
    report.add(
        "import catalog.cli less the interpreter (median)",
        (samples["import catalog.cli"].median - base) * 1000,
        "ms",
    )
    report.ratio(
        "ratio catalog search / --help (median)",
        samples["catalog search (1k catalog)"].median,
        samples["python -m catalog --help"].median,
    )

    rows = importtime(commands["catalog search (1k catalog)"])
    names = {name for _, _, _, name in rows}
    report.add("modules imported by catalog search", len(rows), "modules")
    report.add(
        "alembic imported by a read-only search (1 = yes)",
        1.0 if any(n == "alembic" or n.startswith("alembic.") for n in names) else 0.0,
        "bool",
    )
    report.add(
        "sqlalchemy.orm imported by a read-only search (1 = yes)",
        1.0 if "sqlalchemy.orm" in names else 0.0,
        "bool",
    )
    report.add(
        "scrapy imported by a read-only search (1 = yes)",
        1.0 if "scrapy" in names else 0.0,
        "bool",
    )
    report.note("  top 10 cumulative imports of `catalog search` (python -X importtime):")
    for self_us, cumulative, _depth, name in sorted(rows, key=lambda r: -r[1])[:10]:
        report.note(
            f"    {cumulative / 1000:8.1f} ms cumulative {self_us / 1000:7.1f} ms self  {name}"
        )
    per_package: dict[str, int] = defaultdict(int)
    for self_us, _cumulative, _depth, name in rows:
        per_package[name.split(".")[0]] += self_us
    report.note("  self time per top-level package:")
    for package, micros in sorted(per_package.items(), key=lambda kv: -kv[1])[:10]:
        report.note(f"    {micros / 1000:8.1f} ms  {package}")
    for package in ("sqlalchemy", "alembic", "whoosh"):
        report.add(f"import self time: {package}", per_package.get(package, 0) / 1000, "ms")
    return report


FIGURES = [
    "python -m catalog --help median",
    "catalog search (1k catalog) median",
    "import catalog.cli less the interpreter (median)",
    "modules imported by catalog search",
    "alembic imported by a read-only search (1 = yes)",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=corpus.DEFAULT_SEED)
    args = parser.parse_args()
    print(machine_line())
    run(corpus.build(1000, args.seed).home, runs=args.runs)


if __name__ == "__main__":
    main()
