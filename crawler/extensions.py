"""Feed exports of publication records only.

The spider yields control records for the catalog pipeline too (topic walks, listing-page
validators, failed publication pages). A feed (``scrapy crawl rand_topic -O out.jsonl``) is
for people and other programs, who want publications: every line a record with a URL and a
title. The pipeline still receives everything; only what the feed writes is filtered.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.extensions.feedexport import FeedExporter, ItemFilter

from catalog.records import ListingEntry, PublicationDetails

PUBLICATION_RECORDS = (ListingEntry, PublicationDetails)


class PublicationItemFilter(ItemFilter):
    """Publication records, narrowed further by a feed's own ``item_classes`` if it has any."""

    def accepts(self, item: Any) -> bool:
        return isinstance(item, PUBLICATION_RECORDS) and super().accepts(item)


class PublicationFeedExporter(FeedExporter):
    """Scrapy's feed exporter with :class:`PublicationItemFilter` as every feed's default.

    A feed that names its own ``item_filter`` keeps it.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        for uri, options in self.feeds.items():
            if not options.get("item_filter"):
                self.filters[uri] = PublicationItemFilter(options)
