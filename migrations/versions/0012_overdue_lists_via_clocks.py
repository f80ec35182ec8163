"""overdue and supervised lists through clocks and 督办, so the sweep's case update is HOT

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 0010's partial indexes named cases.overdue and cases.supervised, so the sweep's flag update of 10,000
    # cases wrote a new entry in all fourteen indexes of cases (1.1 s of a 2.5 s sweep). The lists now find
    # their cases through the breached clocks and open 督办, which carry the case's unit_path.
    backfill = {
        'case_clocks': "UPDATE case_clocks SET case_path = (SELECT cases.unit_path FROM cases "
                       "WHERE cases.id = case_clocks.case_id)",
        'supervisions': "UPDATE supervisions SET case_path = (SELECT cases.unit_path FROM cases "
                        "WHERE cases.id = supervisions.case_id)",
    }
    for table, sql in backfill.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('case_path', sa.String(length=200), nullable=True))
        op.execute(sql)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('case_path', existing_type=sa.String(length=200), nullable=False)
    with op.batch_alter_table('case_clocks', schema=None) as batch_op:
        batch_op.create_index('ix_case_clocks_overdue_path', ['case_path'], unique=False,
                              postgresql_ops={'case_path': 'varchar_pattern_ops'}, postgresql_include=['case_id'],
                              postgresql_where=sa.text("state = 'breached' AND met_at IS NULL"),
                              sqlite_where=sa.text("state = 'breached' AND met_at IS NULL"))
    with op.batch_alter_table('supervisions', schema=None) as batch_op:
        batch_op.create_index('ix_supervisions_open_case_path', ['case_path'], unique=False,
                              postgresql_ops={'case_path': 'varchar_pattern_ops'}, postgresql_include=['case_id'],
                              postgresql_where=sa.text("state = 'open'"), sqlite_where=sa.text("state = 'open'"))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_supervised_path')
        batch_op.drop_index('ix_cases_overdue_path')


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_overdue_path', ['unit_path'], unique=False,
                              postgresql_ops={'unit_path': 'varchar_pattern_ops'},
                              postgresql_where=sa.text('overdue'), sqlite_where=sa.text('overdue'))
        batch_op.create_index('ix_cases_supervised_path', ['unit_path'], unique=False,
                              postgresql_ops={'unit_path': 'varchar_pattern_ops'},
                              postgresql_where=sa.text('supervised'), sqlite_where=sa.text('supervised'))
    with op.batch_alter_table('supervisions', schema=None) as batch_op:
        batch_op.drop_index('ix_supervisions_open_case_path')
        batch_op.drop_column('case_path')
    with op.batch_alter_table('case_clocks', schema=None) as batch_op:
        batch_op.drop_index('ix_case_clocks_overdue_path')
        batch_op.drop_column('case_path')
