"""The generic reader's behaviours, one by one (tests/test_pages.py runs its stored cases).

Feeds: what a walk needs from each page (the topic, the next page, the end), and that no
document makes the page object raise. Publication pages: the precedence of sources, field by
field, and the feed's entry standing where the page says nothing.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.records import DetailFailure, ListingEntry, PublicationDetails, TopicRef
from crawler.pages.common import person_names
from crawler.pages.generic import (
    PRECEDENCE,
    FeedLinks,
    FeedListing,
    GenericFeedPage,
    GenericPublicationPage,
    NotAFeed,
)
from crawler.pages.generic.site import feed_slug, names_site, split_site_title
from tests.conftest import FIXTURES

CASES = FIXTURES / "pages" / "generic"
FEED_URL = "https://www.atlanticcouncil.org/tag/security-cooperation/feed/"


def case(name: str) -> tuple[str, str | bytes]:
    folder = CASES / name
    url = json.loads((folder / "meta.json").read_text(encoding="utf-8"))["url"]
    xml = folder / "input.xml"
    if xml.exists():
        return url, xml.read_bytes()
    return url, (folder / "input.html").read_text(encoding="utf-8")


def rss(items: str, channel: str = "", generator: str = "") -> bytes:
    generator = f"<generator>{generator}</generator>" if generator else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>Defense - Example Institute</title>{generator}{channel}{items}"
        "</channel></rss>"
    ).encode()


ITEM = "<item><title>A</title><link>https://www.example.org/a/</link></item>"


# --- feeds -----------------------------------------------------------------------------------


def test_a_wordpress_feed_pages_on_with_paged_until_a_page_has_no_entries():
    url = "https://www.example.org/tag/defense/feed/"
    first = GenericFeedPage(url, rss(ITEM, generator="https://wordpress.org/?v=6.4.3")).parse()
    assert isinstance(first, FeedListing)
    assert first.next_page_url == url + "?paged=2" and first.next_page_guessed
    third = GenericFeedPage(url + "?paged=3", rss(ITEM, generator="WordPress")).parse()
    assert third.page == 3 and third.next_page_url == url + "?paged=4"
    empty = GenericFeedPage(url + "?paged=4", rss("", generator="WordPress")).parse()
    assert empty.entries == [] and empty.next_page_url is None
    # Every page of one walk belongs to the first page's topic.
    assert third.topic == first.topic == empty.topic
    assert first.topic.url == url and first.topic.slug == "example.org/tag/defense"


def test_a_feed_that_names_no_next_page_and_is_not_wordpress_ends():
    listing = GenericFeedPage("https://www.example.org/feed.xml", rss(ITEM)).parse()
    assert listing.next_page_url is None and not listing.next_page_guessed


def test_rfc5005_archives_are_followed_and_a_next_link_to_itself_is_not():
    url = "https://www.example.org/feed.xml"
    archived = rss(ITEM, '<atom:link rel="prev-archive" href="/archive/2023.xml"/>')
    assert GenericFeedPage(url, archived).parse().next_page_url == (
        "https://www.example.org/archive/2023.xml"
    )
    looping = rss(ITEM, f'<atom:link rel="next" href="{url}"/>')
    assert GenericFeedPage(url, looping).parse().next_page_url is None


def test_a_walk_can_give_later_pages_its_topic():
    topic = TopicRef("example.org/defense", "Defense", "https://www.example.org/defense/feed/")
    page = GenericFeedPage("https://www.example.org/defense/feed/page/2/", rss(ITEM), topic=topic)
    listing = page.parse()
    assert listing.topic == topic and listing.entries[0].topic == topic and listing.page == 2


def test_an_entry_dated_in_its_own_time_zone_keeps_its_day():
    item = (
        "<item><title>Late</title><link>https://www.example.org/late/</link>"
        "<pubDate>Wed, 13 Mar 2024 22:15:07 -0500</pubDate></item>"
        "<item><title>Atom-dated</title><link>https://www.example.org/atom/</link>"
        "<dc:date>2024-03-13T23:30:00-08:00</dc:date></item>"
        "<item><title>Never</title><link>https://www.example.org/never/</link>"
        "<pubDate>0000-00-00</pubDate></item>"
    )
    entries = GenericFeedPage("https://www.example.org/feed/", rss(item)).parse().entries
    assert [(e.published_on, e.date_text) for e in entries] == [
        (date(2024, 3, 13), "2024-03-13"),  # 03:15 on the 14th in UTC
        (date(2024, 3, 13), "2024-03-13"),
        (None, "0000-00-00"),  # kept as printed, for the crawl's warning
    ]


@pytest.mark.parametrize(
    ("document", "says"),
    [
        (b"", "an empty document"),
        (b"   \n ", "an empty document"),
        (b'{"items": []}', "not XML"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not XML"),
        (b"<?xml version='1.0'?><urlset><url/></urlset>", "(<urlset>)"),
        (b"<rss version='2.0'><channel><title>cut short", "a broken RSS or Atom feed"),
        (b"<!DOCTYPE html><html><head><title>x</title></head></html>", "links no RSS or Atom"),
    ],
)
def test_what_is_not_a_feed_says_what_it_is(document, says):
    result = GenericFeedPage("https://www.example.org/feed/", document).parse()
    assert isinstance(result, NotAFeed), result
    assert says in result.reason


def test_a_feed_cut_short_still_gives_the_entries_it_has():
    """A feed truncated mid-item (a dropped connection) is read as far as it goes."""
    cut = rss(ITEM)[: -len(b"</channel></rss>")]
    result = GenericFeedPage("https://www.example.org/feed/", cut).parse()
    assert isinstance(result, FeedListing) and [e.title for e in result.entries] == ["A"]


def test_an_html_page_names_its_own_feed_first_and_never_comments():
    url, page = case("feed-links-from-html")
    links = GenericFeedPage(url, page).parse()
    assert isinstance(links, FeedLinks)
    assert links.feed_urls[0] == FEED_URL
    assert not any("comments" in u for u in links.feed_urls)
    assert not any("json" in u for u in links.feed_urls)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_no_document_makes_the_feed_page_raise(document):
    result = GenericFeedPage("https://www.example.org/feed/", document).parse()
    assert isinstance(result, (FeedListing, FeedLinks, NotAFeed))


# --- publication pages -----------------------------------------------------------------------


def test_the_precedence_is_the_documented_one():
    assert PRECEDENCE == ("highwire", "json-ld", "dublin-core", "opengraph", "page", "feed")


def test_conflicting_sources_field_by_field():
    url, html = case("page-conflicting-values")
    page = GenericPublicationPage(url, html)
    sources = page.sources()
    found = page.parse()
    assert isinstance(found, PublicationDetails)
    # every standard had a title: Highwire's wins
    assert {name for name in PRECEDENCE if sources[name].get("title")} >= {
        "highwire",
        "json-ld",
        "dublin-core",
        "opengraph",
        "page",
    }
    assert found.title == sources["highwire"]["title"]
    # Highwire's date is a placeholder: the next source's real date stands
    assert sources["highwire"]["date"] == "0000-00-00"
    assert found.published_on == date(2024, 1, 18)
    # JSON-LD names the organisation as the author: Dublin Core's people stand
    assert sources["json-ld"]["authors"] == ["Carnegie Endowment for International Peace"]
    assert found.authors == ["Eleanor Vance", "Chidi Okafor"]
    assert found.publisher == "Carnegie Endowment for International Peace"  # not DC's, OG's
    assert found.doi == "10.5555/carnegie.2024.01"  # JSON-LD's, not DC's
    assert found.pdf_url.endswith("_final.pdf")  # citation_pdf_url, not the linked summary
    assert [t.name for t in found.related_topics] == [
        "Gulf",
        "Security Cooperation",
        "Arms Transfers",
    ]


def test_a_broken_json_ld_script_costs_only_itself():
    url, html = case("page-conflicting-values")
    assert (
        GenericPublicationPage(url, html)
        .sources()["json-ld"]["title"]
        .startswith("Security Partnerships in the Gulf: After")
    )


def listing(**changes) -> ListingEntry:
    base = ListingEntry(
        url="https://www.example.org/analysis/a/",
        title="From the feed",
        content_type="",
        published_on=date(2024, 3, 1),
        date_text="2024-03-01",
        summary="The feed's summary.",
        image_url=None,
        image_caption=None,
        topic=TopicRef("example.org/defense", "Defense", "https://www.example.org/feed/"),
        section="list",
        listing_url="https://www.example.org/feed/",
        position=1,
        publisher="Example Institute",
        authors=["Jane Doe", "John Roe"],
        categories=["NATO", "Baltic"],
    )
    for name, value in changes.items():
        setattr(base, name, value)
    return base


OG_ONLY = """<html><head>
<meta property="og:type" content="article">
<meta property="og:title" content="From the page | Example">
</head><body><h1>Heading</h1></body></html>"""


def test_the_feeds_values_stand_where_the_page_says_nothing():
    page = GenericPublicationPage("https://www.example.org/analysis/a/", OG_ONLY, listing=listing())
    found = page.parse()
    assert found.title == "From the page"  # the page's title (its site's name removed) wins
    assert found.published_on == date(2024, 3, 1) and found.date_text == "2024-03-01"
    assert found.authors == ["Jane Doe", "John Roe"]
    assert found.abstract == "The feed's summary."
    assert [t.name for t in found.related_topics] == ["NATO", "Baltic"]
    assert [t.slug for t in found.related_topics] == ["example.org/nato", "example.org/baltic"]
    assert found.publisher == "Example Institute"
    bare = GenericPublicationPage("https://www.example.org/analysis/a/", OG_ONLY).parse()
    assert bare.authors == [] and bare.published_on is None
    assert bare.publisher == "example.org"  # nothing names one: the host


def test_a_page_without_metadata_fails_even_with_a_feed_entry():
    url, html = case("page-no-metadata")
    found = GenericPublicationPage(url, html, listing=listing(url=url)).parse()
    assert isinstance(found, DetailFailure) and found.reason.startswith("no embedded metadata")


@pytest.mark.parametrize("document", ["", b"", "\x00\x00", b"\xff\xfe\x00<", "<html>", None])
def test_an_empty_or_broken_page_is_a_failure_not_an_exception(document):
    found = GenericPublicationPage("https://www.example.org/a/", document).parse()
    assert isinstance(found, DetailFailure)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(max_size=300),
    st.sampled_from(
        [
            "",
            '<script type="application/ld+json">{}</script>',
            '<meta property="og:type" content="article">',
            '<meta name="citation_title" content="T">',
        ]
    ),
)
def test_no_page_makes_the_publication_page_raise(text, head):
    html = f"<html><head>{head}<title>{text}</title></head><body>{text}</body></html>"
    found = GenericPublicationPage("https://www.example.org/a/", html).parse()
    assert isinstance(found, (PublicationDetails, DetailFailure))


def test_json_ld_in_a_list_with_references_and_prefixed_types():
    html = """<html><head><script type="application/ld+json">[
      {"@type": "schema:Report", "@id": "#r", "name": "A Report", "datePublished": "2023",
       "author": [{"@id": "#p1"}, {"@type": "Person", "givenName": "Ann", "familyName": "Lee"}],
       "publisher": {"@id": "#org"}, "isPartOf": {"@id": "#series"},
       "encoding": {"@type": "MediaObject", "encodingFormat": "application/pdf",
                    "contentUrl": "/files/report.pdf"},
       "identifier": {"@type": "PropertyValue", "propertyID": "DOI", "value": "10.5555/abc"}},
      {"@id": "#p1", "@type": "Person", "name": "Bo Chen"},
      {"@id": "#org", "@type": "Organization", "name": "Example Institute"},
      {"@id": "#series", "@type": "CreativeWorkSeries", "name": "Occasional Papers"}
    ]</script></head><body></body></html>"""
    found = GenericPublicationPage("https://www.example.org/r/", html).parse()
    assert isinstance(found, PublicationDetails), found
    assert (found.title, found.product_type, found.date_text) == ("A Report", "Report", "2023")
    assert found.published_on == date(2023, 1, 1)
    assert found.authors == ["Bo Chen", "Ann Lee"]
    assert found.publisher == "Example Institute" and found.series == "Occasional Papers"
    assert (
        found.pdf_url == "https://www.example.org/files/report.pdf" and found.doi == "10.5555/abc"
    )


CSIS = "https://www.csis.org/feed"
CSIS_NAME = "Center for Strategic and International Studies"


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "url", "expected"),
    [
        ("Security Cooperation Archives - Atlantic Council", FEED_URL,
         ("Security Cooperation Archives", "Atlantic Council")),
        ("Atlantic Council » NATO", FEED_URL, ("NATO", "Atlantic Council")),
        ("CSIS | Analysis", CSIS, ("Analysis", "CSIS")),
        (CSIS_NAME, CSIS, ("", CSIS_NAME)),
        ("Analysis", CSIS, ("Analysis", "")),
        ("Why NATO - and Europe - matter - Example", "https://x.org/",
         ("Why NATO - and Europe - matter", "Example")),
    ],
)  # fmt: skip
def test_a_title_without_its_sites_part(title, url, expected):
    assert split_site_title(title, url) == expected


def test_site_names_and_feed_slugs():
    assert names_site(
        "Carnegie Endowment for International Peace", "https://carnegieendowment.org/"
    )
    assert names_site("Brookings", "https://www.brookings.edu/")
    assert not names_site("New Atlanticist", FEED_URL)
    assert feed_slug(FEED_URL + "?paged=3") == "atlanticcouncil.org/tag/security-cooperation"
    assert feed_slug("https://x.org/?feed=rss2&tag=NATO") == "x.org/tag/nato"
    assert feed_slug("https://x.org/feed/atom/page/3/") == "x.org"
    assert feed_slug("https://www.csis.org/topics/defense/rss.xml") == "csis.org/topics/defense"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Jane Doe and John Roe", ["Jane Doe", "John Roe"]),
        ("Jane Doe, John Roe, Jr., and Max Mu", ["Jane Doe", "John Roe, Jr.", "Max Mu"]),
        ("Doe, Jane", ["Jane Doe"]),
        ("Jane Doe, Jr.", ["Jane Doe, Jr."]),
        ("A. B. Smith & C. D. Jones", ["A. B. Smith", "C. D. Jones"]),
        ("Madonna", ["Madonna"]),
        ("", []),
    ],
)
def test_names_in_one_string(text, names):
    assert person_names(text) == names


@pytest.mark.parametrize(
    "page",
    [
        '\ufeff<!DOCTYPE html><html><head><link rel="alternate" type="application/rss+xml" '
        'href="/t/feed/"></head></html>',
        '<head><link rel="alternate" type="application/rss+xml" href="/t/feed/"></head><body>',
    ],
    ids=["byte-order-mark", "no-doctype"],
)
def test_an_html_page_is_known_by_its_markup_whatever_it_starts_with(page):
    found = GenericFeedPage("https://www.example.org/t/", page).parse()
    assert isinstance(found, FeedLinks) and found.feed_urls == ("https://www.example.org/t/feed/",)
