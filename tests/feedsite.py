"""A small WordPress-like think tank for the feed tests, written into a folder and served on
127.0.0.1 by :mod:`catalog.localsite` under a reserved host name (``CATALOG_HOST_MAP``).

One tag (``/tag/alliances/``): an HTML page linking its RSS feed, the feed in pages of
``per_page`` posts (``index.xml``, ``index--page-N.xml``: WordPress's ``?paged=N``, past the
last page a 404), newest first; a page per post with Highwire and OpenGraph metadata. Tests
rewrite the site between crawls (a new post, a post gone from the feed, a page taken down)
with :meth:`FeedSite.write`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape
from pathlib import Path

HOST = "think-tank.invalid"
ORIGIN = f"http://{HOST}"
TAG_PAGE = f"{ORIGIN}/tag/alliances/"
FEED = f"{ORIGIN}/tag/alliances/feed/"
SITE_NAME = "Harbor Policy Institute"


@dataclass(frozen=True)
class Post:
    slug: str
    title: str
    day: date
    authors: tuple[str, ...] = ("Ana Souza",)
    page: str = "metadata"  # "metadata" | "none" (a page without metadata) | "gone" (404)

    @property
    def path(self) -> str:
        return f"/posts/{self.slug}/"

    @property
    def url(self) -> str:
        return ORIGIN + self.path


def posts(count: int, start: date = date(2024, 3, 1)) -> list[Post]:
    """``count`` posts, newest first, a day apart."""
    return [
        Post(f"post-{n}", f"Alliance Report Number {n}", start - timedelta(days=i))
        for i, n in enumerate(range(count, 0, -1))
    ]


@dataclass
class FeedSite:
    root: Path
    posts: list[Post] = field(default_factory=list)
    per_page: int = 3
    complete: bool = False  # RFC 5005 <fh:complete/>: one page holding every entry

    def write(self) -> None:
        """(Re)write the whole site from ``posts``; files whose bytes do not change keep
        their ETag, so an unchanged feed page answers 304 to a conditional request."""
        folder = self.root / "tag" / "alliances" / "feed"
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("index*.xml"):
            old.unlink()
        _put(self.root / "robots.txt", "User-agent: *\nAllow: /\n")
        _put(self.root / "tag" / "alliances" / "index.html", _tag_page())
        pages = [self.posts] if self.complete else _chunks(self.posts, self.per_page)
        for number, chunk in enumerate(pages, start=1):
            name = "index.xml" if number == 1 else f"index--page-{number}.xml"
            _put(folder / name, feed_xml(chunk, self.complete))
        for post in self.posts:
            page = self.root / "posts" / post.slug / "index.html"
            if post.page == "gone":
                if page.exists():
                    page.unlink()
                continue
            _put(page, _post_page(post))


def _chunks(items: list[Post], size: int) -> list[list[Post]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def _put(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _tag_page() -> str:
    return f"""<!DOCTYPE html>
<html><head><title>Alliances Archives - {SITE_NAME}</title>
<link rel="alternate" type="application/rss+xml" title="{SITE_NAME} &raquo; Alliances Tag Feed"
 href="{FEED}" />
</head><body><h1>Alliances</h1></body></html>
"""


def feed_xml(items: list[Post], complete: bool) -> str:
    entries = "".join(
        f"""
  <item>
    <title>{escape(p.title)}</title>
    <link>{p.url}</link>
    {"".join(f"<dc:creator><![CDATA[{a}]]></dc:creator>" for a in p.authors)}
    <pubDate>{p.day.strftime("%a, %d %b %Y")} 12:00:00 +0000</pubDate>
    <category><![CDATA[Alliances]]></category>
    <description><![CDATA[<p>What {escape(p.title)} finds about allies.</p>]]></description>
  </item>"""
        for p in items
    )
    history = "\n  <fh:complete/>" if complete else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:fh="http://purl.org/syndication/history/1.0">
<channel>
  <title>Alliances Archives - {SITE_NAME}</title>
  <link>{TAG_PAGE}</link>
  <description>Research on alliances</description>
  <generator>https://wordpress.org/?v=6.4.3</generator>{history}{entries}
</channel>
</rss>
"""


def _post_page(post: Post) -> str:
    if post.page == "none":
        return f"<!DOCTYPE html><html><head><title>{escape(post.title)}</title></head>" \
            f"<body><p>{escape(post.title)}</p></body></html>\n"  # fmt: skip
    authors = "".join(f'<meta name="citation_author" content="{a}">' for a in post.authors)
    return f"""<!DOCTYPE html>
<html><head><title>{escape(post.title)} - {SITE_NAME}</title>
<meta name="citation_title" content="{escape(post.title)}">
{authors}
<meta name="citation_publication_date" content="{post.day.isoformat()}">
<meta name="citation_publisher" content="{SITE_NAME}">
<meta name="citation_abstract" content="The full abstract of {escape(post.title)}.">
<meta property="og:type" content="article">
<meta property="og:site_name" content="{SITE_NAME}">
</head><body><h1>{escape(post.title)}</h1></body></html>
"""
