"""The tantivy engine: native code, for large catalogs (many topics, publishers, years).

Only what differs between engines is here: tantivy's schema, writing a commit, compiling a
:class:`~catalog.index.query.Plan` to tantivy queries, and reading its top hits and facet
counts. Text is analysed by the very analyzers of :mod:`catalog.index.analysis`, registered
on every index this module opens, so its terms are Whoosh's terms.

tantivy ranks by score (or date) and breaks ties by its own document order; the catalog's
tie order (newest, then lowest id) is applied by fetching until the group tied with the last
hit asked for is complete, then ordering it (as :mod:`catalog.index.ordering` says).
"""

from __future__ import annotations

import bisect
import heapq
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import tantivy
from tantivy import FieldType, Occur, Order, Query

from catalog.index import analysis, query
from catalog.index.model import (
    SCHEMA_VERSION,
    Candidate,
    Entry,
    Filters,
    IndexDocument,
)

# Memory tantivy's writer may use before it writes a segment: bounds a rebuild's memory.
WRITER_HEAP = 128_000_000
WRITER_THREADS = 2  # two cores: Python reads the catalog while tantivy indexes
FACET_SIZE = 1_000_000  # more distinct values than a catalog holds: counts are exact
FACET_FIELDS = {
    "type": "type_name",
    "year": "year",
    "topic": "topic",
    "author": "author_name",
    "publisher": "publisher_name",
}
_KIND = f"catalog-tantivy-v{SCHEMA_VERSION}"  # written beside the index: what built it
_REGEX_META = set(r"\.+*?()|[]{}^$#&-~")


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    # Signed: tantivy's deletes by term match i64 terms (a u64 field's deletes find nothing).
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    builder.add_integer_field("revision", stored=True)
    builder.add_text_field("url", stored=True, tokenizer_name="raw")
    # No text is stored: snippets are made from the catalog's copy of the hits shown.
    for name in ("title", "summary"):
        builder.add_text_field(name, tokenizer_name=analysis.STEMMED)
    builder.add_text_field("text", tokenizer_name=analysis.STEMMED)
    builder.add_text_field("topics", tokenizer_name=analysis.STEMMED)
    builder.add_text_field("author", tokenizer_name=analysis.PLAIN)
    builder.add_text_field("type", tokenizer_name=analysis.PLAIN)
    builder.add_text_field("type_key", tokenizer_name="raw")
    builder.add_text_field("type_name", tokenizer_name="raw", fast=True)
    builder.add_text_field("publisher", tokenizer_name=analysis.PLAIN)
    builder.add_text_field("publisher_key", tokenizer_name="raw")
    builder.add_text_field("publisher_name", tokenizer_name="raw", fast=True)
    builder.add_text_field("year", tokenizer_name="raw", fast=True)
    builder.add_integer_field("day", indexed=True, fast=True)
    builder.add_text_field("topic", tokenizer_name="raw", fast=True)
    builder.add_text_field("author_name", tokenizer_name="raw", fast=True)
    builder.add_text_field("spell", tokenizer_name=analysis.PLAIN, index_option="freq")
    return builder.build()


SCHEMA = _schema()


def _registered(index: tantivy.Index) -> tantivy.Index:
    for name in (analysis.STEMMED, analysis.PLAIN):
        index.register_tokenizer(name, analysis.analyzer(name))
    return index


def _document(doc: IndexDocument) -> tantivy.Document:
    # Analysed text goes in normalised (dotted acronyms closed up): tantivy's analyzers run
    # in Rust, on what they are given. Nothing analysed is stored.
    normal = analysis.normalize
    fields: dict[str, Any] = {
        "id": doc.id,
        "revision": doc.revision,
        "url": doc.url,
        "title": normal(doc.title),
        "summary": normal(doc.summary),
        "text": normal(doc.text),
        "topics": normal(doc.topics),
        "author": normal(doc.author),
        "type": normal(doc.type),
        "type_key": doc.type_key,
        "publisher": normal(doc.publisher),
        "topic": list(doc.topic),
        "author_name": list(doc.author_names),
        "spell": normal(doc.spelling),
    }
    if doc.type:
        fields["type_name"] = doc.type
    if doc.publisher:
        fields["publisher_key"] = doc.publisher_key
        fields["publisher_name"] = doc.publisher
    if doc.day is not None:
        fields["day"] = doc.day
        fields["year"] = doc.year
    return tantivy.Document.from_dict(fields, SCHEMA)


class TantivyEngine:
    name = "tantivy"

    def exists(self, folder: Path) -> bool:
        return (folder / _KIND).is_file() and tantivy.Index.exists(str(folder))

    def write(
        self,
        folder: Path,
        docs: Iterable[IndexDocument],
        *,
        delete: Iterable[int] = (),
        create: bool = False,
        before_commit: Callable[[], None] = lambda: None,
    ) -> int:
        if create:
            folder.mkdir(parents=True, exist_ok=True)
            index = _registered(tantivy.Index(SCHEMA, path=str(folder), reuse=False))
            (folder / _KIND).write_text("tantivy\n", encoding="utf-8")
        else:
            index = _registered(tantivy.Index.open(str(folder)))
        writer = index.writer(heap_size=WRITER_HEAP, num_threads=WRITER_THREADS)
        count = 0
        try:
            for pub_id in delete:
                writer.delete_documents_by_term("id", int(pub_id))
            for doc in docs:
                if not create:
                    # Deletes apply to what was added before them: the new version stays.
                    writer.delete_documents_by_term("id", doc.id)
                writer.add_document(_document(doc))
                count += 1
            before_commit()
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        writer.wait_merging_threads()
        _readable(folder)
        return count

    def entries(self, folder: Path) -> Iterator[Entry]:
        searcher = _registered(tantivy.Index.open(str(folder))).searcher()
        total = searcher.num_docs
        if not total:
            return
        hits = searcher.search(Query.all_query(), total, count=False).hits
        addresses = [address for _, address in hits]
        for start in range(0, len(addresses), 10_000):
            chunk = addresses[start : start + 10_000]
            for address in chunk:
                stored = searcher.doc(address)
                yield Entry(
                    id=int(stored.get_first("id")),
                    url=stored.get_first("url") or "",
                    revision=int(stored.get_first("revision") or 0),
                )

    def open(self, folder: Path) -> TantivySearcher:
        try:
            return TantivySearcher(_registered(tantivy.Index.open(str(folder))))
        except ValueError as exc:
            if "Lockfile" not in str(exc):
                raise
        # tantivy takes a lock file even to read, which a read-only folder (a read-only
        # mount, another user's home) refuses: such an index is read from a private copy.
        copy = Path(tempfile.mkdtemp(prefix="catalog-index-"))
        try:
            for path in folder.iterdir():
                if path.is_file() and not path.name.startswith(".tantivy-"):
                    shutil.copy2(path, copy / path.name)
            return TantivySearcher(_registered(tantivy.Index.open(str(copy))), copy)
        except BaseException:
            shutil.rmtree(copy, ignore_errors=True)
            raise


ENGINE = TantivyEngine()


class TantivySearcher:
    def __init__(self, index: tantivy.Index, copy: Path | None = None) -> None:
        self.index = index
        self.searcher = index.searcher()
        self._copy = copy  # a private copy of a read-only index, removed on close

    def close(self) -> None:
        self.searcher = None  # tantivy frees the searcher and its memory maps with the object
        self.index = None
        if self._copy is not None:
            shutil.rmtree(self._copy, ignore_errors=True)

    def num_docs(self) -> int:
        return self.searcher.num_docs

    # queries

    def compile(self, plan: query.Plan) -> Query:
        if isinstance(plan, query.Term):
            value: Any = int(plan.term) if plan.field == "id" else plan.term
            if plan.field == "id" and not plan.term.isdigit():
                return Query.empty_query()
            return _boosted(plan.field, Query.term_query(SCHEMA, plan.field, value))
        if isinstance(plan, query.Phrase):
            phrase = Query.phrase_query(SCHEMA, plan.field, list(plan.terms), plan.slop)
            return _boosted(plan.field, phrase)
        if isinstance(plan, query.Prefix):
            pattern = _regex_escape(plan.prefix) + ".*"
            return _boosted(plan.field, Query.regex_query(SCHEMA, plan.field, pattern))
        if isinstance(plan, query.Wildcard):
            pattern = "".join(
                ".*" if c == "*" else "." if c == "?" else _regex_escape(c) for c in plan.pattern
            )
            return _boosted(plan.field, Query.regex_query(SCHEMA, plan.field, pattern))
        if isinstance(plan, query.DayRange):
            return _day_range(plan.low, plan.high)
        if isinstance(plan, query.Every):
            return Query.all_query()
        if isinstance(plan, query.HasField):
            if plan.field in ("date", "year"):
                return Query.exists_query("day")
            return Query.regex_query(SCHEMA, plan.field, ".*")
        if isinstance(plan, query.AnyOf):
            return Query.boolean_query([(Occur.Should, self.compile(p)) for p in plan.items])
        if isinstance(plan, query.AllOf):
            clauses = [(Occur.Must, self.compile(p)) for p in plan.must]
            clauses += [(Occur.MustNot, self.compile(p)) for p in plan.must_not]
            return Query.boolean_query(clauses)
        if isinstance(plan, query.Boosted):
            return Query.boost_query(self.compile(plan.item), plan.boost)
        return Query.empty_query()

    def _filtered(self, plan: query.Plan, filters: Filters) -> Query:
        """The plan narrowed by the filters, which score 0: they never change a ranking."""
        compiled = self.compile(plan)
        narrowing: list[Query] = []
        if filters.type_key is not None:
            narrowing.append(Query.term_query(SCHEMA, "type_key", filters.type_key))
        if filters.publisher_key is not None:
            narrowing.append(Query.term_query(SCHEMA, "publisher_key", filters.publisher_key))
        if filters.topic:
            narrowing.append(Query.term_query(SCHEMA, "topic", filters.topic.strip().lower()))
        if filters.author is not None:
            words = analysis.terms(filters.author, analysis.PLAIN)
            if not words:
                return Query.empty_query()
            narrowing.append(
                Query.term_query(SCHEMA, "author", words[0])
                if len(words) == 1
                else Query.phrase_query(SCHEMA, "author", words, 0)
            )
        if filters.day_range:
            narrowing.append(_day_range(*filters.day_range))
        if not narrowing:
            return compiled
        clauses = [(Occur.Must, compiled)]
        clauses += [(Occur.Must, Query.const_score_query(q, 0.0)) for q in narrowing]
        return Query.boolean_query(clauses)

    def top(
        self, plan: query.Plan, filters: Filters, *, sort: str, limit: int
    ) -> tuple[list[Candidate], int]:
        compiled = self._filtered(plan, filters)
        kwargs: dict[str, Any] = {}
        if sort != "relevance":
            kwargs = {
                "order_by_field": "day",
                "order": Order.Asc if sort == "oldest" else Order.Desc,
            }
        asked = limit + 1  # one more than asked for: is the last one tied with the next?
        while True:
            result = self.searcher.search(compiled, asked, count=True, **kwargs)
            hits = result.hits
            if len(hits) < asked or (
                _primary(sort, hits[limit - 1][0]) != _primary(sort, hits[-1][0])
            ):
                break  # everything matched is here, or the group tied with the last is
            # a page that is one tie group end to end (a prefix scoring most of the catalog
            # alike) likely sits in a huge group: grow faster, each step rescans every match
            step = 32 if _primary(sort, hits[0][0]) == _primary(sort, hits[-1][0]) else 4
            asked = min(asked * step, max(result.count, asked + 1))
        if len(hits) > limit:
            # only the hits ranked at or above the limit-th can make the top (its whole tie
            # group, which may be most of the catalog for a prefix): read only those
            last = _primary(sort, hits[limit - 1][0])
            cut = bisect.bisect_right(hits, -last, lo=limit, key=lambda h: -_primary(sort, h[0]))
            hits = hits[:cut]
        addresses = [address for _, address in hits]
        days = self.searcher.fast_field_values("day", addresses)
        ids = self.searcher.fast_field_values("id", addresses)
        # the catalog's order (ordering.full_key) as plain tuples: compared in C, so a tie
        # group of 20,000 costs milliseconds, not a Python key call per hit
        if sort == "relevance":
            keys = [
                (-value, day is None, -(day or 0), ident)
                for (value, _), day, ident in zip(hits, days, ids, strict=True)
            ]
        else:
            sign = 1 if sort == "oldest" else -1
            keys = [
                (day is None, sign * (day or 0), ident)
                for day, ident in zip(days, ids, strict=True)
            ]
        chosen = heapq.nsmallest(limit, range(len(hits)), key=keys.__getitem__)
        relevance = sort == "relevance"
        return [
            self._candidate(float(hits[n][0]) if relevance else 0.0, addresses[n], days[n])
            for n in chosen
        ], result.count

    def _candidate(self, score: float, address: Any, day: int | None) -> Candidate:
        stored = self.searcher.doc(address)
        return Candidate(
            id=int(stored.get_first("id")), score=score, day=day, url=stored.get_first("url") or ""
        )

    # facets, frequencies, spelling

    def facet_counts(
        self, plan: query.Plan, filters: Filters, facets: Iterable[str]
    ) -> tuple[int, dict[str, Mapping[str, int]]]:
        compiled = self._filtered(plan, filters)
        total = self.searcher.search(compiled, 1, count=True).count
        names = list(facets)
        if not total:
            return 0, {name: {} for name in names}
        aggregations = {
            name: {
                "terms": {
                    "field": FACET_FIELDS[name],
                    "size": FACET_SIZE,
                    "segment_size": FACET_SIZE,
                }
            }
            for name in names
        }
        answer = self.searcher.aggregate(compiled, aggregations)
        return total, {
            name: {b["key"]: int(b["doc_count"]) for b in answer[name]["buckets"]} for name in names
        }

    def doc_freq(self, field: str, term: str) -> int:
        return self.searcher.doc_freq(field, term)

    def near_words(self, word: str, maxdist: int) -> dict[str, int]:
        near = Query.fuzzy_term_query(SCHEMA, "spell", word, maxdist, False)
        found = self.searcher.terms_with_prefix("spell", "", filter_query=near)
        return {
            term: self.searcher.doc_freq("spell", term)
            for term, _ in found
            if abs(len(term) - len(word)) <= maxdist
        }


def _readable(folder: Path) -> None:
    """Give the index's files the permissions the user's umask gives new files.

    tantivy writes ``meta.json`` and ``.managed.json`` readable by their owner only, so a
    catalog shared with other users (or a service) could not be searched by them.
    """
    mask = os.umask(0)
    os.umask(mask)
    mode = 0o666 & ~mask
    for path in folder.iterdir():
        if path.is_file() and path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)


def _boosted(field: str, compiled: Query) -> Query:
    boost = query.FIELD_BOOSTS.get(field)
    return Query.boost_query(compiled, boost) if boost else compiled


def _day_range(low: int | None, high: int | None) -> Query:
    return Query.range_query(SCHEMA, "day", FieldType.Integer, low, high)


def _primary(sort: str, value: Any) -> float:
    if sort == "relevance":
        return float(value)
    if value is None:
        return float("-inf")
    return float(value) if sort == "newest" else -float(value)


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if c in _REGEX_META else c for c in text)
