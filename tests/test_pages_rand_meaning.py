"""RAND pages read by meaning, not by class names (issue 16).

The stored ``*-renamed-classes`` cases are copies of real-markup cases whose blocks carry class
names and ids the parser has never seen. Each must give exactly the record of the case it was
copied from, and differ from it in nothing but class names and ids: so the fixtures prove that
downloads, purchase, document details, abstract, topics and teaser lines are found by their
headings, column headers, labels and wording. The other tests name single behaviours.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html
from parsel import Selector

from catalog.records import PublicationDetails
from crawler.pages import rand
from crawler.pages.rand import details as rand_details
from crawler.pages.rand import downloads, listing, product
from tests.conftest import FIXTURES

CASES = FIXTURES / "pages" / "rand"
PAGE_OBJECTS = {"RandTopicPage": rand.RandTopicPage, "RandProductPage": rand.RandProductPage}


def _meta(case: Path) -> dict[str, Any]:
    return json.loads((case / "meta.json").read_text(encoding="utf-8"))


RENAMED = sorted(
    c.parent for c in CASES.glob("*/meta.json") if "same_content_as" in _meta(c.parent)
)
RENAMED_IDS = [c.name for c in RENAMED]

# Every class selector the page objects hold for the blocks these cases rename; in a renamed
# case none may find anything (else the case would prove nothing). The product header and the
# teaser list itself (title, image, pagination) keep RAND's classes: they are not renamed.
PRODUCT_CLASS_SELECTORS = [
    *product.ABSTRACT,
    *downloads.DOWNLOAD_SCOPES,
    *downloads.PDF_BUTTONS,
    downloads.PRINT_ROWS,
    product.RELATED_TOPICS,
    *rand_details.DOCUMENT_DETAILS,
    rand_details.SERIES,
    # classes read inside those blocks
    "span.format-pdf",
    "span.format-epub",
    "[class*=epub]",
    "td.format",
    "td.price",
    "td.list-price",
    "span.isbn",
    "span.doi",
    ".download-block",
    ".download-label",
]
TOPIC_CLASS_SELECTORS = [*listing.TEASER_TYPE, *listing.TEASER_DATE, *listing.TEASER_SUMMARY]


def _parse(case: Path) -> dict[str, Any]:
    meta = _meta(case)
    html = (case / "input.html").read_text(encoding="utf-8")
    return PAGE_OBJECTS[meta["page_object"]](meta["url"], html).parse().to_dict()


def _expected(case: Path) -> dict[str, Any]:
    return json.loads((case / "expected.json").read_text(encoding="utf-8"))


def _original(case: Path) -> Path:
    return CASES / _meta(case)["same_content_as"]


def _without_classes(case: Path) -> bytes:
    """The page with every class and id attribute removed: what is left is its content."""
    tree = lxml_html.fromstring((case / "input.html").read_bytes())
    for element in tree.iter():
        if isinstance(element.tag, str):
            element.attrib.pop("class", None)
            element.attrib.pop("id", None)
    return lxml_html.tostring(tree, encoding="utf-8")


def test_both_layouts_of_both_page_kinds_have_a_renamed_class_case() -> None:
    originals = {_meta(case)["same_content_as"] for case in RENAMED}
    assert {
        "product-report",  # older product layout
        "product-2024-report",
        "topic-first-page",  # older listing layout
        "topic-2024-first-page",
    } <= originals


@pytest.mark.parametrize("case", RENAMED, ids=RENAMED_IDS)
def test_renamed_classes_give_the_record_of_the_real_classes(case: Path) -> None:
    original = _original(case)
    assert _meta(case)["page_object"] == _meta(original)["page_object"]
    assert _meta(case)["url"] == _meta(original)["url"]
    assert _parse(case) == _parse(original)
    assert _expected(case) == _expected(original)


@pytest.mark.parametrize("case", RENAMED, ids=RENAMED_IDS)
def test_renamed_case_differs_from_its_original_in_class_names_only(case: Path) -> None:
    original = _original(case)
    assert _without_classes(case) == _without_classes(original)
    product = _meta(case)["page_object"] == "RandProductPage"
    selectors = PRODUCT_CLASS_SELECTORS if product else TOPIC_CLASS_SELECTORS
    renamed = Selector(text=(case / "input.html").read_text(encoding="utf-8"))
    before = Selector(text=(original / "input.html").read_text(encoding="utf-8"))
    still_found = [css for css in selectors if renamed.css(css)]
    assert not still_found, f"the parser's class selectors still match: {still_found}"
    assert sum(bool(before.css(css)) for css in selectors) >= 3  # the original used them


# --- listings: type, date and summary by what they say ----------------------------------------

TOPIC_URL = "https://www.rand.org/topics/maritime-security.html"


def _teaser(text: str) -> Any:
    html = (
        '<main id="page-content"><div id="results"><ul class="teasers list"><li>'
        f'<div class="text">{text}</div></li></ul></div></main>'
    )
    (entry,) = rand.RandTopicPage(TOPIC_URL, html).listing().entries
    return entry


TITLE = '<h3 class="title"><a href="/pubs/research_reports/RRA1-1.html">Sea Lanes</a></h3>'


def test_teaser_lines_are_read_by_what_they_say_even_under_misleading_classes() -> None:
    entry = _teaser(
        f'<p class="date">Research Brief</p>{TITLE}<p class="type">Apr 6, 2022</p>'
        '<p class="x-copy">Allied navies patrol the same waters with little coordination.</p>'
    )
    assert entry.content_type == "Research Brief"
    assert (entry.date_text, entry.published_on.isoformat()) == ("Apr 6, 2022", "2022-04-06")
    assert entry.summary == "Allied navies patrol the same waters with little coordination."


def test_a_type_label_never_seen_before_is_read_beside_the_date_or_above_the_title() -> None:
    beside = _teaser(
        f'{TITLE}<div class="m"><span class="a">Explainer</span> · '
        '<span class="b">Mar&nbsp;3, 2024</span></div>'
    )
    assert (beside.content_type, beside.date_text) == ("Explainer", "Mar 3, 2024")
    above = _teaser(f'<p class="k">Explainer</p>{TITLE}<p class="s">Sept. 3, 2020</p>')
    assert above.content_type == "Explainer" and above.published_on.isoformat() == "2020-09-03"


def test_date_rand_prints_in_no_form_we_parse_is_still_the_date_line() -> None:
    entry = _teaser(f'{TITLE}<p class="s">Winter 2020</p><p class="d">Dated only by season.</p>')
    assert (entry.date_text, entry.published_on) == ("Winter 2020", None)
    assert entry.summary == "Dated only by season." and entry.content_type == ""


def test_classes_still_help_where_the_wording_cannot() -> None:
    entry = _teaser(f'{TITLE}<p class="type">Q&amp;A Series 7</p><p class="desc">Short blurb</p>')
    assert (entry.content_type, entry.summary) == ("Q&A Series 7", "Short blurb")


def test_menu_teasers_stay_out_with_renamed_classes() -> None:
    case = CASES / "topic-2024-first-page-renamed-classes"
    titles = {e["title"] for e in _parse(case)["entries"]}
    assert "A Menu Teaser That Is Not in This Topic" not in titles and len(titles) == 6


# --- product pages: blocks by heading, column headers and labels ------------------------------

URL = "https://www.rand.org/pubs/research_reports/RRA9-1.html"
PDF = "https://www.rand.org/content/dam/rand/pubs/research_reports/RRA900/RRA9-1/"


def _product(body: str, head: str = '<meta name="citation_title" content="T">') -> Any:
    html = (
        f"<html><head>{head}</head><body><main id='page-content'>"
        f"<div class='product-header'><h1 id='RANDTitleHeadingId'>T</h1></div>{body}"
        "</main></body></html>"
    )
    details = rand.RandProductPage(URL, html).details()
    assert isinstance(details, PublicationDetails), details
    return details


def test_price_columns_are_read_by_their_headers_in_any_order() -> None:
    details = _product(
        "<section class='q1'><h2>Purchase Print Copy</h2><table><tr><th></th><th>Format</th>"
        "<th>Price</th><th>List Price</th></tr><tr><td><button>Add to Cart</button></td>"
        "<td>Hardcover 210 pages</td><td>$31.20 <em>20% Web Discount</em></td>"
        "<td><s>$39.00</s></td></tr></table></section>"
    )
    assert (details.list_price, details.print_price) == ("$39.00", "$31.20")
    assert (details.print_format, details.page_count) == ("Hardcover", 210)


def test_print_table_under_its_heading_without_column_headers() -> None:
    details = _product(
        "<h2>Purchase Print Copy</h2><table><tr><td><button>Add to Cart</button></td>"
        "<td>Paperback454 pages</td><td>$49.95</td></tr></table>"
    )
    assert (details.print_format, details.list_price, details.print_price) == (
        "Paperback",
        "$49.95",
        "$49.95",
    )


def test_download_labels_come_from_the_line_above_each_table() -> None:
    def block(label: str, file: str, size: str) -> str:
        return (
            f"<div><p class='n'>{label}</p><table><tr><th>Format</th><th>File Size</th></tr>"
            f"<tr><td><a href='{PDF + file}'>PDF file</a></td><td>{size}</td></tr></table></div>"
        )

    details = _product(
        "<div class='dl'><h2>Download Free Electronic Document</h2>"
        + block("Research Summary", "RAND_RRA9-1.summary.pdf", "0.2 MB")
        + block("Full Report", "RAND_RRA9-1.pdf", "9 MB")
        + "</div>"
    )
    assert [(d.label, d.size) for d in details.downloads] == [
        ("Research Summary", "0.2 MB"),
        ("Full Report", "9 MB"),
    ]
    assert details.pdf_url == PDF + "RAND_RRA9-1.pdf"  # the summary is never the full document


def test_document_details_by_label_in_a_definition_list_with_a_series() -> None:
    details = _product(
        "<h2>Document Details</h2><dl><dt>Document Number</dt><dd>RR-A9-1</dd>"
        "<dt>Series</dt><dd>Research Reports</dd><dt>Pages</dt><dd>88</dd>"
        "<dt>Hardcover ISBN</dt><dd>978-1-9774-0000-1</dd></dl>"
    )
    assert (details.document_number, details.series, details.page_count) == (
        "RR-A9-1",
        "Research Reports",
        88,
    )
    assert details.isbn == "978-1-9774-0000-1"


def test_topics_under_their_heading_or_as_a_bare_list_of_topic_links() -> None:
    headed = _product(
        "<div class='r'><h2>Related Topics</h2></div><ul class='z'>"
        "<li><a href='/topics/china.html'>China</a></li></ul>"
        "<ul class='w'><li><a href='/about.html'>About</a></li></ul>"
    )
    assert [t.slug for t in headed.related_topics] == ["china"]
    bare = _product(
        "<ul class='w'><li><a href='/about.html'>About</a></li></ul><ul class='z'>"
        "<li><a href='/topics/japan.html'>Japan</a></li>"
        "<li><a href='/topics/navy.html?utm_source=x'>Navy</a></li></ul>"
    )
    assert [t.slug for t in bare.related_topics] == ["japan", "navy"]


def test_abstract_under_an_abstract_heading() -> None:
    details = _product(
        "<h2>Abstract</h2><p>Ports depend on networked cranes and gates.</p><p>Second.</p>"
        "<h2>Key Findings</h2><ul><li>One.</li></ul>"
    )
    assert details.abstract == "Ports depend on networked cranes and gates.\n\nSecond."


def test_a_commentary_body_under_an_unknown_class_is_not_an_abstract() -> None:
    details = _product(
        "<div class='article-copy'><p>Attacks on merchant ships in the Red Sea have shown how"
        " quickly a regional conflict can reach the world's supply chains.</p></div>"
    )
    assert details.abstract is None
