"""cases keep 10 % of each page free, so the sweep's flag updates stay HOT

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The sweep sets overdue/supervised/late flags on thousands of cases a run. None of those columns is
    # indexed, so PostgreSQL can update the row in place (HOT) -- but only if the new version fits on the
    # same page. A packed page forces a new version elsewhere and an entry in each of the eleven indexes,
    # two of them trigram GIN. Existing pages get the free space as they are rewritten (VACUUM FULL or
    # pg_repack in a maintenance window); new rows get it at once. SQLite has no such setting.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE cases SET (fillfactor = 90)")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE cases RESET (fillfactor)")
