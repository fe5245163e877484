"""publication details

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 11:07:31.850225
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('authors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authors')),
    sa.UniqueConstraint('name', name=op.f('uq_authors_name'))
    )
    op.create_table('publication_authors',
    sa.Column('publication_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['authors.id'], name=op.f('fk_publication_authors_author_id_authors'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['publication_id'], ['publications.id'], name=op.f('fk_publication_authors_publication_id_publications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('publication_id', 'position', name=op.f('pk_publication_authors'))
    )
    with op.batch_alter_table('publication_authors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publication_authors_author_id'), ['author_id'], unique=False)

    with op.batch_alter_table('crawl_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('details_fetched', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('details_failed', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subtitle', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('abstract', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('research_questions', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('key_findings', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('recommendations', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('body_text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('document_number', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('doi', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('isbn', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('series', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('page_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('pdf_url', sa.String(length=2048), nullable=True))
        batch_op.add_column(sa.Column('pdf_size', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('print_format', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('print_price', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('details_fetched_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('details_error', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_publications_document_number'), ['document_number'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publications_document_number'))
        batch_op.drop_column('details_error')
        batch_op.drop_column('details_fetched_at')
        batch_op.drop_column('print_price')
        batch_op.drop_column('print_format')
        batch_op.drop_column('pdf_size')
        batch_op.drop_column('pdf_url')
        batch_op.drop_column('page_count')
        batch_op.drop_column('series')
        batch_op.drop_column('isbn')
        batch_op.drop_column('doi')
        batch_op.drop_column('document_number')
        batch_op.drop_column('body_text')
        batch_op.drop_column('recommendations')
        batch_op.drop_column('key_findings')
        batch_op.drop_column('research_questions')
        batch_op.drop_column('abstract')
        batch_op.drop_column('subtitle')

    with op.batch_alter_table('crawl_runs', schema=None) as batch_op:
        batch_op.drop_column('details_failed')
        batch_op.drop_column('details_fetched')

    with op.batch_alter_table('publication_authors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publication_authors_author_id'))

    op.drop_table('publication_authors')
    op.drop_table('authors')
