"""RAND pages across layouts: repeated teasers, the 2024 markup, downloads, prices, hostile input.

The stored cases in test_pages_rand.py pin whole outputs; these tests name the behaviours the
issue "Correct on real RAND pages, old and new layouts" asks for, so a regression says which.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from catalog.records import DetailFailure, Download, PublicationDetails
from crawler.pages import rand
from tests.conftest import FIXTURES

CASES = FIXTURES / "pages" / "rand"
SITE_2024 = FIXTURES / "site-2024"
TOPIC_URL = "https://www.rand.org/topics/security-cooperation.html"


def _html(case: str) -> str:
    return (CASES / case / "input.html").read_text(encoding="utf-8")


def _listing(case: str, url: str) -> rand.TopicListing:
    return rand.RandTopicPage(url, _html(case)).listing()


def _details(case: str, url: str) -> PublicationDetails:
    details = rand.RandProductPage(url, _html(case)).details()
    assert isinstance(details, PublicationDetails), details
    return details


# --- one publication, several places on one page -------------------------------------------


def test_repeated_featured_teasers_become_one_entry_each() -> None:
    result = _listing("topic-2022-repeated-featured", f"{TOPIC_URL}?page=3")
    urls = [e.url for e in result.entries]
    assert len(urls) == len(set(urls)) == 4  # 2 featured (each shown twice) + 2 listed
    assert [s.reason for s in result.skipped] == ["no link"]
    assert result.teaser_count == 5


def test_merged_entry_takes_image_from_later_occurrence_and_place_from_first() -> None:
    result = _listing("topic-2022-repeated-featured", f"{TOPIC_URL}?page=3")
    by_url = {e.url: e for e in result.entries}
    missiles = by_url["https://www.rand.org/pubs/research_reports/RRA393-3.html"]
    assert missiles.section == "featured" and missiles.position == 1
    assert missiles.image_url == "https://www.rand.org/content/dam/rand/image/teaser/rra393-3.jpg"
    assert missiles.image_caption.endswith("photo by Scott Howe/U.S. Department of Defense")
    # The first occurrence had a summary: it stays (first non-empty value wins).
    assert missiles.summary.endswith("to the Indo-Pacific.")
    competition = by_url["https://www.rand.org/pubs/research_reports/RRA650-1.html"]
    assert competition.position == 2 and competition.section == "featured"
    # The first occurrence had an empty date and summary: the later one fills both.
    assert competition.published_on.isoformat() == "2022-04-06"
    assert competition.date_text == "Apr 6, 2022"
    assert competition.summary.startswith("Neither China nor Russia")
    assert competition.image_caption.endswith("photo by Israeli Air Force")


def test_2024_featured_pair_is_merged_with_its_list_occurrence() -> None:
    result = _listing("topic-2024-first-page", "https://www.rand.org/topics/maritime-security.html")
    assert len(result.entries) == 6 and not result.skipped
    featured = [e for e in result.entries if e.section == "featured"]
    assert [e.position for e in featured] == [1, 2]
    assert all(e.image_url and e.image_caption for e in featured)  # from the list occurrence
    assert "A Menu Teaser That Is Not in This Topic" not in {e.title for e in result.entries}


@pytest.mark.parametrize("page", [2, 3])
def test_2024_site_repeats_the_featured_pair_on_every_page(page: int) -> None:
    html = (SITE_2024 / "topics" / f"maritime-security--page-{page}.html").read_text()
    url = f"https://www.rand.org/topics/maritime-security.html?page={page}"
    result = rand.RandTopicPage(url, html).listing()
    featured = [e for e in result.entries if e.section == "featured"]
    assert len(featured) == 2 and all(e.image_url is None for e in featured)
    assert len(result.entries) == 8 and len({e.url for e in result.entries}) == 8


# --- both generations of the listing --------------------------------------------------------

OLD_TEASER = """<main id="page-content"><h1 id="RANDTitleHeadingId">Maritime Security</h1>
<section class="featured"><h2>Featured</h2><ul class="teasers feature"><li>
  <div class="img-wrap"><a href="/pubs/research_reports/RRA2900-1.html"><img
    src="/content/dam/rand/image/teaser/rra2900-1.jpg"
    alt="A destroyer, photo by U.S. Navy"></a></div>
  <div class="text">
    <p class="type">Report</p>
    <h3 class="title"><a href="/pubs/research_reports/RRA2900-1.html">Securing
      Sea&nbsp;Lanes</a></h3>
    <p class="date">Mar 12, 2024</p>
    <p class="desc">Allied navies patrol the same waters&mdash;with little coordination.</p>
  </div></li></ul></section>
<div id="results"><ul class="teasers list"></ul></div></main>"""

NEW_TEASER = """<main id="page-content" class="page-content"><div class="topic-hero">
<h1 id="RANDTitleHeadingId">Maritime   Security</h1></div>
<div class="topic-lead"><ul class="teasers"><li class="teaser">
  <div class="img-wrap"><a href="/pubs/research_reports/RRA2900-1.html"><picture><img
    src="/content/dam/rand/image/teaser/rra2900-1.jpg" alt="A destroyer, photo by U.S. Navy"
    loading="lazy"></picture></a></div>
  <div class="text">
    <h3 class="title"><a href="/pubs/research_reports/RRA2900-1.html">
      Securing Sea Lanes  </a></h3>
    <p class="desc">
      Allied navies patrol the same waters&#8212;with little coordination.
    </p>
    <div class="type-time"><p class="type">Report</p><p class="date">Mar&nbsp;12, 2024</p></div>
  </div></li></ul></div>
<section class="topic-explore"><h2>Explore Maritime Security</h2><div id="results">
<ul class="teasers list"><li class="teaser"><div class="text"><h3 class="title">
<a href="/pubs/commentary/2024/01/x.html">Listed</a></h3></div></li></ul></div></section></main>"""


def test_old_and_2024_listing_markup_give_the_same_entry() -> None:
    url = "https://www.rand.org/topics/maritime-security.html"
    old = rand.RandTopicPage(url, OLD_TEASER).listing()
    new = rand.RandTopicPage(url, NEW_TEASER).listing()
    assert old.entries[0].to_dict() == new.entries[0].to_dict()
    assert new.entries[0].section == "featured" and new.entries[0].content_type == "Report"
    assert new.entries[0].summary.endswith("waters—with little coordination.")


def test_2024_teaser_without_type_line_and_date_first() -> None:
    result = _listing("topic-2024-first-page", "https://www.rand.org/topics/maritime-security.html")
    by_title = {e.title: e for e in result.entries}
    workshop = by_title["Maritime Security Cooperation in Southeast Asia: A Workshop Summary"]
    assert workshop.content_type == "" and workshop.published_on.isoformat() == "2024-01-30"
    recap = by_title["Red Sea Shipping, Arctic Routes, and More: RAND Weekly Recap"]
    assert recap.content_type == "RAND Weekly Recap"  # the teaser printed date-first
    assert recap.published_on.isoformat() == "2024-02-16"
    assert recap.summary.startswith("This week, we discuss")
    assert result.next_page_url == "https://www.rand.org/topics/maritime-security.html?page=2"
    assert result.last_page == 3


def test_teaser_date_from_time_datetime_when_text_is_not_a_date() -> None:
    html = NEW_TEASER.replace(
        '<p class="date">Mar&nbsp;12, 2024</p>',
        '<p class="date"><time datetime="2024-03-12T09:00:00Z">Tuesday</time></p>',
    )
    entry = rand.RandTopicPage("https://www.rand.org/topics/x.html", html).listing().entries[0]
    assert entry.date_text == "Tuesday" and entry.published_on.isoformat() == "2024-03-12"


# --- product pages --------------------------------------------------------------------------

RRA650 = "https://www.rand.org/pubs/research_reports/RRA650-1.html"
PDF_DIR = "https://www.rand.org/content/dam/rand/pubs/research_reports/RRA600/RRA650-1/"


def test_2024_header_type_and_date_run_together() -> None:
    details = _details("product-2024-report", RRA650)
    assert details.product_type == "Research"
    assert details.published_on.isoformat() == "2022-04-06"
    assert details.date_text == "Published Apr 6, 2022"


def test_header_regex_fallback_on_plain_run_together_text() -> None:
    html = """<html><head><meta name="citation_title" content="T"></head><body>
    <main id="page-content"><div class="product-header"><h1 id="RANDTitleHeadingId">T</h1>
    <div class="meta-line">Research ReportPublished Sept. 3, 2020</div></div></main>
    </body></html>"""
    details = rand.RandProductPage("https://www.rand.org/pubs/research_reports/RR1.html", html)
    result = details.details()
    assert result.product_type == "Research Report"
    assert result.published_on.isoformat() == "2020-09-03"


def test_two_downloads_full_document_first_summary_second() -> None:
    details = _details("product-2024-report", RRA650)
    assert details.downloads == [
        Download("Full Document", "PDF", PDF_DIR + "RAND_RRA650-1.pdf", "16.4 MB"),
        Download("Research Summary", "PDF", PDF_DIR + "RAND_RRA650-1.summary.pdf", "0.1 MB"),
    ]
    assert (details.pdf_url, details.pdf_size) == (PDF_DIR + "RAND_RRA650-1.pdf", "16.4 MB")


def test_full_document_is_never_the_summary_even_when_listed_first() -> None:
    html = _html("product-2024-report")
    full_start = html.index('<div class="download-block">')
    summary_start = html.index('<div class="download-block">', full_start + 1)
    end = html.index("</section>", summary_start)
    swapped = (
        (html[:full_start] + html[summary_start:end] + html[full_start:summary_start] + html[end:])
        .replace("Full Document", "Report")
        .replace("Research Summary", "Summary")
    )
    details = rand.RandProductPage(RRA650, swapped).details()
    assert [d.label for d in details.downloads] == ["Summary", "Report"]
    assert details.pdf_url == PDF_DIR + "RAND_RRA650-1.pdf" and details.pdf_size == "16.4 MB"


def test_old_layout_single_pdf_is_the_full_document() -> None:
    details = _details("product-report", "https://www.rand.org/pubs/research_reports/RR3125.html")
    assert [(d.label, d.format, d.size) for d in details.downloads] == [
        ("Full Document", "PDF", "2.4 MB")
    ]
    assert details.pdf_url == details.downloads[0].url


def test_discounted_print_copy() -> None:
    details = _details("product-2024-report", RRA650)
    assert details.print_format == "Paperback"
    assert (details.list_price, details.print_price) == ("$39.00", "$31.20")
    assert details.page_count == 138  # only the print row says so


def test_single_price_is_list_and_paid_and_old_row_still_reads() -> None:
    old = _details("product-report", "https://www.rand.org/pubs/research_reports/RR3125.html")
    assert (old.print_format, old.page_count) == ("Paperback", 454)
    assert old.list_price == old.print_price == "$49.95"
    perspective = _details(
        "product-perspective", "https://www.rand.org/pubs/perspectives/PEA1234-1.html"
    )
    assert perspective.list_price == perspective.print_price == "$15.00"
    assert perspective.page_count == 22


def test_price_columns_without_classes() -> None:
    html = (
        _html("product-2024-report")
        .replace(' class="list-price"', "")
        .replace(' class="price"', "")
    )
    details = rand.RandProductPage(RRA650, html).details()
    assert (details.list_price, details.print_price) == ("$39.00", "$31.20")


def test_abstract_page_text_wins_when_longer_and_meta_html_is_cleaned() -> None:
    details = _details("product-2024-report", RRA650)
    assert details.abstract.startswith("Neither China nor Russia")
    assert "\n\nHow can the United States" in details.abstract
    assert "<" not in details.abstract and "&" not in details.abstract
    perspective = _details(
        "product-perspective", "https://www.rand.org/pubs/perspectives/PEA1234-1.html"
    )
    assert perspective.abstract == (
        "Cheap uncrewed systems change the cost of denying a sea area.\n\n"
        "This Perspective asks what that means for deterrence & for the size of navies."
    )


def test_meta_abstract_wins_when_the_page_abstract_is_shorter() -> None:
    html = _html("product-2024-report")
    start = html.index('<div class="abstract product-page-abstract">')
    end = html.index("</div>", start) + len("</div>")
    short = html[:start] + '<div class="abstract product-page-abstract"><p>Short.</p></div>'
    details = rand.RandProductPage(RRA650, short + html[end:]).details()
    assert details.abstract == (
        "Neither China nor Russia has a formal doctrine or strategy for security "
        "cooperation—yet both use it to gain access and influence.\n\nThe authors compare…"
    )


def test_journal_of_external_publication() -> None:
    url = "https://www.rand.org/pubs/external_publications/EP70123.html"
    journal = "Survival: Global Politics and Strategy"
    assert _details("product-journal-article", url).journal == journal
    without_meta = _html("product-journal-article").replace("citation_journal_title", "x-journal")
    details = rand.RandProductPage(url, without_meta).details()
    assert details.journal == journal  # from "Published in:"
    report = _details("product-2024-report", RRA650)
    assert report.journal is None


def test_out_of_range_dates_leave_published_on_empty() -> None:
    details = _details(
        "product-date-out-of-range", "https://www.rand.org/pubs/research_briefs/RBA999-1.html"
    )
    assert details.published_on is None
    assert details.date_text == "Published Jan 1, 0001"


# --- hostile input ----------------------------------------------------------------------------

HOSTILE = [
    "",
    "   ",
    "\x00\x01\x02binary\xff\xfe",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "<html><head><meta name='citation_title' content='Cut'></head><body><main id='page-content'>"
    "<div class='product-header'><h1 id='RANDTitleHeadingId'>Cut</h1><p class='type-published'>",
    "<main id='page-content'><ul class='teasers list'><li><div class='text'><h3 class='title'>"
    "<a href='javascript:void(0)'>x</a></h3><p class='date'>0001-01-01",
    "<div id='results'><ul class='teasers list'><li><h3 class='title'><a href='http://[::1'>"
    "Bad IPv6</a></h3></li></ul><div class='pagination-wrap'><a href='http://[x'>2</a></div></div>",
    "<" * 5000,
]


def _random_markup(seed: int) -> str:
    rng = random.Random(seed)
    pieces = [
        "<ul class='teasers list'>",
        "<li>",
        "<h3 class='title'>",
        "<a href='/pubs/x.html'>",
        "</a>",
        "<p class='date'>",
        "Apr 6, 2022",
        "9999-12-31",
        "</p>",
        "<div id='download'>",
        "<span class='format-pdf'>",
        "<a href='/x.summary.pdf'>",
        "$39.00",
        "16.4 MB",
        "<tr>",
        "<td class='list-price'>",
        "<div class='product-header'>",
        "<h1 id='RANDTitleHeadingId'>",
        "ResearchPublished Apr 6, 2022",
        "&mdash;",
        "&#0;",
        "<meta name='citation_abstract' content='<p>x'>",
        "\x00",
        "</div>",
        "</li>",
        "</ul>",
    ]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 80)))


@pytest.mark.parametrize("html", HOSTILE + [_random_markup(seed) for seed in range(40)])
def test_hostile_html_never_raises(html: str | bytes) -> None:
    listing = rand.RandTopicPage("https://www.rand.org/topics/x.html", html).parse()
    assert isinstance(listing, rand.TopicListing)
    details = rand.RandProductPage("https://www.rand.org/pubs/x.html", html).parse()
    assert isinstance(details, PublicationDetails | DetailFailure)


def test_empty_page_is_a_detail_failure() -> None:
    assert isinstance(
        rand.RandProductPage("https://www.rand.org/pubs/x.html", "").parse(), DetailFailure
    )


def test_site_2024_has_a_product_page_for_every_listed_publication() -> None:
    urls: set[str] = set()
    for path in sorted((SITE_2024 / "topics").glob("maritime-security*.html")):
        url = "https://www.rand.org/topics/maritime-security.html"
        listing = rand.RandTopicPage(url, path.read_text(encoding="utf-8"))
        urls |= {e.url for e in listing.listing().entries}
    assert len(urls) == 18
    for url in urls:
        path = Path(SITE_2024, url.removeprefix("https://www.rand.org/"))
        details = rand.RandProductPage(url, path.read_text(encoding="utf-8")).details()
        assert isinstance(details, PublicationDetails) and details.published_on is not None


def test_unmarked_teasers_after_the_list_are_not_featured() -> None:
    more = (
        '<aside class="more-from-rand"><ul class="teasers"><li><div class="text">'
        '<h3 class="title"><a href="/pubs/other.html">More from RAND</a></h3></div></li></ul>'
        "</aside></main>"
    )
    html = NEW_TEASER.replace("</main>", more)
    result = rand.RandTopicPage("https://www.rand.org/topics/x.html", html).listing()
    assert [e.title for e in result.entries] == ["Securing Sea Lanes", "Listed"]


def test_origin_line_is_not_read_as_type_and_date() -> None:
    html = """<html><head><meta name="citation_title" content="T"></head><body>
    <main id="page-content"><div class="product-header"><h1 id="RANDTitleHeadingId">T</h1>
    <p class="origin">This commentary originally appeared on The Hill on February 27, 2024</p>
    </div></main></body></html>"""
    result = rand.RandProductPage("https://www.rand.org/pubs/commentary/2024/02/t.html", html)
    details = result.details()
    assert details.product_type is None and details.published_on is None


@pytest.mark.parametrize(
    ("printed", "count"), [("1,024", 1024), ("454 pages", 454), ("99999999999", None), ("0", None)]
)
def test_page_count_is_a_number_a_document_can_have(printed: str, count: int | None) -> None:
    html = f"""<html><head><meta name="citation_title" content="T"></head><body>
    <main id="page-content"><div class="product-header"><h1 id="RANDTitleHeadingId">T</h1></div>
    <div class="document-details"><ul><li>Pages: {printed}</li></ul></div></main></body></html>"""
    details = rand.RandProductPage("https://www.rand.org/pubs/research_reports/RR1.html", html)
    assert details.details().page_count == count
