"""The catalog's order of hits, ties included, the same for every engine.

By relevance: higher score first, then the newest, then the lowest id (the longest
catalogued). By date: newest (or oldest) first, then the lowest id. Undated publications come
last either way. Engines rank by their own primary key (score, or date) and break ties their
own way; a top ``k`` is exact only when the whole group of items tied with the ``k``-th is
considered, which is what :func:`exact_top` does.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from typing import TypeVar

Item = TypeVar("Item", bound=tuple)  # (score, key): key is what ``day`` and ``ident`` read
_UNDATED = float("-inf")


def primary_key(sort: str, day: Callable[[object], int | None]) -> Callable[[tuple], float]:
    """The key engines rank by (larger first): the score, or the date."""
    if sort == "relevance":
        return lambda item: item[0]
    if sort == "newest":
        return lambda item: _UNDATED if (d := day(item[1])) is None else d
    return lambda item: _UNDATED if (d := day(item[1])) is None else -d


def full_key(
    sort: str, day: Callable[[object], int | None], ident: Callable[[object], int]
) -> Callable[[tuple], tuple]:
    """The whole order, as a sort key (smaller first)."""

    def key(item: tuple) -> tuple:
        found = day(item[1])
        dated = (found is None, 0 if found is None else (found if sort == "oldest" else -found))
        if sort == "relevance":
            return (-item[0], *dated, ident(item[1]))
        return (*dated, ident(item[1]))

    return key


def exact_top(
    items: Sequence[Item],
    limit: int,
    *,
    sort: str,
    day: Callable[[object], int | None],
    ident: Callable[[object], int],
) -> list[Item]:
    """The first ``limit`` of ``items`` (all the matches) in the catalog's order.

    ``day`` and ``ident`` are read only for the items that can still make the top: those
    ranked above the ``limit``-th by the primary key, and every item tied with it.
    """
    primary = primary_key(sort, day)
    if len(items) > limit:
        best = heapq.nlargest(limit, items, key=primary)
        kth = primary(best[-1])
        if sort == "relevance":
            candidates = [i for i in best if i[0] > kth] + [i for i in items if i[0] == kth]
        else:
            candidates = [i for i in best if primary(i) > kth]
            candidates += [i for i in items if primary(i) == kth]
    else:
        candidates = list(items)
    candidates.sort(key=full_key(sort, day, ident))
    return candidates[:limit]


def complete_group(fetched: int, asked: int, keys: Sequence[float], limit: int) -> bool:
    """For engines that return their top ``asked`` by the primary key: whether the group tied
    with the ``limit``-th item is wholly inside what was fetched (else fetch more)."""
    if fetched < asked:
        return True  # everything that matched is here
    return len(keys) > limit and keys[limit - 1] != keys[-1]
