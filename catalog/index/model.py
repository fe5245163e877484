"""What every engine's index holds and answers with: documents, hits, facets, states, errors.

Engine-neutral: nothing here imports a search engine. An engine adapter turns
:class:`IndexDocument` into its own documents and answers with :class:`Candidate` values;
the rest of the catalog only ever sees the types below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from catalog.errors import CatalogError, QueryError

# Bump when what an index holds or how it is analysed changes: an index of another version
# is rebuilt from the catalog, never misread.
SCHEMA_VERSION = 9
SORTS = ("relevance", "newest", "oldest")
MAX_LIMIT = 100_000  # results per search: more than a catalog holds, less than overflows
FACET_TOP = 10
# --facets: the facets a search counts, in the order they are shown.
FACETS = ("type", "year", "topic", "author", "publisher")
# The publication page's text: every part of it a publication has, in this order.
PAGE_TEXT_FIELDS = (
    "abstract",
    "research_questions",
    "key_findings",
    "recommendations",
    "body_text",
)
UNTYPED = "(none)"  # the type key of publications whose listing showed no content type
_EPOCH = date(1970, 1, 1).toordinal()


def page_text(doc: Mapping[str, Any]) -> str:
    """The page text the index searches as ``text``: every page-text part, in order."""
    return "\n\n".join(doc[f] for f in PAGE_TEXT_FIELDS if doc.get(f))


def day_number(value: date) -> int:
    """Days since 1970-01-01 (negative before): how engines store and compare dates."""
    return value.toordinal() - _EPOCH


def from_day_number(day: int) -> date:
    return date.fromordinal(day + _EPOCH)


@dataclass(frozen=True, slots=True)
class IndexDocument:
    """One publication as every engine indexes it, built from a catalog row.

    Multi-valued text (topic names, author names) is joined one value a line, so that both
    engines see the same words at the same positions.
    """

    id: int
    revision: int
    url: str
    title: str
    summary: str
    text: str  # the page text (not stored: the database has it)
    type: str  # as written, "" when untyped
    type_key: str  # lower-cased, or UNTYPED: what --type filters on
    day: int | None  # day_number(published_on)
    year: str | None
    topic: tuple[str, ...]  # slugs
    topics: str  # names, one a line
    author: str  # names as written, one a line
    author_names: tuple[str, ...]  # whole names, each once: the author facet counts these
    publisher: str = ""  # as written ("RAND Corporation"), "" when unknown: the facet's values
    publisher_key: str = ""  # lower-cased, what --publisher filters on

    @property
    def spelling(self) -> str:
        """The words "did you mean" may offer: those of titles and summaries."""
        return f"{self.title}\n{self.summary}"

    @classmethod
    def from_row(cls, doc: Mapping[str, Any]) -> IndexDocument:
        """From a catalog row with ``topic_slugs``, ``topic_names`` and ``authors`` lists.

        Rows without an id (tests indexing bare records) get one from nowhere: such rows are
        refused, since updates and deletions go by id.
        """
        get = doc.get
        content_type = (get("content_type") or "").strip()
        published = get("published_on")
        dated = isinstance(published, date)
        names = [" ".join(a.split()) for a in get("authors") or ()]
        publisher = " ".join((get("publisher") or "").split())
        return cls(
            int(doc["id"]),
            int(get("revision") or 0),
            doc["url"],
            get("title") or "",
            get("summary") or "",
            "\n\n".join(doc[f] for f in PAGE_TEXT_FIELDS if get(f)),
            content_type,
            content_type.lower() or UNTYPED,
            published.toordinal() - _EPOCH if dated else None,
            f"{published.year:04d}" if dated else None,
            tuple(s.lower() for s in get("topic_slugs") or ()),
            "\n".join(get("topic_names") or ()),
            "\n".join(names),
            tuple(dict.fromkeys(n for n in names if n)),
            publisher,
            publisher.lower(),
        )


@dataclass(frozen=True, slots=True)
class Filters:
    """What a search is narrowed to besides its query: type, topic, author, dates, publisher.

    One value for the hits, their facets and a suggestion's check, so the three can never
    disagree about what was asked. Filters never change scores: engines apply them as masks.
    ``content_type`` and ``publisher`` are matched whole, without regard to case;
    :data:`UNTYPED` asks for untyped publications.
    """

    content_type: str | None = None
    topic: str | None = None  # a slug
    author: str | None = None  # a name or part of one (its words, in order)
    since: date | None = None
    until: date | None = None
    publisher: str | None = None  # a publisher's whole name

    def __bool__(self) -> bool:
        named = (self.content_type, self.topic, self.author, self.publisher)
        return any(v is not None for v in named) or bool(self.since or self.until)

    @property
    def publisher_key(self) -> str | None:
        if self.publisher is None:
            return None
        return " ".join(self.publisher.split()).lower()

    @property
    def type_key(self) -> str | None:
        if self.content_type is None:
            return None
        return self.content_type.strip().lower() or UNTYPED

    @property
    def day_range(self) -> tuple[int | None, int | None] | None:
        if not (self.since or self.until):
            return None
        return (
            day_number(self.since) if self.since else None,
            day_number(self.until) if self.until else None,
        )


NO_FILTERS = Filters()


@dataclass(slots=True)
class SearchHit:
    """One hit: the publication (id and URL), its score and a snippet with [marked] words."""

    url: str
    score: float | None  # None when sorted by date
    snippet: str
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A hit as an engine returns it, before snippets: what ordering needs, and its URL."""

    id: int
    score: float
    day: int | None
    url: str = ""


@dataclass(frozen=True, slots=True)
class HitText:
    """What a hit's snippet is made from, read from the catalog: the index stores no text."""

    title: str = ""
    summary: str = ""
    page_text: str = ""


@dataclass(frozen=True, slots=True)
class FacetCount:
    """One value of a facet (a type, a year, a topic slug, an author, a publisher) and its
    matches."""

    value: str
    count: int


@dataclass(frozen=True, slots=True)
class Facets:
    """How many documents a query matched (``total``), and the top values of each facet."""

    total: int
    counts: dict[str, list[FacetCount]]

    def as_dict(self) -> dict[str, list[dict[str, Any]]]:
        """Plain data for the renderers: ``{"type": [{"value": ..., "count": ...}], ...}``."""
        return {
            name: [{"value": c.value, "count": c.count} for c in counts]
            for name, counts in self.counts.items()
        }


def top_values(counts: Mapping[str, int], top: int) -> list[FacetCount]:
    """The ``top`` values by count, ties by value: the same query always shows the same."""
    ranked = sorted(((v, n) for v, n in counts.items() if v and n), key=lambda i: (-i[1], i[0]))
    return [FacetCount(v, n) for v, n in ranked[:top]]


# --- following the catalog ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndexState:
    """Which catalog an index follows (``catalog_id``) and the highest revision it absorbed."""

    catalog_id: int
    revision: int


@dataclass(frozen=True, slots=True)
class Entry:
    """One publication as the index and the catalog each know it."""

    id: int
    url: str
    revision: int


class IndexSource(Protocol):
    """What the index reads from the catalog (``queries.CatalogIndexSource``)."""

    def head(self) -> IndexState:
        """The catalog's id and highest revision (publications and tombstones), one query."""
        ...

    def changes(self, after: int, upto: int) -> tuple[list[int], list[int]]:
        """Ids to (re)index and ids to delete, for revisions in ``(after, upto]``."""
        ...

    def documents(self, ids: Iterable[int] | None = None) -> Iterable[dict[str, Any]]:
        """Catalog rows of these publications (all when None), with id and revision."""
        ...

    def entries(self) -> Iterable[Entry]:
        """Every publication's id, URL and revision."""
        ...


@dataclass(slots=True)
class SyncReport:
    """What a sync did: the revisions before and after, and how many documents it touched."""

    before: int | None  # None: there was no usable index
    after: int
    updated: int = 0
    deleted: int = 0
    rebuilt: bool = False
    why: str = ""  # why it rebuilt, one line ("it was built by whoosh", "it was damaged: ...")

    @property
    def changed(self) -> bool:
        return self.rebuilt or self.updated > 0 or self.deleted > 0


@dataclass(slots=True)
class IndexDiff:
    """How an index differs from its catalog, document by document."""

    head: IndexState
    recorded: IndexState | None
    engine: str = ""
    indexed: int = 0
    missing: list[Entry] = field(default_factory=list)  # in the catalog, not in the index
    stale: list[tuple[Entry, int]] = field(default_factory=list)  # catalog entry, index revision
    extra: list[Entry] = field(default_factory=list)  # in the index, not (or twice) in the catalog
    duplicated: set[int] = field(default_factory=set)  # catalog ids the index holds twice
    problem: str = ""  # the index cannot be read at all (another engine's, damaged)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.extra or self.problem)


# --- errors ---------------------------------------------------------------------------------


class IndexUnavailable(CatalogError):
    """The index cannot be brought up to the catalog: its folder cannot be written, or
    another process holds it too long. Searches can still read what it holds."""


class IndexDamaged(CatalogError):
    """The index's files cannot be read (cut short, overwritten, from an unknown version).

    The next command that writes the index rebuilds it; ``catalog index rebuild`` does so now.
    """


# Exceptions that are bugs, never a sign of damaged files: they are not mistaken for damage
# (which would rebuild the index and hide them).
PROGRAMMING_ERRORS = (AttributeError, TypeError, NameError, AssertionError, ImportError)


class NotIndexed(CatalogError):
    """A publication the catalog has but the search index does not (yet)."""


def check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be a whole number from 1 to {MAX_LIMIT:,}")


def check_sort(sort: str) -> None:
    if sort not in SORTS:
        raise QueryError(f"sort must be one of {', '.join(SORTS)}")
