import random
from datetime import date

import pytest

from crawler.pages.common import (
    canonical_url,
    clean_text,
    date_problem,
    fragment_text,
    listing_page_url,
    page_number,
    parse_date,
)

TODAY = date(2026, 11, 23)  # injected: these tests must not depend on the clock


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Apr 28, 2022", date(2022, 4, 28)),
        ("Apr\xa028,  2022", date(2022, 4, 28)),
        ("April 28, 2022", date(2022, 4, 28)),
        ("Sept. 3, 2020", date(2020, 9, 3)),
        ("Sep 3, 2020", date(2020, 9, 3)),
        ("Published Aug 29, 2019", date(2019, 8, 29)),
        ("2019-08-29", date(2019, 8, 29)),
        ("2019-08-29T12:00:00Z", date(2019, 8, 29)),
        ("Winter 2020", None),
        ("Feb 30, 2021", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Apr 6, 2022", date(2022, 4, 6)),
        ("April 6, 2022", date(2022, 4, 6)),
        ("Apr. 6, 2022", date(2022, 4, 6)),
        ("Sept. 3, 2020", date(2020, 9, 3)),
        ("Sept 3, 2020", date(2020, 9, 3)),
        ("April 2022", date(2022, 4, 1)),
        ("Apr 2022", date(2022, 4, 1)),
        ("2022", date(2022, 1, 1)),
        ("2022-04-06", date(2022, 4, 6)),
        ("2022-04-06T10:15:00-07:00", date(2022, 4, 6)),
        ("2022-04-06 10:15:00", date(2022, 4, 6)),
        ("2021/6/4", date(2021, 6, 4)),
        ("2019/08/29", date(2019, 8, 29)),
        ("Published Apr 6, 2022", date(2022, 4, 6)),
        ("Published: April 6, 2022", date(2022, 4, 6)),
        ("PublishedApr 6, 2022", date(2022, 4, 6)),
        ("Published on Apr 6, 2022", date(2022, 4, 6)),
        ("  Apr\xa06,\n 2022 ", date(2022, 4, 6)),
        ("1946-01-01", date(1946, 1, 1)),
        ("2027-11-23", date(2027, 11, 23)),  # exactly a year ahead is still a date
    ],
)
def test_parse_date_formats(text, expected):
    assert parse_date(text, today=TODAY) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Jan 1, 0001",
        "0001-01-01",
        "0001-01-01T00:00:00Z",
        "Published Jan 1, 0001",
        "1945-12-31",
        "9999-12-31",
        "Dec 31, 9999",
        "9999/12/31",
        "2027-11-24",  # a year and a day ahead
    ],
)
def test_out_of_range_dates_are_not_dates(text):
    assert parse_date(text, today=TODAY) is None


def test_today_is_injectable():
    assert parse_date("Jun 1, 2030", today=date(2030, 1, 1)) == date(2030, 6, 1)
    assert parse_date("Jun 1, 2030", today=date(2026, 1, 1)) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Apr 6, 2022", None),
        ("2021/6/4", None),
        ("Published Apr 6, 2022", None),
        ("Winter 2020", "not a date we know"),
        ("Feb 30, 2021", "not a date we know"),
        ("soon", "not a date we know"),
        ("Jan 1, 0001", "before 1946"),
        ("1900", "before 1946"),
        ("9999-12-31", "more than a year ahead"),
        ("Dec 1, 2028", "more than a year ahead"),
        ("", "no date"),
        (None, "no date"),
    ],
)
def test_date_problem(text, problem):
    assert date_problem(text, today=TODAY) == problem


def test_hostile_strings_never_raise():
    rng = random.Random(20261123)
    alphabet = "0123456789/-:,. TZAprSeptJanPublished\x00\ufffd\u2028%"
    samples = ["", "\x00", "9" * 500, "2022-99-99T", "0000-00-00", "-1/-1/-1", "%Y", "\ud800"]
    for _ in range(500):
        samples.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))))
    for text in samples:
        value = parse_date(text, today=TODAY)
        assert value is None or date(1946, 1, 1) <= value <= date(2027, 11, 23)
        assert date_problem(text, today=TODAY) in (
            None,
            "no date",
            "not a date we know",
            "before 1946",
            "more than a year ahead",
        )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Plain text &amp; more", "Plain text & more"),
        ("<p>One <em>two</em></p><p>Three</p>", "One two\n\nThree"),
        ("&lt;p&gt;One&amp;mdash;two&lt;/p&gt;\n&lt;p&gt;Three&lt;/p&gt;", "One\u2014two\n\nThree"),
        ("Intro<p>Para</p>", "Intro\n\nPara"),
        ("Line<br>break", "Line\n\nbreak"),
        ("", ""),
        (None, ""),
    ],
)
def test_fragment_text(value, expected):
    assert fragment_text(value) == expected


def test_clean_text_collapses_whitespace_and_keeps_quotes():
    assert clean_text("  a\n\t b\xa0\xa0c “d” ") == "a b c “d”"


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/pubs/RR1.html", "https://www.rand.org/pubs/RR1.html"),
        ("/pubs/RR1.html#x", "https://www.rand.org/pubs/RR1.html"),
        ("/pubs/RR1.html?utm_source=a&utm_medium=b", "https://www.rand.org/pubs/RR1.html"),
        ("/pubs/RR1.html?fbclid=1&v=2", "https://www.rand.org/pubs/RR1.html?v=2"),
        ("HTTPS://WWW.RAND.ORG/pubs/RR1.html", "https://www.rand.org/pubs/RR1.html"),
        ("../pubs/RR1.html", "https://www.rand.org/pubs/RR1.html"),
    ],
)
def test_canonical_url(href, expected):
    assert canonical_url("https://www.rand.org/topics/x.html", href) == expected


def test_listing_page_urls_keep_only_the_page():
    url = "https://www.rand.org/topics/x.html?page=2&query=%22Security+Cooperation%22"
    assert page_number(url) == 2
    assert listing_page_url(url, 2) == "https://www.rand.org/topics/x.html?page=2"
    assert listing_page_url(url, 1) == "https://www.rand.org/topics/x.html"
    assert page_number("https://www.rand.org/topics/x.html?page=abc") == 1
