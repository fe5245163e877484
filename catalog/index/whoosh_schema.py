"""What a Whoosh index holds: its schema, the shared analyzer, positions as C arrays."""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterator
from typing import Any

from whoosh import columns, formats
from whoosh.analysis import Analyzer, RegexTokenizer, Token
from whoosh.fields import ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.system import pack_uint

from catalog.index import analysis, query
from catalog.index.model import (
    SCHEMA_VERSION,
    IndexDocument,
)
from catalog.index.whoosh_scoring import POSITION_TYPE, positions

INDEX_NAME = f"publications_v{SCHEMA_VERSION}"

WRITER_TIMEOUT = 60.0

BLOCK_HEADER = struct.Struct("<I")

# Day numbers are stored with this added, so that 0 (a column's default) means "no date".
DAY_BIAS = 1_000_000


class SharedAnalyzer(Analyzer):
    """Whoosh's side of :mod:`catalog.index.analysis`: the tokens tantivy's analyzer makes.

    Pickled into the index's schema by name only; the analyzer itself is looked up when used.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SharedAnalyzer) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        token.boost = 1.0
        token.stopped = False
        if not tokenize:
            token.original = token.text = value
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        if not (positions or chars):
            for term in analysis.terms(value, self.name):
                token.text = term
                yield token
            return
        for found in analysis.tokens(value, self.name):
            token.text = found.term
            if positions:
                token.pos = start_pos + found.position
            if chars:
                token.startchar, token.endchar = start_char + found.start, start_char + found.end
            yield token


class ListKeyword(KEYWORD):
    """A keyword field whose values are also kept per document in a column, one a line.

    --facets counts topics and authors (several a publication) over the documents a query
    matched: reading each match's column value and splitting it is ~50 times faster than
    intersecting the postings of every topic and author with the matches, and ~2.5 times
    faster than Whoosh's own list column, which decodes each value in Python.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.column_type = columns.VarBytesColumn()

    def to_column_value(self, value: str) -> bytes:
        return b"\n".join(token.text.encode("utf-8") for token in self.analyzer(value))


class ArrayPositions(formats.Positions):
    """Whoosh's position format, with positions as a C array instead of pickled deltas.

    A phrase query decodes every position list of its words in every document holding them
    all; ``array.frombytes`` does that in C, several times faster than unpickling deltas and
    adding them up. The count still leads, as Whoosh reads frequencies from it.
    """

    def encode(self, poslist: list[int]) -> bytes:
        return pack_uint(len(poslist)) + array(POSITION_TYPE, poslist).tobytes()

    def decode_positions(self, valuestring: bytes) -> list[int]:
        return positions(valuestring).tolist()


def _text_field(analyzer: SharedAnalyzer, **kwargs: Any) -> TEXT:
    field = TEXT(analyzer=analyzer, **kwargs)
    field.format = ArrayPositions(field_boost=field.format.field_boost)
    return field


STEMMED = SharedAnalyzer(analysis.STEMMED)

PLAIN = SharedAnalyzer(analysis.PLAIN)

SCHEMA = Schema(
    id=ID(unique=True, stored=True),  # publications.id, as text: updates and deletes go by it
    # The same id, a column for tie-breaks (unsigned: the column holds the number as it is).
    pid=NUMERIC(numtype=int, bits=64, signed=False, sortable=True, default=0),
    revision=NUMERIC(numtype=int, bits=64, stored=True),
    url=ID(stored=True),
    # No text is stored: snippets are made from the catalog's copy of the hits shown.
    title=_text_field(STEMMED, field_boost=query.FIELD_BOOSTS["title"]),
    summary=_text_field(STEMMED),
    text=_text_field(STEMMED),  # not stored: it is most of the words; the database has it
    topics=_text_field(STEMMED),
    author=_text_field(PLAIN),
    type=_text_field(PLAIN),
    type_key=ID(),  # lower-cased whole type: --type
    type_name=ID(sortable=True),  # as written: the type facet
    publisher=_text_field(PLAIN),  # the publisher's name, for publisher:word queries
    publisher_key=ID(),  # lower-cased whole name: --publisher
    publisher_name=ID(sortable=True),  # as written: the publisher facet
    year=ID(sortable=True),  # the year facet; whole years of date filters
    day=NUMERIC(numtype=int, bits=32, signed=False, sortable=True, default=0),  # + DAY_BIAS
    topic=ListKeyword(lowercase=True, commas=True, scorable=True),  # slugs
    # Whole names, one a line: the author facet counts names, not words of names.
    author_name=ListKeyword(analyzer=RegexTokenizer(r"[^\n]+")),
    # "Did you mean": the words of titles and summaries as written (lower case), counted.
    spell=TEXT(analyzer=PLAIN, phrase=False),
)

FACET_COLUMNS = {
    "type": "type_name",
    "year": "year",
    "topic": "topic",
    "author": "author_name",
    "publisher": "publisher_name",
}


def fields(doc: IndexDocument) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": str(doc.id),
        "pid": doc.id,
        "revision": doc.revision,
        "url": doc.url,
        "title": doc.title,
        "summary": doc.summary,
        "text": doc.text,
        "topics": doc.topics,
        "author": doc.author,
        "type": doc.type,
        "type_key": doc.type_key,
        "publisher": doc.publisher,
        "topic": ",".join(doc.topic),
        "author_name": "\n".join(doc.author_names),
        "spell": doc.spelling,
    }
    # Facet columns get a value on every document, empty when there is none: Whoosh writes a
    # column's lengths before padding them, so a segment whose last documents lack a value
    # holds a short column, and reading it fails (an IndexError on the next facet count).
    fields["type_name"] = doc.type or ""
    fields["publisher_name"] = doc.publisher or ""
    if doc.publisher:
        fields["publisher_key"] = doc.publisher_key
    if doc.day is not None:
        fields["day"] = doc.day + DAY_BIAS
        fields["year"] = doc.year
    return fields
