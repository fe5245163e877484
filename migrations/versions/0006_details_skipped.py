"""crawl_runs.details_skipped

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 16:20:00.000000

A teaser that links to another host than the listing's never had its publication page read,
and no run counted it. ``crawl_runs.details_skipped`` counts such pages (the log names each
and why); existing runs get 0.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ALTER TABLE ... ADD COLUMN in place on every backend: no rebuild of crawl_runs, whose
    # history rows reference it (see 0005 on rebuilds and cascades).
    op.add_column(
        'crawl_runs',
        sa.Column('details_skipped', sa.Integer(), server_default='0', nullable=False),
    )


def downgrade() -> None:
    op.drop_column('crawl_runs', 'details_skipped')
