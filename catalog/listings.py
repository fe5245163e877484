"""How a listing's sighting of a publication compares with what the catalog holds.

The rule is shared by the crawl's reads (an unchanged listing page ends an incremental walk)
and the store's writes (a changed field is updated and goes to the history), so both live in
the core, here.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any

from catalog.records import ListingEntry, merge_fields
from catalog.tables import LISTING_FIELDS

LISTED = operator.attrgetter(*LISTING_FIELDS)


def as_listed(listed: dict[str, Any], stored: Sequence[Any]) -> dict[str, Any]:
    """``listed`` (a sighting's listing fields) with what it left empty taken from ``stored``.

    RAND shows one publication in several places, not always whole (the featured pair without
    its photo on every listing page, a teaser without a type line under another topic). A
    sighting that lacks a field therefore never erases it: non-empty wins, so a re-crawl never
    sees a field flip between empty and full. A field changes when a sighting shows another
    non-empty value. ``stored`` holds the row's values in ``LISTING_FIELDS`` order; ``listed``
    is updated in place and returned.
    """
    # An unchanged sighting (nearly every one in a re-crawl) merges to itself: skip the merge.
    if tuple(listed.values()) != tuple(stored):
        merge_fields(listed, dict(zip(LISTING_FIELDS, stored, strict=True)))
    return listed


def listing_diffs(before: Mapping[str, Any], entry: ListingEntry) -> list[tuple[str, Any, Any]]:
    """(field, stored value, listed value) for each listing field the listing changed."""
    stored = [before[name] for name in LISTING_FIELDS]
    return field_diffs(
        stored, as_listed(dict(zip(LISTING_FIELDS, LISTED(entry), strict=True)), stored)
    )


def field_diffs(stored: Sequence[Any], listed: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """The differences of listed fields already merged with the stored row (see ``as_listed``)."""
    return [
        (name, old, new)
        for (name, new), old in zip(listed.items(), stored, strict=True)
        if old != new
    ]
