"""The benchmark harness runs end to end on a 1k corpus and reports every figure.

A smoke test, not a timed one: it asserts that each benchmark completes and produces each
figure it promises (a finite number), and that the store benchmark's raw-SQL twin executes
the same statements as ``CatalogStore.write_batch``. It never asserts a time.
"""

from __future__ import annotations

import math

import pytest

from benchmarks import corpus, targets
from benchmarks.__main__ import Settings, run_all

# The benchmark harness on a 1k corpus: the suite's slowest test.
pytestmark = pytest.mark.bench


def test_corpus_is_deterministic_and_shaped_like_rand() -> None:
    first, again = list(corpus.generate(200, seed=5)), list(corpus.generate(200, seed=5))
    assert [p.details.to_dict() for p in first] == [p.details.to_dict() for p in again]
    stats = corpus.corpus_stats(first)
    assert 10 <= stats["title_words"] <= 15
    assert 30 <= stats["summary_words"] <= 50
    assert 220 <= stats["abstract_findings_words"] <= 320
    assert 1 <= stats["authors"] <= 7


def test_harness_reports_every_figure_on_a_1k_corpus(tmp_path) -> None:
    results = run_all(1000, settings=Settings.quick(), cache=tmp_path / "cache", quiet=True)
    assert {report.title.split(",")[0].split(":")[0] for report, _ in results} == {
        "search",
        "indexing",
        "store",
        "crawl",
        "CLI start-up",
        "web",
    }
    for report, expected in results:
        assert report.missing(expected) == [], report.title
        assert all(math.isfinite(f.value) for f in report.figures.values()), report.title
    store = next(report for report, _ in results if report.title.startswith("store"))
    assert store.figures["statement counts identical (1 = yes)"].value == 1.0
    # Both engines measured side by side wherever the index is involved.
    search = next(report for report, _ in results if report.title.startswith("search"))
    for engine in corpus.SEARCH_ENGINES:
        assert f"{engine} engine, index open p50" in search.figures
        assert f"ratio {engine} engine / fts5, index open, p50" in search.figures
    assert set(corpus.SEARCH_ENGINES) == {"whoosh", "tantivy"}
    assert set(search.details["queries"]["word, common"]["hits"]) == {"whoosh", "tantivy", "fts5"}
    # Every target is a figure this run measured (met or not at 1k), beside figures included.
    checked = targets.check([report for report, _ in results], "1k")
    assert [c.target.figure for c in checked if c.value is None] == []
    assert [c.target.beside for c in checked if c.target.beside and c.beside is None] == []
    table = targets.render(checked, "1k")
    for target in targets.TARGETS:
        assert sum(f" {target.what} " in line for line in table) == 1, target.what
    assert "not measured" not in "\n".join(table)
