"""Write the demo's second publisher, catalog/demo_institute_site/: a WordPress-like think tank.

Run by ``scripts/make_demo_site.py`` (or alone: ``python scripts/make_demo_institute.py``),
then check the diff. No page object of its own reads this site: the generic reader does,
from what WordPress with Yoast SEO serves, messy parts included:

- ``/tag/security-cooperation/``: the tag's archive page, linking the site's feed, its comments
  feed and the tag's own feed in its ``<head>``;
- ``/tag/security-cooperation/feed/``: the tag's RSS 2.0 feed, ten posts a page, paged with
  ``?paged=N`` and never saying so (WordPress's way: a page past the last answers 404); CDATA
  descriptions with entities and the "The post ... appeared first on ..." line, several
  ``dc:creator`` for co-authored posts, categories;
- ``/analysis/YYYY/MM/<slug>/``: each post's page, with Yoast's JSON-LD ``@graph`` and
  OpenGraph; reports add Highwire ``citation_*`` tags and a PDF. One post listed in the feed
  was taken down: its page is gone (404).

The records' URLs are under ``catalog.demo.DEMO_INSTITUTE_ORIGIN`` (a reserved name), whatever
port the site is served on.
"""

from __future__ import annotations

import html
import json
import sys
import zlib
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from catalog.demo import DEMO_INSTITUTE_ORIGIN  # noqa: E402

SITE = REPO / "catalog" / "demo_institute_site"
NAME = "Meridian Institute for Security Studies"
SHORT = "Meridian Institute"
TAG = ("security-cooperation", "Security Cooperation")
PER_PAGE = 4
# (slug, published (UTC), kind, title, summary, authors, tags, report number or None, gone)
POSTS = [
    ("shared-airspace-baltic-air-policing", "2024-03-14T13:00:00", "Report",
     "Shared Airspace: Baltic Air Policing After Finland and Sweden Joined NATO",
     "Finland and Sweden&#8217;s accession doubled the alliance&#8217;s Baltic coastline. This report asks how allies should divide air policing and air defense across the region&#8212;and what it will cost.",
     ["Astrid Halvorsen", "Tomasz Wierzbicki", "Leila Haddad"],
     ["NATO", "Baltic Sea", "Air Defense", "Security Cooperation"], "MI-RR-2024-03", False),
    ("japan-philippines-reciprocal-access", "2024-03-12T22:15:07", "Commentary",
     "Japan and the Philippines Sign a Reciprocal Access Agreement: What It Means for the Alliance Network",
     "Tokyo and Manila will let each other&#8217;s forces train on their soil. The deal adds another thread to a web of U.S.-aligned partnerships in Asia.",
     ["Kenji Morimoto"], ["Japan", "Philippines", "Alliances", "Security Cooperation"], None, False),
    ("coast-guard-cooperation-pacific-islands", "2024-03-07T09:30:00", "Issue Brief",
     "Coast Guard Cooperation in the Pacific Islands",
     "Illegal fishing and drug trafficking strain small island states. Shiprider agreements let partner officers board vessels from allied cutters: a cheap, effective form of security cooperation.",
     ["Mele Tupou", "Daniel Okoro"], ["Pacific Islands", "Maritime Security", "Security Cooperation"], "MI-IB-2024-02", False),
    ("training-missions-sahel-lessons", "2024-02-28T16:40:12", "Commentary",
     "What Training Missions in the Sahel Taught Europe",
     "A decade of European training missions in Mali and Niger ended with coups. The lessons for security force assistance elsewhere are uncomfortable ones.",
     ["Claire Fontaine"], ["Sahel", "Security Force Assistance", "Security Cooperation"], None, False),
    ("arms-transfers-and-partnerships-gulf", "2024-02-20T11:00:00", "Report",
     "Arms Transfers and Security Partnerships in the Gulf",
     "Gulf states now buy from many suppliers. Their choices say as much about the partnerships they want as about the weapons they need.",
     ["Omar Al-Rashid", "Hannah Whitfield"], ["Gulf", "Arms Transfers", "Security Cooperation"], "MI-RR-2024-01", False),
    ("a-post-that-was-taken-down", "2024-02-14T08:00:00", "Commentary",
     "Alliance Burden Sharing: A Preview",
     "An early look at how allies count their contributions to collective defense.",
     ["Astrid Halvorsen"], ["Alliances", "Security Cooperation"], None, True),
    ("interoperability-without-integration", "2024-02-06T10:15:00", "Analysis",
     "Interoperability Without Integration: NATO and Its Indo-Pacific Partners",
     "Australia, Japan, New Zealand and South Korea work ever more closely with NATO. None wants to join it, and none needs to.",
     ["Leila Haddad", "Kenji Morimoto"], ["NATO", "Indo-Pacific", "Alliances", "Security Cooperation"], None, False),
    ("black-sea-maritime-security", "2024-01-25T14:00:00", "Issue Brief",
     "Unlocking the Black Sea: Maritime Security Cooperation with Romania and Bulgaria",
     "Romania and Bulgaria guard the alliance&#8217;s Black Sea coast with small navies. Closer cooperation on mine countermeasures would make the allied presence there count for more.",
     ["Ioana Dragomir", "Petar Ivanov"], ["Black Sea", "Maritime Security", "Security Cooperation"], "MI-IB-2024-01", False),
    ("space-partnerships-allies", "2024-01-16T12:00:00", "Commentary",
     "Why Allies Are Building Space Partnerships",
     "Shared satellite constellations and data-sharing agreements are the newest form of security cooperation among allies.",
     ["Tomasz Wierzbicki"], ["Space", "Alliances", "Security Cooperation"], None, False),
    ("defense-industrial-cooperation-europe", "2024-01-04T09:00:00", "Report",
     "Europe&#8217;s Defense-Industrial Cooperation: A Progress Report",
     "European states pledged to buy more weapons together. Two years on, joint procurement covers less than a fifth of equipment spending.",
     ["Claire Fontaine", "Astrid Halvorsen"], ["Europe", "Defense Industry", "Security Cooperation"], "MI-RR-2023-12", False),
]  # fmt: skip


def url_of(slug: str, when: str) -> str:
    return f"{DEMO_INSTITUTE_ORIGIN}/analysis/{when[:4]}/{when[5:7]}/{slug}/"


def plain(text: str) -> str:
    """Text with WordPress's entities decoded, for attributes and JSON."""
    return html.unescape(text)


def rfc822(when: str) -> str:
    moment = datetime.fromisoformat(when).replace(tzinfo=timezone.utc)
    return format_datetime(moment)


def item(post: tuple) -> str:
    slug, when, kind, title, summary, authors, tags, _number, _gone = post
    url = url_of(slug, when)
    creators = "\n".join(f"\t\t<dc:creator><![CDATA[{a}]]></dc:creator>" for a in authors)
    categories = "\n".join(f"\t\t<category><![CDATA[{t}]]></category>" for t in [kind, *tags])
    return f"""	<item>
		<title>{title}</title>
		<link>{url}</link>
		<comments>{url}#respond</comments>
{creators}
		<pubDate>{rfc822(when)}</pubDate>
{categories}
		<guid isPermaLink="false">{DEMO_INSTITUTE_ORIGIN}/?p={zlib.crc32(slug.encode()) % 90000 + 10000}</guid>

		<description><![CDATA[<p>{summary}</p>
<p>The post <a href="{url}">{title}</a> appeared first on <a href="{DEMO_INSTITUTE_ORIGIN}">{SHORT}</a>.</p>
]]></description>
	</item>"""


def feed(posts: list[tuple], page: int) -> str:
    tag, name = TAG
    items = "\n".join(item(p) for p in posts)
    return f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:atom="http://www.w3.org/2005/Atom"
	xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
	>

<channel>
	<title>{name} Archives - {SHORT}</title>
	<atom:link href="{DEMO_INSTITUTE_ORIGIN}/tag/{tag}/feed/{f"?paged={page}" if page > 1 else ""}" rel="self" type="application/rss+xml" />
	<link>{DEMO_INSTITUTE_ORIGIN}/tag/{tag}/</link>
	<description>Independent research on alliances and security</description>
	<lastBuildDate>{rfc822(POSTS[0][1])}</lastBuildDate>
	<language>en-US</language>
	<sy:updatePeriod>
	hourly	</sy:updatePeriod>
	<sy:updateFrequency>
	1	</sy:updateFrequency>
	<generator>https://wordpress.org/?v=6.4.3</generator>
{items}
	</channel>
</rss>
"""


def tag_page() -> str:
    tag, name = TAG
    return f"""<!DOCTYPE html>
<html lang="en-US">
<head>
	<meta charset="UTF-8">
	<title>{name} Archives - {SHORT}</title>
	<link rel="canonical" href="{DEMO_INSTITUTE_ORIGIN}/tag/{tag}/" />
	<meta property="og:type" content="article" />
	<meta property="og:title" content="{name} Archives - {SHORT}" />
	<meta property="og:site_name" content="{SHORT}" />
	<link rel="alternate" type="application/rss+xml" title="{SHORT} &raquo; Feed" href="{DEMO_INSTITUTE_ORIGIN}/feed/" />
	<link rel="alternate" type="application/rss+xml" title="{SHORT} &raquo; Comments Feed" href="{DEMO_INSTITUTE_ORIGIN}/comments/feed/" />
	<link rel="alternate" type="application/rss+xml" title="{SHORT} &raquo; {name} Tag Feed" href="{DEMO_INSTITUTE_ORIGIN}/tag/{tag}/feed/" />
</head>
<body class="archive tag tag-{tag}">
<main id="main"><h1 class="archive-title">{name}</h1>
{"".join(f'<article><h2><a href="{url_of(p[0], p[1])}">{p[3]}</a></h2></article>' for p in POSTS)}
</main>
</body>
</html>
"""


def person_id(name: str) -> str:
    return (
        f"{DEMO_INSTITUTE_ORIGIN}/#/schema/person/{name.lower().replace(' ', '-').replace('.', '')}"
    )


def article(post: tuple) -> str:
    slug, when, kind, title, summary, authors, tags, number, _gone = post
    url = url_of(slug, when)
    published = f"{when}+00:00"
    pdf = (
        f"{DEMO_INSTITUTE_ORIGIN}/wp-content/uploads/{when[:4]}/{when[5:7]}/{number}.pdf"
        if number
        else None
    )
    graph = [
        {
            "@type": "Article",
            "@id": f"{url}#article",
            "isPartOf": {"@id": url},
            "author": [{"@id": person_id(a)} for a in authors],
            "headline": title,  # as WordPress writes it, entities and all
            "datePublished": published,
            "dateModified": published,
            "mainEntityOfPage": {"@id": url},
            "publisher": {"@id": f"{DEMO_INSTITUTE_ORIGIN}/#organization"},
            "keywords": tags,
            "articleSection": [kind, "Analysis &amp; Research"],
            "inLanguage": "en-US",
        },
        {
            "@type": "WebPage",
            "@id": url,
            "url": url,
            "name": f"{plain(title)} - {SHORT}",
            "isPartOf": {"@id": f"{DEMO_INSTITUTE_ORIGIN}/#website"},
            "datePublished": published,
            "description": plain(summary),
            "inLanguage": "en-US",
        },
        {
            "@type": "WebSite",
            "@id": f"{DEMO_INSTITUTE_ORIGIN}/#website",
            "url": f"{DEMO_INSTITUTE_ORIGIN}/",
            "name": SHORT,
            "publisher": {"@id": f"{DEMO_INSTITUTE_ORIGIN}/#organization"},
        },
        {
            "@type": "Organization",
            "@id": f"{DEMO_INSTITUTE_ORIGIN}/#organization",
            "name": NAME,
            "url": f"{DEMO_INSTITUTE_ORIGIN}/",
        },
        *[
            {"@type": "Person", "@id": person_id(a), "name": a,
             "url": f"{DEMO_INSTITUTE_ORIGIN}/expert/{a.lower().replace(' ', '-').replace('.', '')}/"}
            for a in authors
        ],
    ]  # fmt: skip
    schema = json.dumps({"@context": "https://schema.org", "@graph": graph}, ensure_ascii=False)
    highwire = ""
    if number:
        highwire = "\n".join(
            [
                f'<meta name="citation_title" content="{html.escape(plain(title))}" />',
                *[
                    f'<meta name="citation_author" content="{a.split()[-1]}, {" ".join(a.split()[:-1])}" />'
                    for a in authors
                ],
                f'<meta name="citation_publication_date" content="{when[:4]}/{when[5:7]}/{when[8:10]}" />',
                f'<meta name="citation_publisher" content="{NAME}" />',
                f'<meta name="citation_technical_report_number" content="{number}" />',
                f'<meta name="citation_pdf_url" content="{pdf}" />',
            ]
        )
    byline = ", ".join(
        f'<a href="/expert/{a.lower().replace(" ", "-").replace(".", "")}/">{a}</a>'
        for a in authors
    )
    download = (
        f'<div class="wp-block-buttons"><div class="wp-block-button"><a class="wp-block-button__link" href="{pdf}">Download the full report</a></div></div>'
        if pdf
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<!-- This site is optimized with the Yoast SEO plugin v21.9.1 - https://yoast.com/wordpress/plugins/seo/ -->
<title>{title} - {SHORT}</title>
<meta name="description" content="{html.escape(plain(summary))}" />
<link rel="canonical" href="{url}" />
<meta property="og:locale" content="en_US" />
<meta property="og:type" content="article" />
<meta property="og:title" content="{html.escape(plain(title))} - {SHORT}" />
<meta property="og:description" content="{html.escape(plain(summary))}" />
<meta property="og:url" content="{url}" />
<meta property="og:site_name" content="{SHORT}" />
<meta property="article:publisher" content="https://www.facebook.com/MeridianInstitute" />
<meta property="article:published_time" content="{published}" />
<meta name="author" content="{", ".join(authors)}" />
<meta name="twitter:card" content="summary_large_image" />
<script type="application/ld+json" class="yoast-schema-graph">{schema}</script>
<!-- / Yoast SEO plugin. -->
{highwire}
<link rel="alternate" type="application/rss+xml" title="{SHORT} &raquo; Feed" href="{DEMO_INSTITUTE_ORIGIN}/feed/" />
</head>
<body class="post-template-default single single-post">
<header class="site-header"><nav><a href="/">Home</a> <a href="/about/">About</a> <a href="/wp-content/uploads/2023/annual-report.pdf">Annual report</a></nav></header>
<main id="main" class="site-main">
<article class="post type-post status-publish">
  <p class="eyebrow">{kind}</p>
  <h1 class="entry-title">{title}</h1>
  <p class="byline">By {byline}</p>
  <div class="entry-content">
    <p>{summary}</p>
    {download}
    <p>Security cooperation is what allies and partners do together between crises: training, exercises, arms transfers and shared planning. This piece looks at one part of that work and at what it has achieved.</p>
  </div>
</article>
</main>
<footer><p>{NAME} is an independent, nonpartisan research organization.</p></footer>
</body>
</html>
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def write_institute_site(root: Path = SITE) -> None:
    """The whole site: robots.txt, the tag page, the feed's pages and the posts' pages."""
    tag = TAG[0]
    write(
        root / "robots.txt",
        "User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n",
    )
    write(root / "tag" / tag / "index.html", tag_page())
    pages = [POSTS[i : i + PER_PAGE] for i in range(0, len(POSTS), PER_PAGE)]
    for number, posts in enumerate(pages, start=1):
        name = "index.xml" if number == 1 else f"index--page-{number}.xml"
        write(root / "tag" / tag / "feed" / name, feed(posts, number))
    for post in POSTS:
        if post[-1]:  # taken down: the feed still lists it, its page is gone
            continue
        slug, when = post[0], post[1]
        write(root / "analysis" / when[:4] / when[5:7] / slug / "index.html", article(post))


if __name__ == "__main__":
    write_institute_site()
