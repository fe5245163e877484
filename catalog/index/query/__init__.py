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

from catalog.index.query.fields import (
    ALIASES,
    DATE,
    DEFAULT_FIELDS,
    FIELD_BOOSTS,
    FIELDS,
    KEYWORD,
    PLAIN,
    STEMMED,
)
from catalog.index.query.plan import (
    LEAVES,
    AllOf,
    AnyOf,
    Boosted,
    DayRange,
    Every,
    HasField,
    Leaf,
    Nothing,
    Phrase,
    Plan,
    Prefix,
    Term,
    Wildcard,
    compile_query,
    constant,
    leaves,
    plan,
    wanted,
)
from catalog.index.query.syntax import (
    MAX_QUERY_CHARS,
    MAX_QUERY_DEPTH,
    MAX_QUERY_TERMS,
    MAX_WILDCARDS,
    OPERATORS,
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
    walk,
)

__all__ = [
    "ALIASES",
    "AllOf",
    "AndNode",
    "AnyOf",
    "BoostNode",
    "Boosted",
    "DATE",
    "DATE",
    "DEFAULT_FIELDS",
    "DayRange",
    "Every",
    "FIELDS",
    "FIELD_BOOSTS",
    "HasField",
    "KEYWORD",
    "LEAVES",
    "Leaf",
    "MAX_QUERY_CHARS",
    "MAX_QUERY_DEPTH",
    "MAX_QUERY_TERMS",
    "MAX_WILDCARDS",
    "Node",
    "NotNode",
    "Nothing",
    "OPERATORS",
    "OrNode",
    "PLAIN",
    "Phrase",
    "Plan",
    "Prefix",
    "Quoted",
    "STEMMED",
    "Span",
    "Star",
    "Term",
    "Wild",
    "Wildcard",
    "Word",
    "compile_query",
    "constant",
    "leaves",
    "parse",
    "plan",
    "walk",
    "wanted",
]
