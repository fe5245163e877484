"""How text becomes index terms: one tokenizer and one stemmer for every engine.

Two engines can only agree on which documents a query matches if they cut text into the same
words and reduce them to the same stems. So the analysis is defined once, here, as tantivy's
analyzer pipeline (native code): runs of letters and digits, lower-cased, and for prose the
Snowball English stemmer ("alliances" -> "allianc"). The tantivy engine registers these very
analyzers on its index; the Whoosh engine feeds Whoosh the tokens they produce; queries,
snippets, "did you mean" and `similar` analyse their words with them too. Whoosh's own
Snowball port is an older version of the algorithm ("added" -> "ad", "organization" ->
"organ"), and its Porter stemmer another algorithm altogether: either would make the two
engines disagree.

There are no stop words: "US", "who" and "will" are words in a policy catalog, and a phrase
such as "war of words" must match as written. Acronyms written with dots are one word, as
people type them: "U.S." is indexed and searched as "us", "U.K.-led" as "uk" and "led"
(:func:`normalize`, which keeps every character's place, so snippets mark the original).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import NamedTuple

import tantivy

# Single letters each followed by a dot, at least two: U.S., U.K., e.g.
_ACRONYM = re.compile(r"(?<![^\W_])(?:[^\W\d_]\.){2,}")
STEMMED = "catalog_stemmed"  # prose: title, summary, page text, topic names
PLAIN = "catalog_plain"  # names and labels: authors, content types; spelling words


class Token(NamedTuple):
    """One word of a text: its index term and where it stands (character offsets)."""

    term: str
    position: int
    start: int
    end: int


def _build(stem: bool) -> tantivy.TextAnalyzer:
    # Words are runs of letters and digits, any script (Unicode's alphabetic and numeric
    # characters); everything else (spaces, punctuation, "_") separates them. tantivy's simple
    # tokenizer: three times faster than the same rule as a regular expression.
    builder = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(
        tantivy.Filter.lowercase()
    )
    if stem:
        builder = builder.filter(tantivy.Filter.stemmer("english"))
    return builder.build()


@cache
def analyzer(name: str) -> tantivy.TextAnalyzer:
    """The analyzer registered under ``name`` (:data:`STEMMED` or :data:`PLAIN`)."""
    if name not in (STEMMED, PLAIN):
        raise ValueError(f"unknown analyzer {name!r}")
    return _build(stem=name == STEMMED)


def normalize(text: str) -> str:
    """``text`` with dotted acronyms closed up ("U.S." -> "US.."), every character in place.

    Engines are given this text to index (their analyzers split at dots), and queries and
    snippets analyse it too; as no character moves, offsets into it are offsets into ``text``.
    """
    if "." not in text:
        return text
    return _ACRONYM.sub(_close_up, text)


def _close_up(match: re.Match[str]) -> str:
    letters = match.group().replace(".", "")
    return letters + "." * len(letters)


def terms(text: str, name: str = STEMMED) -> list[str]:
    """The index terms of ``text``, in order."""
    return analyzer(name).analyze(normalize(text)) if text else []


def tokens(text: str, name: str = STEMMED) -> Iterator[Token]:
    """The index terms of ``text`` with their positions and character offsets."""
    if not text:
        return
    # A closed-up acronym's token covers its letters; in the text it spans its dots too.
    acronyms = {m.start(): m.end() for m in _ACRONYM.finditer(text)} if "." in text else {}
    for token in analyzer(name).pre_tokenize(normalize(text)).tokens:
        start = token.char_offset_from
        yield Token(token.text, token.position, start, acronyms.get(start, token.char_offset_to))


def stem(word: str) -> str | None:
    """The single term a word analyses to, or None when it is not exactly one word."""
    found = terms(word)
    return found[0] if len(found) == 1 else None
