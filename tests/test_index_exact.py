"""The top k is the true top k, and both engines match the same documents.

On a generated RAND-shaped corpus (the benchmarks' generator, a few hundred publications),
every query of the benchmark's mix, filtered ones included:

- Whoosh's hits equal what Whoosh's own matchers give when they score every match with its
  stock BM25F (no pruning): same documents, same scores, the catalog's order (score, then
  newest, then lowest id);
- tantivy's top hits equal all its matches put in that order;
- both engines match exactly the same documents;
- a filter narrows the hits and never changes a score.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from whoosh import query as Q
from whoosh import scoring

from benchmarks import corpus
from benchmarks.bench_search import query_mix
from catalog import queries
from catalog.db import make_engine, upgrade
from catalog.index import Filters, open_index
from catalog.index import query as plans
from catalog.index.ordering import full_key
from catalog.index.whoosh_schema import DAY_BIAS
from catalog.index.whoosh_searcher import filter_plans
from catalog.store import CatalogStore

SIZE = 400
LIMIT = 20
MIX = query_mix()


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory):
    """A generated catalog, indexed by both engines."""
    home = tmp_path_factory.mktemp("exact")
    engine = make_engine(f"sqlite:///{home / 'catalog.db'}")
    upgrade(engine)
    store = CatalogStore(engine)
    run = store.start_run("test-corpus")
    for batch in corpus.batches(list(corpus.generate(SIZE, corpus.DEFAULT_SEED))):
        store.write_batch(batch, run)
    source = queries.CatalogIndexSource(engine)
    indexes = {name: open_index(home / name, name) for name in ("whoosh", "tantivy")}
    for index in indexes.values():
        index.rebuild(source)
    yield indexes
    engine.dispose()


def split(q) -> tuple[Filters, str]:
    filters = dict(q.filters)
    sort = filters.pop("sort", "relevance")
    return Filters(**filters), sort


def whoosh_query(plan: plans.Plan, dated) -> Q.Query:
    """The plan as stock Whoosh queries: the reference the engine's evaluation must equal."""
    if isinstance(plan, plans.Term):
        return Q.Term(plan.field, plan.term)
    if isinstance(plan, plans.Phrase):
        assert plan.slop == 0  # Whoosh's own slop means something else
        return Q.Phrase(plan.field, list(plan.terms))
    # Prefixes and wildcards score a constant, the field's boost (as in tantivy).
    if isinstance(plan, plans.Prefix):
        boost = plans.FIELD_BOOSTS.get(plan.field, 1.0)
        return Q.ConstantScoreQuery(Q.Prefix(plan.field, plan.prefix), boost)
    if isinstance(plan, plans.Wildcard):
        boost = plans.FIELD_BOOSTS.get(plan.field, 1.0)
        return Q.ConstantScoreQuery(Q.Wildcard(plan.field, plan.pattern), boost)
    if isinstance(plan, plans.DayRange):
        low = -math.inf if plan.low is None else plan.low
        high = math.inf if plan.high is None else plan.high
        # The documents of those days by id: a date test independent of the engine's.
        return Q.Or([Q.Term("pid", pid) for pid in dated(low, high)] or [Q.NullQuery])
    if isinstance(plan, plans.Every):
        return Q.Every()
    if isinstance(plan, plans.AnyOf):
        return Q.Or([whoosh_query(p, dated) for p in plan.items])
    if isinstance(plan, plans.AllOf):
        must = Q.And([whoosh_query(p, dated) for p in plan.must])
        if not plan.must_not:
            return must
        return Q.AndNot(must, Q.Or([whoosh_query(p, dated) for p in plan.must_not]))
    if isinstance(plan, plans.Boosted):
        inner = whoosh_query(plan.item, dated)
        inner.boost *= plan.boost
        return inner
    raise AssertionError(f"no reference for {plan!r}")


def reference(index, q) -> tuple[list[int], dict[int, float], int]:
    """Whoosh's stock searcher scoring every match of ``q``, in the catalog's order."""
    filters, sort = split(q)
    with index.open_reader() as opened:
        engine_searcher = opened.searcher
        searcher = engine_searcher._ix.searcher(weighting=scoring.BM25F())
        try:
            days = {
                d: (v - DAY_BIAS if v else None)
                for d, v in enumerate(engine_searcher._numbers("day"))
            }
            ids = dict(enumerate(engine_searcher._numbers("pid")))

            def dated(low, high):
                return [ids[d] for d, day in days.items() if day is not None and low <= day <= high]

            plan = plans.compile_query(q.text)
            query = whoosh_query(plan, dated)
            narrowing = filter_plans(filters) or []
            allowed = None
            for part in narrowing:
                docs = set(searcher.docs_for_query(whoosh_query(part, dated)))
                allowed = docs if allowed is None else allowed & docs
            results = searcher.search(query, limit=None, optimize=False, filter=allowed)
            scored = [(hit.score, hit.docnum) for hit in results]
        finally:
            searcher.close()
    constant = plans.constant(plan)
    if sort == "relevance" and not constant:
        key = full_key(sort, days.__getitem__, ids.__getitem__)
    else:
        key = full_key("newest" if constant else sort, days.__getitem__, ids.__getitem__)
    ordered = sorted(scored, key=key)
    return [ids[d] for _, d in ordered], {ids[d]: s for s, d in scored}, len(scored)


@pytest.mark.parametrize("q", MIX, ids=[q.label for q in MIX])
def test_whoosh_returns_the_true_top_k(catalog, q):
    index = catalog["whoosh"]
    expected, scores, total = reference(index, q)
    filters, sort = split(q)
    with index.open_reader() as reader:
        result = reader.search(q.text, filters=filters, sort=sort, limit=LIMIT)
    assert result.total == total
    got = [h.id for h in result.hits]
    assert len(got) == min(LIMIT, total)
    assert _same_but_for_float_ties(got, expected[:LIMIT], scores)
    if sort == "relevance" and not plans.constant(plans.compile_query(q.text)):
        for hit in result.hits:
            assert hit.score == pytest.approx(round(scores[hit.id], 4), abs=1e-4)


def _same_but_for_float_ties(got: list[int], expected: list[int], scores) -> bool:
    """The same hits in the same order, but for neighbours whose scores differ only in the
    last bits (the two sum a document's field scores in different orders)."""
    return len(got) == len(expected) and all(
        g == e or math.isclose(scores[g], scores[e], rel_tol=1e-9)
        for g, e in zip(got, expected, strict=True)
    )


@pytest.mark.parametrize("q", MIX, ids=[q.label for q in MIX])
def test_tantivy_top_k_is_its_whole_order_cut_short(catalog, q):
    index = catalog["tantivy"]
    filters, sort = split(q)
    with index.open_reader() as reader:
        top = reader.search(q.text, filters=filters, sort=sort, limit=LIMIT)
        everything = reader.search(q.text, filters=filters, sort=sort, limit=10_000)
    assert top.total == everything.total == len(everything.hits)
    assert [h.id for h in top.hits] == [h.id for h in everything.hits][:LIMIT]


@pytest.mark.parametrize("q", MIX, ids=[q.label for q in MIX])
def test_both_engines_match_the_same_documents(catalog, q):
    filters, sort = split(q)
    found = {}
    for name, index in catalog.items():
        with index.open_reader() as reader:
            result = reader.search(q.text, filters=filters, sort=sort, limit=10_000)
        found[name] = {h.id for h in result.hits}
        assert result.total == len(found[name])
    assert found["whoosh"] == found["tantivy"]
    assert found["whoosh"], f"{q.label}: the corpus should hold matches"


@pytest.mark.parametrize("engine", ["whoosh", "tantivy"])
def test_filters_never_change_scores(catalog, engine):
    index = catalog[engine]
    with index.open_reader() as reader:
        everything = {h.id: h.score for h in reader.search("security", limit=10_000).hits}
        for filters in (
            Filters(content_type="Report"),
            Filters(since=corpus.date(2015, 1, 1)),
            Filters(topic="health-care"),
        ):
            narrowed = reader.search("security", filters=filters, limit=10_000).hits
            assert narrowed and len(narrowed) < len(everything)
            assert {h.id: h.score for h in narrowed} == {h.id: everything[h.id] for h in narrowed}


def test_the_corpus_is_what_the_module_says(catalog):
    assert all(index.doc_count() == SIZE for index in catalog.values())
    assert Path(catalog["whoosh"].folder).is_dir()
