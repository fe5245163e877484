"""A query's meaning: the tree as engines run it, each word analysed by its field's analyzer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from catalog.errors import QueryError
from catalog.index import analysis
from catalog.index.model import day_number
from catalog.index.query.fields import (
    DATE,
    DEFAULT_FIELDS,
    FIELDS,
    KEYWORD,
    PLAIN,
    STEMMED,
    TOPIC,
)
from catalog.index.query.syntax import (
    DATE_TEXT,
    AndNode,
    BoostNode,
    Node,
    NotNode,
    OrNode,
    Quoted,
    Span,
    Star,
    Wild,
    Word,
    parse,
)


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
    if kind == TOPIC:  # the slug, or the name's words: whichever matches
        named = [_leaf_of("topic", KEYWORD, node), _leaf_of("topics", STEMMED, node)]
        named = [p for p in named if not isinstance(p, Nothing)]
        if not named:
            return Nothing()
        return named[0] if len(named) == 1 else AnyOf(tuple(named))
    return _leaf_of(field, kind, node)


def _leaf_of(field: str, kind: str, node: Word | Wild | Quoted) -> Plan:
    """A word, pattern or phrase of the query in one index field of the given kind."""
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
    match = DATE_TEXT.fullmatch(text)
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
