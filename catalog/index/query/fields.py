"""The fields a query may name, how each reads its words, and which are searched bare."""

from __future__ import annotations

# Field kinds: how a field's words are read.
STEMMED, PLAIN, KEYWORD, DATE = "stemmed", "plain", "keyword", "date"

FIELDS = {
    "title": STEMMED,
    "summary": STEMMED,
    "text": STEMMED,  # the publication page's text: abstract, questions, findings, body
    "topics": STEMMED,  # topic names
    "author": PLAIN,  # names, never stemmed
    "type": PLAIN,
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
