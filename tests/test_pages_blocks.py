"""Finding blocks by what a reader sees (crawler/pages/blocks.py), on small pieces of markup."""

from __future__ import annotations

from parsel import Selector

from crawler.pages.blocks import (
    columns,
    data_rows,
    heading_before,
    headings_named,
    labelled_items,
    section_after,
    text_blocks,
)
from crawler.pages.common import text_of


def _page(body: str) -> Selector:
    return Selector(text=f"<html><body><main>{body}</main></body></html>")


def test_section_after_stops_at_the_next_heading_of_its_rank() -> None:
    page = _page(
        "<h2>Key Findings</h2><h3>One</h3><ul><li>a</li></ul><h3>Two</h3><p>b</p>"
        "<h2>Recommendations</h2><ul><li>c</li></ul>"
    )
    (heading,) = headings_named(page, ["key  findings:"])  # compared as a reader would
    assert [text_of(n) for n in section_after(heading)] == ["One", "a", "Two", "b"]


def test_section_after_climbs_out_of_a_wrapper_holding_only_the_heading() -> None:
    page = _page(
        '<div class="x"><h2>Topics</h2></div><ul><li><a href="/topics/a.html">A</a></li></ul>'
        "<section><h2>Other</h2><p>not a topic</p></section>"
    )
    (heading,) = headings_named(page, ["Topics"])
    assert [text_of(n) for n in section_after(heading)] == ["A"]


def test_heading_before_is_the_nearest_line_and_never_skips_a_paragraph() -> None:
    page = _page(
        "<h2>Download</h2>"
        '<div><p class="q">Full Report</p><table id="a"><tr><td>x</td></tr></table></div>'
        "<div><p>Use Adobe Acrobat Reader.</p><table id='b'><tr><td>y</td></tr></table></div>"
    )
    assert text_of(heading_before(page.css("#a")[0])) == "Full Report"
    assert heading_before(page.css("#b")[0]) is None  # a sentence is not a heading


def test_columns_and_rows_follow_the_header_cells_through_colspan() -> None:
    table = _page(
        "<table><thead><tr><th colspan='2'>Format</th><th>List Price</th><th>Price</th></tr>"
        "</thead><tbody><tr><td><button>Add</button></td><td>Paperback</td>"
        "<td>$39.00</td><td>$31.20</td></tr></tbody></table>"
    ).css("table")[0]
    named = columns(table)
    assert named == {"format": 0, "list price": 2, "price": 3}
    (row,) = data_rows(table)
    assert text_of(row[named["price"]]) == "$31.20" and text_of(row[1]) == "Paperback"


def test_a_first_row_of_data_is_not_a_header() -> None:
    table = _page("<table><tr><th>DOI</th><td>10.7249/RR1</td></tr></table>").css("table")[0]
    assert columns(table) == {} and len(data_rows(table)) == 1


def test_labelled_items_in_every_shape_a_page_prints_them() -> None:
    page = _page(
        '<ul><li><span class="k">Document Number:</span> RR-1</li></ul>'
        "<dl><dt>DOI</dt><dd>10.7249/RR1</dd></dl>"
        "<table><tr><th>Pages</th><td>88</td></tr></table>"
        "<p>Prose, with a comma: not a label.</p><p>Note: any label counts here.</p>"
    )
    found = [(label, value) for label, value, _ in labelled_items(page)]
    assert found == [
        ("document number", "RR-1"),
        ("doi", "10.7249/RR1"),
        ("pages", "88"),
        ("note", "any label counts here."),  # which labels matter is the page object's call
    ]


def test_text_blocks_split_inline_pieces_that_a_reader_sees_as_lines() -> None:
    teaser = _page(
        '<div class="t"><h3><a href="/x">Title</a></h3>'
        "<div class='m'><span>Report</span> · <span>Mar 12, 2024</span></div>"
        "<p>One <em>whole</em> sentence.</p><img src='x.jpg' alt='photo'></div>"
    )
    blocks = text_blocks(teaser.css("div.t")[0], skip=lambda n: n.root.tag == "h3")
    assert [text_of(b) for b in blocks] == ["Report", "Mar 12, 2024", "One whole sentence."]
