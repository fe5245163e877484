"""Citations out of the catalog: RIS, BibTeX and CSL-JSON, as reference managers import them.

Researchers cite what they find, so every record becomes one reference of the type a citation
manager would give it (a RAND report is a report, a blog post a post, testimony a hearing, an
article a journal article), with authors split into family and given names. BibTeX keys are
derived from the whole catalog (``citation_keys``) so that a search, a ``show`` and a full
export give a publication the same key, and the same catalog always gives the same keys.

Writing is left to maintained libraries where a format has rules of its own: ``rispy`` for RIS
and ``bibtexparser`` (v2) for BibTeX. CSL-JSON is plain JSON after the CSL schema. No click here.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from bibtexparser.model import Entry

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
_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_RE = re.compile("|".join(re.escape(c) for c in _LATEX_SPECIALS))
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_NAMES = {
    **{m: i + 1 for i, m in enumerate(_MONTHS)},
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


def _abstract(record: Mapping[str, Any]) -> str:
    return (record.get("abstract") or record.get("summary") or "").strip()


def publisher(record: Mapping[str, Any]) -> str | None:
    """The record's publisher as the catalog holds it ("RAND Corporation"); None when unknown,
    and then no format names one (a wrong publisher is worse than none)."""
    return " ".join((record.get("publisher") or "").split()) or None


def _key(record: Mapping[str, Any], keys: Mapping[int, str] | None) -> str:
    if keys and record.get("id") in keys:
        return keys[record["id"]]
    return base_key(record)


# --- RIS -----------------------------------------------------------------------------------


def ris_entry(record: Mapping[str, Any]) -> dict[str, Any]:
    """One record as a rispy entry (tags per Zotero's RIS mapping for each reference type)."""
    kind_ = kind(record)
    entry: dict[str, Any] = {"type_of_reference": RIS_TYPES[kind_]}
    authors = []
    for author in record.get("authors") or []:
        name = split_name(author)
        authors.append(", ".join(p for p in (name.family, name.given, name.suffix) if p))
    if authors:
        entry["authors"] = authors
    entry["title"] = full_title(record)
    parts = date_parts(record)
    if parts:
        entry["year"] = str(parts[0])
        entry["date"] = "/".join(f"{p:02d}" if i else str(p) for i, p in enumerate(parts))
        entry["date"] += "/" * (4 - len(parts))  # RIS dates: YYYY/MM/DD/other
    notes = []
    by = publisher(record)
    if kind_ == REPORT:
        if by:
            entry["publisher"] = by  # PB, Zotero: institution
        if record.get("series"):
            entry["secondary_title"] = record["series"]  # Zotero: series title
        if record.get("content_type"):
            entry["type_of_work"] = record["content_type"]  # Zotero: report type
        if record.get("document_number"):
            entry["issn"] = record["document_number"]  # SN: Zotero's report number
            if record.get("isbn"):
                notes.append(f"ISBN: {record['isbn']}")
        elif record.get("isbn"):
            entry["issn"] = record["isbn"]
        if record.get("page_count"):
            entry["start_page"] = str(record["page_count"])  # SP: a report's pages
    elif kind_ == ARTICLE:
        if record.get("journal"):
            entry["secondary_title"] = record["journal"]  # Zotero: publication title
    else:
        if by:
            entry["publisher"] = by
        if kind_ == POST and by:
            entry["secondary_title"] = by  # Zotero: blog title
        if record.get("document_number"):
            entry["note"] = record["document_number"]  # M1: Zotero's document number
        if record.get("isbn"):
            entry["issn"] = record["isbn"]  # SN: ISBN for every other type
        if kind_ == DOCUMENT and record.get("content_type"):
            entry["type_of_work"] = record["content_type"]
    if record.get("doi"):
        entry["doi"] = record["doi"]
    if record.get("url"):
        entry["urls"] = [record["url"]]
    if _abstract(record):
        entry["abstract"] = " ".join(_abstract(record).split())  # RIS values are one line
    if notes:
        entry["notes"] = notes
    return entry


def write_ris(records: Iterable[Mapping[str, Any]], out: TextIO) -> int:
    import rispy  # imported on use, like bibtexparser: other commands start faster

    class RisWriter(rispy.RisWriter):
        """rispy's writer without its "1." line before each reference, which RIS lacks."""

        def set_header(self, count: int) -> str:
            return ""

    count = 0
    writer = RisWriter()
    for record in records:
        if count:
            out.write("\n")
        writer.format_lines(out, [ris_entry(record)])
        count += 1
    return count


# --- BibTeX --------------------------------------------------------------------------------


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters; other non-ASCII stays UTF-8 (biber, xelatex)."""
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIALS[m.group()], text)


def _protect_case(text: str) -> str:
    """Brace words with inner capitals (U.S., NATO, McCain) so styles that lower-case keep them."""
    return " ".join(
        "{" + word + "}" if any(c.isupper() for c in word[1:]) else word for word in text.split(" ")
    )


def _bibtex_name(author: str) -> str:
    name = split_name(author)
    parts = [name.family, name.suffix, name.given] if name.suffix else [name.family, name.given]
    return ", ".join(latex_escape(p) for p in parts if p)


def bibtex_entry(record: Mapping[str, Any], key: str) -> Entry:
    """One record as a bibtexparser entry: @techreport, @article or @misc."""
    from bibtexparser.model import Entry, Field

    kind_ = kind(record)
    entry_type = BIBTEX_TYPES[kind_]
    if kind_ == ARTICLE and not record.get("journal"):
        # BibTeX requires an @article's journal (biber and bibtex warn, styles print a gap):
        # an article whose journal the catalog does not know is cited as @misc.
        entry_type = "misc"
    fields: list[Field] = []

    def add(name: str, value: Any, *, escape: bool = True, bare: bool = False) -> None:
        if value in (None, ""):
            return
        text = latex_escape(str(value)) if escape else str(value)
        fields.append(Field(name, text, enclosing="no-enclosing" if bare else None))

    authors = [_bibtex_name(a) for a in record.get("authors") or []]
    add("author", " and ".join(a for a in authors if a), escape=False)
    add("title", _protect_case(latex_escape(full_title(record))), escape=False)
    by = publisher(record)
    if kind_ == REPORT:
        add("institution", by)
        add("type", record.get("content_type"))
        add("number", record.get("document_number"))
        add("series", record.get("series"))
    elif kind_ == ARTICLE and entry_type == "article":
        add("journal", record.get("journal"))
    elif kind_ == ARTICLE:
        add("note", record.get("content_type"))
    else:
        add("organization", by)
        add("howpublished", by if kind_ == POST else None)
        add("number", record.get("document_number"))
        add("note", record.get("content_type"))
    parts = date_parts(record)
    if parts:
        add("year", parts[0], bare=True)
    if len(parts) > 1:
        add("month", _MONTHS[parts[1] - 1], bare=True)
    add("doi", record.get("doi"), escape=False)
    add("isbn", record.get("isbn"))
    add("url", record.get("url"), escape=False)
    add("pagetotal", record.get("page_count"))
    add("abstract", " ".join(_abstract(record).split()))
    return Entry(entry_type, key, fields)


def write_bibtex(
    records: Iterable[Mapping[str, Any]], out: TextIO, keys: Mapping[int, str] | None = None
) -> int:
    import bibtexparser

    count = 0
    for record in records:
        library = bibtexparser.Library([bibtex_entry(record, _key(record, keys))])
        out.write(("\n" if count else "") + bibtexparser.write_string(library).rstrip() + "\n")
        count += 1
    return count


# --- CSL-JSON ------------------------------------------------------------------------------


def csl_item(record: Mapping[str, Any], key: str) -> dict[str, Any]:
    """One record as a CSL-JSON item (the input of citeproc-js, citeproc-py and pandoc)."""
    kind_ = kind(record)
    item: dict[str, Any] = {"id": key, "type": CSL_TYPES[kind_], "title": full_title(record)}
    authors = []
    for author in record.get("authors") or []:
        name = split_name(author)
        person = {"family": name.family}
        if name.given:
            person["given"] = name.given
        if name.suffix:
            person["suffix"] = name.suffix
        authors.append(person)
    if authors:
        item["author"] = authors
    parts = date_parts(record)
    if parts:
        item["issued"] = {"date-parts": [parts]}
    if kind_ == ARTICLE:
        if record.get("journal"):
            item["container-title"] = record["journal"]
    elif kind_ == POST:
        # The blog is the container (Zotero's blogTitle), and a blog post has no publisher
        # of its own: both would print "RAND Corporation" twice in one reference.
        if publisher(record):
            item["container-title"] = publisher(record)
    elif publisher(record):
        item["publisher"] = publisher(record)
    if kind_ in (REPORT, SPEECH, DOCUMENT) and record.get("content_type"):
        item["genre"] = record["content_type"]
    optional = {
        "number": record.get("document_number"),
        "collection-title": record.get("series"),
        "DOI": record.get("doi"),
        "ISBN": record.get("isbn"),
        "URL": record.get("url"),
        "abstract": _abstract(record),
        "number-of-pages": record.get("page_count"),
    }
    item.update({k: v for k, v in optional.items() if v not in (None, "")})
    return item


def write_csl_json(
    records: Iterable[Mapping[str, Any]], out: TextIO, keys: Mapping[int, str] | None = None
) -> int:
    count = 0
    out.write("[")
    for record in records:
        item = json.dumps(csl_item(record, _key(record, keys)), ensure_ascii=False)
        out.write(("," if count else "") + "\n  " + item)
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def write(
    fmt: str,
    records: Iterable[Mapping[str, Any]],
    out: TextIO,
    keys: Mapping[int, str] | None = None,
) -> int:
    """Write ``records`` as ``fmt`` (one of FORMATS) to ``out``; returns how many.

    ``keys`` (from ``citation_keys`` over the whole catalog) makes keys the same whatever
    subset is written; without it each record gets its bare key.
    """
    if fmt == "ris":
        return write_ris(records, out)
    if fmt == "bibtex":
        return write_bibtex(records, out, keys)
    if fmt == "csl-json":
        return write_csl_json(records, out, keys)
    raise ValueError(f"unknown citation format {fmt!r}")
