"""A query's syntax, read into a tree; refused in one line when malformed or too costly."""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalog.errors import QueryError
from catalog.index.query.fields import ALIASES, FIELDS

# Bounds on a query's cost: generous for people, tight for accidents.
MAX_QUERY_CHARS = 1_000

MAX_QUERY_TERMS = 100

MAX_WILDCARDS = 5

MAX_QUERY_DEPTH = 10

OPERATORS = ("AND", "OR", "NOT", "ANDNOT")

_FIELD_PREFIX = re.compile(r"([A-Za-z_]\w*):")

_BOOST = re.compile(r"\^([0-9]+(?:\.[0-9]+)?)$")

_BOOST_AFTER = re.compile(r"\^([0-9]+(?:\.[0-9]+)?)")

_SLOP = re.compile(r"~([0-9]{1,2})")

DATE_TEXT = re.compile(r"([0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2}))?)?")

_RANGE = re.compile(r"^\s*(\S*?)\s*\b(?:to|TO)\b\s*(\S*?)\s*$")


@dataclass(frozen=True, slots=True)
class Word:
    """A word as typed (``start:end`` in the query), in ``field`` or the default fields."""

    field: str | None
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Wild:
    """A word with ``*`` or ``?`` in it."""

    field: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Quoted:
    """A phrase; ``words`` are its words with their places in the query."""

    field: str | None
    text: str
    slop: int
    words: tuple[Word, ...]


@dataclass(frozen=True, slots=True)
class Span:
    """A range of dates or years: ``[low to high]`` (``{...}`` leaves the ends out)."""

    field: str
    low: str
    high: str
    inclusive: bool


@dataclass(frozen=True, slots=True)
class Star:
    """``*``: every document (``field:*``: every document with that field)."""

    field: str | None


@dataclass(frozen=True, slots=True)
class AndNode:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class OrNode:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class NotNode:
    item: Node


@dataclass(frozen=True, slots=True)
class BoostNode:
    item: Node
    boost: float


Node = Word | Wild | Quoted | Span | Star | AndNode | OrNode | NotNode | BoostNode


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # word, phrase, range, field, open, close, op
    text: str
    start: int = 0
    end: int = 0
    boost: float | None = None
    slop: int = 0


def parse(text: str) -> Node:
    """The syntax tree of a query; :class:`QueryError` (one line) when it is malformed.

    The cost of a query is bounded before it is read (length, words, nesting) and after
    (wildcards), so a query typed or scripted by mistake fails at once instead of making an
    engine walk every term of the index.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"query is {len(text):,} characters long; at most {MAX_QUERY_CHARS:,} are allowed"
        )
    if not text.strip():
        raise QueryError("the query is empty: give words to search for, or * for everything")
    words = len(text.split())
    if words > MAX_QUERY_TERMS:
        raise QueryError(f"query has {words} words; at most {MAX_QUERY_TERMS} are allowed")
    _check_balanced(text)
    parser = _Parser(text, _tokens(text))
    node = parser.sequence(None)
    if parser.peek() is not None:
        raise QueryError("unbalanced parenthesis or bracket in query")
    _check_wildcards(node)
    return node


def _tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char == "(":
            found.append(_Token("open", "(", i, i + 1))
            i += 1
        elif char == ")":
            boost, end = _boost_after(text, i + 1)
            found.append(_Token("close", ")", i, i + 1, boost=boost))
            i = end
        elif char == '"':
            close = text.index('"', i + 1)  # balanced: checked before
            slop_match = _SLOP.match(text, close + 1)
            after = slop_match.end() if slop_match else close + 1
            boost, end = _boost_after(text, after)
            slop = int(slop_match.group(1)) if slop_match else 0
            found.append(_Token("phrase", text[i + 1 : close], i + 1, close, boost, slop))
            i = end
        elif char in "[{" and found and found[-1].kind == "field":
            closer = "]" if char == "[" else "}"
            close = text.find(closer, i + 1)
            if close < 0:
                raise QueryError("unbalanced parenthesis or bracket in query")
            found.append(_Token("range", text[i : close + 1], i, close + 1))
            i = close + 1
        else:
            end = i
            while end < n and not text[end].isspace() and text[end] not in '()"':
                end += 1
            field = None if found and found[-1].kind == "field" else _FIELD_PREFIX.match(text, i)
            if field and field.end() <= end:
                found.append(_Token("field", field.group(1), i, field.end()))
                i = field.end()
                continue
            raw = text[i:end]
            boost_match = _BOOST.search(raw)
            word = raw[: boost_match.start()] if boost_match else raw
            boost = float(boost_match.group(1)) if boost_match else None
            if word in OPERATORS and boost is None:
                found.append(_Token("op", word, i, end))
            else:
                found.append(_Token("word", word, i, i + len(word), boost=boost))
            i = end
    return found


def _boost_after(text: str, i: int) -> tuple[float | None, int]:
    match = _BOOST_AFTER.match(text, i)
    return (float(match.group(1)), match.end()) if match else (None, i)


class _Parser:
    """Recursive descent over the tokens: sequence > OR > AND/ANDNOT > NOT > atom."""

    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.at = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def sequence(self, field: str | None) -> Node:
        items: list[Node] = []
        while (token := self.peek()) is not None and token.kind != "close":
            items.append(self.either(field))
        if not items:
            raise QueryError("empty parentheses in query")
        return items[0] if len(items) == 1 else AndNode(tuple(items))

    def either(self, field: str | None) -> Node:
        items = [self.both(field)]
        while self._op("OR"):
            self.take()
            items.append(self.both(field, after="OR"))
        return items[0] if len(items) == 1 else OrNode(tuple(items))

    def both(self, field: str | None, after: str = "") -> Node:
        items = [self.negated(field, after)]
        while self._op("AND") or self._op("ANDNOT"):
            op = self.take().text
            item = self.negated(field, after=op)
            items.append(NotNode(item) if op == "ANDNOT" else item)
        return items[0] if len(items) == 1 else AndNode(tuple(items))

    def negated(self, field: str | None, after: str = "") -> Node:
        if self._op("NOT"):
            self.take()
            return NotNode(self.negated(field, after="NOT"))
        return self.atom(field, after)

    def atom(self, field: str | None, after: str = "") -> Node:
        token = self.peek()
        if token is None or token.kind == "close":
            raise QueryError(f"{after or 'a field'} needs a word after it in query")
        if token.kind == "op":
            where = f"after {after}" if after else "at the start of a group"
            raise QueryError(f"{token.text} cannot stand {where} in query: it joins two words")
        self.take()
        if token.kind == "field":
            name = _field_name(token.text)
            if self.peek() is None or self.peek().kind in ("close", "op"):
                raise QueryError(f"{token.text}: needs a word after it in query")
            return self.atom(name, after=f"{token.text}:")
        if token.kind == "open":
            node = self.sequence(field)
            close = self.peek()
            if close is None or close.kind != "close":
                raise QueryError("unbalanced parenthesis or bracket in query")
            self.take()
            return BoostNode(node, close.boost) if close.boost else node
        if token.kind == "range":
            node = _span(field, token.text)
        elif token.kind == "phrase":
            node = _quoted(field, token)
        else:
            node = _word(field, token)
        return BoostNode(node, token.boost) if token.boost else node

    def _op(self, name: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "op" and token.text == name


def _field_name(name: str) -> str:
    name = ALIASES.get(name, name)
    if name not in FIELDS:
        known = ", ".join(sorted(FIELDS))
        raise QueryError(f"unknown field {name!r} in query (fields: {known})")
    return name


def _word(field: str | None, token: _Token) -> Node:
    if token.text == "*":
        return Star(field)
    # A URL's "?" starts its query string: in url: only a final * is a wildcard.
    wild = token.text.endswith("*") if field == "url" else ("*" in token.text or "?" in token.text)
    if wild:
        return Wild(field, token.text)
    return Word(field, token.text, token.start, token.end)


def _quoted(field: str | None, token: _Token) -> Quoted:
    words = tuple(
        Word(field, m.group(), token.start + m.start(), token.start + m.end())
        for m in re.finditer(r"\S+", token.text)
    )
    return Quoted(field, token.text, token.slop, words)


def _span(field: str | None, text: str) -> Span:
    if field not in ("date", "year"):
        raise QueryError(f"a range {text} works on date: and year: only")
    match = _RANGE.match(text[1:-1])
    if not match or not (match.group(1) or match.group(2)):
        raise QueryError(f"cannot read the range {text} in query (e.g. date:[2019 to 2021])")
    return Span(field, match.group(1), match.group(2), text[0] == "[")


def _strip_quoted(text: str) -> str:
    return re.sub(r'"[^"]*"', '""', text)


def _check_balanced(text: str) -> None:
    if text.count('"') % 2:
        raise QueryError("unbalanced quote in query")
    opened: list[str] = []
    for char in _strip_quoted(text):
        if char in "([{":
            opened.append(char)
            if len(opened) > MAX_QUERY_DEPTH:
                raise QueryError(f"parentheses nested more than {MAX_QUERY_DEPTH} deep in query")
        # A range may open with [ and close with } (or the reverse), as Lucene allows.
        elif char in ")]}" and (not opened or (char == ")") != (opened.pop() == "(")):
            raise QueryError("unbalanced parenthesis or bracket in query")
    if opened:
        raise QueryError("unbalanced parenthesis or bracket in query")


def walk(node: Node):
    """Every node of a tree, parents first."""
    yield node
    if isinstance(node, (AndNode, OrNode)):
        for item in node.items:
            yield from walk(item)
    elif isinstance(node, (NotNode, BoostNode)):
        yield from walk(node.item)


def _check_wildcards(node: Node) -> None:
    """Refuse what would make an engine walk its whole term list: leading or many wildcards."""
    patterns = [n.text for n in walk(node) if isinstance(n, Wild)]
    for pattern in patterns:
        if pattern[:1] in ("*", "?"):
            raise QueryError(
                f"a wildcard cannot start a word ({pattern!r}); put at least one letter first"
            )
    wildcards = sum(p.count("*") + p.count("?") for p in patterns)
    if wildcards > MAX_WILDCARDS:
        raise QueryError(f"query has {wildcards} wildcards; at most {MAX_WILDCARDS} are allowed")
