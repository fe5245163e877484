"""downloads, list price, journal, run warnings, w3lib canonical URLs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:55:10.765769

Besides the new columns and the ``downloads`` table, this revision re-canonicalises every
stored publication URL with w3lib (the rule the crawler now uses: one percent-encoding, sorted
query arguments, no tracking parameters, no fragment) and merges rows that turn out to be one
publication. Nothing is lost in a merge:

- the surviving row is the one first seen (its ``first_seen_at`` is kept; ``last_seen_at`` is
  the latest of the group);
- every other column takes the most recently seen non-empty value of the group, and authors
  come from the row whose page was read last;
- listings under topics, history rows and authorships move to the survivor (two listings of
  one topic and section become one, with the earliest first and latest last sighting);
- the merge itself is written to ``publication_changes`` (kind ``merged``, field ``url``, old
  and new URL; kind ``changed`` for a field whose value the survivor took from another row),
  under a ``crawl_runs`` row with spider ``migration 0004``.

The URL rewrite is not undone by a downgrade.
"""
from collections.abc import Sequence
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urljoin, urlsplit

import sqlalchemy as sa
from alembic import op
from w3lib.url import canonicalize_url, url_query_cleaner


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the rule at this revision (crawler/pages/common.py may change later).
TRACKING = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "_ga", "_gl", "cid", "ref"}
)
# Columns merged "most recently seen non-empty value wins".
CONTENT = (
    "title", "content_type", "published_on", "date_text", "summary", "image_url",
    "image_caption", "subtitle", "abstract", "research_questions", "key_findings",
    "recommendations", "body_text", "document_number", "doi", "isbn", "series", "page_count",
    "pdf_url", "pdf_size", "print_format", "print_price", "details_error",
)


def canonical(url: str) -> str:
    absolute = urljoin(url, url.strip())
    names = [n for n, _ in parse_qsl(urlsplit(absolute).query, keep_blank_values=True)]
    tracking = sorted({n for n in names if n.lower() in TRACKING or n.lower().startswith("utm_")})
    if tracking:
        absolute = url_query_cleaner(absolute, tracking, remove=True, unique=False)
    return canonicalize_url(absolute, keep_fragments=False)


def upgrade() -> None:
    op.create_table('downloads',
    sa.Column('publication_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('size', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['publication_id'], ['publications.id'], name=op.f('fk_downloads_publication_id_publications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('publication_id', 'position', name=op.f('pk_downloads'))
    )
    with op.batch_alter_table('crawl_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('warnings', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('list_price', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('journal', sa.String(length=500), nullable=True))

    recanonicalise(op.get_bind())


def _empty(value) -> bool:
    return value is None or value == ""


def recanonicalise(conn: sa.Connection) -> None:
    meta = sa.MetaData()
    pubs = sa.Table("publications", meta, autoload_with=conn)
    links = sa.Table("publication_topics", meta, autoload_with=conn)
    authorships = sa.Table("publication_authors", meta, autoload_with=conn)
    changes = sa.Table("publication_changes", meta, autoload_with=conn)
    runs = sa.Table("crawl_runs", meta, autoload_with=conn)

    groups: dict[str, list[int]] = {}
    renamed: dict[int, str] = {}
    for pub_id, url in conn.execute(sa.select(pubs.c.id, pubs.c.url)):
        new = canonical(url)
        groups.setdefault(new, []).append(pub_id)
        if new != url:
            renamed[pub_id] = new
    merges = {url: ids for url, ids in groups.items() if len(ids) > 1}
    run_id = None
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    if merges:
        run_id = conn.execute(
            runs.insert().values(
                started_at=now, finished_at=now, status="succeeded", spider="migration 0004",
                full=False, pages_fetched=0, items_seen=0, items_new=0, items_updated=0,
                items_unchanged=0, items_skipped=0,
            )
        ).inserted_primary_key[0]
    for url, ids in merges.items():
        _merge(conn, pubs, links, authorships, changes, run_id, url, ids, now)
    survivors = {ids[0] for ids in groups.values()}
    rows = [{"b_id": i, "b_url": u} for i, u in renamed.items() if i in survivors]
    if rows:
        conn.execute(
            pubs.update().where(pubs.c.id == sa.bindparam("b_id")).values(url=sa.bindparam("b_url")),
            rows,
        )


def _merge(conn, pubs, links, authorships, changes, run_id, url, ids, now) -> None:
    rows = [dict(r) for r in conn.execute(sa.select(pubs).where(pubs.c.id.in_(ids))).mappings()]
    rows.sort(key=lambda r: (r["first_seen_at"], r["id"]))
    survivor, others = rows[0], rows[1:]
    ids[:] = [survivor["id"]] + [r["id"] for r in others]  # survivor first, for the caller
    freshest = sorted(rows, key=lambda r: (r["last_seen_at"], r["id"]), reverse=True)
    values = {
        "first_seen_at": min(r["first_seen_at"] for r in rows),
        "last_seen_at": max(r["last_seen_at"] for r in rows),
    }
    history = []
    for column in CONTENT:
        value = next((r[column] for r in freshest if not _empty(r[column])), survivor[column])
        if value != survivor[column]:
            values[column] = value
            history.append({"kind": "changed", "field": column,
                            "old_value": _text(survivor[column]), "new_value": _text(value)})
    read = [r for r in rows if r["details_fetched_at"] is not None]
    if read:
        values["details_fetched_at"] = max(r["details_fetched_at"] for r in read)
    conn.execute(pubs.update().where(pubs.c.id == survivor["id"]).values(**values))

    other_ids = [r["id"] for r in others]
    # Authors: those of the row whose page was read last (if it has any).
    by_reading = sorted(read, key=lambda r: r["details_fetched_at"], reverse=True)
    with_authors = [
        r["id"] for r in by_reading
        if conn.execute(sa.select(sa.func.count()).select_from(authorships)
                        .where(authorships.c.publication_id == r["id"])).scalar()
    ]
    if with_authors and with_authors[0] != survivor["id"]:
        conn.execute(authorships.delete().where(authorships.c.publication_id == survivor["id"]))
        conn.execute(authorships.update().where(authorships.c.publication_id == with_authors[0])
                     .values(publication_id=survivor["id"]))
    conn.execute(authorships.delete().where(authorships.c.publication_id.in_(other_ids)))

    # Listings: one per (topic, section), earliest first and latest last sighting.
    listed = [dict(r) for r in conn.execute(
        sa.select(links).where(links.c.publication_id.in_([survivor["id"], *other_ids]))
    ).mappings()]
    merged: dict[tuple, dict] = {}
    for link in sorted(listed, key=lambda r: r["last_seen_at"]):
        key = (link["topic_id"], link["section"])
        if key in merged:
            before = merged[key]
            link["first_seen_at"] = min(before["first_seen_at"], link["first_seen_at"])
            if before["delisted_at"] is None or link["delisted_at"] is None:
                link["delisted_at"] = None
        merged[key] = {**link, "publication_id": survivor["id"]}
    conn.execute(links.delete().where(links.c.publication_id.in_([survivor["id"], *other_ids])))
    if merged:
        conn.execute(links.insert(), list(merged.values()))

    conn.execute(changes.update().where(changes.c.publication_id.in_(other_ids))
                 .values(publication_id=survivor["id"]))
    history += [{"kind": "merged", "field": "url", "old_value": r["url"], "new_value": url}
                for r in others]
    conn.execute(changes.insert(), [
        {"crawl_run_id": run_id, "publication_id": survivor["id"], "topic_id": None,
         "changed_at": now, **h}
        for h in history
    ])
    conn.execute(pubs.delete().where(pubs.c.id.in_(other_ids)))


def _text(value):
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def downgrade() -> None:
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.drop_column('journal')
        batch_op.drop_column('list_price')

    with op.batch_alter_table('crawl_runs', schema=None) as batch_op:
        batch_op.drop_column('warnings')

    op.drop_table('downloads')
