"""Which cases are overdue, supervised or awaiting a 督办 reply, as selects of case ids the list filters can use.

``cases.overdue`` and ``cases.supervised`` are what a case shows; these selects are how a list finds those
cases without an index on the flags (an index there would make the sweep's flag update rewrite every index
of cases, see the note on Case.overdue). Both read a partial index whose case_path follows the case.
"""
from __future__ import annotations

import sqlalchemy as sa

from casework.sla.models import CaseClock, Supervision


def overdue_case_ids(prefix: str | None = None) -> sa.Select:
    """Cases with a breached clock not yet met (the definition refresh_flags applies), under ``prefix``."""
    stmt = sa.select(CaseClock.case_id).where(CaseClock.state == "breached", CaseClock.met_at.is_(None))
    return stmt.where(CaseClock.case_path.startswith(prefix, autoescape=True)) if prefix is not None else stmt


def supervised_case_ids(prefix: str | None = None) -> sa.Select:
    """Cases with an open 督办, under ``prefix``."""
    stmt = sa.select(Supervision.case_id).where(Supervision.state == "open")
    return stmt.where(Supervision.case_path.startswith(prefix, autoescape=True)) if prefix is not None else stmt


def awaiting_reply_case_ids(prefix: str | None = None) -> sa.Select:
    """Cases with an open 督办 not yet answered (待回复督办), under ``prefix``."""
    return supervised_case_ids(prefix).where(Supervision.replied_at.is_(None))
