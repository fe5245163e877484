"""A deterministic, RAND-shaped corpus for benchmarks, and catalogs built from it (cached).

Benchmarks on a few hundred identical ten-word titles measure nothing a user meets: Whoosh's
cost is in long posting lists, stored fields and highlighting of ~270-word documents, and the
store's cost grows with the tables. So the generator writes publications shaped like RAND's:
titles of 10-15 words, ~40-word summaries, ~270 words of abstract and key findings (body text
for commentary), 1-7 authors from a pool of a few thousand names, several topics each, content
types in RAND-like proportions and dates from 1990 to 2026, weighted towards recent years.
Words are drawn from a Zipf-like distribution over a few hundred policy-research words plus
English function words, so posting-list lengths look like real text: a handful of terms in
most documents, a long tail in few.

The same records fill a real catalog through ``CatalogStore.write_batch``, a search index per
engine (two homes sharing the one catalog database, as ``catalog --home H --db URL`` lets
them), and, for comparisons, an SQLite FTS5 table holding the text the indexes hold. Built
catalogs are cached outside the repository (``CATALOG_BENCH_CACHE``, default
``$TMPDIR/thinktank-catalog-bench``) keyed by size, seed and the database and index schema
versions, so repeated runs do not regenerate them and a schema change rebuilds them.

    python -m benchmarks.corpus --size 10k     # build (or find) the cached catalog, print stats
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from catalog import queries
from catalog.db import HEAD_REVISION, make_engine, upgrade
from catalog.index import DEFAULT_ENGINE, ENGINES, PAGE_TEXT_FIELDS, SearchIndex, open_index
from catalog.index.model import SCHEMA_VERSION
from catalog.records import (
    SECTION_FEATURED,
    SECTION_LIST,
    ListingEntry,
    PublicationDetails,
    TopicRef,
)
from catalog.store import CatalogStore

# Bump when the generator's output or the cache's layout changes: cached catalogs of another
# version are rebuilt. 2: an index per engine (a home per engine sharing one database).
CORPUS_VERSION = 2
# Every engine the catalog has, the default first: each benchmark that involves the index
# measures them all, side by side.
SEARCH_ENGINES = (DEFAULT_ENGINE, *sorted(e for e in ENGINES if e != DEFAULT_ENGINE))
DEFAULT_SEED = 20261123
SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000}
BATCH = 200  # CATALOG_BATCH_SIZE: the pipeline's records per write_batch
BASE = "https://www.rand.org"


def _words(text: str) -> list[str]:
    """A word list written as prose: long lists stay readable and diffable."""
    return text.split()


# English function words, most frequent first: about half of the running words of real text.
FUNCTION_WORDS = _words(
    "the of and to in a that for is on with as by are this be or from an was it their have "
    "which not its has more these were than can at they other also how such but may will would "
    "between both those into while each should could most over within among what about across "
    "through under who all one two three when whether there been new several"
)

# Policy-research words, roughly most frequent first (Zipf rank = position).
DOMAIN_WORDS = _words(
    "security policy military defense forces research analysis national united states army "
    "countries government support data health study program strategy air force cooperation "
    "capabilities operations partners international public risk costs information economic "
    "system management development training personnel regional challenges options "
    "assessment planning approach effects workforce technology resources allies services "
    "conflict evidence capacity readiness budget nuclear deterrence russia china education "
    "community federal agencies outcomes recommendations findings leaders institutions "
    "stability intelligence maritime navy acquisition logistics alliance alliances "
    "policymakers implementation framework funding cyber war threats insurance care "
    "veterans families schools students teachers quality access models survey interviews "
    "workers employment labor market growth trade sanctions diplomacy europe asia pacific "
    "korea japan taiwan india iran iraq afghanistan syria israel ukraine nato baltic arctic "
    "africa sahel yemen gulf mexico venezuela colombia brazil counterterrorism terrorism "
    "insurgency violence crime police justice courts prisons drugs opioids treatment "
    "prevention mental hospitals medicare medicaid coverage patients physicians "
    "pharmaceutical prices spending infrastructure energy climate emissions water "
    "resilience disaster recovery housing transportation cities rural urban population "
    "demographic migration refugees humanitarian aid assistance stabilization governance "
    "corruption elections democracy disinformation media social networks artificial "
    "intelligence autonomous weapons missiles space satellites command control "
    "communications networks procurement contractors industrial base shipbuilding aircraft "
    "munitions sustainment maintenance supply chain inventory depot costs modernization "
    "wargaming exercises scenarios simulation campaign doctrine escalation coercion "
    "competition gray zone influence proxies partnership burden sharing basing posture "
    "rotational deployment mobilization reserve guard recruiting retention compensation "
    "benefits pay promotion careers diversity inclusion gender women children youth aging "
    "retirement pensions tax revenue regulation compliance enforcement oversight "
    "accountability transparency evaluation metrics indicators benchmarks performance "
    "efficiency effectiveness incentives behavior decision making uncertainty robust "
    "adaptive planning futures foresight trends forecasting projections estimates "
    "statistical regression sample respondents cohort longitudinal randomized trial pilot "
    "intervention scale sustainability equity disparities income poverty inequality "
    "opportunity mobility wellbeing resilience stress trauma suicide injury safety "
    "vaccines pandemic covid outbreak surveillance biosecurity biological chemical "
    "radiological proliferation arms control treaty verification inspections export "
    "controls semiconductors critical minerals rare earths industrial policy innovation "
    "startups venture laboratories universities scientists engineers talent stem "
    "literacy curriculum instruction principals districts charter vouchers achievement "
    "attainment graduation enrollment tuition loans"
)

PREFIXES = _words("counter post non multi inter sub re pre anti cyber geo bio trans")
SUFFIXES = _words("s al ing ed ization ist ness ive")


def _vocabulary() -> list[str]:
    """The domain words, then a long tail combined from them (``counterdeterrence``,
    ``logisticsal``...): real catalogs hold a few hundred thousand distinct terms, which sets
    the size of Whoosh's term dictionary and how far a prefix query like ``secur*`` expands.
    """
    base = list(dict.fromkeys(DOMAIN_WORDS))
    tail = [w + s for w in base for s in SUFFIXES] + [p + w for p in PREFIXES for w in base]
    tail += [p + w + s for p in PREFIXES for w in base for s in SUFFIXES]
    known = set(base)
    tail = [w for w in dict.fromkeys(tail) if w not in known]
    random.Random(11).shuffle(tail)
    return base + tail


# Two-word terms that real abstracts repeat; phrase queries need them to occur as phrases.
PHRASES = (
    "security cooperation",
    "national security",
    "armed forces",
    "united states",
    "health care",
    "supply chain",
    "arms control",
    "air force",
    "special operations",
    "foreign military sales",
    "great power competition",
    "homeland security",
    "artificial intelligence",
    "mental health",
    "climate change",
    "defense industrial base",
)

TOPICS = (
    "Security Cooperation",
    "National Security and Terrorism",
    "Military Strategy",
    "Arms Control",
    "Cybersecurity",
    "Health Care",
    "Education and Literacy",
    "Economic Policy",
    "Military Personnel",
    "Defense Acquisition",
    "Intelligence Community",
    "Russia",
    "China",
    "Asia-Pacific Region",
    "Middle East",
    "Europe",
    "Africa",
    "Latin America",
    "Nuclear Weapons and Warfare",
    "Counterterrorism",
    "Homeland Security and Public Safety",
    "Emergency Preparedness",
    "Climate Change",
    "Energy and Environment",
    "Infrastructure",
    "Workers and the Workplace",
    "Children and Families",
    "Aging and Health",
    "Mental Health and Illness",
    "Substance Use",
    "Criminal Justice",
    "Science and Technology",
    "Artificial Intelligence",
    "Space Warfare",
    "Logistics",
    "Wargaming",
    "Veterans",
    "Military Families",
    "Disinformation",
    "Democracy",
    "Migration",
    "Humanitarian Assistance",
    "Global Health",
    "Pandemics",
    "Labor Markets",
    "Income Inequality",
    "Housing",
    "Transportation",
    "Water Resources",
    "Maritime Security",
    "Missile Defense",
    "Terrorism Threat Assessment",
    "Peacekeeping and Stability Operations",
    "Insurgency and Counterinsurgency",
    "Foreign Military Sales",
    "Alliances",
    "Burden Sharing",
    "Korea",
    "Japan",
    "Taiwan",
)

# (type, share): RAND's mix, reports and commentary first.
CONTENT_TYPES = (
    ("Report", 44),
    ("Commentary", 24),
    ("Journal Article", 10),
    ("Research Brief", 6),
    ("Periodical", 3),
    ("Testimony", 3),
    ("News Release", 3),
    ("Conference Proceeding", 2),
    ("Essay", 2),
    ("Tool", 2),
    ("", 1),  # teasers that show no type
)
DOC_PREFIX = {
    "Report": ("research_reports", "RR"),
    "Research Brief": ("research_briefs", "RB"),
    "Testimony": ("testimonies", "CT"),
    "Conference Proceeding": ("conf_proceedings", "CF"),
    "Tool": ("tools", "TL"),
    "Essay": ("perspectives", "PE"),
    "Journal Article": ("external_publications", "EP"),
}
AUTHOR_COUNTS = ((1, 30), (2, 25), (3, 18), (4, 12), (5, 8), (6, 4), (7, 3))
FIRST_NAMES = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily "
    "Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah "
    "Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Kathleen "
    "Jacob Amy Gary Angela Nicholas Shirley Eric Anna Jonathan Brenda Stephen Pamela Larry "
    "Emma Justin Nicole Scott Helen Brandon Samantha Benjamin Katherine Samuel Christine "
    "Gregory Debra Alexander Rachel Frank Carolyn Derek Wei Priya Olga Hiroshi Fatima Mateo"
)
SURNAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
    "Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed "
    "Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray "
    "Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster "
    "Grossman Heginbotham Pettyjohn Mazarr Ochmanek Shlapak Libicki Jenkins Kumar Chen Wang "
    "Zhang Singh Ivanova Tanaka Yamamoto Cohen Levi Haddad Okafor Mensah Novak Kowalski"
)
AUTHOR_POOL = 3_000

TOPIC_REFS = tuple(
    TopicRef(
        slug := name.lower().replace(" and ", "-").replace(" ", "-").replace("--", "-"),
        name,
        f"{BASE}/topics/{slug}.html",
    )
    for name in TOPICS
)


class Zipf:
    """Draws items with weight 1/(rank+q)**s (Zipf-Mandelbrot): real text's word frequencies.

    ``q`` flattens the head, so the commonest content word is a few percent of the words, not
    a sixth of them as a pure 1/rank law over a few hundred words would make it.
    """

    def __init__(self, items: Sequence[Any], s: float = 1.07, q: float = 0.0) -> None:
        self.items = list(items)
        weights = [1.0 / ((rank + q) ** s) for rank in range(1, len(self.items) + 1)]
        self.cumulative = list(itertools.accumulate(weights))

    def draw(self, rng: random.Random) -> Any:
        point = rng.random() * self.cumulative[-1]
        return self.items[bisect.bisect_left(self.cumulative, point)]


def _authors() -> list[str]:
    """A fixed pool of distinct names; the shuffle spreads surnames over popularity ranks."""
    names = [f"{first} {last}" for last in SURNAMES for first in FIRST_NAMES]
    rng = random.Random(7)
    rng.shuffle(names)
    return names[:AUTHOR_POOL]


AUTHORS = _authors()


@dataclass(frozen=True, slots=True)
class CorpusPublication:
    """One generated publication: its listing teaser(s) and its page's details."""

    entries: list[ListingEntry]
    details: PublicationDetails


class Writer:
    """Sentences from the Zipf vocabulary; one instance per corpus so draws stay ordered.

    Function words make ~45% of the running words, two-word phrases ~4%, content words the
    rest; all three are one weighted table so a sentence is one ``choices`` call (generating
    100k publications draws some 35 million words).
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        tables = ((FUNCTION_WORDS, 1.0, 0.0, 0.45), (PHRASES, 1.0, 0.0, 0.04))
        tables += ((_vocabulary(), 1.1, 8.0, 0.51),)
        self.tokens: list[str] = []
        weights: list[float] = []
        for items, s, q, share in tables:
            raw = [1.0 / ((rank + q) ** s) for rank in range(1, len(items) + 1)]
            total = sum(raw)
            self.tokens.extend(items)
            weights.extend(w * share / total for w in raw)
        self.cumulative = list(itertools.accumulate(weights))
        self.function = set(FUNCTION_WORDS)

    def words(self, count: int) -> list[str]:
        drawn = self.rng.choices(self.tokens, cum_weights=self.cumulative, k=count)
        return " ".join(drawn).split()[:count]

    def sentence(self, low: int = 12, high: int = 28) -> str:
        words = self.words(self.rng.randint(low, high))
        return " ".join(words).capitalize() + "."

    def text(self, words: int) -> str:
        sentences: list[str] = []
        total = 0
        while total < words:
            sentence = self.sentence()
            sentences.append(sentence)
            total += sentence.count(" ") + 1
        return " ".join(sentences)

    def title(self) -> str:
        words = self.words(self.rng.randint(10, 15))
        if self.rng.random() < 0.4:  # "Main Title: Subtitle", as many RAND titles are
            words[self.rng.randint(3, 6)] += ":"
        return " ".join(w if w in self.function else w.capitalize() for w in words)


def _weighted(rng: random.Random, table: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def _published_on(rng: random.Random) -> date:
    """1990-2026, a year's weight growing with the year: catalogs are mostly recent work."""
    years = list(range(1990, 2027))
    year = rng.choices(years, weights=[1 + (y - 1990) ** 1.5 for y in years])[0]
    return date(year, 1, 1) + timedelta(days=rng.randrange(365 if year < 2026 else 320))


def generate(size: int, seed: int = DEFAULT_SEED) -> Iterator[CorpusPublication]:
    """``size`` publications, the same ones for the same seed on every machine and run."""
    rng = random.Random(seed)
    writer = Writer(rng)
    authors = Zipf(AUTHORS, s=0.8)  # a few prolific authors, a long tail of occasional ones
    topics = Zipf(TOPIC_REFS, s=0.9)
    listed: dict[str, int] = {}
    for n in range(size):
        content_type = _weighted(rng, CONTENT_TYPES)
        folder, prefix = DOC_PREFIX.get(content_type, ("commentary", "CM"))
        number = f"{prefix}-{1000 + n}"
        url = f"{BASE}/pubs/{folder}/{number}.html"
        published = _published_on(rng)
        date_text = f"{published:%b} {published.day}, {published.year}"
        names = list(dict.fromkeys(authors.draw(rng) for _ in range(_weighted(rng, AUTHOR_COUNTS))))
        own_topics = list(dict.fromkeys(topics.draw(rng) for _ in range(rng.randint(2, 6))))
        title = writer.title()
        summary = writer.text(rng.randint(24, 36))
        is_commentary = content_type in ("Commentary", "News Release", "Periodical", "Essay")
        if is_commentary:
            abstract, findings, questions, recommendations = None, [], [], []
            body = writer.text(rng.randint(230, 310))
        else:
            body = None
            abstract = writer.text(rng.randint(120, 170))
            findings = [writer.sentence(14, 24) for _ in range(rng.randint(4, 7))]
            questions = [writer.sentence(8, 14) for _ in range(rng.randint(0, 3))]
            recommendations = [writer.sentence(10, 18) for _ in range(rng.randint(0, 4))]
        primary = own_topics[0]
        position = listed.get(primary.slug, 0)
        listed[primary.slug] = position + 1
        page = position // 12 + 1
        entry = ListingEntry(
            url=url,
            title=title,
            content_type=content_type,
            published_on=published,
            date_text=date_text,
            summary=summary,
            image_url=f"{BASE}/content/dam/rand/image/{number.lower()}.jpg",
            image_caption=f"Photo by {names[0]}/RAND",
            topic=primary,
            section=SECTION_LIST,
            listing_url=primary.url + (f"?page={page}" if page > 1 else ""),
            position=position % 12 + 1,
        )
        entries = [entry]
        if rng.random() < 0.02:  # featured on its topic's first page as well
            entries.append(
                ListingEntry(**{**_fields(entry), "section": SECTION_FEATURED, "position": 1})
            )
        details = PublicationDetails(
            url=url,
            title=title,
            subtitle=writer.sentence(5, 9).rstrip(".") if rng.random() < 0.3 else None,
            product_type=content_type or None,
            content_category=None,
            published_on=published,
            date_text=date_text,
            authors=names,
            abstract=abstract,
            research_questions=questions,
            key_findings=findings,
            recommendations=recommendations,
            body_text=body,
            related_topics=own_topics,
            document_number=number if content_type in DOC_PREFIX else None,
            doi=f"10.7249/{number}" if content_type in DOC_PREFIX else None,
            isbn=None,
            series=None,
            page_count=rng.randint(8, 300) if content_type == "Report" else None,
            pdf_url=f"{BASE}/content/dam/rand/pubs/{number}.pdf" if not is_commentary else None,
            pdf_size=f"{rng.uniform(0.3, 12):.1f} MB" if not is_commentary else None,
            print_format=None,
            print_price=None,
        )
        yield CorpusPublication(entries, details)


def _fields(entry: ListingEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in ListingEntry.__slots__}


def batches(corpus: Sequence[CorpusPublication], size: int = BATCH) -> Iterator[list[Any]]:
    """Records as a crawl hands them over: listing pages first, then publication pages."""
    entries = [e for pub in corpus for e in pub.entries]
    for start in range(0, len(entries), size):
        yield entries[start : start + size]
    details = [pub.details for pub in corpus]
    for start in range(0, len(details), size):
        yield details[start : start + size]


def recrawl_batches(corpus: Sequence[CorpusPublication], size: int = BATCH) -> Iterator[list[Any]]:
    """An unchanged re-crawl: the same listing entries, no page fetched again."""
    entries = [e for pub in corpus for e in pub.entries]
    for start in range(0, len(entries), size):
        yield entries[start : start + size]


# --- the same text for FTS5 ------------------------------------------------------------------

FTS_COLUMNS = ("title", "summary", "abstract", "author", "topics")
FTS_WEIGHTS = (2.0, 1.0, 1.0, 1.0, 1.0)  # Whoosh boosts title x2 (field_boost=2.0)


def fts_row(doc: dict[str, Any]) -> tuple[Any, ...]:
    """One index document (``queries.index_documents``) as the FTS5 table stores it.

    Mirrors what ``catalog.index`` puts in each field (``abstract`` is the index's ``text``),
    so every engine sees one text.
    """
    return (
        doc["id"],
        doc["url"],
        doc["title"] or "",
        doc.get("summary") or "",
        "\n\n".join(doc[f] for f in PAGE_TEXT_FIELDS if doc.get(f)),
        " , ".join(doc.get("authors") or []),
        " ".join(doc.get("topic_names") or []),
        doc.get("content_type") or "",
        doc["published_on"].isoformat() if doc.get("published_on") else None,
        ",".join(doc.get("topic_slugs") or []),
    )


FTS_SCHEMA = (
    "CREATE VIRTUAL TABLE pub_fts USING fts5(url UNINDEXED, title, summary, abstract, author, "
    "topics, content_type UNINDEXED, published_on UNINDEXED, topic_slugs UNINDEXED, "
    "tokenize = 'porter unicode61', prefix = '3')"
)


def create_fts(path: Path) -> sqlite3.Connection:
    """An empty FTS5 database: porter stemming (the engines stem too), a 3-letter prefix index."""
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(FTS_SCHEMA)
    return conn


def fill_fts(conn: sqlite3.Connection, docs: Iterator[dict[str, Any]]) -> int:
    """Bulk insert in one transaction (FTS5's fast path); returns how many rows."""
    count = 0
    with conn:
        for chunk in _chunked(docs, 500):
            conn.executemany(
                "INSERT INTO pub_fts (rowid, url, title, summary, abstract, author, topics, "
                "content_type, published_on, topic_slugs) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [fts_row(d) for d in chunk],
            )
            count += len(chunk)
    return count


def _chunked(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while chunk := list(itertools.islice(items, size)):
        yield chunk


# --- cached catalogs -------------------------------------------------------------------------


def cache_root() -> Path:
    """Outside the repository: generated catalogs are hundreds of MB at 100k."""
    configured = os.environ.get("CATALOG_BENCH_CACHE")
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / "thinktank-catalog-bench"


@dataclass(frozen=True, slots=True)
class BuiltCorpus:
    """A cached catalog, a home per search engine, and the FTS5 twin.

    ``home`` holds the database and the default engine's index; every other engine has a home
    of its own (``home-<engine>``: a catalog.toml naming the engine, and its index) that reads
    the same database through ``--db``, as homes sharing one catalog do.
    """

    size: int
    seed: int
    folder: Path
    build: dict[str, float]  # seconds each build step took, when it was built

    @property
    def home(self) -> Path:
        return self.folder / "home"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.home / 'catalog.db'}"

    @property
    def db_path(self) -> Path:
        return self.home / "catalog.db"

    @property
    def index_dir(self) -> Path:
        """The default engine's index (the one ``home`` searches with)."""
        return self.index_dir_for(DEFAULT_ENGINE)

    def home_for(self, engine: str) -> Path:
        return self.home if engine == DEFAULT_ENGINE else self.folder / f"home-{engine}"

    def index_dir_for(self, engine: str) -> Path:
        return self.home_for(engine) / "index"

    def search_index(self, engine: str) -> SearchIndex:
        return open_index(self.index_dir_for(engine), engine)

    def cli_args(self, engine: str) -> list[str]:
        """The ``catalog`` options that search with ``engine`` (before the command)."""
        args = ["--home", str(self.home_for(engine))]
        return args if engine == DEFAULT_ENGINE else [*args, "--db", self.db_url]

    @property
    def fts_path(self) -> Path:
        return self.folder / "fts5.db"


def engine_home_config(engine: str) -> str:
    """The catalog.toml of a home that searches with ``engine``."""
    return f'[search]\nengine = "{engine}"\n'


def parse_size(text: str | int) -> int:
    """``10k``, ``100k``, ``2500`` or ``2_500``."""
    if isinstance(text, int):
        return text
    cleaned = text.lower().replace("_", "").replace(",", "")
    if cleaned.endswith("k"):
        return int(float(cleaned[:-1]) * 1000)
    return int(cleaned)


def build(size: int, seed: int = DEFAULT_SEED, root: Path | None = None) -> BuiltCorpus:
    """The catalog of ``size`` generated publications, from the cache or built into it.

    Built through the real write path and ``SearchIndex.rebuild`` (once per engine) into
    ``<key>.partial`` and renamed when complete, so an interrupted build is never taken for a
    finished one.
    """
    root = root or cache_root()
    key = f"v{CORPUS_VERSION}-db{HEAD_REVISION}-ix{SCHEMA_VERSION}-n{size}-s{seed}"
    folder = root / key
    manifest = folder / "manifest.json"
    if manifest.is_file():
        return BuiltCorpus(size, seed, folder, json.loads(manifest.read_text())["build"])
    partial = root / (key + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    building = BuiltCorpus(size, seed, partial, {})
    building.home.mkdir(parents=True)
    steps: dict[str, float] = {}
    started = time.perf_counter()
    corpus = list(generate(size, seed))
    steps["generate_s"] = time.perf_counter() - started

    engine = make_engine(building.db_url)
    upgrade(engine)
    store = CatalogStore(engine)
    run = store.start_run("bench-corpus")
    started = time.perf_counter()
    for batch in batches(corpus):
        store.write_batch(batch, run)
    steps["store_s"] = time.perf_counter() - started
    del corpus

    source = queries.CatalogIndexSource(engine)
    for name in SEARCH_ENGINES:
        home = building.home_for(name)
        home.mkdir(exist_ok=True)
        if name != DEFAULT_ENGINE:
            (home / "catalog.toml").write_text(engine_home_config(name), encoding="utf-8")
        started = time.perf_counter()
        # rebuild records the catalog revision the index holds: without it the cached home's
        # first `catalog search` would find the index behind and rebuild it inside the timing.
        building.search_index(name).rebuild(source)
        steps[f"index_{name}_s"] = time.perf_counter() - started
    started = time.perf_counter()
    fts = create_fts(building.fts_path)
    fill_fts(fts, queries.index_documents(engine))
    fts.close()
    steps["fts5_s"] = time.perf_counter() - started
    engine.dispose()
    (partial / "manifest.json").write_text(
        json.dumps({"size": size, "seed": seed, "version": CORPUS_VERSION, "build": steps})
    )
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return BuiltCorpus(size, seed, folder, steps)


def corpus_stats(corpus: Sequence[CorpusPublication]) -> dict[str, float]:
    """Average lengths, to check the corpus against the shape it claims."""

    def words(text: str | None) -> int:
        return len(text.split()) if text else 0

    n = len(corpus)
    page_words = [
        words(p.details.abstract)
        + words(p.details.body_text)
        + sum(words(f) for f in p.details.key_findings)
        for p in corpus
    ]
    return {
        "publications": n,
        "title_words": sum(words(p.details.title) for p in corpus) / n,
        "summary_words": sum(words(p.entries[0].summary) for p in corpus) / n,
        "abstract_findings_words": sum(page_words) / n,
        "authors": sum(len(p.details.authors) for p in corpus) / n,
        "topics": sum(len(p.details.related_topics) for p in corpus) / n,
        "distinct_authors": len({a for p in corpus for a in p.details.authors}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="10k", help="1k, 10k, 100k or a number")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--stats", action="store_true", help="print the corpus shape only")
    args = parser.parse_args()
    size = parse_size(args.size)
    if args.stats:
        for name, value in corpus_stats(list(generate(size, args.seed))).items():
            print(f"{name:<26} {value:10.1f}")
        return
    built = build(size, args.seed)
    print(f"{built.folder}")
    for step, seconds in built.build.items():
        print(f"  {step:<12} {seconds:8.2f}")


if __name__ == "__main__":
    main()
