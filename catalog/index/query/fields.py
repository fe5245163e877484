"""The fields a query may name, how each reads its words, and which are searched bare."""

from __future__ import annotations

# Field kinds: how a field's words are read.
STEMMED, PLAIN, KEYWORD, DATE, TOPIC = "stemmed", "plain", "keyword", "date", "topic"

FIELDS = {
    "title": STEMMED,
    "summary": STEMMED,
    "text": STEMMED,  # the publication page's text: abstract, questions, findings, body
    "author": PLAIN,  # names, never stemmed
    "type": PLAIN,
    "publisher": PLAIN,  # words of the publisher's name
    # A topic by its slug (topic:security-cooperation) or the words of its name
    # (topic:"security cooperation"): the index keeps the slugs in `topic` and the names,
    # stemmed, in `topics`.
    "topic": TOPIC,
    "url": KEYWORD,
    "year": DATE,
    "date": DATE,
}

# Old names people may have in scripts: `abstract:` searched the same text before it was
# called what it is; `topics:` searched topic names, which `topic:` now reads too.
ALIASES = {"abstract": "text", "topics": "topic"}

DEFAULT_FIELDS = ("title", "summary", "text")

# Scores of matches in these fields are multiplied by this much (both engines).
FIELD_BOOSTS = {"title": 2.0}
