"""Whoosh's side of a search: a plan evaluated term at a time, every match scored, in bulk.

Whoosh's own matchers walk the postings document by document, a handful of Python method
calls per posting and per level of the query (a bare word is an OR over three fields): about
5 µs a match, and phrases build a span object per position. Its top-k pruning, the only
thing that spares it that work, is not exact. Here each term's postings are read a block at
a time (the codec's compressed arrays, decoded in C), scored in one comprehension, and
combined as dictionaries: the same BM25F scores Whoosh computes (its idf, average length,
quantised field lengths and weights), for every match, at a fraction of the cost.

Everything here reads one segment; :class:`~catalog.index.whoosh_engine.WhooshSearcher`
adds each segment's offset.
"""

from __future__ import annotations

import itertools
import re
from array import array
from collections.abc import Iterable
from typing import Any

from whoosh import columns
from whoosh.codec.whoosh3 import _lenfield
from whoosh.util.numeric import byte_to_length

from catalog.index import query

K1, B = 1.2, 0.75
POSITION_TYPE = "I"  # a word's positions in a field: unsigned 32-bit, in a C array
_LENGTHS = [byte_to_length(b) if b else 1 for b in range(256)]
Scores = dict[int, float]


class SegmentScorer:
    """Evaluates plans over one segment of an open index (``sub``, a leaf searcher)."""

    def __init__(self, sub: Any, parent: Any, day_parts: Any) -> None:
        self.sub = sub
        self.reader = sub.reader()
        self.parent = parent  # the top searcher: idf and average lengths are index-wide
        self.deleted = self.reader.deleted_docs_set
        self.count = self.reader.doc_count_all()
        self._lengths: dict[str, bytes] = {}
        # (low, high) -> the year terms and the Whoosh ranges of days that cover those days
        self._day_parts = day_parts
        self._everyone: set[int] | None = None

    # --- postings ------------------------------------------------------------------------

    def _matcher(self, field: str, term: str) -> Any | None:
        schema = self.reader.schema
        if field not in schema:
            return None
        btext = schema[field].to_bytes(term)
        if (field, btext) not in self.reader:
            return None
        return self.reader._terms.matcher(field, btext, schema[field].format)

    def postings(self, field: str, term: str, values: bool = False):
        """``(ids, weights, values)`` of a term's live postings (values only when asked)."""
        matcher = self._matcher(field, term)
        if matcher is None:
            return [], [], []
        ids: list[int] = []
        weights: list[float] = []
        found: list[Any] = []
        if not hasattr(matcher, "_postfile"):  # a short list, inlined in the term table
            while matcher.is_active():
                ids.append(matcher.id())
                weights.append(matcher.weight())
                if values:
                    found.append(matcher.value())
                matcher.next()
        else:
            while not matcher._atend:
                if matcher._data is None:
                    matcher._read_data()
                data = matcher._data
                ids.extend(data[0] if matcher._byteids else itertools.accumulate(data[0]))
                length = matcher._blocklength
                if data[1] is None:
                    weights.extend([1.0] * length)
                elif isinstance(data[1], float):
                    weights.extend([data[1]] * length)
                else:
                    weights.extend(data[1])
                if values:
                    matcher._read_values()
                    found.extend(matcher._values)
                if matcher._lastblock:
                    break
                matcher._goto(matcher._nextoffset)
        if self.deleted:
            keep = [n for n, d in enumerate(ids) if d not in self.deleted]
            ids = [ids[n] for n in keep]
            weights = [weights[n] for n in keep]
            found = [found[n] for n in keep] if values else found
        return ids, weights, found

    def _length_bytes(self, field: str) -> bytes:
        if field not in self._lengths:
            perdoc = self.reader._perdoc
            column = perdoc._cached_reader(_lenfield(field), columns.NumericColumn("B", default=0))
            raw = b""
            if column is not None and hasattr(column, "_dbfile"):
                raw = bytes(column._dbfile.get(column._basepos, column._count))
            self._lengths[field] = raw
        return self._lengths[field]

    def term_scores(self, field: str, term: str) -> Scores:
        """BM25F of one term in one field, for every live document holding it."""
        ids, weights, _ = self.postings(field, term)
        if not ids:
            return {}
        if not self.reader.schema[field].scorable:
            return dict(zip(ids, weights, strict=True))
        btext = self.reader.schema[field].to_bytes(term)
        idf = self.parent.idf(field, btext)
        avgfl = self.parent.avg_field_length(field) or 1
        numerator = idf * (K1 + 1)
        denominators = [K1 * (1 - B + B * n / avgfl) for n in _LENGTHS]
        lengths = self._length_bytes(field)
        size = len(lengths)
        return {
            d: numerator * w / (w + denominators[lengths[d] if d < size else 0])
            for d, w in zip(ids, weights, strict=True)
        }

    # --- plans ---------------------------------------------------------------------------

    def scores(self, plan: query.Plan, allowed: set[int] | None = None) -> Scores:
        """Every matching document of this segment with its score.

        ``allowed`` (when given) lets expensive parts (phrases) skip documents a filter
        excludes anyway; documents outside it may still be returned.
        """
        if isinstance(plan, query.Term):
            return self.term_scores(plan.field, plan.term)
        if isinstance(plan, query.Phrase):
            return self._phrase(plan, allowed)
        if isinstance(plan, query.AnyOf):
            total: Scores = {}
            for item in plan.items:
                found = self.scores(item, allowed)
                if len(found) > len(total):
                    total, found = found, total
                get = total.get
                for d, s in found.items():
                    total[d] = get(d, 0.0) + s
            return total
        if isinstance(plan, query.AllOf):
            parts = sorted((self.scores(item, allowed) for item in plan.must), key=len)
            total = parts[0]
            for other in parts[1:]:
                total = {d: s + other[d] for d, s in total.items() if d in other}
                if not total:
                    return {}
            if plan.must_not:
                excluded = set().union(*(self.docs(item) for item in plan.must_not))
                total = {d: s for d, s in total.items() if d not in excluded}
            return total
        if isinstance(plan, query.Boosted):
            return {d: s * plan.boost for d, s in self.scores(plan.item, allowed).items()}
        # Prefixes, wildcards, dates, fields held: a constant score (the field's boost), as
        # tantivy gives them; no word of a prefix is worth more than another.
        boost = query.FIELD_BOOSTS.get(getattr(plan, "field", ""), 1.0)
        return dict.fromkeys(self.docs(plan, allowed), boost)

    def docs(self, plan: query.Plan, allowed: set[int] | None = None) -> set[int]:
        """Every matching document of this segment (no scores); ``allowed`` as for
        :meth:`scores`."""
        if isinstance(plan, query.Term):
            return set(self.postings(plan.field, plan.term)[0])
        if isinstance(plan, query.Prefix):
            return self._union(plan.field, self.reader.expand_prefix(plan.field, plan.prefix))
        if isinstance(plan, query.Wildcard):
            pattern = re.compile(_wildcard_regex(plan.pattern))
            expanded = (
                t
                for t in self.reader.expand_prefix(plan.field, _literal_start(plan.pattern))
                if pattern.fullmatch(_text(t))
            )
            return self._union(plan.field, expanded)
        if isinstance(plan, query.DayRange):
            years, ranges = self._day_parts(plan.low, plan.high)
            found = self._union("year", years)
            for whoosh_range in ranges:
                found.update(whoosh_range.docs(self.sub))  # Whoosh's matchers skip deletions
            return found
        if isinstance(plan, query.Every):
            return set(self._all())
        if isinstance(plan, query.HasField):
            # Every dated document has a year term.
            field = "year" if plan.field in ("date", "year") else plan.field
            if field not in self.reader.schema:
                return set()
            found: set[int] = set()
            for term in self.reader.lexicon(field):
                found.update(self.postings(field, _text(term))[0])
            return found
        if isinstance(plan, query.AllOf):
            parts = sorted((self.docs(item, allowed) for item in plan.must), key=len)
            found = set(parts[0]).intersection(*parts[1:])
            for item in plan.must_not:
                found -= self.docs(item)
            return found
        if isinstance(plan, query.AnyOf):
            return set().union(*(self.docs(item, allowed) for item in plan.items))
        if isinstance(plan, query.Boosted):
            return self.docs(plan.item, allowed)
        if isinstance(plan, query.Phrase):
            return set(self._phrase(plan, allowed))
        return set()

    def _all(self) -> Iterable[int]:
        if self._everyone is None:
            self._everyone = {d for d in range(self.count) if d not in self.deleted}
        return self._everyone

    def _union(self, field: str, terms: Iterable[Any]) -> set[int]:
        found: set[int] = set()
        for term in terms:
            found.update(self.postings(field, _text(term))[0])
        return found

    def _phrase(self, plan: query.Phrase, allowed: set[int] | None = None) -> Scores:
        """Documents holding the words in order (or within the slop), scored as Whoosh scores
        a phrase: the sum of its words' scores."""
        postings = [self.postings(plan.field, term, values=True) for term in plan.terms]
        if any(not ids for ids, _, _ in postings):
            return {}
        common = set(postings[0][0]).intersection(*(ids for ids, _, _ in postings[1:]))
        if allowed is not None:
            common &= allowed
        if not common:
            return {}
        values = [
            {d: v for d, v in zip(ids, found, strict=True) if d in common}
            for ids, _, found in postings
        ]
        if len(values) == 2 and not plan.slop:  # most phrases: two words, side by side
            first, second = values
            after = (1).__add__
            holding = [
                d
                for d in common
                if not set(map(after, positions(first[d]))).isdisjoint(positions(second[d]))
            ]
        else:
            holding = [d for d in common if _holds([v[d] for v in values], plan.slop)]
        if not holding:
            return {}
        total: Scores = dict.fromkeys(holding, 0.0)
        for term in dict.fromkeys(plan.terms):
            scored = self.term_scores(plan.field, term)
            times = plan.terms.count(term)
            for d in holding:
                total[d] += scored[d] * times
        return total


def _holds(values: list[bytes], slop: int) -> bool:
    """Whether the words' positions in one document (``values``, word by word) hold the
    phrase: each word right after the one before, or within the slop."""
    found = [positions(v) for v in values]
    if slop:
        shifted = [[p - n for p in words] for n, words in enumerate(found)]
        return within(shifted, slop)
    common = set(found[0])
    for n, words in enumerate(found[1:], 1):
        common.intersection_update(map((-n).__add__, words))
        if not common:
            return False
    return True


def positions(value: bytes) -> array:
    """A posting's positions: a count, then a C array of positions (as
    ``whoosh_engine.ArrayPositions`` writes them)."""
    found = array(POSITION_TYPE)
    found.frombytes(value[4:])
    return found


def within(lists: list[list[int]], slop: int) -> bool:
    """Whether one value from each sorted list can be picked with all within ``slop``.

    A sloppy phrase read as tantivy reads one: each word may stand up to ``slop`` positions
    from where the phrase puts it (its position minus its place in the phrase), in any order.
    """
    import heapq

    if any(not values for values in lists):
        return False
    heap = [(values[0], n, 0) for n, values in enumerate(lists)]
    heapq.heapify(heap)
    high = max(values[0] for values in lists)
    while True:
        low, n, at = heap[0]
        if high - low <= slop:
            return True
        if at + 1 == len(lists[n]):
            return False
        following = lists[n][at + 1]
        heapq.heapreplace(heap, (following, n, at + 1))
        high = max(high, following)


def _text(term: Any) -> str:
    return term.decode("utf-8") if isinstance(term, bytes) else term


def _wildcard_regex(pattern: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def _literal_start(pattern: str) -> str:
    """The pattern's letters before its first wildcard: the terms to look at start so."""
    cut = min((i for i in (pattern.find("*"), pattern.find("?")) if i >= 0), default=len(pattern))
    return pattern[:cut]
