"""Records handed from the crawl to the catalog.

Plain dataclasses rather than ``scrapy.Item``: page objects build them without importing Scrapy,
the store reads them without knowing about crawling, and fixtures compare them as JSON. They
live at the bottom of the catalog package because both sides need them and layers point one
way: ``crawler/`` uses ``catalog/``, never the reverse.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

SECTION_FEATURED = "featured"
SECTION_LIST = "list"


@dataclass(frozen=True, slots=True)
class TopicRef:
    """A topic as a listing page names it."""

    slug: str
    name: str
    url: str


@dataclass(slots=True)
class ListingEntry:
    """One teaser of a topic listing page, cleaned and with an absolute canonical URL."""

    url: str
    title: str
    content_type: str
    published_on: date | None
    date_text: str
    summary: str
    image_url: str | None
    image_caption: str | None
    topic: TopicRef
    section: str
    listing_url: str
    position: int
    # Who published it, as the listing names them ("RAND Corporation"; a feed's site name or
    # host): fills the catalog's publisher while the publication's page has not been read.
    publisher: str = ""
    # What a feed entry says beyond a teaser (dc:creator / <author> in order, its categories);
    # the publication page's values win over these (see crawler.pages.generic).
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(self))


# Fields an occurrence fills when an earlier one of the same publication left them empty;
# image and caption travel together, as do the printed date and its meaning.
_MERGED_GROUPS = (
    ("title",),
    ("content_type",),
    ("summary",),
    ("date_text", "published_on"),
    ("image_url", "image_caption"),
)


# Every field the merge rule touches (the listing fields a sighting may leave empty).
MERGED_FIELDS = tuple(name for group in _MERGED_GROUPS for name in group)


def merge_sighting(first: ListingEntry, later: ListingEntry) -> None:
    """Fill ``first``'s empty fields from a later sighting of the same publication.

    RAND shows one publication in several places (featured without a photo, listed with one;
    the featured pair again on every listing page). Merging every sighting, on a page and
    across a run, makes a publication's record the same whichever page is read, so a
    re-crawl never sees a field flip between empty and full. Section and position stay
    ``first``'s.
    """
    values = {name: getattr(first, name) for name in MERGED_FIELDS}
    merge_fields(values, {name: getattr(later, name) for name in MERGED_FIELDS})
    for name, value in values.items():
        setattr(first, name, value)
    for name in ("publisher", "authors", "categories"):
        if not getattr(first, name) and getattr(later, name):
            setattr(first, name, getattr(later, name))


def merge_fields(first: dict[str, Any], later: Mapping[str, Any]) -> None:
    """``merge_sighting``'s rule on plain field mappings (keyed by ``MERGED_FIELDS``).

    The one statement of the rule: the store applies it to thousands of stored rows a batch,
    where building a ``ListingEntry`` for each would cost more than the merge itself.
    """
    for group in _MERGED_GROUPS:
        lead = group[0]
        if not first[lead] and later[lead]:
            for name in group:
                first[name] = later[name]
        else:
            for name in group[1:]:
                if not first[name] and later[name] and first[lead] == later[lead]:
                    first[name] = later[name]
    if first["published_on"] is None and later["published_on"] is not None:
        first["published_on"] = later["published_on"]
        first["date_text"] = later["date_text"]


@dataclass(frozen=True, slots=True)
class SkippedTeaser:
    """A teaser that could not become a record (no title or no link); counted, never stored."""

    section: str
    position: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass(frozen=True, slots=True)
class ListingPageSeen:
    """A listing page fetched with 200: its HTTP validators, stored with the page's entries."""

    url: str
    topic: TopicRef
    etag: str | None
    last_modified: str | None


WALK_STARTED = "started"
WALK_COMPLETED = "completed"


@dataclass(frozen=True, slots=True)
class TopicWalk:
    """A topic's walk began or reached its end; stored in order with the entries around it."""

    topic: TopicRef
    event: str  # WALK_STARTED | WALK_COMPLETED
    full: bool = False


@dataclass(frozen=True, slots=True)
class Download:
    """One downloadable document of a publication: a report can offer several.

    ``label`` is the block's heading as the page prints it ("Full Document", "Research
    Summary", ...), ``format`` the file type ("PDF", "EPUB"), ``size`` as printed ("16.4 MB").
    """

    label: str
    format: str
    url: str
    size: str | None


@dataclass(slots=True)
class PublicationDetails:
    """What a publication's own page says about it beyond the listing."""

    url: str
    title: str
    subtitle: str | None
    product_type: str | None
    content_category: str | None
    published_on: date | None
    date_text: str
    authors: list[str]
    abstract: str | None
    research_questions: list[str]
    key_findings: list[str]
    recommendations: list[str]
    body_text: str | None
    related_topics: list[TopicRef]
    document_number: str | None
    doi: str | None
    isbn: str | None
    series: str | None
    page_count: int | None
    pdf_url: str | None
    pdf_size: str | None
    print_format: str | None
    print_price: str | None  # what a buyer pays (after any web discount)
    # Every PDF/EPUB the page offers, in page order; pdf_url/pdf_size above stay the full
    # document's.
    downloads: list[Download] = field(default_factory=list)
    list_price: str | None = None  # the print copy's list price, before any discount
    journal: str | None = None  # external publications: the journal that published it
    # Who published it, as the page names them (embedded metadata; RAND's pages: "RAND
    # Corporation"); replaces the listing's word in the catalog. None: the page does not say.
    publisher: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(self))


@dataclass(frozen=True, slots=True)
class DetailFailure:
    """A publication page that could not be fetched or read; retried on the next crawl."""

    url: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
