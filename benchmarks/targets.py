"""The performance targets the catalog is held to, checked against a run's figures.

Every target is a bound on a figure some benchmark reports, so a run ends with one table that
says, figure by figure, what was measured, what was asked for and whether it was met. The
bounds are those of the issue that set them ("Fast at 100,000 publications"); they are meant
for a 100k corpus on a 2-core machine, and a smaller corpus only shows the direction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from benchmarks.harness import Report


@dataclass(frozen=True)
class Target:
    figure: str  # the figure's name in its report
    bound: float
    at_most: bool  # True: the figure must be <= bound; False: >= bound
    what: str  # the target in the words

    def met(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        return value <= self.bound if self.at_most else value >= self.bound


TARGETS = (
    Target("catalog search word (subprocess) median", 250, True, "`catalog search` end to end"),
    Target("whoosh search() p50", 50, True, "Whoosh search() p50"),
    Target("whoosh search() p95", 250, True, "Whoosh search() p95"),
    Target("catalog search (1k catalog) median", 150, True, "CLI start-up (a read command)"),
    Target("alembic imported by a read-only search (1 = yes)", 0, True, "no Alembic on reads"),
    Target("sqlalchemy.orm imported by a read-only search (1 = yes)", 0, True, "no ORM on reads"),
    Target("whoosh docs/s (best run)", 1500, False, "indexing docs/s in a rebuild"),
    Target("whoosh peak RSS (VmHWM)", 300, True, "rebuild memory, MiB"),
    Target("whoosh peak temp disk / final index", 2, True, "rebuild temp disk / final index"),
    # Time ratios: all pipelines take at most 1/0.7 of none's time, ours at most 2x raw SQL.
    Target("ratio all / none, scrapy elapsed (median)", 1 / 0.7, True, "crawl speed >= 0.7"),
    Target("{size} ratio ours / raw, new (min)", 2.0, True, "store >= 0.5 of raw SQL (new)"),
    Target(
        "{size} ratio ours / raw, unchanged re-crawl (min)",
        2.0,
        True,
        "store >= 0.5 of raw SQL (re-crawl)",
    ),
)


def check(reports: Iterable[Report], size_label: str) -> list[tuple[Target, float | None]]:
    """Each target with the figure measured for it (None when this run did not measure it)."""
    figures = {name: f.value for report in reports for name, f in report.figures.items()}
    found: list[tuple[Target, float | None]] = []
    for target in TARGETS:
        name = target.figure.format(size=size_label)
        found.append((target, figures.get(name)))
    return found


def render(checked: list[tuple[Target, float | None]]) -> list[str]:
    """The targets table: figure, measured value, bound, met or missed."""
    lines = ["targets (issue 11):"]
    for target, value in checked:
        sign = "<=" if target.at_most else ">="
        bound = f"{sign} {target.bound:,.3g}"
        if value is None:
            lines.append(f"  {target.what:<40} {'not measured':>14} {bound:>10}")
            continue
        verdict = "met" if target.met(value) else "MISSED"
        lines.append(f"  {target.what:<40} {value:>14,.3g} {bound:>10}  {verdict}")
    return lines
