"""Page objects for rand.org: topic listing pages (``listing``) and publication pages
(``product``, with its document details in ``details`` and its downloads and print copy in
``downloads``); ``site`` holds what both share.

RAND keeps page objects of its own, although its pages carry embedded metadata too: they read
more than the metadata says (research questions, key findings, recommendations, downloads,
print copies, the listing's sections). The registry (``crawler.pages.registry``) picks them
for RAND's hosts. Selectors are the ones documented in the project's reference notes on RAND's
markup, each with fallbacks: the live site changes, and a missing piece must cost one field,
not the crawl.
"""

from crawler.pages.rand.listing import RandTopicPage, TopicListing
from crawler.pages.rand.product import RandProductPage
from crawler.pages.rand.site import HOSTS, PUBLISHER, topic_slug_from_url

__all__ = [
    "HOSTS",
    "PUBLISHER",
    "RandProductPage",
    "RandTopicPage",
    "TopicListing",
    "topic_slug_from_url",
]
