"""Repeat, summarise and report measurements the same way in every benchmark.

One sample says little on a shared machine: each figure here is the min and median of N
samples (p50/p95/p99 for latency sets), and comparisons are ratios of figures measured in the
same run. The machine (cores, load, Python, SQLite) heads every report, because absolute times
only mean something beside it.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = {}
    for package in ("SQLAlchemy", "Whoosh-Reloaded", "Scrapy", "tantivy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(terse=True),
        **versions,
    }


def machine_line() -> str:
    m = machine()
    libs = ", ".join(
        f"{k} {m[k]}" for k in ("SQLAlchemy", "Whoosh-Reloaded", "Scrapy", "tantivy") if k in m
    )
    return (
        f"machine: {m['cpu'] or 'unknown CPU'}, {m['cores']} cores ({m['usable_cores']} usable), "
        f"load {m['load_avg_1m']}; Python {m['python']}, SQLite {m['sqlite']}; {libs}"
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: p99 of 100 samples is the 99th, not an interpolation."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Samples:
    """Repeated measurements of one thing, in seconds (or any unit the caller states)."""

    values: list[float] = field(default_factory=list)

    @property
    def min(self) -> float:
        return min(self.values) if self.values else math.nan

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else math.nan

    def p(self, q: float) -> float:
        return percentile(self.values, q)

    def add(self, value: float) -> None:
        self.values.append(value)


def repeat(func: Callable[[], Any], n: int, warmup: int = 0) -> Samples:
    """Time ``func`` ``n`` times after ``warmup`` untimed calls."""
    for _ in range(warmup):
        func()
    samples = Samples()
    for _ in range(n):
        started = time.perf_counter()
        func()
        samples.add(time.perf_counter() - started)
    return samples


def interleaved(funcs: dict[str, Callable[[], Any]], n: int) -> dict[str, Samples]:
    """A B A B ...: both variants see the same drift in machine load."""
    results = {name: Samples() for name in funcs}
    for _ in range(n):
        for name, func in funcs.items():
            started = time.perf_counter()
            func()
            results[name].add(time.perf_counter() - started)
    return results


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    note: str = ""


class Report:
    """Named figures in the order measured, printed as they come and kept for JSON."""

    def __init__(self, title: str, *, quiet: bool = False) -> None:
        self.title = title
        self.quiet = quiet
        self.figures: dict[str, Figure] = {}
        # What is not a figure but worth keeping in the JSON (per-query hit counts, ...).
        self.details: dict[str, Any] = {}
        self._say(f"\n== {title} ==")

    def _say(self, text: str) -> None:
        if not self.quiet:
            print(text, flush=True)

    def note(self, text: str) -> None:
        self._say(text)

    def add(self, name: str, value: float, unit: str, note: str = "") -> float:
        self.figures[name] = Figure(name, value, unit, note)
        self._say(f"  {name:<64} {_fmt(value):>12} {unit:<8} {note}".rstrip())
        return value

    def timing(self, name: str, samples: Samples, unit: str = "ms", note: str = "") -> None:
        """min and median of N, in ms (or s)."""
        scale = 1000.0 if unit == "ms" else 1.0
        self.add(f"{name} min", samples.min * scale, unit, f"n={len(samples.values)} {note}")
        self.add(f"{name} median", samples.median * scale, unit)

    def latency(self, name: str, samples: Samples, note: str = "") -> None:
        """p50/p95/p99 of a latency set, in ms."""
        for q in (50, 95, 99):
            self.add(f"{name} p{q}", samples.p(q) * 1000, "ms", note if q == 50 else "")

    def ratio(self, name: str, numerator: float, denominator: float, note: str = "") -> float:
        value = numerator / denominator if denominator else math.nan
        return self.add(name, value, "x", note)

    def missing(self, expected: Sequence[str]) -> list[str]:
        """Expected figures absent or not a finite number: a benchmark that silently failed."""
        return [
            n for n in expected if n not in self.figures or not math.isfinite(self.figures[n].value)
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "figures": {
                f.name: {"value": f.value, "unit": f.unit, "note": f.note}
                for f in self.figures.values()
            },
            "details": self.details,
        }


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}"


def write_json(path: Path, reports: Sequence[Report]) -> None:
    path.write_text(
        json.dumps({"machine": machine(), "reports": [r.as_dict() for r in reports]}, indent=2)
    )


def python_env(**extra: str) -> dict[str, str]:
    """The environment for child processes: no catalog settings leak in from the shell.

    Bytecode caching is on, as on a user's machine: some shells (CI images, this workplace's)
    export PYTHONDONTWRITEBYTECODE, and every start would then compile the catalog's own
    modules from source, ~100 ms that no user pays.
    """
    dropped = ("CATALOG_HOME", "CATALOG_DB", "CATALOG_SEARCH_ENGINE", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.setdefault("PYTHONHASHSEED", "0")
    return {**env, **extra}


def run_python(code: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter and return the JSON it prints on its last line.

    Peak memory and import costs are per process: measuring them in the benchmark's own
    process would count everything the benchmark itself loaded.
    """
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env=env or python_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"child process failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def folder_size(path: Path) -> int:
    """Bytes in files under ``path``; files vanishing meanwhile (Whoosh merges) are skipped."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total
