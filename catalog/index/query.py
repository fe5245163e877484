"""The search query language, read once for every engine: syntax, meaning and cost.

What people type after ``catalog search`` (and in the web view's search box)::

    alliances                       a word: title, summary and page text, stemmed
    "security cooperation"          a phrase ("..."~2: up to two words between)
    japan korea                     both words (AND is implied)
    japan OR korea, NOT taiwan      operators, upper case; AND binds before OR
    (japan OR korea) AND alliance   groups
    title:yemen  author:"Derek Grossman"  topic:security-cooperation   fields
    publisher:rand  publisher:"atlantic council"                        the publisher's words
    allian*  de?er*                 prefixes and wildcards (never first in a word)
    date:2021  date:2021-06  date:[2019 to 2021]  year:2020   dates
    deterrence^2                    a boost
    *                               everything

Reading is in two steps. :func:`parse` turns the text into a syntax tree (:class:`Node`),
refusing, in milliseconds and with one line, what is malformed or would cost too much.
:func:`plan` turns that tree into what an engine runs (:class:`Plan`): each word analysed by
its field's analyzer (see :mod:`catalog.index.analysis`), bare words spread over the default
fields, dates as day ranges, negations attached to what they exclude. Engines compile a plan
into their own queries and nothing else, so the two engines can only differ in ranking.

Operators bind to their neighbours before words are joined: ``nuclear deterrence OR
compellence`` is ``nuclear AND (deterrence OR compellence)``, as in Whoosh's parser, which
the catalog used before it had its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from catalog.errors import QueryError
from catalog.index import analysis
from catalog.index.model import day_number

# Bounds on a query's cost: generous for people, tight for accidents.
MAX_QUERY_CHARS = 1_000
MAX_QUERY_TERMS = 100
MAX_WILDCARDS = 5
MAX_QUERY_DEPTH = 10

# Field kinds: how a field's words are read.
STEMMED, PLAIN, KEYWORD, DATE = "stemmed", "plain", "keyword", "date"
FIELDS = {
    "title": STEMMED,
    "summary": STEMMED,
    "text": STEMMED,  # the publication page's text: abstract, questions, findings, body
    "topics": STEMMED,  # topic names
    "author": PLAIN,  # names, never stemmed
    "type": PLAIN,
    "publisher": PLAIN,  # words of the publisher's name
    "topic": KEYWORD,  # a topic's slug
    "url": KEYWORD,
    "year": DATE,
    "date": DATE,
}
# Old names people may have in scripts: `abstract:` searched the same text before it was
# called what it is.
ALIASES = {"abstract": "text"}
DEFAULT_FIELDS = ("title", "summary", "text")
# Scores of matches in these fields are multiplied by this much (both engines).
FIELD_BOOSTS = {"title": 2.0}
OPERATORS = ("AND", "OR", "NOT", "ANDNOT")
_FIELD_PREFIX = re.compile(r"([A-Za-z_]\w*):")
_BOOST = re.compile(r"\^([0-9]+(?:\.[0-9]+)?)$")
_BOOST_AFTER = re.compile(r"\^([0-9]+(?:\.[0-9]+)?)")
_SLOP = re.compile(r"~([0-9]{1,2})")
_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2}))?)?")
_RANGE = re.compile(r"^\s*(\S*?)\s*\b(?:to|TO)\b\s*(\S*?)\s*$")


# --- syntax ---------------------------------------------------------------------------------


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


# --- meaning: what engines run ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    field: str
    term: str


@dataclass(frozen=True, slots=True)
class Phrase:
    field: str
    terms: tuple[str, ...]
    slop: int  # words allowed between (0: adjacent)


@dataclass(frozen=True, slots=True)
class Prefix:
    field: str
    prefix: str


@dataclass(frozen=True, slots=True)
class Wildcard:
    field: str
    pattern: str  # lower-cased; * any run of characters, ? one character


@dataclass(frozen=True, slots=True)
class DayRange:
    """Publication dates from ``low`` to ``high`` (day numbers, both included; None: open)."""

    low: int | None
    high: int | None


@dataclass(frozen=True, slots=True)
class Every:
    """Every document."""


@dataclass(frozen=True, slots=True)
class HasField:
    """Every document with at least one word in ``field``."""

    field: str


@dataclass(frozen=True, slots=True)
class Nothing:
    """No document (a word with no letters or digits in it)."""


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Plan, ...]


@dataclass(frozen=True, slots=True)
class AllOf:
    """Documents matching every one of ``must`` and none of ``must_not`` (``must`` is never
    empty: a query of negations alone starts from :class:`Every`)."""

    must: tuple[Plan, ...]
    must_not: tuple[Plan, ...] = ()


@dataclass(frozen=True, slots=True)
class Boosted:
    item: Plan
    boost: float


Leaf = Term | Phrase | Prefix | Wildcard | DayRange | Every | HasField | Nothing
Plan = Leaf | AnyOf | AllOf | Boosted
LEAVES = (Term, Phrase, Prefix, Wildcard, DayRange, Every, HasField)


def plan(node: Node) -> Plan:
    """What an engine runs for a syntax tree; :class:`QueryError` when nothing is searchable."""
    result = _plan(node)
    if isinstance(result, Nothing):
        raise QueryError("the query has no searchable words (letters or digits)")
    return result


def compile_query(text: str) -> Plan:
    """:func:`plan` of :func:`parse`: the text of a query as engines run it."""
    return plan(parse(text))


def _plan(node: Node) -> Plan:
    if isinstance(node, (AndNode, NotNode)):
        items = node.items if isinstance(node, AndNode) else (node,)
        must = [_plan(i) for i in items if not isinstance(i, NotNode)]
        must_not = [_plan(i.item) for i in items if isinstance(i, NotNode)]
        must = _flat(AllOf, [p for p in must if not isinstance(p, Nothing)])
        must_not = [p for p in must_not if not isinstance(p, Nothing)]
        if not must and not must_not:
            return Nothing()
        if not must_not:
            return must[0] if len(must) == 1 else AllOf(tuple(must))
        return AllOf(tuple(must) or (Every(),), tuple(must_not))
    if isinstance(node, OrNode):
        planned = (_plan(i) for i in node.items)
        items = _flat(AnyOf, [p for p in planned if not isinstance(p, Nothing)])
        if not items:
            return Nothing()
        return items[0] if len(items) == 1 else AnyOf(tuple(items))
    if isinstance(node, BoostNode):
        inner = _plan(node.item)
        return inner if isinstance(inner, Nothing) else Boosted(inner, node.boost)
    if isinstance(node, Star):
        return Every() if node.field is None else HasField(node.field)
    if isinstance(node, Span):
        return _day_range(node)
    fields = (node.field,) if node.field else DEFAULT_FIELDS
    plans = [p for p in (_leaf(f, node) for f in fields) if not isinstance(p, Nothing)]
    if not plans:
        return Nothing()
    return plans[0] if len(plans) == 1 else AnyOf(tuple(plans))


def _flat(kind: type, plans: list[Plan]) -> list[Plan]:
    """``plans`` with nested groups of the same kind opened up (same matches, same scores)."""
    flat: list[Plan] = []
    for item in plans:
        if isinstance(item, kind) and (kind is AnyOf or not item.must_not):
            flat.extend(item.items if kind is AnyOf else item.must)
        else:
            flat.append(item)
    return flat


def _leaf(field: str, node: Word | Wild | Quoted) -> Plan:
    kind = FIELDS[field]
    if kind == DATE:
        if isinstance(node, Wild):
            raise QueryError(f"wildcards do not work on {field}: ({node.text!r})")
        return _day_range(Span(field, node.text, node.text, True))
    if isinstance(node, Wild):
        pattern = node.text if field == "url" else node.text.lower()
        if field == "url" or (pattern.endswith("*") and not set("*?") & set(pattern[:-1])):
            return Prefix(field, pattern[:-1])
        return Wildcard(field, pattern)
    if kind == KEYWORD:
        value = node.text if field == "url" else node.text.lower()
        return Term(field, value)
    found = analysis.terms(node.text, analysis.PLAIN if kind == PLAIN else analysis.STEMMED)
    if not found:
        return Nothing()
    if len(found) == 1:
        return Term(field, found[0])
    return Phrase(field, tuple(found), node.slop if isinstance(node, Quoted) else 0)


def _day_range(span: Span) -> DayRange:
    low = _period(span.field, span.low) if span.low else None
    high = _period(span.field, span.high) if span.high else None
    if span.inclusive:
        return DayRange(low[0] if low else None, high[1] if high else None)
    return DayRange(low[1] + 1 if low else None, high[0] - 1 if high else None)


def _period(field: str, text: str) -> tuple[int, int]:
    """The first and last day (day numbers) of a year, a month or a day typed in a query."""
    match = _DATE.fullmatch(text)
    if not match or (field == "year" and match.group(2)):
        shape = "YYYY" if field == "year" else "YYYY, YYYY-MM or YYYY-MM-DD"
        raise QueryError(f"cannot read {field} {text!r} in query (write {shape})")
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        if month is None:
            first, last = date(year, 1, 1), date(year, 12, 31)
        elif day is None:
            first = date(year, month, 1)
            last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(1)
        else:
            first = last = date(year, month, day)
    except ValueError as exc:
        raise QueryError(f"cannot read {field} {text!r} in query: {exc}") from None
    return day_number(first), day_number(last)


def constant(node: Plan) -> bool:
    """Whether every document a plan matches gets the same score (``*``, dates, fields held):
    ranked by relevance, its matches are then simply newest first."""
    if isinstance(node, (Every, HasField, DayRange)):
        return True
    if isinstance(node, AllOf):
        return all(constant(item) for item in node.must)
    if isinstance(node, Boosted):
        return constant(node.item)
    return False


def leaves(node: Plan):
    """Every leaf of a plan, negated ones included."""
    if isinstance(node, AnyOf):
        for item in node.items:
            yield from leaves(item)
    elif isinstance(node, AllOf):
        for item in (*node.must, *node.must_not):
            yield from leaves(item)
    elif isinstance(node, Boosted):
        yield from leaves(node.item)
    else:
        yield node


def wanted(node: Plan):
    """The leaves a matching document may hold (not those under a negation): what snippets
    mark."""
    if isinstance(node, AnyOf):
        for item in node.items:
            yield from wanted(item)
    elif isinstance(node, AllOf):
        for item in node.must:
            yield from wanted(item)
    elif isinstance(node, Boosted):
        yield from wanted(node.item)
    else:
        yield node
