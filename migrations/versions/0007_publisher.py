"""publications.publisher

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-12 10:00:00.000000

The catalog reads more than one think tank, so every publication names its publisher.
``publications.publisher`` holds the name as the publisher gives it ("RAND Corporation"),
"" when unknown. Every row catalogued before this revision was read by the RAND spider (from
rand.org, the demo's RAND-shaped site or a local mirror of RAND pages), so each gets "RAND
Corporation". An index on the column serves `catalog stats` (counts by publisher).

Search indexes learn the new field from their own schema version (a new one rebuilds them), so
no publication's revision is touched here.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RAND = 'RAND Corporation'


def upgrade() -> None:
    # ALTER TABLE ... ADD COLUMN in place on every backend (see 0006): no rebuild of
    # publications, whose listings, authors and history rows reference it.
    op.add_column(
        'publications',
        sa.Column('publisher', sa.String(length=300), server_default='', nullable=False),
    )
    publications = sa.table('publications', sa.column('publisher', sa.String))
    op.execute(publications.update().values(publisher=RAND))
    op.create_index(op.f('ix_publications_publisher'), 'publications', ['publisher'])


def downgrade() -> None:
    op.drop_index(op.f('ix_publications_publisher'), table_name='publications')
    op.drop_column('publications', 'publisher')
