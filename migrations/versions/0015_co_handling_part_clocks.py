"""case_clocks.participant_id: each co-handler's part (协办) has its own clock

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case_clocks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('participant_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_case_clocks_participant_id_case_participants'),
                                    'case_participants', ['participant_id'], ['id'], ondelete='SET NULL')
    # One live clock of a name per case now holds for the case's own clocks; a part's clock is one per part.
    op.drop_index('uq_case_clocks_live', table_name='case_clocks')
    where = sa.text("state IN ('running','paused') AND participant_id IS NULL")
    op.create_index('uq_case_clocks_live', 'case_clocks', ['case_id', 'name'], unique=True,
                    sqlite_where=where, postgresql_where=where)
    part_where = sa.text("state IN ('running','paused') AND participant_id IS NOT NULL")
    op.create_index('uq_case_clocks_live_part', 'case_clocks', ['participant_id'], unique=True,
                    sqlite_where=part_where, postgresql_where=part_where)
    # Removing a participant (a co-handler made the lead) sets its clocks' key to NULL: without an index
    # over every part clock, each such delete reads all clocks.
    any_part = sa.text("participant_id IS NOT NULL")
    op.create_index('ix_case_clocks_participant', 'case_clocks', ['participant_id'],
                    sqlite_where=any_part, postgresql_where=any_part)


def downgrade() -> None:
    op.drop_index('ix_case_clocks_participant', table_name='case_clocks')
    op.drop_index('uq_case_clocks_live_part', table_name='case_clocks')
    op.drop_index('uq_case_clocks_live', table_name='case_clocks')
    op.execute("DELETE FROM case_clocks WHERE participant_id IS NOT NULL")
    where = sa.text("state IN ('running','paused')")
    op.create_index('uq_case_clocks_live', 'case_clocks', ['case_id', 'name'], unique=True,
                    sqlite_where=where, postgresql_where=where)
    with op.batch_alter_table('case_clocks', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_case_clocks_participant_id_case_participants'), type_='foreignkey')
        batch_op.drop_column('participant_id')
