"""Write the demo site shipped in catalog/demo_site/: RAND-shaped topic listing pages.

Run by a person after changing the data below (``python scripts/make_demo_site.py``), then check
the diff. The pages copy rand.org's markup as described in the project's reference notes, messy
parts included: the header menu's own `ul.teasers.list`, entities and ragged whitespace, dates
before and after the summary, teasers with no image, a placeholder icon or no type, relative and
absolute links with tracking parameters, and pagination links carrying extra parameters.

It also writes the tests' local sites: tests/fixtures/site/ (a long topic for incremental
crawls) and tests/fixtures/site-2024/ (one topic in the 2024 layout, see write_2024_topic),
and the demo's second publisher, catalog/demo_institute_site/ (a WordPress-like think tank
the generic reader reads; see make_demo_institute.py).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import quote_plus

from make_demo_institute import write_institute_site  # noqa: E402 (beside this script)

from catalog.demo import DEMO_ORIGIN

REPO = Path(__file__).resolve().parent.parent
SITE = REPO / "catalog" / "demo_site"
# A long topic for the tests of incremental crawling: ten pages of five teasers each.
TEST_SITE = REPO / "tests" / "fixtures" / "site"
LONG_TOPIC = ("regional-security", "Regional Security", 10, 5)

# (type, title, summary, date, photo caption or None, path)
FEATURED = [
    (
        "Report",
        "Challenges of Deploying Ground-Based Intermediate-Range Missiles on Allied Lands",
        "The United States has been hoping to develop and deploy ground-based intermediate-range missiles to the Indo-Pacific. But what is the likelihood of its treaty allies in the region&mdash;Australia, Japan, the Philippines, South Korea, and Thailand&mdash;hosting these systems? Are there alternatives to permanent basing?",
        "Apr 28, 2022",
        "Flight test of a conventionally configured ground-launched cruise missile at San Nicolas Island, California, August 18, 2019, photo by Scott Howe/U.S. Department of Defense",
        "/pubs/research_reports/RRA393-3.html",
    ),
    (
        "Report",
        "Security Cooperation in a Strategic Competition",
        "Neither China nor Russia has a formal doctrine or strategy for security cooperation. How can the United States enhance its security cooperation policies and activities to its competitive advantage?",
        "Apr 6, 2022",
        "Fourth and fifth generation aircraft from eight countries participated in a partnership flight to kick-off Blue Flag 21, over Uvda Air Base, Israel, on Oct. 17, 2021, photo by Israeli Air Force",
        "/pubs/research_reports/RRA650-1.html",
    ),
]

LISTED = [
    (
        "Commentary",
        "Biden Puts Japan at the Center of U.S. Policy in Asia",
        "Addressing the Chinese threat in the Indo-Pacific requires working with allies and partners. So far, Japan appears to be one of the priority relationships for the Biden administration.",
        "Apr 12, 2021",
        "U.S. Defense Secretary Lloyd Austin and Secretary of State Antony Blinken with Japan&#39;s Defense Minister Nobuo Kishi and Minister for Foreign Affairs Toshimitsu Motegi at a joint press conference in Tokyo, March 16, 2021, photo by Yomiuri Shimbun/Reuters",
        "/blog/2021/04/biden-puts-japan-at-the-center-of-us-policy-in-asia.html",
    ),
    (
        "Commentary",
        "The Japan-U.S. Summit and Cooperation with South Korea",
        "The Biden administration&rsquo;s goal of renewed Japan&ndash;South Korea&ndash;U.S. trilateralism is laudable and promising, but substantial obstacles remain. The passage of time alone is not going to strengthen ties between South Korea and Japan.",
        "Apr 6, 2021",
        "U.S. Secretary of State Antony Blinken and Defense Secretary Lloyd Austin meet with Japanese Prime Minister Yoshihide Suga at the Prime Minister's office in Tokyo, Japan, March 16, 2021, photo by Eugene Hoshiko/Pool via Reuters",
        "/blog/2021/04/the-japan-us-summit-and-cooperation-with-south-korea.html?utm_source=topic&utm_medium=listing",
    ),
    (
        "Multimedia",
        "U.S.-Japan Alliance Conference: Advancing Cooperation on Defense and Strategic Technology",
        "In its ongoing U.S.-Japan Alliance conference series, RAND hosted two virtual events in February 2021 to tackle important topics facing the United States and Japan.",
        "Mar 31, 2021",
        "The modern creative communication and internet network connect in smart city, photo by Blue Planet Studio/AdobeStock",
        "/multimedia/video/2021/03/31/us-japan-alliance-conference.html",
    ),
    (
        "Commentary",
        "What to Expect When You&#x27;re Expecting So Much from the Quad",
        "In March, the leaders of the United States, Japan, India, and Australia met virtually for their first Quadrilateral Security Dialogue group meeting. What are the goals of the Quad? What tangibly can or will the Quad do and what does it look like in practice?",
        "Mar 31, 2021",
        "Australian Prime Minister Scott Morrison (R) and Minister for Foreign Affairs Marise Payne (L) participate in the inaugural Quad leaders meeting, March 13, 2021, photo by Dean Lewins/Reuters",
        # Absolute, as RAND sometimes links: to the demo's own origin (see catalog.demo), never
        # to www.rand.org, whose real records a demo must not touch.
        DEMO_ORIGIN + "/blog/2021/03/what-to-expect-when-youre-expecting-so-much-from-the.html",
    ),
    (
        "Multimedia",
        "Reimagining U.S. Strategy in the Middle East Panel Discussion",
        "The start of a new U.S. administration offers an opportunity to rethink some of the fundamental premises underlying American policymaking in the Middle East.",
        "Mar 29, 2021",
        "ICON",
        "/multimedia/video/2021/03/29/reimagining-us-strategy-in-the-middle-east.html",
    ),
    (
        "Commentary",
        "Congressional Options to Advance Peace in Yemen",
        "An enduring peace in Yemen will require addressing Yemen's most immediate needs while working to develop its economic, political, and security institutions.",
        "Mar 29, 2021",
        "People walk at a street market in Sanaa, Yemen, February 5, 2021, photo by Khaled Abdullah/Reuters",
        "/blog/2021/03/congressional-options-to-advance-peace-in-yemen.html#main",
    ),
    (
        "Report",
        "The U.S.-Japan Alliance and Rapid Change on the Korean Peninsula: Proceedings from a Pair of Conferences",
        "Few areas of the world are more geostrategically important to the United States and Japan than the Korean Peninsula. These conference proceedings explore how changes on the Korean Peninsula are seen by observers in Japan and the United States.",
        "Mar 26, 2021",
        "ICON",
        "/pubs/conf_proceedings/CFA1216-1.html",
    ),
    (
        "Commentary",
        "Reevaluating U.S. Partnerships in the Middle East Under the Biden Administration",
        "U.S. partnerships in the Middle East are in particular need of modernization, and the Biden administration could seize the opportunity to reevaluate its relations with traditional partners.",
        "Mar 17, 2021",
        "U.S. President Joe Biden delivers a nationally televised address to the nation in the East Room of the White House, March 11, 2021, photo by Chris Kleponis /Pool via CNP/Reuters",
        "/blog/2021/03/reevaluating-us-partnerships-in-the-middle-east-under.html",
    ),
    (
        "Commentary",
        "Vietnam Must Be Pleased with the Biden Administration&mdash;for the Most Part",
        "After four years of steadily strengthening U.S.-Vietnam security relations under the Trump administration, the presidential transition to Joe Biden naturally carries some measure of uncertainty for Hanoi.",
        "Mar 16, 2021",
        "Rear Adm. Jim Kirk, commander of the Nimitz Carrier Strike Group, observes ship formation from the USS Nimitz in the South China Sea, February 9, 2021, photo by Petty Officer 2nd Class Katarzyna Kobiljak/U.S. Navy",
        "/blog/2021/03/vietnam-must-be-pleased-with-the-biden-administration.html",
    ),
    (
        "Commentary",
        "Could the Bioweapons Treaty Be Another Tool for Addressing Pandemics?",
        "What might governments do to reduce the risk of future large-scale biological attacks or naturally occurring pandemics? Perhaps now is the right time to revisit the 46-year-old Biological Weapons Convention treaty.",
        "Mar 12, 2021",
        "U.S. Marines check a barrel for contamination during a training exercise at Marine Corps Air Station Miramar, April 30, 2013, photo by Sgt. Keonaona C. Paulo/U.S. Marine Corps",
        "/blog/2021/03/could-the-bioweapons-treaty-be-another-tool-for-addressing.html",
    ),
    (
        "Commentary",
        "Pathways to Peace in Yemen: National Reconciliation or a &lsquo;Phased&rsquo; Approach?",
        "Any pathway to an enduring peace in Yemen could take decades to recover from the economic, political, and social costs of this civil war.",
        "Mar 5, 2021",
        "A pro-government tribal fighter stands at his position in Marib, Yemen, October 2, 2020, photo by Ali Owidha/Reuters",
        "/blog/2021/03/pathways-to-peace-in-yemen.html",
    ),
    (
        "Commentary",
        "What the UAE Weapons Deal Says About the United States and Its Alliances",
        "Various U.S. administrations have long wanted U.S. allies to do more, but in many parts of the world the most logical partners are authoritarian states with different interests than those of the United States.",
        "Mar 1, 2021",
        "A U.S. Air Force 34th Expeditionary Fighter Squadron F-35 Lighting II conducts an inflight refueling above the United Arab Emirates, May 8, 2020, photo by Tech. Sgt. Kat Justen/U.S. Air Force",
        "/blog/2021/03/what-the-uae-weapons-deal-says-about-the-united-states.html",
    ),
    (
        "Commentary",
        "A Strong Japan-UK Alliance Needed to Counter China",
        "With Brexit behind it, Britain faces a question about what role it should play in the world. Assuming it wants to remain a power that can shape&mdash;but not dominate&mdash;international relations, it makes sense to partner with like-minded states, such as Japan.",
        "Feb 24, 2021",
        "Japan's Defence Minister Nobuo Kishi and Foreign Minister Toshimitsu Motegi attend a video conference at the Foreign Ministry in Tokyo, Japan, February 3, 2021, hoto by Franck Robichon/Reuters",
        "/blog/2021/02/a-strong-japan-uk-alliance-needed-to-counter-china.html",
    ),
    (
        "News Release",
        "Traditional U.S. Approaches to Middle East Not Working: Reimagined Strategy Would Lean Less on Massive Arms Sales, More ...",
        "U.S. policies in the Middle East are built on outdated &ldquo;legacy&rdquo; aid packages, massive arms sales, and a disproportionate focus on the Iranian threat that fail to advance American interests.",
        "Feb 23, 2021",
        "ICON",
        "/news/press/2021/02/23.html",
    ),
    (
        "Report",
        "Reimagining U.S. Strategy in the Middle East",
        "Long-standing U.S. policies in the Middle East that rely on defeating threats and keeping partners on &ldquo;our side&rdquo; have fallen short.",
        "Feb 23, 2021",
        "A view from space of the Middle East, West Asia, and East Europe at night, photo by wael alreweie/Getty Images",
        "/pubs/research_reports/RRA958-1.html",
    ),
    # page 2
    (
        "Report",
        "Reimagining U.S. Strategy in the Middle East: Sustainable Partnerships, Strategic Investments (Executive Summary)",
        "In this summary, researchers assess the advantages and trade-offs of a reimagined Middle East strategy where strategic goals link to a broader understanding of stability.",
        "Feb 22, 2021",
        None,
        "/pubs/research_reports/RRA958-2.html",
    ),
    (
        "Commentary",
        "Japanese Public Needs to Know SDF to Appreciate It",
        "Although Japan does not call the Self-Defense Forces (SDF) a military, externally it is widely respected as a modern armed force fielding advanced defense capabilities.",
        "Feb 19, 2021",
        "Members of Japan's Self-Defense Forces' infantry unit march during the annual SDF ceremony at Asaka Base, Japan, October 23, 2016, photo by Kim Kyung Hoon/Reuters",
        "/blog/2021/02/japanese-public-needs-to-know-sdf-to-appreciate-it.html",
    ),
    (
        "Testimony",
        "U.S. Allied and Partner Support for Taiwan",
        "As the Biden administration assesses its Taiwan policy, it is important to examine how U.S. allies and partners in the Indo-Pacific might respond to a potential conflict over Taiwan.",
        "Feb 18, 2021",
        "A Taiwanese coast guard points at a map showing the waters surrounding Matsu islands, January 28, 2021, photo by Ann Wang/Reuters",
        "/pubs/testimonies/CTA1194-1.html",
    ),
    (
        "Commentary",
        "Navigating Norms for the New Space Era",
        "To make better progress on global norms for responsible behavior in space, the U.S. defense and intelligence communities might first consider reaching a consensus among themselves on what these norms should be.",
        "Feb 8, 2021",
        "The United Launch Alliance Atlas V 541 rocket launches from Cape Canaveral, Florida, July 30, 2020, photo by Frank Michaux/NASA",
        "/blog/2021/02/navigating-norms-for-the-new-space-era.html",
    ),
    (
        "Commentary",
        "The United States and Japan Should Prepare for War with China",
        "The U.S.-Japan alliance is the cornerstone of peace, security, and stability in the East China Sea region. But is the alliance equipped, postured, and authorized to do what will need to be done in a conflict?",
        "Feb 5, 2021",
        "U.S. Navy sailors pull a line affixed to a combat rubber raiding craft in the Pacific Ocean, February 6, 2020, photo by Mass Communication Specialist 2nd Class Natalie M. Byers/U.S. Navy",
        "/blog/2021/02/the-united-states-and-japan-should-prepare-for-war-with.html",
    ),
    (
        "Report",
        "Building Partner Capacity in Africa: Lessons from Security Cooperation Programs",
        "U.S. security cooperation programs in Africa have expanded over two decades. This report assesses which approaches to building partner capacity produced lasting gains in partner forces.",
        "Jan 28, 2021",
        "Soldiers of a partner nation train with U.S. Army advisers, photo by U.S. Army Africa",
        "/pubs/research_reports/RRA211-1.html",
    ),
    (
        "Research Brief",
        "Measuring the Effectiveness of Security Cooperation",
        "Assessment, monitoring, and evaluation of security cooperation activities remains uneven across the Department of Defense. A common framework could help planners decide what works.",
        "Jan 21, 2021",
        None,
        "/pubs/research_briefs/RBA123-1.html",
    ),
    (
        "",
        "Alliance Burden-Sharing in the Indo-Pacific: A Roundtable Summary",
        "Participants discussed how allies weigh the costs and benefits of sharing defense burdens with the United States, and where expectations diverge.",
        "Jan 14, 2021",
        "Roundtable participants, photo by RAND Corporation",
        "/pubs/conf_proceedings/CFA1001-1.html",
    ),
    (
        "Commentary",
        "NATO&rsquo;s Next Strategic Concept Should Address China",
        "The alliance&rsquo;s 2010 Strategic Concept barely mentions China. A new concept is an opportunity for allies to agree on the challenges China poses to transatlantic security.",
        "Jan 7, 2021",
        "NATO flags at alliance headquarters in Brussels, photo by Yves Herman/Reuters",
        "/blog/2021/01/natos-next-strategic-concept-should-address-china.html",
    ),
    (
        "Report",
        "Security Cooperation with Partners in the Middle East: Managing Risk in Arms Transfers",
        "Arms transfers are a central tool of U.S. security cooperation in the Middle East. This report examines how the United States can weigh the risks of misuse against the benefits of partner alliances.",
        "Dec 17, 2020",
        "A fighter jet on the flight line, photo by U.S. Air Force",
        "/pubs/research_reports/RRA500-2.html",
    ),
    (
        "Commentary",
        "Why Allies Matter for Deterrence in the Baltic",
        "Deterrence in the Baltic region rests on the credibility of alliance commitments. Small investments by allies can change how adversaries calculate the risks of aggression.",
        "Dec 10, 2020",
        "Troops take part in a multinational exercise in Latvia, photo by Ints Kalnins/Reuters",
        "/blog/2020/12/why-allies-matter-for-deterrence-in-the-baltic.html",
    ),
    (
        "Tool",
        "Security Cooperation Planning Tool",
        "An interactive tool that helps planners match security cooperation activities to partner needs and track the objectives each activity serves.",
        "Dec 3, 2020",
        "ICON",
        "/pubs/tools/TLA100-1.html",
    ),
    (
        "Journal Article",
        "Alliances, Partnerships, and the Logic of Reassurance",
        "This article examines why states seek reassurance from allies and how the United States signals commitment through exercises, basing, and arms sales.",
        "Nov 20, 2020",
        None,
        "/pubs/external_publications/EP68456.html",
    ),
    (
        "Commentary",
        "The Quad Is Not an Alliance&nbsp;&mdash;&nbsp;Yet",
        "Australia, India, Japan, and the United States have deepened consultations, but the Quad remains a loose grouping. What would it take for the partners to formalize their cooperation?",
        "Nov 12, 2020",
        "Naval vessels during the Malabar exercise in the Bay of Bengal, photo by Indian Navy/Reuters",
        "/blog/2020/11/the-quad-is-not-an-alliance-yet.html",
    ),
    (
        "Perspective",
        "Rethinking Foreign Military Sales for an Era of Competition",
        "Foreign military sales take years to complete. Faster, more predictable processes could make the United States a more attractive security partner.",
        "Nov 5, 2020",
        "A cargo aircraft is loaded with military equipment, photo by U.S. Air Force",
        "/pubs/perspectives/PEA800-1.html",
    ),
    # page 3
    (
        "Report",
        "Assessing Security Cooperation as a Preventive Tool",
        "Can security cooperation help prevent conflict in fragile states? This report analyzes four decades of data on U.S. security assistance and the onset of civil wars.",
        "Oct 29, 2020",
        None,
        "/pubs/research_reports/RR350-1.html",
    ),
    (
        "Commentary",
        "How Japan and Australia Are Building a Quasi-Alliance",
        "Japan and Australia have signed a reciprocal access agreement in principle, the latest step toward a defense relationship that looks more and more like an alliance.",
        "Oct 22, 2020",
        "Japanese and Australian defense ministers shake hands in Tokyo, photo by Kyodo/Reuters",
        "/blog/2020/10/how-japan-and-australia-are-building-a-quasi-alliance.html",
    ),
    (
        "Testimony",
        "Strengthening Alliances and Partnerships in the Indo-Pacific",
        "Testimony presented before the House Armed Services Committee on how the United States can deepen cooperation with allies and partners to sustain a free and open Indo-Pacific.",
        "Oct 15, 2020",
        None,
        "/pubs/testimonies/CT530.html",
    ),
    (
        "Commentary",
        "South Korea&rsquo;s Growing Role in Regional Security",
        "Seoul has expanded its defense cooperation beyond the Korean Peninsula, including with Southeast Asian partners. That shift offers opportunities for U.S. alliance management.",
        "Oct 8, 2020",
        "South Korean navy ships sail in formation, photo by Yonhap/Reuters",
        "/blog/2020/10/south-koreas-growing-role-in-regional-security.html",
    ),
    (
        "Report",
        "Partner Capacity and Interoperability in Europe",
        "European partners have invested in interoperability with U.S. forces through exercises and shared platforms. This report identifies gaps that remain and ways to close them.",
        "Sep 24, 2020",
        "Allied soldiers during exercise Saber Strike, photo by U.S. Army Europe",
        "/pubs/research_reports/RRA300-1.html",
    ),
    (
        "Research Brief",
        "Lessons from Two Decades of Counterterrorism Partnerships",
        "Counterterrorism partnerships often open the door to broader security cooperation. This brief summarizes lessons from partnerships in Africa, the Middle East, and Southeast Asia.",
        "Sep 17, 2020",
        None,
        "/pubs/research_briefs/RB10110.html",
    ),
    (
        "Commentary",
        "India and the United States: A Partnership Still Finding Its Footing",
        "Defense ties between India and the United States have grown quickly, yet differences on strategic autonomy continue to limit how far the partnership can go.",
        "Sep 10, 2020",
        "Indian and U.S. soldiers during exercise Yudh Abhyas, photo by U.S. Army",
        "/blog/2020/09/india-and-the-united-states-a-partnership-still-finding.html",
    ),
    (
        "Multimedia",
        "Security Cooperation in Southeast Asia: A Conversation",
        "RAND researchers discuss maritime security cooperation among Southeast Asian states and what it means for U.S. policy.",
        "Sep 3, 2020",
        "ICON",
        "/multimedia/audio/2020/09/03/security-cooperation-in-southeast-asia.html",
    ),
    (
        "Commentary",
        "Alliances Are an Asset, Not a Burden",
        "Critics describe U.S. alliances as costly commitments. The evidence suggests that allies deliver security, economic, and diplomatic returns that outweigh their costs.",
        "Aug 27, 2020",
        "Allied leaders pose for a family photo at a summit, photo by Kevin Lamarque/Reuters",
        "/blog/2020/08/alliances-are-an-asset-not-a-burden.html",
    ),
    (
        "Report",
        "The Thickening Web of Asian Security Cooperation: Deepening Defense Ties Among U.S. Allies and Partners in the Indo-Pacific",
        "Key U.S. allies and partners in the Indo-Pacific have been establishing or deepening their defense ties. This report highlights the extent to which these security initiatives respond to a rising, assertive China.",
        "Aug 29, 2019",
        "Cover: The Thickening Web of Asian Security Cooperation",
        "/pubs/research_reports/RR3125.html",
    ),
]

PAGES = [LISTED[:15], LISTED[15:30], LISTED[30:]]

HEADER = """<header id="header" class="site-header">
  <nav class="main-nav">
    <div class="mega-menu">
      <h4>Featured Solutions</h4>
      <ul class="teasers list">
        <li><div class="text"><h5 class="title"><a href="/solutions/defense.html">Defense and Security</a></h5></div></li>
        <li><div class="text"><h5 class="title"><a href="/solutions/health.html">Health Care</a></h5></div></li>
        <li><div class="text"><h5 class="title"><a href="/solutions/education.html">Education</a></h5></div></li>
      </ul>
    </div>
  </nav>
</header>"""


def image_name(path: str) -> str:
    """A publication's photo is its own, whichever topic lists it."""
    return (
        path.split("?")[0]
        .split("#")[0]
        .rstrip("/")
        .rsplit("/", 1)[-1]
        .removesuffix(".html")
        .lower()
    )


def teaser(index: int, item: tuple, date_first: bool, content_id: int) -> str:
    ctype, title, summary, when, caption, path = item
    parts = [f'<li data-content-id="{content_id}">']
    if caption == "ICON":
        icon = ctype.lower().replace(" ", "-")
        parts.append(
            f'  <div class="img-wrap"><a href="{path}" tabindex="-1"><span class="image">'
            f'<img src="/etc/rand/designs/common/icons/{icon}-icon.svg" alt="{ctype}"></span></a></div>'
        )
    elif caption:
        parts.append(
            f'  <div class="img-wrap">\n    <a href="{path}" tabindex="-1">\n      <span class="image">'
            f'<img src="/content/dam/rand/image/teaser/{image_name(path)}.jpg" alt="{html.escape(html.unescape(caption))}"'
            f' width="320" height="180"></span>\n    </a>\n  </div>'
        )
    parts.append('  <div class="text">')
    type_html = f'<p class="type">{ctype}</p>' if ctype else ""
    if type_html and index % 3 == 0:
        type_html = f'<div class="type-time">{type_html}</div>'
    if type_html:
        parts.append("    " + type_html)
    parts.append(f'    <h3 class="title"><a href="{path}">\n        {title}\n      </a></h3>')
    date_html = f'<p class="date">{when.replace(" ", "&nbsp;", 1)}</p>'
    desc_html = f'<p class="desc">\n      {summary}\n    </p>'
    parts += (
        ["    " + date_html, "    " + desc_html]
        if date_first
        else ["    " + desc_html, "    " + date_html]
    )
    parts += ["  </div>", "</li>"]
    return "\n".join(parts)


def pagination(slug: str, name: str, current: int, last: int) -> str:
    items = []
    base = f"/topics/{slug}.html"
    if current > 1:
        prev = base if current == 2 else f"{base}?page={current - 1}"
        items.append(f'<li class="prev"><a href="{prev}" rel="prev">Previous</a></li>')
    for number in range(1, last + 1):
        if number == current:
            items.append(f'<li class="active"><span>{number}</span></li>')
        elif number == 1:
            items.append(f'<li><a href="{base}">1</a></li>')
        else:
            items.append(
                f'<li><a href="{base}?page={number}&amp;query=%22{quote_plus(name)}%22">{number}</a></li>'
            )
    if current < last:
        items.append(
            f'<li class="next"><a href="{base}?page={current + 1}" rel="next">Next</a></li>'
        )
    return '<div class="pagination-wrap"><ul class="pagination">' + "".join(items) + "</ul></div>"


def page(
    slug: str,
    name: str,
    intro: str,
    featured: list,
    listed: list,
    current: int,
    last: int,
    id_base: int,
) -> str:
    featured_html = ""
    if featured:
        lis = "\n".join(teaser(i, t, True, id_base + 900 + i) for i, t in enumerate(featured))
        featured_html = f'<section class="featured"><h2>Featured</h2>\n<ul class="teasers feature">\n{lis}\n</ul></section>'
    lis = "\n".join(teaser(i, t, False, id_base + i) for i, t in enumerate(listed))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{name} | RAND</title>
<meta name="rand-content-category" content="topic">
<link rel="alternate" type="application/rss+xml" href="/topics/{slug}.xml">
</head>
<body>
{HEADER}
<main id="page-content">
<div class="topic-header">
  <h1 id="RANDTitleHeadingId">{name}</h1>
  <p class="intro">{intro}</p>
</div>
{featured_html}
<section class="filteredlist">
<h2>Explore {name}</h2>
<div id="results">
<ul class="teasers list">
{lis}
</ul>
{pagination(slug, name, current, last)}
</div>
</section>
</main>
<footer><ul class="teasers list"><li><div class="text"><h3 class="title"><a href="/about.html">About RAND</a></h3></div></li></ul></footer>
</body>
</html>
"""


AUTHORS = [
    "Scott W. Harold",
    "Derek Grossman",
    "Jeffrey W. Hornung",
    "Becca Wasser",
    "Dalia Dassa Kaye",
    "Heather J. Williams",
    "Michael J. Mazarr",
    "Bonny Lin",
    "Howard J. Shatz",
    "Stephen Watts",
    "Angela O'Mahony",
    "Raphael S. Cohen",
]
REPORT_KINDS = {"Report", "Research Brief", "Testimony", "Tool", "Perspective", ""}
# Hand-written pages modelled on real ones (the seed RR3125 among them): the tests' cases.
CASES = REPO / "tests" / "fixtures" / "pages" / "rand"
HAND_WRITTEN = {
    "/pubs/research_reports/RR3125.html": CASES / "product-report" / "input.html",
    "/blog/2021/04/biden-puts-japan-at-the-center-of-us-policy-in-asia.html": CASES
    / "product-commentary"
    / "input.html",
    "/news/press/2021/02/23.html": CASES / "product-no-authors" / "input.html",
}


def product_page(index: int, item: tuple, topics: list[tuple[str, str]]) -> str:
    """A publication's own page in RAND's product layout, from its listing data."""
    ctype, title, summary, when, _caption, path = item
    authors = [AUTHORS[(index + k * 5) % len(AUTHORS)] for k in range(1 + index % 3)]
    links = ",\n      ".join(
        f'<a href="/about/people/{a.split()[-1][0].lower()}/{a.lower().replace(" ", "_").replace(".", "")}.html">{a}</a>'
        for a in authors
    )
    related = "\n".join(
        f'    <li><a href="/topics/{slug}.html">{name}</a></li>' for slug, name in topics
    )
    number = path.rsplit("/", 1)[-1].removesuffix(".html")
    if ctype in REPORT_KINDS:
        body = f"""<div id="download" class="download"><h2>Download</h2><table><tbody><tr>
  <td><span class="format-pdf"><a href="/content/dam/rand/pubs/{number}/RAND_{number}.pdf">PDF file</a></span></td>
  <td class="size">{0.4 + (index % 9) / 3:.1f} MB</td><td></td></tr></tbody></table></div>
<div class="abstract product-page-abstract"><div class="abstract-first-letter"><p>{summary}</p></div>
  <p>The authors draw on interviews, documents and data to examine {title.lower()}.</p></div>
<div class="key-findings"><h2>Key Findings</h2><ul>
  <li>Partners weigh the costs of cooperation against the risks of standing alone.</li>
  <li>Sustained engagement builds the personal relationships that alliances rely on.</li></ul></div>
<div class="document-details"><ul><li><span class="label">Document Number:</span> {number}</li>
  <li><span class="label">Pages:</span> {40 + index * 7}</li></ul></div>"""
    else:
        body = f"""<div class="body-text"><p>{summary}</p>
  <p>The views expressed are the author's own.</p></div>"""
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{title} | RAND</title>
<meta name="citation_title" content="{html.escape(html.unescape(title))}">
</head>
<body>
<main id="page-content">
<div class="product-header">
  <h1 id="RANDTitleHeadingId">{title}</h1>
  <p class="type-published"><span class="type">{ctype or "Publication"}</span> <span class="published">Published {when}</span></p>
  <p class="authors">by
      {links}</p>
</div>
{body}
<ul class="related-topics">
{related}
</ul>
</main>
</body>
</html>
"""


def write_product_pages(root: Path, items: list[tuple], topics: list[tuple[str, str]]) -> None:
    for index, item in enumerate(items):
        path = item[5].split("?")[0].split("#")[0].removeprefix(DEMO_ORIGIN)
        if path.startswith("http"):
            continue  # an absolute link to another site: no page of it here
        target = root / path.lstrip("/")
        if path in HAND_WRITTEN:
            write(target, HAND_WRITTEN[path].read_text(encoding="utf-8"))
        else:
            write(target, product_page(index, item, topics))


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main() -> None:
    intro = (
        "The NATO alliance served its participants well in countering the strategic threat once posed by the Soviet Union, "
        "but the rise of other regional powers and coalitions since end of the Cold War has prompted a reevaluation of existing alliances."
    )
    slug = "security-cooperation"
    for number, listed in enumerate(PAGES, start=1):
        name = f"{slug}.html" if number == 1 else f"{slug}--page-{number}.html"
        write(
            SITE / "topics" / name,
            page(
                slug,
                "Security Cooperation",
                intro,
                FEATURED if number == 1 else [],
                listed,
                number,
                len(PAGES),
                100000 * number,
            ),
        )
    # A second topic sharing publications: one item in both its featured block and its list.
    allies = [LISTED[12], FEATURED[1], LISTED[23], LISTED[39], LISTED[33]]
    write(
        SITE / "topics" / "alliances-and-partnerships.html",
        page(
            "alliances-and-partnerships",
            "Alliances and Partnerships",
            "How the United States works with allies and partners.",
            [FEATURED[1]],
            allies,
            1,
            1,
            500000,
        ),
    )
    write(SITE / "robots.txt", "User-agent: *\nDisallow: /search/\nDisallow: /private/\n")
    write_product_pages(
        SITE,
        FEATURED + LISTED,
        [
            ("security-cooperation", "Security Cooperation"),
            ("asia-pacific-region", "Asia-Pacific Region"),
        ],
    )
    write_long_topic()
    write_2024_topic()
    write_institute_site()


def write_long_topic() -> None:
    slug, name, pages, per_page = LONG_TOPIC
    kinds = ["Report", "Commentary", "Research Brief", "Testimony", "Commentary"]
    regions = [
        "the Baltic",
        "the Sahel",
        "the South China Sea",
        "the Gulf",
        "the Korean Peninsula",
        "the Black Sea",
        "the Horn of Africa",
        "Central Asia",
        "the Andes",
        "the Arctic",
    ]
    items = []
    for n in range(pages * per_page):
        region = regions[n % len(regions)]
        kind = kinds[n % len(kinds)]
        day = 28 - (n % 28)
        month = 12 - (n // 28) % 12
        year = 2022 - n // (28 * 12)
        when = f"{['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][month - 1]} {day}, {year}"
        path = (
            f"/pubs/research_reports/RRA{2000 + n}-1.html"
            if kind == "Report"
            else f"/blog/{year}/{month:02d}/regional-security-{n}.html"
        )
        items.append(
            (
                kind,
                f"Partners and Security in {region}, Part {n + 1}",
                f"How allies and partners in {region} cooperate on security: study {n + 1} of the series.",
                when,
                None if n % 4 == 0 else f"Scene from {region}, photo by RAND",
                path,
            )
        )
    write_product_pages(TEST_SITE, items, [(slug, name)])
    for number in range(1, pages + 1):
        chunk = items[(number - 1) * per_page : number * per_page]
        file = f"{slug}.html" if number == 1 else f"{slug}--page-{number}.html"
        write(
            TEST_SITE / "topics" / file,
            page(
                slug,
                name,
                "Security in the world's regions.",
                [],
                chunk,
                number,
                pages,
                700000 + 1000 * number,
            ),
        )


# --- the 2024 layout ------------------------------------------------------------------------
# A second local site, tests/fixtures/site-2024/, in the layout of 2024 copies of rand.org (see
# the reference notes' "Newer layout" section): no "Featured" heading or class, the featured
# pair simply comes before the "Explore <Topic>" list and is repeated at the top of every page
# without image, type and date together in `.type-time` after the summary (some teasers have
# no type line, some an older date-first order), product headers whose type and date run
# together, one download block per document and discounted print copies.
SITE_2024 = REPO / "tests" / "fixtures" / "site-2024"
TOPIC_2024 = ("maritime-security", "Maritime Security")

# (type, title, summary, date, photo caption or None, path, product details)
# product details: (authors, downloads [(label, file suffix, size)], print row or None, pages)
FEATURED_2024 = [
    (
        "Report",
        "Securing Sea Lanes in the Indo-Pacific: Options for Allied Navies",
        "Allied navies patrol the same waters with little coordination. This report maps where their presence overlaps and where a shared approach would make sea lanes safer&mdash;at lower cost.",
        "Mar 12, 2024",
        "A Japan Maritime Self-Defense Force destroyer sails alongside a U.S. Navy cruiser in the Philippine Sea, January 2024, photo by U.S. Navy",
        "/pubs/research_reports/RRA2900-1.html",
        (
            ["Scott W. Harold", "Jeffrey W. Hornung"],
            [("Full Document", ".pdf", "16.4 MB"), ("Research Summary", ".summary.pdf", "0.1 MB")],
            ("Paperback", 138, "$39.00", "$31.20"),
        ),
    ),
    (
        "Commentary",
        "Shipping Lanes Are the New Front Line",
        "Attacks on merchant ships in the Red Sea have shown how quickly a regional conflict can reach the world&rsquo;s supply chains.",
        "Feb 27, 2024",
        "A container ship transits the Bab el-Mandeb strait, photo by Reuters",
        "/pubs/commentary/2024/02/shipping-lanes-are-the-new-front-line.html",
        (["Raphael S. Cohen"], [], None),
    ),
]

LISTED_2024 = [
    (
        "Research Brief",
        "Port Resilience After a Maritime Cyberattack",
        "Ports depend on networked cranes, gates and scheduling systems. This brief outlines how a port can keep cargo moving when those systems fail.",
        "Feb 20, 2024",
        None,
        "/pubs/research_briefs/RBA2901-1.html",
        (["Heather J. Williams"], [("Full Document", ".pdf", "0.4 MB")], None),
    ),
    (
        "RAND Weekly Recap",
        "Red Sea Shipping, Arctic Routes, and More: RAND Weekly Recap",
        "This week, we discuss the cost of rerouting ships around Africa, what melting ice means for Arctic routes, and more.",
        "Feb 16, 2024",
        "A cargo ship in the Suez Canal, photo by Mohamed Abd El Ghany/Reuters",
        "/pubs/articles/2024/rand-weekly-recap-feb-16.html",
        (["Becca Wasser"], [], None),
    ),
    (
        "Testimony",
        "Countering Illegal, Unreported, and Unregulated Fishing",
        "Illegal fishing fleets strain coastal states&rsquo; law enforcement and feed regional tensions. Congress can strengthen partner coast guards and data sharing.",
        "Feb 8, 2024",
        "Coast guard officers inspect a fishing vessel, photo by U.S. Coast Guard",
        "/pubs/testimonies/CTA2902-1.html",
        (["Bonny Lin"], [("Full Document", ".pdf", "0.3 MB")], None),
    ),
    (
        "",
        "Maritime Security Cooperation in Southeast Asia: A Workshop Summary",
        "Participants from six navies discussed information sharing, joint patrols and the limits of trust among partners.",
        "Jan 30, 2024",
        None,
        "/pubs/conf_proceedings/CFA2903-1.html",
        (["Derek Grossman", "Angela O'Mahony"], [("Full Document", ".pdf", "1.2 MB")], None),
    ),
    # page 2
    (
        "Report",
        "Undersea Cables and the Risk of Sabotage",
        "Most of the world&rsquo;s data travels through cables on the sea floor. This report assesses how exposed they are to sabotage and how quickly they could be repaired.",
        "Jan 18, 2024",
        "A cable-laying ship at sea, photo by Sergei Grits/AP",
        "/pubs/research_reports/RRA2904-1.html",
        (
            ["Michael J. Mazarr", "Howard J. Shatz"],
            [("Full Document", ".pdf", "8.2 MB"), ("Research Summary", ".summary.pdf", "0.2 MB")],
            ("Paperback", 96, "$28.00", "$22.40"),
        ),
    ),
    (
        "Commentary",
        "The Coast Guard Is Stretched Thin",
        "The U.S. Coast Guard is asked to do more in the Pacific with the same number of cutters. Something will have to give.",
        "Jan 9, 2024",
        "A U.S. Coast Guard cutter in the Pacific Ocean, photo by U.S. Coast Guard",
        "/pubs/commentary/2024/01/the-coast-guard-is-stretched-thin.html",
        (["Stephen Watts"], [], None),
    ),
    (
        "Report",
        "Naval Shipbuilding Capacity and Competition with China",
        "China builds more warships each year than any other country. The authors compare shipyard capacity and what it would take to close the gap.",
        "Dec 14, 2023",
        "Ships under construction at a shipyard, photo by Getty Images",
        "/pubs/research_reports/RRA2905-1.html",
        (
            ["Scott W. Harold"],
            [("Full Document", ".pdf", "4.9 MB")],
            ("Paperback", 212, "$45.00", "$45.00"),
        ),
    ),
    (
        "Commentary",
        "Why Small Navies Matter",
        "Small navies rarely make headlines, yet they patrol most of the world&rsquo;s coastal waters.",
        "Dec 5, 2023",
        None,
        "/pubs/commentary/2023/12/why-small-navies-matter.html",
        (["Dalia Dassa Kaye"], [], None),
    ),
    (
        "Research Brief",
        "Arctic Sea Routes: Opportunity and Risk",
        "Melting ice is opening Arctic sea routes for part of the year. This brief weighs the commercial promise against the security risks.",
        "Nov 28, 2023",
        "An icebreaker in the Arctic Ocean, photo by U.S. Coast Guard",
        "/pubs/research_briefs/RBA2906-1.html",
        (["Becca Wasser", "Stephen Watts"], [("Full Document", ".pdf", "0.5 MB")], None),
    ),
    (
        "Testimony",
        "Securing Maritime Supply Chains",
        "Shipping disruptions during the pandemic exposed weak points in U.S. supply chains. This testimony suggests where resilience matters most.",
        "Nov 15, 2023",
        None,
        "/pubs/testimonies/CTA2907-1.html",
        (["Howard J. Shatz"], [("Full Document", ".pdf", "0.2 MB")], None),
    ),
    # page 3
    (
        "Report",
        "Gray-Zone Tactics at Sea",
        "Maritime militias and coast guards let states press claims without firing a shot. This report catalogs the tactics and the responses that have worked.",
        "Oct 26, 2023",
        "Vessels near a disputed reef in the South China Sea, photo by Reuters",
        "/pubs/research_reports/RRA2908-1.html",
        (
            ["Derek Grossman", "Bonny Lin", "Jeffrey W. Hornung"],
            [("Full Document", ".pdf", "6.7 MB"), ("Research Summary", ".summary.pdf", "0.1 MB")],
            ("Paperback", 164, "$42.00", "$33.60"),
        ),
    ),
    (
        "Commentary",
        "Piracy Is Back off the Horn of Africa",
        "After a decade of calm, pirates are again seizing ships off Somalia. The lessons of the last campaign still apply.",
        "Oct 11, 2023",
        "A naval helicopter over the Gulf of Aden, photo by EU NAVFOR",
        "/pubs/commentary/2023/10/piracy-is-back-off-the-horn-of-africa.html",
        (["Raphael S. Cohen"], [], None),
    ),
    (
        "RAND Weekly Recap",
        "Ports, Pirates, and Polar Routes: RAND Weekly Recap",
        "This week, we discuss piracy, polar shipping, and the future of ports.",
        "Oct 6, 2023",
        None,
        "/pubs/articles/2023/rand-weekly-recap-oct-6.html",
        (["Becca Wasser"], [], None),
    ),
    (
        "Report",
        "Maritime Domain Awareness for Partner Nations",
        "Partners cannot police waters they cannot see. The authors assess low-cost sensors and data-sharing arrangements for coastal states.",
        "Sep 21, 2023",
        "A radar station on a coastline, photo by U.S. Navy",
        "/pubs/research_reports/RRA2909-1.html",
        (["Heather J. Williams"], [("Full Document", ".pdf", "3.3 MB")], None),
    ),
    (
        "",
        "Naval Presence and Crisis Stability",
        "Routine naval presence can reassure allies, but in a crisis the same ships raise the risk of collision and escalation.",
        "Sep 7, 2023",
        None,
        "/pubs/research_reports/RRA2910-1.html",
        (["Bonny Lin"], [("Full Document", ".pdf", "1.9 MB")], None),
    ),
    (
        "Commentary",
        "What Insurers Know About Risk at Sea",
        "War-risk premiums are a real-time gauge of danger at sea. Policymakers could read them more closely.",
        "Aug 24, 2023",
        "Container ships at anchor, photo by Getty Images",
        "/pubs/commentary/2023/08/what-insurers-know-about-risk-at-sea.html",
        (["Howard J. Shatz"], [], None),
    ),
]
# Page 1's list opens with the featured pair (they are the newest), with image and caption.
PAGES_2024 = [FEATURED_2024 + LISTED_2024[:4], LISTED_2024[4:10], LISTED_2024[10:]]

HEADER_2024 = """<header id="site-header" class="site-header">
  <nav class="main-nav" aria-label="Main">
    <div class="mega-menu">
      <p class="mega-menu__heading">Featured Solutions</p>
      <ul class="teasers list">
        <li><div class="text"><h5 class="title"><a href="/solutions/defense.html">Defense and Security</a></h5></div></li>
        <li><div class="text"><h5 class="title"><a href="/solutions/health.html">Health Care</a></h5></div></li>
      </ul>
      <p class="mega-menu__heading">Latest Research</p>
      <ul class="teasers list">
        <li><div class="text"><div class="type-time"><p class="type">Report</p></div><h3 class="title"><a href="/pubs/research_reports/RRA9999-9.html">A Menu Teaser That Is Not in This Topic</a></h3></div></li>
      </ul>
    </div>
  </nav>
</header>"""


def teaser_2024(item: tuple, with_image: bool, content_id: int, date_first: bool = False) -> str:
    """One 2024 teaser: type and date together in `.type-time`, after the summary."""
    ctype, title, summary, when, caption, path, _details = item
    parts = [f'<li class="teaser" data-content-id="{content_id}">']
    if with_image and caption:
        parts.append(
            f'  <div class="img-wrap">\n    <a href="{path}" tabindex="-1" aria-hidden="true">\n'
            f'      <picture><img src="/content/dam/rand/image/teaser/2024/{image_name(path)}.jpg"'
            f' alt="{html.escape(html.unescape(caption))}" width="400" height="225"'
            f' loading="lazy"></picture>\n    </a>\n  </div>'
        )
    parts.append('  <div class="text">')
    type_line = f'<p class="type">{ctype}</p>' if ctype else ""
    stamp = f'<p class="date">{when.replace(" ", "&nbsp;", 1)}</p>'
    type_time = f'<div class="type-time">\n      {type_line}{stamp}\n    </div>'
    title_html = f'<h3 class="title"><a href="{path}">\n        {title}  </a></h3>'
    desc = f'<p class="desc">\n      {summary}\n    </p>'
    body = [type_time, title_html, desc] if date_first else [title_html, desc, type_time]
    parts += ["    " + b for b in body]
    parts += ["  </div>", "</li>"]
    return "\n".join(parts)


def page_2024(slug: str, name: str, intro: str, listed: list, current: int, last: int) -> str:
    """A listing page in the 2024 layout: the featured pair (no image) before the list."""
    base = 800000 + 1000 * current
    lead = "\n".join(teaser_2024(t, False, base + 900 + i) for i, t in enumerate(FEATURED_2024))
    lis = "\n".join(
        teaser_2024(t, True, base + i, date_first=(i == 3)) for i, t in enumerate(listed)
    )
    return f"""<!DOCTYPE html>
<html lang="en" class="no-js">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name} | RAND</title>
<meta name="rand-content-category" content="topic">
<link rel="alternate" type="application/rss+xml" href="/topics/{slug}.xml">
</head>
<body class="topic-page">
{HEADER_2024}
<main id="page-content" class="page-content">
<div class="topic-hero">
  <div class="hero-text">
    <h1 id="RANDTitleHeadingId">{name}</h1>
    <div class="topic-intro"><p>{intro}</p></div>
  </div>
</div>
<div class="topic-lead">
<ul class="teasers">
{lead}
</ul>
</div>
<section class="topic-explore">
<h2 class="explore-heading">Explore {name}</h2>
<div id="results" class="results">
<ul class="teasers list">
{lis}
</ul>
{pagination(slug, name, current, last)}
</div>
</section>
</main>
<footer class="site-footer"><ul class="teasers list"><li><div class="text"><h3 class="title"><a href="/about.html">About RAND</a></h3></div></li></ul></footer>
</body>
</html>
"""


def pdf_folder(path: str, number: str) -> str:
    """Where rand.org keeps a document's files: RRA2900-1 -> .../research_reports/RRA2900/RRA2900-1."""
    match = re.match(r"([A-Z]+)(\d+)", number)
    bucket = f"{match.group(1)}{int(match.group(2)) // 100 * 100}" if match else number
    return f"/content/dam/rand/pubs/{path.split('/')[2]}/{bucket}/{number}"


def product_page_2024(item: tuple, topics: list[tuple[str, str]]) -> str:
    """A publication's own page in the 2024 layout (downloads per document, list price)."""
    ctype, title, summary, when, _caption, path, (authors, downloads, print_copy) = item
    number = path.rsplit("/", 1)[-1].removesuffix(".html")
    is_research = (
        path.startswith("/pubs/") and "/commentary/" not in path and "/articles/" not in path
    )
    label = "Research" if is_research else (ctype or "Commentary")
    printed = f"Published {when}" if is_research else when
    links = ",\n      ".join(
        f'<a href="/about/people/{a.split()[-1][0].lower()}/{a.lower().replace(" ", "_").replace(".", "").replace("&#39;", "")}.html">{a}</a>'
        for a in authors
    )
    related = "\n".join(
        f'    <li><a href="/topics/{slug}.html">{name}</a></li>' for slug, name in topics
    )
    folder = pdf_folder(path, number)
    meta = [f'<meta name="citation_title" content="{html.escape(html.unescape(title))}">']
    meta += [
        f'<meta name="citation_author" content="{html.escape(a.split()[-1] + ", " + " ".join(a.split()[:-1]))}">'
        for a in authors
    ]
    month, day, year = when.replace(",", "").split()
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    meta.append(
        f'<meta name="citation_date" content="{year}/{months.index(month) + 1}/{int(day)}">'
    )
    blocks = []
    for doc_label, suffix, size in downloads:
        blocks.append(
            f"""  <div class="download-block">
    <h3 class="download-label">{doc_label}</h3>
    <table class="download-table">
      <thead><tr><th>Format</th><th>File Size</th><th>Notes</th></tr></thead>
      <tbody><tr>
        <td class="format"><span class="format-pdf"><a href="{folder}/RAND_{number}{suffix}">PDF file</a></span></td>
        <td class="size">{size.replace(" ", "&nbsp;")}</td>
        <td class="notes"></td>
      </tr></tbody>
    </table>
  </div>"""
        )
    body = ""
    if blocks:
        meta.append(f'<meta name="citation_pdf_url" content="{folder}/RAND_{number}.pdf">')
        body += '<section id="download" class="product-download">\n  <h2>Download</h2>\n'
        body += "\n".join(blocks) + "\n</section>\n"
    if print_copy:
        fmt, pages, list_price, price = print_copy
        discount = (
            ' <span class="web-discount">20% Web Discount</span>' if price != list_price else ""
        )
        body += f"""<section id="purchase" class="product-purchase">
  <h2>Purchase Print Copy</h2>
  <table class="purchase-table">
    <thead><tr><th></th><th>Format</th><th>List Price</th><th>Price</th></tr></thead>
    <tbody><tr><td><button class="add-to-cart" type="button">Add to Cart</button></td><td class="format">{fmt} {pages} pages</td><td class="list-price"><s>{list_price}</s></td><td class="price">{price}{discount}</td></tr></tbody>
  </table>
</section>
"""
    if is_research:
        meta.append(
            f'<meta name="citation_abstract" content="{html.escape("<p>" + summary + "</p>")}">'
        )
        body = (
            f"""<div class="abstract product-page-abstract">
  <p>{summary}</p>
  <p>The authors draw on interviews, documents and data to examine {title.lower()}.</p>
</div>
"""
            + body
            + f"""<div class="document-details">
  <h2>Document Details</h2>
  <ul>
    <li><span class="label">Year:</span> {year}</li>
    <li><span class="label">Document Number:</span> {number}</li>
  </ul>
</div>
"""
        )
    else:
        body = (
            f"""<div class="body-text">
  <p>{summary}</p>
  <p>The views expressed are the author&rsquo;s own.</p>
</div>
"""
            + body
        )
    meta_html = "\n".join(meta)
    return f"""<!DOCTYPE html>
<html lang="en" class="no-js">
<head>
<meta charset="utf-8">
<title>{title} | RAND</title>
<meta name="rand-content-category" content="{"research" if is_research else "commentary"}">
{meta_html}
</head>
<body class="product-page">
{HEADER_2024}
<main id="page-content" class="page-content">
<section class="product-header">
  <div class="product-header__text">
    <div class="content-type-date"><span class="eyebrow">{label}</span><span>{printed.replace(" ", "&nbsp;", 2)}</span></div>
    <h1 id="RANDTitleHeadingId">{title}</h1>
    <p class="authors">by
      {links}
    </p>
  </div>
</section>
{body}<aside class="product-sidebar">
  <h2>Topics</h2>
  <ul class="related-topics">
{related}
  </ul>
</aside>
</main>
</body>
</html>
"""


def write_2024_topic() -> None:
    """tests/fixtures/site-2024/: one topic in the 2024 layout, three pages, product pages."""
    slug, name = TOPIC_2024
    intro = (
        "Most of the world&rsquo;s trade travels by sea. RAND research examines threats to "
        "shipping, ports and undersea infrastructure, and how navies and coast guards "
        "can&nbsp;cooperate to keep sea lanes open."
    )
    for number, listed in enumerate(PAGES_2024, start=1):
        file = f"{slug}.html" if number == 1 else f"{slug}--page-{number}.html"
        write(
            SITE_2024 / "topics" / file,
            page_2024(slug, name, intro, listed, number, len(PAGES_2024)),
        )
    topics = [(slug, name), ("security-cooperation", "Security Cooperation")]
    for item in FEATURED_2024 + LISTED_2024:
        write(SITE_2024 / item[5].lstrip("/"), product_page_2024(item, topics))
    write(SITE_2024 / "robots.txt", "User-agent: *\nDisallow: /search/\nDisallow: /private/\n")


if __name__ == "__main__":
    main()
