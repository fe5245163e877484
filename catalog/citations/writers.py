"""References written in the formats reference managers read: RIS, BibTeX, CSL-JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from catalog.citations.references import (
    ARTICLE,
    BIBTEX_TYPES,
    CSL_TYPES,
    DOCUMENT,
    MONTHS,
    POST,
    REPORT,
    RIS_TYPES,
    SPEECH,
    abstract,
    date_parts,
    full_title,
    key,
    kind,
    publisher,
    split_name,
)

if TYPE_CHECKING:
    from bibtexparser.model import Entry


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
    if abstract(record):
        entry["abstract"] = " ".join(abstract(record).split())  # RIS values are one line
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
        add("month", MONTHS[parts[1] - 1], bare=True)
    add("doi", record.get("doi"), escape=False)
    add("isbn", record.get("isbn"))
    add("url", record.get("url"), escape=False)
    add("pagetotal", record.get("page_count"))
    add("abstract", " ".join(abstract(record).split()))
    return Entry(entry_type, key, fields)


def write_bibtex(
    records: Iterable[Mapping[str, Any]], out: TextIO, keys: Mapping[int, str] | None = None
) -> int:
    import bibtexparser

    count = 0
    for record in records:
        library = bibtexparser.Library([bibtex_entry(record, key(record, keys))])
        out.write(("\n" if count else "") + bibtexparser.write_string(library).rstrip() + "\n")
        count += 1
    return count


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
        "abstract": abstract(record),
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
        item = json.dumps(csl_item(record, key(record, keys)), ensure_ascii=False)
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
