"""live review clocks belong to the reviewing unit (复查 one level up, 复核 two)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# A clock's owner: the unit one (p) or two (g) levels above the case's handling unit (h), the root at most.
REVIEW = ("UPDATE case_clocks SET unit_code = (SELECT coalesce(p.code, h.code) FROM cases c "
          "JOIN units h ON h.code = c.handling_unit LEFT JOIN units p ON p.code = h.parent_code "
          "WHERE c.id = case_clocks.case_id) WHERE name = 'review' AND state IN ('running', 'paused')")
RE_REVIEW = ("UPDATE case_clocks SET unit_code = (SELECT coalesce(g.code, p.code, h.code) FROM cases c "
             "JOIN units h ON h.code = c.handling_unit LEFT JOIN units p ON p.code = h.parent_code "
             "LEFT JOIN units g ON g.code = p.parent_code WHERE c.id = case_clocks.case_id) "
             "WHERE name = 're_review' AND state IN ('running', 'paused')")


def upgrade() -> None:
    # Until now a review clock ran at the handling unit, so missing it opened a 督办 at the reviewing unit
    # itself. Clocks still running move to their owner; breached ones keep the record of what happened.
    op.execute(REVIEW)
    op.execute(RE_REVIEW)


def downgrade() -> None:
    # The code before 0013 keeps a review clock at the handling unit.
    op.execute("UPDATE case_clocks SET unit_code = (SELECT c.handling_unit FROM cases c "
               "WHERE c.id = case_clocks.case_id) WHERE name IN ('review', 're_review') "
               "AND state IN ('running', 'paused')")
