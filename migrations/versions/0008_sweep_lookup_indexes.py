"""sweep look-up indexes: clocks warned or breached at a given time

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The sweep re-reads the clocks it has just warned or breached by its own timestamp (warned_at = now,
    # breached_at = now); at 1,000,000 clocks each such read was a full scan (docs/performance.md).
    with op.batch_alter_table('case_clocks', schema=None) as batch_op:
        batch_op.create_index('ix_case_clocks_warned_running', ['warned_at'], unique=False,
                              sqlite_where=sa.text("state = 'running' AND warned_at IS NOT NULL"),
                              postgresql_where=sa.text("state = 'running' AND warned_at IS NOT NULL"))
        batch_op.create_index('ix_case_clocks_breached_at', ['breached_at'], unique=False,
                              sqlite_where=sa.text("state = 'breached'"),
                              postgresql_where=sa.text("state = 'breached'"))


def downgrade() -> None:
    with op.batch_alter_table('case_clocks', schema=None) as batch_op:
        batch_op.drop_index('ix_case_clocks_breached_at')
        batch_op.drop_index('ix_case_clocks_warned_running')
