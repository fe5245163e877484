"""The crawl's records, where Scrapy projects keep their items.

They are defined in :mod:`catalog.records`, below both the crawler and the catalog, so that
the catalog never imports the crawler.
"""

from catalog.records import (
    SECTION_FEATURED,
    SECTION_LIST,
    WALK_COMPLETED,
    WALK_STARTED,
    DetailFailure,
    Download,
    ListingEntry,
    ListingPageSeen,
    PublicationDetails,
    SkippedTeaser,
    TopicRef,
    TopicWalk,
    merge_sighting,
)

__all__ = [
    "DetailFailure",
    "Download",
    "ListingEntry",
    "ListingPageSeen",
    "PublicationDetails",
    "SECTION_FEATURED",
    "SECTION_LIST",
    "SkippedTeaser",
    "TopicRef",
    "TopicWalk",
    "WALK_COMPLETED",
    "WALK_STARTED",
    "merge_sighting",
]
