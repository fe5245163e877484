"""Searching an open index: hits with snippets, facets, "did you mean", similar publications.

Engine-neutral: an engine answers the narrow questions of
:class:`~catalog.index.engines.EngineSearcher` (the ordered top of a plan, facet counts,
document frequencies, words near a word), and everything people see is made here, the same
way for every engine.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from catalog.errors import CatalogError
from catalog.index import analysis, highlight, query
from catalog.index.engines import EngineSearcher
from catalog.index.model import (
    FACET_TOP,
    FACETS,
    NO_FILTERS,
    PROGRAMMING_ERRORS,
    Candidate,
    Facets,
    Filters,
    HitText,
    IndexDamaged,
    NotIndexed,
    SearchHit,
    check_limit,
    check_sort,
    top_values,
)

# Reads the title, summary and page text of publications by id from the database, for the
# snippets of the hits shown: the index stores no text (the database is the source of truth).
HitTexts = Callable[[list[int]], Mapping[int, HitText]]
SHORT_WORD = 5  # letters: words this short are corrected by one edit at most
MIN_CORRECTED = 3  # letters: shorter words are never corrected
SIMILAR_TERMS = 20  # key terms of a publication's text that `similar` searches for
SPELLING_FIELDS = ("title", "summary", "text")  # a word any of these holds is not misspelt


@dataclass(slots=True)
class SearchResult:
    """The hits asked for, and how many documents matched in all."""

    hits: list[SearchHit]
    total: int


class IndexReader:
    """One open index, shared by all of a command's questions (opened once, read many times)."""

    def __init__(self, searcher: EngineSearcher, engine: str) -> None:
        self.searcher = searcher
        self.engine = engine

    def __enter__(self) -> IndexReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.searcher.close()

    def num_docs(self) -> int:
        return self.searcher.num_docs()

    def search(
        self,
        text: str,
        *,
        filters: Filters = NO_FILTERS,
        sort: str = "relevance",
        limit: int = 20,
        offset: int = 0,
        texts: HitTexts | None = None,
    ) -> SearchResult:
        """The hits ``offset`` to ``offset + limit`` in the catalog's order, with snippets.

        A snippet marks the query's words in the summary, else the title, else the page text,
        as ``texts`` reads them from the database for just these hits (none without it).
        """
        check_sort(sort)
        check_limit(limit)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError("offset must be a whole number, 0 or more")
        plan = query.compile_query(text)
        # Every match of a constant-score query ties: by the catalog's order, newest first.
        constant = sort == "relevance" and query.constant(plan)
        engine_sort = "newest" if constant else sort
        found, total = self._top(plan, filters, sort=engine_sort, limit=offset + limit)
        found = found[offset:]
        hits = [
            SearchHit(
                url=c.url,
                score=(1.0 if constant else round(c.score, 4)) if sort == "relevance" else None,
                snippet="",
                id=c.id,
            )
            for c in found
        ]
        if hits and texts is not None:
            want = highlight.wanted(plan)
            read = texts([h.id for h in hits])
            for hit in hits:
                text = read.get(hit.id)
                if text is not None:
                    hit.snippet = (
                        highlight.snippet(text.summary, want.get("summary"))
                        or highlight.snippet(text.title, want.get("title"))
                        or highlight.snippet(text.page_text, want.get("text"))
                    )
        return SearchResult(hits, total)

    def _top(
        self, plan: query.Plan, filters: Filters, *, sort: str, limit: int
    ) -> tuple[list[Candidate], int]:
        try:
            return self.searcher.top(plan, filters, sort=sort, limit=limit)
        except (CatalogError, MemoryError, KeyboardInterrupt, *PROGRAMMING_ERRORS):
            raise
        except Exception as exc:  # an engine failing to read its own files
            raise IndexDamaged(f"{type(exc).__name__}: {exc}") from exc

    def facets(self, text: str, *, filters: Filters = NO_FILTERS, top: int = FACET_TOP) -> Facets:
        """Counts by type, year, topic and author over every document the query matches.

        Not just the hits shown: the point of facets is to say where the rest of the matches
        are. Values are ranked by count, then by value.
        """
        plan = query.compile_query(text)
        total, counts = self.searcher.facet_counts(plan, filters, FACETS)
        return Facets(total=total, counts={n: top_values(counts[n], top) for n in FACETS})

    def suggest(self, text: str, *, filters: Filters = NO_FILTERS) -> str | None:
        """The query with its unknown words corrected, or None when no correction finds hits.

        Words no title, summary or page text holds are corrected, bare words and the words of
        phrases alike, each to the nearest word titles and summaries hold (at most two edits
        away, one for short words; the commonest first). The corrected query is run, with the
        same filters, before it is offered: a suggestion that finds nothing would only send
        people round in circles.
        """
        node = query.parse(text)
        spans: dict[tuple[int, int], str] = {}
        for item in query.walk(node):
            words = item.words if isinstance(item, query.Quoted) else (item,)
            for word in words:
                if not isinstance(word, query.Word) or word.field not in (None, *SPELLING_FIELDS):
                    continue
                written = text[word.start : word.end]
                if (word.start, word.end) in spans or not written.isalpha():
                    continue
                if len(written) < MIN_CORRECTED:
                    continue  # "US", "EU": too short to tell a typo from another word
                if self._known(written):
                    continue
                spans[(word.start, word.end)] = self._nearest(written.lower()) or written
        corrected = text
        for (start, end), word in sorted(spans.items(), reverse=True):
            corrected = corrected[:start] + word + corrected[end:]
        if corrected == text:
            return None
        found, _ = self._top(query.compile_query(corrected), filters, sort="relevance", limit=1)
        return corrected if found else None

    def _known(self, word: str) -> bool:
        stems = analysis.terms(word)
        return bool(stems) and all(
            any(self.searcher.doc_freq(f, s) for f in SPELLING_FIELDS) for s in stems
        )

    def _nearest(self, word: str) -> str | None:
        """The word of titles and summaries nearest ``word``: fewest edits, then commonest."""
        from whoosh.support.levenshtein import levenshtein  # only when nothing matched

        maxdist = 1 if len(word) <= SHORT_WORD else 2
        ranked = sorted(
            (distance, -count, candidate)
            for candidate, count in self.searcher.near_words(word, maxdist).items()
            if candidate.isalpha()
            and len(candidate) >= MIN_CORRECTED
            and (distance := levenshtein(word, candidate)) <= maxdist
        )
        return ranked[0][2] if ranked else None

    def similar(self, pub_id: int, text: str, limit: int = 10) -> list[SearchHit]:
        """Publications most like ``pub_id``, by the key terms of its ``text``; never itself.

        The key terms are the words of its title, summary and page text (``text``, read from
        the database by the caller) that are frequent in it and rare in the catalog (tf-idf
        against the index's page text), searched for in the others' page text, each boosted
        by its weight. Raises :class:`NotIndexed` when the index does not hold the
        publication.
        """
        check_limit(limit)
        if not self._holds(pub_id):
            raise NotIndexed(f"publication {pub_id} is not in the search index")
        documents = max(self.searcher.num_docs(), 1)
        weights: dict[str, float] = {}
        for term, count in Counter(analysis.terms(text)).items():
            if term.isdigit() or len(term) < 3:
                continue
            frequency = self.searcher.doc_freq("text", term)
            if 1 < frequency < documents:
                weights[term] = count * math.log(documents / frequency)
        keys = sorted(weights.items(), key=lambda item: (-item[1], item[0]))[:SIMILAR_TERMS]
        if not keys:
            return []
        heaviest = keys[0][1]
        plan = query.AnyOf(
            tuple(query.Boosted(query.Term("text", t), w / heaviest) for t, w in keys)
        )
        found, _ = self._top(plan, NO_FILTERS, sort="relevance", limit=limit + 1)
        return [
            SearchHit(url=c.url, score=round(c.score, 4), snippet="", id=c.id)
            for c in found
            if c.id != pub_id
        ][:limit]

    def _holds(self, pub_id: int) -> bool:
        plan = query.Term("id", str(pub_id))
        found, _ = self._top(plan, NO_FILTERS, sort="relevance", limit=1)
        return bool(found)
