"""The performance targets the catalog is held to, checked against a run's figures.

Every target is a bound on a figure some benchmark reports, so a run ends with one table that
says, figure by figure, what was measured, what was asked for and whether it was met. The
bounds are issue 15's ("Search behind one index boundary": Whoosh and tantivy side by side),
and those of issue 11 ("Fast at 100,000 publications") that still apply.

A figure in an issue means measured in a benchmark, repeated, as a ratio to a reference in the
same run: SQLite FTS5 on the same corpus and queries, the import floor of the command, the
same crawl with no pipelines, the same statements in raw ``sqlite3``. So the table judges the
ratios; the issue's absolute bound (derived from its own FTS5 measurement) is shown beside
each, with the absolute figure of this run, for reading only: absolute times depend on the
machine. Memory is judged in MiB (it is not a time). Each bound is set for one corpus size;
at another size the verdict is shown in parentheses: the direction only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from benchmarks.harness import Report


@dataclass(frozen=True)
class Target:
    figure: str  # the figure's name in its report ("{size}" is the run's size label)
    bound: float
    at_most: bool  # True: the figure must be <= bound; False: >= bound
    what: str  # the target in the issue's words
    issue: int
    size: str | None = None  # the corpus size the bound is set for; None: any size
    unit: str = "x"
    beside: str | None = None  # the absolute figure shown beside a judged ratio
    beside_unit: str = ""
    issue_bound: str = ""  # the issue's absolute bound, shown beside, not judged

    def met(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        return value <= self.bound if self.at_most else value >= self.bound


# The issue measured FTS5 at 10k as 8 / 21 ms (p50 / p95), at 100k as 36 / 157 ms, and its
# bulk insert of 100k at 4,545 docs/s: the ratio bounds below are its absolute bounds over
# those references.
TARGETS = (
    # --- issue 18: `catalog serve` ------------------------------------------------------------
    Target(
        "tantivy API search, index open p50",
        20,
        True,
        "web API search p50, index open (tantivy)",
        18,
        "10k",
        "ms",
    ),
    Target(
        "whoosh API search, index open p50",
        60,
        True,
        "web API search p50, index open (Whoosh)",
        18,
        "10k",
        "ms",
    ),
    *(
        Target(f"{engine} load: errors", 0, True, f"errors under load ({engine})", 18, unit="")
        for engine in ("whoosh", "tantivy")
    ),
    # --- issue 15 ---------------------------------------------------------------------------
    Target(
        "ratio whoosh engine / fts5, index open, p50",
        3.1,
        True,
        "Whoosh engine p50 / FTS5 (index open)",
        15,
        "10k",
        beside="whoosh engine, index open p50",
        beside_unit="ms",
        issue_bound="<= 25 ms",
    ),
    Target(
        "ratio whoosh engine / fts5, index open, p95",
        3.8,
        True,
        "Whoosh engine p95 / FTS5 (index open)",
        15,
        "10k",
        beside="whoosh engine, index open p95",
        beside_unit="ms",
        issue_bound="<= 80 ms",
    ),
    Target(
        "ratio tantivy engine / fts5, index open, p50",
        0.14,
        True,
        "tantivy engine p50 / FTS5 (index open)",
        15,
        "100k",
        beside="tantivy engine, index open p50",
        beside_unit="ms",
        issue_bound="<= 5 ms",
    ),
    Target(
        "ratio tantivy engine / fts5, index open, p95",
        0.16,
        True,
        "tantivy engine p95 / FTS5 (index open)",
        15,
        "100k",
        beside="tantivy engine, index open p95",
        beside_unit="ms",
        issue_bound="<= 25 ms",
    ),
    Target(
        "ratio tantivy / fts5 rebuild rate (docs/s, best runs)",
        1.1,
        False,
        "tantivy rebuild rate / FTS5 bulk insert's",
        15,
        "100k",
        beside="tantivy docs/s (best run)",
        beside_unit="docs/s",
        issue_bound=">= 5,000 docs/s",
    ),
    Target("tantivy peak RSS (VmHWM)", 300, True, "tantivy rebuild peak memory", 15, "100k", "MiB"),
    Target(
        "ratio all / none, tantivy, scrapy elapsed (median)",
        1.25,
        True,
        "crawl time, all pipelines / none (tantivy)",
        15,
        beside="all pipelines, tantivy: pages/s (median elapsed)",
        beside_unit="pages/s",
        issue_bound="speed >= 0.8x",
    ),
    Target(
        "ratio catalog search / import floor, tantivy, worst (median)",
        1.3,
        True,
        "`catalog search` / import floor (tantivy)",
        15,
        "100k",
        beside="catalog search word, tantivy (subprocess) median",
        beside_unit="ms",
        issue_bound="engine no longer shows",
    ),
    Target(
        "hit counts differ between engines (queries)",
        0,
        True,
        "queries whose hit counts differ",
        15,
        unit="queries",
        issue_bound="equal to Whoosh's",
    ),
    # --- issue 11, still relevant --------------------------------------------------------------
    Target("{size} ratio ours / raw, new (min)", 2.0, True, "store / raw SQL (new)", 11, "100k"),
    Target(
        "{size} ratio ours / raw, unchanged re-crawl (min)",
        2.0,
        True,
        "store / raw SQL (re-crawl)",
        11,
        "100k",
    ),
    Target("whoosh peak RSS (VmHWM)", 300, True, "Whoosh rebuild peak memory", 11, "100k", "MiB"),
    Target(
        "whoosh peak temp disk / final index",
        2,
        True,
        "Whoosh rebuild temp disk / final index",
        11,
        "100k",
    ),
    *(
        Target(
            f"{package} imported by a read-only search, {engine} (1 = yes)",
            0,
            True,
            f"no {label} on reads ({engine})",
            11,
            unit="",
        )
        for engine in ("whoosh", "tantivy")
        for package, label in (("alembic", "Alembic"), ("sqlalchemy.orm", "ORM"))
    ),
)


@dataclass(frozen=True)
class Checked:
    target: Target
    value: float | None  # None when this run did not measure it
    beside: float | None = None


def check(reports: Iterable[Report], size_label: str) -> list[Checked]:
    """Each target with the figure measured for it (None when this run did not measure it)."""
    figures = {name: f.value for report in reports for name, f in report.figures.items()}
    return [
        Checked(
            target,
            figures.get(target.figure.format(size=size_label)),
            figures.get(target.beside) if target.beside else None,
        )
        for target in TARGETS
    ]


def render(checked: list[Checked], size_label: str) -> list[str]:
    """The targets table: target, measured value, bound, verdict, and beside a judged ratio
    the absolute figure and the issue's absolute bound."""
    lines = [
        f"targets at {size_label} (issues 15 and 18, and issue 11's that still apply); ratios are "
        "judged, absolute figures shown beside",
        f"  {'issue':<5} {'target':<44} {'for':>4} {'measured':>12} {'bound':>12}  "
        f"{'verdict':<9} {'this run (absolute)':>22}  issue's bound",
    ]
    off_size = False
    for item in checked:
        target = item.target
        sign = "<=" if target.at_most else ">="
        bound = f"{sign} {_number(target.bound)}{_suffix(target.unit)}"
        start = f"  {target.issue:<5} {target.what:<44} {target.size or 'any':>4}"
        if item.value is None:
            lines.append(f"{start} {'not measured':>12} {bound:>12}")
            continue
        verdict = "met" if target.met(item.value) else "MISSED"
        if target.size is not None and target.size != size_label:
            verdict = f"({verdict.lower()})"
            off_size = True
        measured = f"{_number(item.value, target.unit)}{_suffix(target.unit)}"
        beside = ""
        if item.beside is not None:
            beside = f"{_number(item.beside)} {target.beside_unit}"
        line = (
            f"{start} {measured:>12} {bound:>12}  {verdict:<9} {beside:>22}  {target.issue_bound}"
        )
        lines.append(line.rstrip())
    if off_size:
        lines.append(
            f"  (verdicts in parentheses: the bound is set for another corpus size than "
            f"{size_label}; they show the direction only)"
        )
    return lines


def _number(value: float, unit: str = "") -> str:
    """Three significant figures; a ratio keeps its trailing zeros (2.00x, not 2x)."""
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:#.3g}" if unit == "x" else f"{value:.3g}"


def _suffix(unit: str) -> str:
    if unit == "x":
        return "x"
    return f" {unit}" if unit else ""
