"""Snippets: the passages of a text that hold a query's words, those words marked [like this].

Engine-neutral, so that both engines show the same snippet for the same hit: the text is cut
into words by the same analyzer that indexed it (:mod:`catalog.index.analysis`), and a word is
marked when its index term is one the query looks for in that field. Marks are plain
brackets: readable in a terminal, a file and JSON alike (the web view turns them into
``<mark>`` after escaping).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from catalog.index import analysis, query

MAX_CHARS = 160  # a passage at most this long
SURROUND = 60  # characters of context on each side of a marked word
TOP = 3  # passages at most
BETWEEN = " … "


@dataclass(slots=True)
class Wanted:
    """The terms, prefixes and wildcard patterns a query looks for in one field."""

    terms: set[str] = field(default_factory=set)
    prefixes: list[str] = field(default_factory=list)
    patterns: list[re.Pattern[str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.terms or self.prefixes or self.patterns)

    def matches(self, term: str) -> bool:
        return (
            term in self.terms
            or any(term.startswith(p) for p in self.prefixes)
            or any(p.fullmatch(term) for p in self.patterns)
        )


def wanted(plan: query.Plan) -> dict[str, Wanted]:
    """What a plan looks for, field by field (words under a NOT are not marked)."""
    found: dict[str, Wanted] = {}
    for leaf in query.wanted(plan):
        if isinstance(leaf, query.Term):
            found.setdefault(leaf.field, Wanted()).terms.add(leaf.term)
        elif isinstance(leaf, query.Phrase):
            found.setdefault(leaf.field, Wanted()).terms.update(leaf.terms)
        elif isinstance(leaf, query.Prefix):
            found.setdefault(leaf.field, Wanted()).prefixes.append(leaf.prefix)
        elif isinstance(leaf, query.Wildcard):
            pattern = "".join(
                ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in leaf.pattern
            )
            found.setdefault(leaf.field, Wanted()).patterns.append(re.compile(pattern))
    return found


def snippet(text: str, want: Wanted | None, analyzer: str = analysis.STEMMED) -> str:
    """The best passages of ``text`` with the wanted words marked; "" when none is there."""
    if not text or not want:
        return ""
    hits = [t for t in analysis.tokens(text, analyzer) if want.matches(t.term)]
    if not hits:
        return ""
    passages = _passages(text, hits)
    best = sorted(passages, key=lambda p: (-len({t.term for t in p}), -len(p), p[0].start))
    chosen = sorted(best[:TOP], key=lambda p: p[0].start)
    return BETWEEN.join(_render(text, p) for p in chosen)


def _passages(text: str, hits: list[analysis.Token]) -> list[list[analysis.Token]]:
    """Marked words grouped into passages of at most :data:`MAX_CHARS` characters."""
    groups: list[list[analysis.Token]] = []
    for token in hits:
        if groups and token.end - groups[-1][0].start <= MAX_CHARS - 2 * min(SURROUND, 20):
            groups[-1].append(token)
        else:
            groups.append([token])
    return groups


def _render(text: str, group: Iterable[analysis.Token]) -> str:
    group = list(group)
    room = max(MAX_CHARS - (group[-1].end - group[0].start), 0)
    before = min(SURROUND, room // 2)
    start = _word_start(text, max(group[0].start - before, 0), group[0].start)
    end = _word_end(text, min(group[-1].end + (room - (group[0].start - start)), len(text)))
    end = max(end, group[-1].end)
    parts: list[str] = []
    at = start
    for token in group:
        parts.append(text[at : token.start])
        parts.append(f"[{text[token.start : token.end]}]")
        at = token.end
    parts.append(text[at:end])
    return " ".join("".join(parts).split())


def _word_start(text: str, at: int, limit: int) -> int:
    """``at`` moved forward to the start of a word, never past ``limit``."""
    if at == 0 or text[at - 1].isspace():
        return at
    space = text.find(" ", at, limit)
    return space + 1 if space >= 0 else at


def _word_end(text: str, at: int) -> int:
    """``at`` moved back to the end of a word."""
    if at >= len(text) or text[at].isspace():
        return at
    space = text.rfind(" ", 0, at)
    return space if space > 0 else at
