"""What a publication is as a reference: its kind, its authors' names, its date, its key."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    pass


FORMATS = ("ris", "bibtex", "csl-json")

# Kinds of reference, and what each format calls them (as Zotero and BibTeX styles do).
REPORT, POST, SPEECH, ARTICLE, DOCUMENT = "report", "post", "speech", "article", "document"

RIS_TYPES = {REPORT: "RPRT", POST: "BLOG", SPEECH: "HEAR", ARTICLE: "JOUR", DOCUMENT: "GEN"}

BIBTEX_TYPES = {
    REPORT: "techreport",
    POST: "misc",
    SPEECH: "misc",
    ARTICLE: "article",
    DOCUMENT: "misc",
}

CSL_TYPES = {
    REPORT: "report",
    POST: "post-weblog",
    SPEECH: "speech",
    ARTICLE: "article-journal",
    DOCUMENT: "document",
}

# RAND's content types (lower case) and the URL folders that hold each kind.
_KIND_BY_TYPE = {
    **dict.fromkeys(
        (
            "report",
            "research report",
            "research brief",
            "perspective",
            "expert insights",
            "tool",
            "conference proceedings",
            "technical report",
            "monograph",
            "monograph report",
            "occasional paper",
            "working paper",
            "documented briefing",
            "issue paper",
            "white paper",
        ),
        REPORT,
    ),
    **dict.fromkeys(("commentary", "blog", "blog post"), POST),
    **dict.fromkeys(("testimony", "congressional testimony"), SPEECH),
    **dict.fromkeys(("journal article", "article"), ARTICLE),
}

_KIND_BY_FOLDER = {
    **dict.fromkeys(
        (
            "/pubs/research_reports/",
            "/pubs/research_briefs/",
            "/pubs/perspectives/",
            "/pubs/conf_proceedings/",
            "/pubs/tools/",
            "/pubs/technical_reports/",
            "/pubs/monographs/",
            "/pubs/occasional_papers/",
            "/pubs/working_papers/",
            "/pubs/documented_briefings/",
            "/pubs/issue_papers/",
        ),
        REPORT,
    ),
    "/blog/": POST,
    "/pubs/testimonies/": SPEECH,
    "/pubs/external_publications/": ARTICLE,
}

_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "phd", "ph.d.", "md", "m.d."}

_PARTICLES = {
    "al",
    "bin",
    "da",
    "das",
    "de",
    "del",
    "della",
    "der",
    "di",
    "do",
    "dos",
    "du",
    "la",
    "le",
    "st.",
    "ten",
    "ter",
    "van",
    "von",
    "zu",
}

# Words a key skips to reach the title's first significant word.
_STOPWORDS = {
    "a",
    "an",
    "and",
    "as",
    "at",
    "by",
    "for",
    "from",
    "in",
    "into",
    "is",
    "of",
    "on",
    "or",
    "the",
    "to",
    "with",
}

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

_MONTH_NAMES = {
    **{m: i + 1 for i, m in enumerate(MONTHS)},
    "sept": 9,
}


@dataclass(frozen=True, slots=True)
class Name:
    """A person's name as citation formats want it: family name first, then given names."""

    family: str
    given: str = ""
    suffix: str = ""


def split_name(name: str) -> Name:
    """Split a name as printed ("Scott W. Harold", "Harold, Scott W.") into its parts.

    Lower-case particles ("de", "van der") stay with the family name, as reference lists sort
    them; suffixes ("Jr.", "III") are kept apart so that formats can put them where they go.
    A single word is a family name.
    """
    text = " ".join(name.split())
    suffix = ""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) > 1 and parts[-1].lower() in _SUFFIXES:
        suffix = parts.pop()
    if len(parts) == 3 and not suffix and parts[1].lower() in _SUFFIXES:
        return Name(parts[0], parts[2], parts[1])  # BibTeX's "Family, Jr., Given"
    if len(parts) == 2:  # "Family, Given"
        return Name(parts[0], parts[1], suffix)
    words = " ".join(parts).split()
    if len(words) > 1 and words[-1].lower() in _SUFFIXES:
        suffix = words.pop()
    if len(words) <= 1:
        return Name(words[0] if words else "", "", suffix)
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in _PARTICLES and words[start - 1].islower():
        start -= 1
    return Name(" ".join(words[start:]), " ".join(words[:start]), suffix)


def kind(record: Mapping[str, Any]) -> str:
    """The kind of reference: by the listing's content type, else by where the URL lives."""
    kind_ = _KIND_BY_TYPE.get((record.get("content_type") or "").strip().lower())
    if kind_:
        return kind_
    path = urlsplit(record.get("url") or "").path
    for folder, folder_kind in _KIND_BY_FOLDER.items():
        if path.startswith(folder):
            return folder_kind
    return DOCUMENT


def date_parts(record: Mapping[str, Any]) -> list[int]:
    """[year, month, day], [year, month] or [year]: as precise as the publisher was.

    ``published_on`` is a full date even when the page said only "Apr 2022" (stored as the
    1st), so the printed ``date_text`` decides whether the day is real.
    """
    published = record.get("published_on")
    text = (record.get("date_text") or "").strip()
    if isinstance(published, str):
        try:
            published = date.fromisoformat(published[:10])
        except ValueError:
            published = None
    words = re.findall(r"[A-Za-z]+|\d+", text)
    numbers = [int(w) for w in words if w.isdigit()]
    month = next((_month(w) for w in words if _month(w)), 0)
    if month:
        day_printed = any(n <= 31 for n in numbers)
    else:
        month = numbers[1] if len(numbers) >= 2 and 1 <= numbers[1] <= 12 else 0
        day_printed = len(numbers) >= 3
    if isinstance(published, date):
        if not text or day_printed:
            return [published.year, published.month, published.day]
        return [published.year, published.month] if month else [published.year]
    year = next((n for n in numbers if 1000 <= n <= 2999), None)
    if year is None:
        return []
    return [year, month] if month else [year]


def _month(word: str) -> int:
    word = word.lower()
    return _MONTH_NAMES.get(word[:4], 0) if word[:4] == "sept" else _MONTH_NAMES.get(word[:3], 0)


def full_title(record: Mapping[str, Any]) -> str:
    """Title and subtitle as one, unless the listing's title already carries the subtitle."""
    title = (record.get("title") or "").strip()
    subtitle = (record.get("subtitle") or "").strip()
    if subtitle and subtitle.lower() not in title.lower():
        return f"{title}: {subtitle}"
    return title


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def base_key(record: Mapping[str, Any]) -> str:
    """``harold2019thickening``: first author's family name, year, first significant word."""
    authors = record.get("authors") or []
    family = split_name(authors[0]).family if authors else ""
    family_words = [w for w in family.split() if not (w.islower() and w in _PARTICLES)]
    name = _ascii_word("".join(family_words)) or "anon"
    parts = date_parts(record)
    year = str(parts[0]) if parts else "nd"
    word = ""
    for raw in (record.get("title") or "").split():
        candidate = _ascii_word(raw)
        if candidate and candidate not in _STOPWORDS:
            word = candidate
            break
    return f"{name}{year}{word}"


def citation_keys(records: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """A unique key for every publication id, from the whole catalog.

    Publications that share a base key are told apart by publication id: the oldest keeps
    the bare key and later ones get ``a``, ``b``, ... so that keys already cited stay the same
    as the catalog grows (ids only grow; nothing is deleted).
    """
    by_base: dict[str, list[int]] = defaultdict(list)
    for record in records:
        by_base[base_key(record)].append(int(record["id"]))
    keys: dict[int, str] = {}
    taken = set(by_base)
    for base, ids in by_base.items():
        ids.sort()
        keys[ids[0]] = base
        suffixes = _suffixes()
        for pub_id in ids[1:]:
            key = base + next(suffixes)
            while key in taken:  # "smith2020a" may itself be some other title's base key
                key = base + next(suffixes)
            taken.add(key)
            keys[pub_id] = key
    return keys


def _suffixes() -> Iterable[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    for first in ("", *letters):
        for second in letters:
            yield first + second


def abstract(record: Mapping[str, Any]) -> str:
    return (record.get("abstract") or record.get("summary") or "").strip()


def publisher(record: Mapping[str, Any]) -> str | None:
    """The record's publisher as the catalog holds it ("RAND Corporation"); None when unknown,
    and then no format names one (a wrong publisher is worse than none)."""
    return " ".join((record.get("publisher") or "").split()) or None


def key(record: Mapping[str, Any], keys: Mapping[int, str] | None) -> str:
    if keys and record.get("id") in keys:
        return keys[record["id"]]
    return base_key(record)
