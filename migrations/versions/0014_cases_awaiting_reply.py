"""cases.awaiting_reply: an open 督办 still waits for the unit's reply

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('awaiting_reply', sa.Boolean(), server_default=sa.false(), nullable=False))
    # Leads have no 督办 reply (their 督办 only records a missed deadline).
    op.execute("UPDATE cases SET awaiting_reply = true WHERE kind <> 'lead' AND EXISTS (SELECT 1 FROM supervisions s "
               "WHERE s.case_id = cases.id AND s.state = 'open' AND s.replied_at IS NULL)")


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('awaiting_reply')
