"""The only module that touches Whoosh: schema, incremental updates, rebuilds and queries.

The database is the source of truth; the index holds what search needs and can always be
rebuilt from it (``catalog index rebuild``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh.analysis import RegexTokenizer, StandardAnalyzer, StemmingAnalyzer
from whoosh.analysis.filters import LowercaseFilter
from whoosh.fields import DATETIME, ID, KEYWORD, TEXT, Schema
from whoosh.highlight import ContextFragmenter, Formatter, get_text
from whoosh.index import LockError
from whoosh.qparser import MultifieldParser
from whoosh.qparser.dateparse import DateParserPlugin
from whoosh.searching import Hit

from catalog.errors import CatalogError, QueryError

# Bump when the schema changes: an index of another version is rebuilt, not misread.
SCHEMA_VERSION = "2"
INDEX_NAME = f"publications_v{SCHEMA_VERSION}"

NAME_ANALYZER = RegexTokenizer() | LowercaseFilter()

SCHEMA = Schema(
    url=ID(unique=True, stored=True),
    title=TEXT(analyzer=StemmingAnalyzer(), field_boost=2.0, stored=True),
    summary=TEXT(analyzer=StemmingAnalyzer(), stored=True),
    type=TEXT(analyzer=StandardAnalyzer(stoplist=None)),
    type_exact=ID(),  # lower-cased whole type, for --type filters
    date=DATETIME(sortable=True),
    topic=KEYWORD(lowercase=True, commas=True, scorable=True),  # slugs
    topics=TEXT(analyzer=StemmingAnalyzer()),  # display names
    # Names as written, lower-cased, never stemmed: author:"Derek Grossman", author:grossman.
    author=TEXT(analyzer=NAME_ANALYZER),
    # The publication page's text: abstract, research questions, key findings,
    # recommendations and (commentary) body text.
    abstract=TEXT(analyzer=StemmingAnalyzer(), stored=True),
)
# Topic names are left out of the default fields: every publication of a topic carries its
# name, so "security cooperation" would match the whole topic. Ask for them with topics:.
DEFAULT_FIELDS = ["title", "summary", "abstract"]
PAGE_TEXT_FIELDS = (
    "abstract",
    "research_questions",
    "key_findings",
    "recommendations",
    "body_text",
)
SORTS = ("relevance", "newest", "oldest")
WRITER_TIMEOUT = 60.0
# Bounds on a query's cost (see parse_query): generous for people, tight for accidents.
MAX_QUERY_CHARS = 1_000
MAX_QUERY_TERMS = 100
MAX_WILDCARDS = 5
MAX_QUERY_DEPTH = 10
MAX_LIMIT = 100_000  # results per search: more than a catalog holds, less than overflows
_FIELD_REF = re.compile(r"(?<![\w\"])([A-Za-z_]\w*):")


@dataclass(slots=True)
class SearchHit:
    url: str
    score: float | None  # None when sorted by date: Whoosh then ranks by the sort key
    snippet: str


def _open(index_dir: Path, *, create: bool) -> whoosh_index.Index:
    if whoosh_index.exists_in(str(index_dir), indexname=INDEX_NAME):
        return whoosh_index.open_dir(str(index_dir), indexname=INDEX_NAME)
    if not create:
        raise CatalogError(f"no search index at {index_dir}: run `catalog index rebuild`")
    index_dir.mkdir(parents=True, exist_ok=True)
    return whoosh_index.create_in(str(index_dir), SCHEMA, indexname=INDEX_NAME)


def exists(index_dir: Path) -> bool:
    return whoosh_index.exists_in(str(index_dir), indexname=INDEX_NAME)


def _document(doc: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "url": doc["url"],
        "title": doc["title"] or "",
        "summary": doc.get("summary") or "",
        "type": doc.get("content_type") or "",
        "type_exact": (doc.get("content_type") or "").lower(),
        "topic": ",".join(doc.get("topic_slugs") or []),
        "topics": " ".join(doc.get("topic_names") or []),
        "author": " , ".join(doc.get("authors") or []),
        "abstract": "\n\n".join(doc[f] for f in PAGE_TEXT_FIELDS if doc.get(f)),
    }
    published = doc.get("published_on")
    if isinstance(published, date):
        fields["date"] = datetime.combine(published, time())
    return fields


def update_documents(index_dir: Path, docs: Iterable[dict[str, Any]]) -> int:
    """Add or replace documents by URL in one writer commit; returns how many were written."""
    ix = _open(index_dir, create=True)
    try:
        writer = ix.writer(timeout=WRITER_TIMEOUT)
    except LockError as exc:
        raise CatalogError(f"the search index at {index_dir} is locked by another writer") from exc
    count = 0
    try:
        for doc in docs:
            writer.update_document(**_document(doc))
            count += 1
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    ix.close()
    return count


def rebuild(index_dir: Path, docs: Iterable[dict[str, Any]]) -> int:
    """Build a fresh index beside the old one and swap it in, so searches never see half of it."""
    index_dir = Path(index_dir)
    staging = index_dir.with_name(index_dir.name + ".rebuild")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    ix = whoosh_index.create_in(str(staging), SCHEMA, indexname=INDEX_NAME)
    writer = ix.writer(limitmb=256)
    count = 0
    try:
        for doc in docs:
            writer.add_document(**_document(doc))
            count += 1
    except BaseException:
        writer.cancel()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    writer.commit()
    ix.close()
    retired = index_dir.with_name(index_dir.name + ".old")
    shutil.rmtree(retired, ignore_errors=True)
    if index_dir.exists():
        index_dir.rename(retired)
    staging.rename(index_dir)
    shutil.rmtree(retired, ignore_errors=True)
    return count


def doc_count(index_dir: Path) -> int:
    if not exists(index_dir):
        return 0
    ix = _open(index_dir, create=False)
    try:
        return ix.doc_count()
    finally:
        ix.close()


def parse_query(text: str) -> Q.Query:
    """Whoosh query syntax over title, summary and page text; a clear error when malformed.

    The cost of a query is bounded before Whoosh sees it (length, words, nesting) and after
    it has parsed it (terms, wildcards): a query typed or scripted by mistake must fail in
    milliseconds, not scan every term of the index for minutes.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"query is {len(text):,} characters long; at most {MAX_QUERY_CHARS:,} are allowed"
        )
    text = text.strip()
    if text in ("", "*"):
        return Q.Every()
    words = len(text.split())
    if words > MAX_QUERY_TERMS:
        raise QueryError(f"query has {words} words; at most {MAX_QUERY_TERMS} are allowed")
    _check_balanced(text)
    unknown = sorted({f for f in _FIELD_REF.findall(_strip_quoted(text)) if f not in SCHEMA})
    if unknown:
        known = ", ".join(n for n in SCHEMA.names() if n != "type_exact")
        raise QueryError(f"unknown field {unknown[0]!r} in query (fields: {known})")
    parser = MultifieldParser(DEFAULT_FIELDS, SCHEMA)
    parser.add_plugin(DateParserPlugin())
    try:
        parsed = parser.parse(text)
    except Exception as exc:  # Whoosh raises assorted errors on odd input
        reason = " ".join(str(exc).split())[:200]  # one line, whatever Whoosh says
        raise QueryError(f"cannot parse query {_shown(text)}: {reason}") from exc
    if parsed is Q.NullQuery or isinstance(parsed, type(Q.NullQuery)):
        raise QueryError(f"query {_shown(text)} has no searchable words")
    _check_cost(parsed)
    return parsed


def _check_cost(parsed: Q.Query) -> None:
    """Refuse what would make Whoosh walk the whole term list: leading and many wildcards.

    Checked on the parsed query, so quoting tricks ('*foo', field:*foo) cannot slip past.
    """
    leaves = list(parsed.leaves())
    if len(leaves) > MAX_QUERY_TERMS * len(DEFAULT_FIELDS):
        raise QueryError(f"query has too many terms; at most {MAX_QUERY_TERMS} are allowed")
    # A prefix (allian*) is one wildcard at its end; its text is what comes before it.
    patterns = {q.text for q in leaves if isinstance(q, Q.Wildcard)}
    patterns |= {f"{q.text}*" for q in leaves if isinstance(q, Q.Prefix)}
    for pattern in sorted(patterns):
        if pattern[:1] in ("*", "?"):
            raise QueryError(
                f"a wildcard cannot start a word ({pattern!r}); put at least one letter first"
            )
    wildcards = sum(p.count("*") + p.count("?") for p in patterns)
    if wildcards > MAX_WILDCARDS:
        raise QueryError(f"query has {wildcards} wildcards; at most {MAX_WILDCARDS} are allowed")


def _shown(text: str) -> str:
    """The query quoted for an error message, cut short so the message stays one short line."""
    return repr(text) if len(text) <= 60 else repr(text[:57] + "...")


def _strip_quoted(text: str) -> str:
    return re.sub(r'"[^"]*"', '""', text)


def _check_balanced(text: str) -> None:
    if text.count('"') % 2:
        raise QueryError("unbalanced quote in query")
    depth = 0
    for char in _strip_quoted(text):
        if char in "([{":
            depth += 1
            if depth > MAX_QUERY_DEPTH:
                raise QueryError(f"parentheses nested more than {MAX_QUERY_DEPTH} deep in query")
        elif char in ")]}":
            depth -= 1
            if depth < 0:
                raise QueryError("unbalanced parenthesis or bracket in query")
    if depth:
        raise QueryError("unbalanced parenthesis or bracket in query")


def search(
    index_dir: Path,
    text: str,
    *,
    content_type: str | None = None,
    topic: str | None = None,
    author: str | None = None,
    since: date | None = None,
    until: date | None = None,
    sort: str = "relevance",
    limit: int = 20,
) -> list[SearchHit]:
    """Run a query with optional filters; hits carry a highlighted snippet of the summary."""
    if sort not in SORTS:
        raise QueryError(f"sort must be one of {', '.join(SORTS)}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be a whole number from 1 to {MAX_LIMIT:,}")
    ix = _open(index_dir, create=False)  # a missing index is the first thing to report
    try:
        return _run(
            ix, _filtered(parse_query(text), content_type, topic, author, since, until), sort, limit
        )
    finally:
        ix.close()


def _filtered(
    query: Q.Query,
    content_type: str | None,
    topic: str | None,
    author: str | None,
    since: date | None,
    until: date | None,
) -> Q.Query:
    """The query narrowed by the command line's filters (exact type, topic slug, author, dates)."""
    filters: list[Q.Query] = []
    if content_type:
        filters.append(Q.Term("type_exact", content_type.strip().lower()))
    if topic:
        filters.append(Q.Term("topic", topic.strip().lower()))
    if author:
        words = [token.text for token in NAME_ANALYZER(author)]
        if not words:
            raise QueryError(f"no name in --author {author!r}")
        filters.append(Q.Term("author", words[0]) if len(words) == 1 else Q.Phrase("author", words))
    if since or until:
        start = datetime.combine(since, time()) if since else None
        end = datetime.combine(until, time.max) if until else None
        filters.append(Q.DateRange("date", start, end))
    return Q.And([query, *filters]) if filters else query


def _run(ix: whoosh_index.Index, query: Q.Query, sort: str, limit: int) -> list[SearchHit]:
    with ix.searcher() as searcher:
        kwargs: dict[str, Any] = {"limit": limit}
        if sort != "relevance":
            kwargs["sortedby"] = "date"
            kwargs["reverse"] = sort == "newest"
        results = searcher.search(query, **kwargs)
        results.fragmenter = ContextFragmenter(maxchars=160, surround=60)
        results.formatter = BracketFormatter()
        return [_hit(h, scored=sort == "relevance") for h in results]


class BracketFormatter(Formatter):
    """Marks matched words as [word]: readable in a terminal, a file and JSON alike."""

    between = " … "

    def format_token(self, text: str, token: Any, replace: bool = False) -> str:
        return f"[{get_text(text, token, replace)}]"


def _hit(hit: Hit, scored: bool) -> SearchHit:
    snippet = (
        hit.highlights("summary") or hit.highlights("title") or hit.highlights("abstract") or ""
    )
    score = round(float(hit.score or 0.0), 4) if scored else None
    return SearchHit(url=hit["url"], score=score, snippet=snippet)
