"""What a batch and a run did, counted by publication (not by sighting)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from catalog.tables import (
    RUN_COUNT_COLUMNS,
)


def utcnow() -> datetime:
    """Naive UTC, the form every timestamp column stores."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


NEW, UPDATED, UNCHANGED = "new", "updated", "unchanged"

# A publication met twice in one run counts once, as the most telling of its outcomes.
OUTCOME_RANK = {UNCHANGED: 0, UPDATED: 1, NEW: 2}


@dataclass(slots=True)
class BatchResult:
    """What a batch did: per-publication counts, and the publications the index must refresh.

    ``outcomes`` maps each listed URL to new, updated or unchanged, so that a run can count
    publications rather than sightings (RAND repeats featured teasers on every page).
    """

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    delisted: int = 0
    details_fetched: int = 0
    details_failed: int = 0
    reindex_ids: set[int] = field(default_factory=set)
    outcomes: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class RunCounts:
    """A run's totals; listing counts are of distinct publications, whatever the batches."""

    pages_fetched: int = 0
    pages_not_modified: int = 0
    items_seen: int = 0
    items_new: int = 0
    items_updated: int = 0
    items_unchanged: int = 0
    items_skipped: int = 0
    items_delisted: int = 0
    details_fetched: int = 0
    details_failed: int = 0
    details_skipped: int = 0
    warnings: int = 0
    _outcomes: dict[str, str] = field(default_factory=dict, repr=False)

    def add(self, batch: BatchResult) -> None:
        for url, outcome in batch.outcomes.items():
            before = self._outcomes.get(url)
            if before is None or OUTCOME_RANK[outcome] > OUTCOME_RANK[before]:
                self._outcomes[url] = outcome
        self.items_seen = len(self._outcomes)
        self.items_new = sum(1 for o in self._outcomes.values() if o == NEW)
        self.items_updated = sum(1 for o in self._outcomes.values() if o == UPDATED)
        self.items_unchanged = self.items_seen - self.items_new - self.items_updated
        self.items_delisted += batch.delisted
        self.details_fetched += batch.details_fetched
        self.details_failed += batch.details_failed

    def counted(self, url: str) -> bool:
        """Whether a stored batch of this run held the publication at ``url``."""
        return url in self._outcomes

    def as_columns(self) -> dict[str, int]:
        """The counts as ``crawl_runs`` columns."""
        return {name: getattr(self, name) for name in RUN_COUNT_COLUMNS}
