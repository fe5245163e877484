"""publication revisions, tombstones, run host and pid

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 15:00:32.733582

Every publication gets a ``revision`` from a catalog-wide change counter, so that each search
index can tell what it has not absorbed yet with one indexed query. Existing rows all get
revision 1 (one change: "the catalog as it was"); the counter continues at 2. PostgreSQL
counts with the sequence ``publication_revision_seq``; SQLite with the ``revision`` row of
``catalog_state``. ``catalog_state`` also gets a random ``catalog_id`` that tells indexes
built from another database apart.

``deleted_publications`` keeps a tombstone per deleted publication, and ``crawl_runs`` gets
``host`` and ``pid`` so that a run left ``running`` by a killed process can be recognised.

The column is added NOT NULL with a temporary default of 0 (the only way to add a NOT NULL
column to a filled table in place); PostgreSQL drops the default afterwards. SQLite keeps it:
dropping a default means rebuilding the table, and rebuilding ``publications`` with foreign
keys enforced would cascade-delete its listings, authors and history. The store always sets
the revision explicitly, and ``catalog index check`` would report a row it missed.
"""
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQUENCE = "publication_revision_seq"
FIRST_REVISION = 1


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table('catalog_state',
    sa.Column('key', sa.String(length=50), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_catalog_state'))
    )
    op.create_table('deleted_publications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('revision', sa.BigInteger(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deleted_publications'))
    )
    with op.batch_alter_table('deleted_publications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deleted_publications_revision'), ['revision'], unique=False)

    with op.batch_alter_table('crawl_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('host', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('pid', sa.Integer(), nullable=True))

    # In place (ALTER TABLE ... ADD COLUMN), never a table rebuild: see the module docstring.
    op.add_column(
        'publications',
        sa.Column('revision', sa.BigInteger(), nullable=False, server_default='0'),
    )
    op.execute(sa.text(f"UPDATE publications SET revision = {FIRST_REVISION}"))
    if postgres:
        op.alter_column('publications', 'revision', server_default=None)
        op.execute(sa.text(f"CREATE SEQUENCE {SEQUENCE} START WITH {FIRST_REVISION + 1}"))
    op.create_index(op.f('ix_publications_revision'), 'publications', ['revision'], unique=False)

    state = sa.table('catalog_state', sa.column('key', sa.String), sa.column('value', sa.BigInteger))
    op.bulk_insert(state, [
        {"key": "revision", "value": FIRST_REVISION},
        {"key": "catalog_id", "value": secrets.randbits(62)},
    ])


def downgrade() -> None:
    op.drop_index(op.f('ix_publications_revision'), table_name='publications')
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), again never a rebuild of publications.
    op.drop_column('publications', 'revision')
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text(f"DROP SEQUENCE IF EXISTS {SEQUENCE}"))

    with op.batch_alter_table('crawl_runs', schema=None) as batch_op:
        batch_op.drop_column('pid')
        batch_op.drop_column('host')

    with op.batch_alter_table('deleted_publications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deleted_publications_revision'))

    op.drop_table('deleted_publications')
    op.drop_table('catalog_state')
