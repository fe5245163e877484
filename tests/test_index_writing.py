"""The index's writing side: bounded memory, compact spilled runs, one segment per rebuild,
updates by id on both engines, and the analysis both engines share.

A Whoosh rebuild larger than the writer's pool spills sorted runs to disk
(``whoosh_engine.CompactPool``); the index it builds must be the very same as one built in
memory, term by term and posting by posting, and must leave no run behind.
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from whoosh import index as whoosh_index
from whoosh.writing import SegmentWriter

from catalog.index import IndexState, analysis, open_index
from catalog.index import whoosh_engine as search
from tests.conftest import build_index, hits_of, write_documents

WORDS = [
    "alliance",
    "deterrence",
    "cooperation",
    "security",
    "army",
    "navy",
    "budget",
    "missile",
    "treaty",
    "allies",
    "readiness",
    "logistics",
    "workforce",
    "health",
    "policy",
    "china",
    "russia",
    "japan",
    "korea",
    "taiwan",
    "europe",
    "nuclear",
    "cyber",
    "space",
    "drones",
    "training",
    "recruiting",
    "veterans",
    "housing",
    "climate",
    "energy",
]


def documents(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Catalog-shaped documents with varied, overlapping words (so terms span many docs)."""
    rng = random.Random(seed)

    def text(words: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(words))

    return [
        {
            "id": n,
            "revision": n,
            "url": f"https://example.org/pubs/{n}.html",
            "title": text(8).title(),
            "summary": text(30),
            "content_type": rng.choice(["Report", "Commentary", "Research Brief"]),
            "published_on": date(2000 + n % 25, 1 + n % 12, 1 + n % 28),
            "topic_slugs": [rng.choice(WORDS)],
            "topic_names": [rng.choice(WORDS).title()],
            "authors": [f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()}"],
            "abstract": text(200),
        }
        for n in range(1, count + 1)
    ]


def index_contents(index_dir: Path) -> tuple[int, list[Any], list[dict[str, Any]]]:
    """Segments, every (field, term, [(doc, weight, value)]) and every stored document."""
    ix = whoosh_index.open_dir(str(index_dir), indexname=search.INDEX_NAME)
    try:
        segments = len(ix._segments())
        with ix.reader() as reader:
            postings = []
            for fieldname, term in reader.all_terms():
                postings.append((fieldname, term, _postings(reader, fieldname, term)))
            stored = list(reader.all_stored_fields())
        return segments, postings, stored
    finally:
        ix.close()


def _postings(reader: Any, fieldname: str, term: bytes) -> list[tuple[int, float, bytes]]:
    matcher = reader.postings(fieldname, term)
    found = []
    while matcher.is_active():
        found.append((matcher.id(), matcher.weight(), matcher.value()))
        matcher.next()
    return found


def test_a_rebuild_that_spills_runs_builds_the_same_index_as_one_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = documents(400)
    state = IndexState(1, 400)
    assert open_index(tmp_path / "memory", "whoosh").rebuild_documents(docs, state) == 400

    runs: list[int] = []
    write_run = search.CompactPool._write_run

    def counting(self: search.CompactPool, f: Any, items: Any) -> None:
        runs.append(1)
        write_run(self, f, items)

    monkeypatch.setattr(search.CompactPool, "_write_run", counting)
    monkeypatch.setattr(search, "WRITER_LIMIT_MB", 1)  # about 5,000 postings a run
    monkeypatch.setattr(search, "RUN_BLOCK", 100)  # several blocks a run
    spilled_index = open_index(tmp_path / "spilled", "whoosh")
    assert spilled_index.rebuild_documents(docs, state) == 400

    assert len(runs) > 5  # it did spill, many times
    memory, spilled = index_contents(tmp_path / "memory"), index_contents(tmp_path / "spilled")
    assert spilled == memory
    assert spilled[0] == 1  # one segment: searches read one
    assert sum(len(p) for _, _, p in spilled[1]) > 30_000
    leftovers = [p.name for p in (tmp_path / "spilled").iterdir() if p.suffix == ".run"]
    assert leftovers == []
    hits = hits_of(spilled_index, "deterrence", limit=500)
    assert {h.url for h in hits} == {
        d["url"] for d in docs if "deterrence" in f"{d['title']} {d['summary']} {d['abstract']}"
    }


def test_both_engines_index_the_same_terms(tmp_path: Path) -> None:
    """Whoosh is fed the tokens of tantivy's analyzer: the same terms, in the same places."""
    docs = documents(50)
    whoosh = build_index(tmp_path / "whoosh", docs, "whoosh")
    text = " ".join(d["abstract"] for d in docs[:5]) + " U.S.-Japan Alliances café_au-lait"
    assert analysis.terms(text) == [t.term for t in analysis.tokens(text)]
    assert analysis.terms("Alliances deterred U.S.") == ["allianc", "deter", "us"]
    assert analysis.normalize("U.S.-Japan, e.g. the U.K.") == "US..-Japan, eg.. the UK.."
    assert analysis.terms("Alliances", analysis.PLAIN) == ["alliances"]
    ix = whoosh_index.open_dir(str(whoosh.folder), indexname=search.INDEX_NAME)
    try:
        with ix.reader() as reader:
            terms = {t.decode() for t in reader.lexicon("text")}
    finally:
        ix.close()
    expected = {t for d in docs for t in analysis.terms(d["abstract"])}
    assert terms == expected


def test_updates_replace_documents_by_id_and_open_one_searcher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-indexed documents replace their committed copies (never duplicated) and deletions
    go, all through one searcher: not one per document as Whoosh's update_document does."""
    docs = documents(60)
    index = build_index(tmp_path / "index", docs, "whoosh")
    index_dir = index.folder
    opened: list[int] = []
    original = SegmentWriter.searcher

    def counting(self: SegmentWriter, **kwargs: Any) -> Any:
        opened.append(1)
        return original(self, **kwargs)

    monkeypatch.setattr(SegmentWriter, "searcher", counting)
    changed = [{**d, "title": f"Renamed {d['id']}", "revision": 1000 + d["id"]} for d in docs[:40]]
    assert write_documents(index, changed) == 40
    assert opened == [1]

    _, _, stored = index_contents(index_dir)
    assert sorted(int(s["id"]) for s in stored) == list(range(1, 61))
    revisions = {int(s["id"]): s["revision"] for s in stored}
    assert all(revisions[n] == 1000 + n for n in range(1, 41))
    assert revisions[41] == 41
    renamed = hits_of(index, "title:renamed", limit=100)
    assert sorted(h.url for h in renamed) == sorted(d["url"] for d in changed)


def test_updates_and_deletions_by_id_on_both_engines(tmp_path: Path, search_engine: str) -> None:
    docs = documents(60)
    index = build_index(tmp_path / "index", docs, search_engine)
    changed = [{**d, "title": f"Renamed {d['id']}"} for d in docs[:40]]
    assert write_documents(index, changed, delete=(50, 51)) == 40
    entries = sorted(index.engine.entries(index.folder), key=lambda e: e.id)
    assert [e.id for e in entries] == [n for n in range(1, 61) if n not in (50, 51)]
    assert index.doc_count() == 58
    renamed = hits_of(index, "title:renamed", limit=100)
    assert sorted(h.id for h in renamed) == list(range(1, 41))
