"""What an engine adapter provides, and the registry that picks one by name.

An adapter is only what differs between engines: how documents are written and deleted in
one commit, how a :class:`~catalog.index.query.Plan` runs, how facets are counted. Everything
else (the revision watermark, sync and repair, staging and swap, locks, the query language,
snippets, suggestions, ordering ties) is engine-neutral and lives beside this module.

Adapters are imported only when asked for, so a command never pays for an engine it does not
use (Whoosh's modules alone take longer to import than tantivy's whole library).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from importlib import import_module
from pathlib import Path
from typing import Protocol

from catalog.errors import ConfigError
from catalog.index.model import Candidate, Entry, Filters, IndexDocument
from catalog.index.query import Plan

ENGINES = {
    "whoosh": "catalog.index.whoosh_engine",
    "tantivy": "catalog.index.tantivy_engine",
}
DEFAULT_ENGINE = "whoosh"


class EngineSearcher(Protocol):
    """One open index, read by the neutral reader (:mod:`catalog.index.reader`)."""

    def num_docs(self) -> int: ...

    def top(
        self, plan: Plan, filters: Filters, *, sort: str, limit: int
    ) -> tuple[list[Candidate], int]:
        """The first ``limit`` matches in the catalog's order, and how many matched.

        The order is exact, ties included: by score (relevance), then newest, then lowest id;
        by date (newest/oldest), then lowest id; undated publications last.
        """
        ...

    def facet_counts(
        self, plan: Plan, filters: Filters, facets: Iterable[str]
    ) -> tuple[int, dict[str, Mapping[str, int]]]:
        """How many documents match, and per facet how many of them hold each value."""
        ...

    def doc_freq(self, field: str, term: str) -> int:
        """How many documents hold ``term`` in ``field``."""
        ...

    def near_words(self, word: str, maxdist: int) -> dict[str, int]:
        """Words of titles and summaries at most ``maxdist`` edits from ``word`` (lower case,
        unstemmed), each with how many documents hold it: candidates for "did you mean"."""
        ...

    def close(self) -> None: ...


class Engine(Protocol):
    """One engine's index in one folder: writing, enumerating, opening for search."""

    name: str

    def exists(self, folder: Path) -> bool:
        """Whether ``folder`` holds an index this adapter can open."""
        ...

    def write(
        self,
        folder: Path,
        docs: Iterable[IndexDocument],
        *,
        delete: Iterable[int] = (),
        create: bool = False,
        before_commit: Callable[[], None] = lambda: None,
    ) -> int:
        """Delete ``delete`` and the documents' earlier versions, add ``docs``, commit once.

        ``create`` starts a new, empty index in ``folder`` first (a rebuild). On any failure,
        ``before_commit`` raising included, nothing of this call is committed. Returns how
        many documents were added.
        """
        ...

    def entries(self, folder: Path) -> Iterator[Entry]:
        """Every indexed document's id, URL and revision (an id twice if held twice)."""
        ...

    def open(self, folder: Path) -> EngineSearcher: ...


def get_engine(name: str) -> Engine:
    """The adapter called ``name``; :class:`ConfigError` (exit 2) for an unknown name."""
    module = ENGINES.get(name)
    if module is None:
        raise ConfigError(f"unknown search engine {name!r} (engines: {', '.join(sorted(ENGINES))})")
    return import_module(module).ENGINE
