"""The topics a plain `catalog crawl` visits: checked, compared by listing, edited in place."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from catalog.config.rules import MAX_TOPIC_CHARS, SLUG
from catalog.config.text import find_value, is_control, line_of, offset_of_line, shown
from catalog.errors import ConfigError
from catalog.urls import listing_key


def check_url(value: str) -> str:
    """An absolute http(s) URL with a host and no spaces or control characters."""
    value = value.strip()
    if (
        value.lower().startswith(("http://", "https://"))
        and len(value) <= MAX_TOPIC_CHARS
        and not any(c.isspace() or is_control(c) for c in value)
        and _hostname(value)
    ):
        return value
    raise ConfigError(f"{shown(value)} is not an http(s) URL")


def _hostname(url: str) -> str | None:
    try:
        split = urlsplit(url)
        split.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        return None
    return split.hostname


def check_topic(value: str) -> str:
    """A RAND topic slug or an http(s) listing URL; raises ConfigError otherwise."""
    value = value.strip()
    if value.lower().startswith(("http://", "https://")):  # schemes are case-insensitive
        return check_url(value)
    if SLUG.match(value) and len(value) <= MAX_TOPIC_CHARS:
        return value
    raise ConfigError(
        f"{shown(value)} is neither a topic slug (like security-cooperation) nor a URL"
    )


def canonical_topic(value: str) -> str:
    """A checked topic as the catalog keeps it: a slug as it is, a URL in its canonical form
    (no fragment, no tracking parameters, no ``page=1``). Raises ConfigError when invalid."""
    value = check_topic(value)
    return value if "://" not in value else listing_key(value)


def check_topics(path: Path, text: str, topics: object) -> list[str]:
    """Topic entries: non-empty slugs or URLs, each listing once, in canonical form.

    A duplicate is an error, not a warning: a cron crawl has nobody to read a warning, and a
    topic listed twice is a typo worth fixing. Two spellings of one listing (a slug and its
    URL, a URL with ``?utm_source=...``, ``#...`` or ``?page=1``) are a duplicate too: crawled
    as two walks of one listing, every crawl would fail as a pagination loop.
    """
    topics_line = line_of(text, "topics")
    if not isinstance(topics, list):
        raise ConfigError(
            f"{path}:{topics_line}: topics must be a list of strings, not {shown(topics)} "
            '(topics = ["security-cooperation"])'
        )
    checked: list[str] = []
    seen: dict[str, tuple[int, str]] = {}  # listing -> (line, entry as written)
    cursor = offset_of_line(text, topics_line)  # entries are found in order, duplicates too
    for entry in topics:
        line = topics_line
        if isinstance(entry, str) and (found := find_value(text, entry, cursor)) >= 0:
            cursor = found + len(entry) + 2
            line = text.count("\n", 0, found) + 1
        if not isinstance(entry, str):
            raise ConfigError(
                f"{path}:{line}: topics has {shown(entry)}; topics must be a list of strings "
                "(topic slugs or http(s) URLs)"
            )
        try:
            value = canonical_topic(entry)
        except ConfigError as exc:
            raise ConfigError(f"{path}:{line}: topics: {exc}") from None
        key = listing_key(value)
        if key in seen:
            first_line, first = seen[key]
            if first.strip() == entry.strip():
                raise ConfigError(
                    f"{path}:{line}: topics lists {shown(entry)} twice "
                    f"(also on line {first_line}; remove one)"
                )
            raise ConfigError(
                f"{path}:{line}: topics lists {shown(entry)} and, on line {first_line}, "
                f"{shown(first)}: both are the listing {key} (remove one)"
            )
        seen[key] = (line, entry)
        checked.append(value)
    return checked
