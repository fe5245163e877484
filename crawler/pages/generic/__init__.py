"""The generic reader: any think tank's site, from its feeds and its embedded metadata.

``feed`` reads a topic's RSS or Atom feed (or finds it from an HTML page that links it);
``publication`` reads a publication's page from the metadata it embeds (``metadata``: JSON-LD,
OpenGraph, Highwire ``citation_*``, Dublin Core), merged by a documented precedence; ``site``
tells a site's name from the rest of its titles. The registry (``crawler.pages.registry``)
gives these page objects every host without page objects of its own.
"""

from crawler.pages.generic.feed import (
    FeedLinks,
    FeedListing,
    GenericFeedPage,
    NotAFeed,
)
from crawler.pages.generic.publication import PRECEDENCE, GenericPublicationPage

__all__ = [
    "PRECEDENCE",
    "FeedLinks",
    "FeedListing",
    "GenericFeedPage",
    "GenericPublicationPage",
    "NotAFeed",
]
