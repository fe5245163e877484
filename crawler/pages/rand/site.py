"""What every rand.org page object shares: the publisher, its hosts, the page frame.

Listing pages (``listing``) and publication pages (``product``) are two jobs and two modules;
this one holds the little both read, so neither imports the other.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from crawler.pages.blocks import is_sentence

PUBLISHER = "RAND Corporation"
# Hosts whose pages are RAND's (subdomains included): rand.org itself, the demo's bundled
# RAND-shaped site (``catalog.demo.DEMO_HOST``) and local copies of RAND pages served on this
# machine (the tests' sites, a mirror).
HOSTS = ("rand.org", "catalog-demo.invalid", "127.0.0.1", "localhost")

HEADING = "h1#RANDTitleHeadingId"
# The page's main content; the site header repeats teaser-shaped navigation ("Featured
# Solutions"), so nothing is read outside this scope when it exists.
MAIN_SCOPES = ("main#page-content", "main", "#page-content")
TOPIC_PATH = re.compile(r"/topics/([^/]+?)\.html$")
# A summary is prose: a sentence, or at least this many words.
PROSE_WORDS = 8


def topic_slug_from_url(url: str) -> str | None:
    """The slug of a ``/topics/<slug>.html`` URL, known before the page is fetched."""
    match = TOPIC_PATH.search(urlsplit(url).path)
    return match.group(1) if match else None


def is_prose(text: str) -> bool:
    return is_sentence(text) or len(text.split()) >= PROSE_WORDS
