"""What the generic reader knows of a site from its names: host, titles, slugs.

Feeds and pages name their site in their titles ("Security Cooperation Archives - Atlantic
Council", "NATO at 75 | CSIS"); these helpers tell the site's part from the rest, so that a
feed's topic and a page's title come out without it, and the site's part can stand for the
publisher when nothing better names one.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qsl, urlsplit

from crawler.pages.common import clean_text

# " - ", " | ", " – ", " — ", " » ", " :: ", " · ": what sites put between a title and their name.
TITLE_SEPARATORS = re.compile(r"\s+(?:[-–—|»·•~]|::)\s+")
_ARCHIVE_WORDS = re.compile(r"\s+(?:archives?|feed|rss feed|news feed)$", re.IGNORECASE)
_ARCHIVE_PREFIXES = re.compile(
    r"^(?:tag|category|topic|topics|author|series|program|region|issue)\s*:\s*", re.IGNORECASE
)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
# Words that do not make an acronym ("Center for Strategic and International Studies": CSIS).
_MINOR_WORDS = frozenset({"a", "an", "and", "at", "for", "in", "of", "on", "the", "to", "&"})


def site_of(url: str) -> str:
    """A URL's site as people name it: its host in lower case, without ``www.``."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host.removeprefix("www.")


def slugify(text: str) -> str:
    """``Security Cooperation`` -> ``security-cooperation`` (ASCII, lower case, dashes)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NOT_SLUG.sub("-", folded.lower()).strip("-")


def names_site(text: str, url: str) -> bool:
    """Whether ``text`` is the name of ``url``'s site: its letters, or the initials of its
    words, are the host's own name (``Atlantic Council`` and ``atlanticcouncil.org``, ``CSIS``
    and ``Center for Strategic and International Studies`` both for ``csis.org``)."""
    labels = [label for label in site_of(url).split(".") if label]
    if not labels or not text:
        return False
    # The registrable name: "atlanticcouncil" of atlanticcouncil.org, "carnegieendowment" of
    # carnegieendowment.org; a subdomain ("blogs.") counts too.
    names = {re.sub(r"[^a-z0-9]", "", label) for label in labels[:-1] or labels}
    letters = re.sub(r"[^a-z0-9]", "", slugify(text))
    words = [w for w in re.split(r"[\s\-]+", text) if w]
    initials = "".join(w[0] for w in words if w.lower() not in _MINOR_WORDS).lower()
    return any(
        name and (letters == name or (len(initials) > 1 and initials == name) or
                  (len(letters) > 3 and letters in name) or (len(name) > 3 and name in letters))
        for name in names
    )  # fmt: skip


def split_site_title(title: str, url: str, site_names: tuple[str, ...] = ()) -> tuple[str, str]:
    """(the title without its site's part, the site's part) of a feed's or page's title.

    The site's part is the one naming the site (``site_names``: og:site_name and the like, or
    the host's own name, see ``names_site``); failing that, of a title in several parts, the
    last (WordPress and Yoast put the site last). A title with no separator is all title,
    unless it is the site's name alone.
    """
    title = clean_text(title)
    parts = [p for p in TITLE_SEPARATORS.split(title) if p]
    wanted = {clean_text(n).lower() for n in site_names if n}

    def is_site(part: str) -> bool:
        return part.lower() in wanted or names_site(part, url)

    if len(parts) <= 1:
        return ("", title) if title and is_site(title) else (title, "")
    for index in (len(parts) - 1, 0):
        if is_site(parts[index]):
            rest = parts[:index] + parts[index + 1 :]
            return " - ".join(rest), parts[index]
    return " - ".join(parts[:-1]), parts[-1]


def archive_name(text: str) -> str:
    """A listing's name without the words archives add: ``Tag: NATO``, ``NATO Archives``."""
    name = _ARCHIVE_PREFIXES.sub("", clean_text(text))
    name = _ARCHIVE_WORDS.sub("", name)
    return clean_text(name.strip("\"'“”‘’«» "))


# Path words that say "this is a feed", not what the feed is about.
_FEED_WORDS = frozenset(
    {"feed", "feeds", "rss", "rss2", "atom", "rdf", "index.xml", "feed.xml", "rss.xml",
     "atom.xml", "index.rss", "rss.php", "feed.php"}
)  # fmt: skip
# WordPress's query form of a feed (``/?feed=rss2&tag=nato``): the parameters naming its subject.
_QUERY_SUBJECTS = ("tag", "category_name", "cat", "author_name", "author", "s", "topic", "type")


def feed_slug(url: str) -> str:
    """A topic slug for a feed: ``<site>/<what it lists>``, its paging left out.

    ``https://www.atlanticcouncil.org/tag/security-cooperation/feed/?paged=2`` ->
    ``atlanticcouncil.org/tag/security-cooperation``. The site leads so that no feed's slug can
    be a RAND topic's (``security-cooperation``), nor another site's.
    """
    parts = urlsplit(url)
    words = [w for w in parts.path.lower().split("/") if w]
    while words and words[-1] in _FEED_WORDS:
        words.pop()
    if len(words) >= 2 and words[-2] == "page" and words[-1].isdigit():
        words = words[:-2]
    while words and words[-1] in _FEED_WORDS:
        words.pop()
    if words:
        words[-1] = re.sub(r"\.(xml|rss|atom|rdf|php)$", "", words[-1])
    query = dict(parse_qsl(parts.query))
    for key in _QUERY_SUBJECTS:
        if query.get(key):
            words += [key, query[key].lower()]
            break
    pieces = [slugify(w) for w in words]
    return "/".join([site_of(url), *(p for p in pieces if p)])


def keyword_slug(keyword: str, url: str) -> str:
    """A topic slug for a keyword a page of ``url``'s site carries: ``<site>/<keyword>``."""
    return f"{site_of(url)}/{slugify(keyword) or 'keyword'}"
