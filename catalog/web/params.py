"""Query parameters read as the command line reads its options: the same checks, one sentence
when they fail (HTTP 400), never a traceback.

Parameters arrive as text from anyone: each is checked here (dates strictly, numbers within
bounds, sorts by name) before anything is searched, with the command line's own checks
(``catalog.cli``'s option types, ``queries.resolve_filters``) wherever the two share one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from catalog.errors import UsageError
from catalog.index import SORTS, Filters

PER_PAGE = 20  # hits a page, as `catalog search` lists by default
MAX_PER_PAGE = 100  # hits a page at most (the API's `limit`)
MAX_HITS = 10_000  # how deep pages go: offset + limit at most this
MAX_PARAM_CHARS = 1_000  # any parameter longer than this is refused (a query's own limit)
MAX_ID = 2**63 - 1
# The search's parameters, in the order links are built with.
SEARCH_KEYS = ("q", "type", "since", "until", "topic", "author", "publisher", "sort")


class NotFound(UsageError):
    """An id or name the catalog does not have (HTTP 404)."""


def text(params: Mapping[str, str], name: str) -> str | None:
    """A parameter's text, stripped; None when absent or empty. Overlong text is refused."""
    value = params.get(name)
    if value is None:
        return None
    if len(value) > MAX_PARAM_CHARS:
        raise UsageError(f"{name} is {len(value):,} characters long; at most 1,000 are allowed")
    if "\x00" in value:
        raise UsageError(f"{name} holds a NUL character")
    value = value.strip()
    return value or None


def whole_number(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = text(params, name)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or len(value) > 7 or not low <= int(value) <= high:
        raise UsageError(
            f"{name} must be a whole number from {low:,} to {high:,}, not {value[:20]!r}"
        )
    return int(value)


def date_bound(params: Mapping[str, str], name: str, *, end: bool) -> date | None:
    """YYYY, YYYY-MM or YYYY-MM-DD, checked as `catalog search --since/--until` checks it."""
    import click

    from catalog.cli import DateBound

    value = text(params, name)
    if value is None:
        return None
    try:
        return DateBound(end=end).convert(value, None, None)
    except click.BadParameter as exc:
        raise UsageError(f"{name}: {exc.format_message()}") from None


def publication_id(value: str) -> int:
    """A publication id from a path: digits, 1 to 2^63-1 (a larger one is no id, not a 404)."""
    if not (value.isascii() and value.isdigit()) or len(value) > 19 or not 0 < int(value) <= MAX_ID:
        raise UsageError(f"{value[:40]!r} is not a publication id (ids are 1 to {MAX_ID})")
    return int(value)


@dataclass(frozen=True)
class SearchParams:
    """One search as the web asks it: the query, its filters, the order and the page."""

    q: str | None = None
    type: str | None = None
    since: str | None = None
    until: str | None = None
    topic: str | None = None
    author: str | None = None
    publisher: str | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = PER_PAGE
    dates: tuple[date | None, date | None] = field(default=(None, None), compare=False)

    @property
    def asked(self) -> bool:
        """Whether anything was asked: a query or a filter."""
        return bool(self.q or self.filtered)

    @property
    def filtered(self) -> bool:
        return any((self.type, self.since, self.until, self.topic, self.author, self.publisher))

    @property
    def text(self) -> str:
        """The query searched: what was typed, or everything the filters let through."""
        return self.q or "*"

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def filters(self) -> Filters:
        return Filters(self.type, self.topic, self.author, *self.dates, publisher=self.publisher)

    def values(self, **changes: Any) -> dict[str, str]:
        """The parameters (with ``changes``; None removes one), for a link."""
        current = {key: getattr(self, key) for key in SEARCH_KEYS}
        current.update(changes)
        if current.get("sort") == "relevance":
            current["sort"] = None
        page = changes.get("page")
        found = {k: str(v) for k, v in current.items() if v not in (None, "")}
        if page and page != 1:
            found["page"] = str(page)
        return found

    def link(self, **changes: Any) -> str:
        """``?q=...&type=...``: this search with ``changes`` (a filter added or removed goes
        back to the first page)."""
        return "?" + urlencode(self.values(**changes))


def search_params(params: Mapping[str, str], *, per_page_name: str | None = None) -> SearchParams:
    """The search a request asks for, every parameter checked (UsageError: HTTP 400).

    ``per_page_name`` is the parameter that sets the page size (the API's ``limit``); pages
    have :data:`PER_PAGE` hits otherwise.
    """
    sort = text(params, "sort") or "relevance"
    if sort not in SORTS:
        raise UsageError(f"sort must be one of {', '.join(SORTS)}, not {sort[:20]!r}")
    since = date_bound(params, "since", end=False)
    until = date_bound(params, "until", end=True)
    if since and until and since > until:
        raise UsageError(f"since {since} is after until {until}: nothing can match")
    per_page = PER_PAGE
    if per_page_name:
        per_page = whole_number(params, per_page_name, PER_PAGE, 1, MAX_PER_PAGE)
    page = whole_number(params, "page", 1, 1, MAX_HITS)
    if page * per_page > MAX_HITS:
        raise UsageError(
            f"pages go as deep as the {MAX_HITS:,}th hit: narrow the search with a filter"
        )
    return SearchParams(
        q=text(params, "q"),
        type=text(params, "type"),
        since=text(params, "since"),
        until=text(params, "until"),
        topic=text(params, "topic"),
        author=text(params, "author"),
        publisher=text(params, "publisher"),
        sort=sort,
        page=page,
        per_page=per_page,
        dates=(since, until),
    )
