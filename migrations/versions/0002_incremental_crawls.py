"""incremental crawls: validators, change history, walk state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 10:49:37.013535
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('listing_pages',
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=True),
    sa.Column('etag', sa.String(length=500), nullable=True),
    sa.Column('last_modified', sa.String(length=100), nullable=True),
    sa.Column('fetched_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name=op.f('fk_listing_pages_topic_id_topics'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('url', name=op.f('pk_listing_pages'))
    )
    op.create_table('publication_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crawl_run_id', sa.Integer(), nullable=False),
    sa.Column('publication_id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('field', sa.String(length=50), nullable=True),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['crawl_run_id'], ['crawl_runs.id'], name=op.f('fk_publication_changes_crawl_run_id_crawl_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['publication_id'], ['publications.id'], name=op.f('fk_publication_changes_publication_id_publications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name=op.f('fk_publication_changes_topic_id_topics'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publication_changes'))
    )
    with op.batch_alter_table('publication_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publication_changes_changed_at'), ['changed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_publication_changes_crawl_run_id'), ['crawl_run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_publication_changes_publication_id'), ['publication_id'], unique=False)

    with op.batch_alter_table('crawl_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('full', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('pages_not_modified', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('items_delisted', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('publication_topics', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delisted_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('topics', schema=None) as batch_op:
        batch_op.add_column(sa.Column('walk_state', sa.String(length=20), server_default='partial', nullable=False))
        batch_op.add_column(sa.Column('walked_at', sa.DateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('topics', schema=None) as batch_op:
        batch_op.drop_column('walked_at')
        batch_op.drop_column('walk_state')

    with op.batch_alter_table('publication_topics', schema=None) as batch_op:
        batch_op.drop_column('delisted_at')

    with op.batch_alter_table('crawl_runs', schema=None) as batch_op:
        batch_op.drop_column('items_delisted')
        batch_op.drop_column('pages_not_modified')
        batch_op.drop_column('full')

    with op.batch_alter_table('publication_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publication_changes_publication_id'))
        batch_op.drop_index(batch_op.f('ix_publication_changes_crawl_run_id'))
        batch_op.drop_index(batch_op.f('ix_publication_changes_changed_at'))

    op.drop_table('publication_changes')
    op.drop_table('listing_pages')
