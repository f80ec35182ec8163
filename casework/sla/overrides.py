"""Admin-loaded official calendars, and recomputing provisional deadlines when one arrives."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session

from casework.sla.calendar import WorkCalendar, YearOverride
from casework.sla.models import CalendarYear


def _override_of(row: CalendarYear) -> YearOverride:
    return YearOverride(holidays=frozenset(date.fromisoformat(d) for d in row.holidays),
                        workdays=frozenset(date.fromisoformat(d) for d in row.workdays))


_CACHE = "casework_calendar"


def calendar_with_overrides(*, session, base: WorkCalendar) -> WorkCalendar:
    """``base`` plus every year an admin has loaded.

    Kept for the rest of the session's current (innermost) transaction: every clock started or
    recomputed asked again, one query each. ``forget_calendar`` drops it when a year is loaded.
    """
    if session is None:
        return base
    if isinstance(session, scoped_session):
        session = session()
    cached = session.info.get(_CACHE)
    if cached is not None and cached[0] is _innermost(session) is not None and cached[1] is base:
        return cached[2]
    rows = list(session.scalars(sa.select(CalendarYear)))
    calendar = base.with_overrides({row.year: _override_of(row) for row in rows}) if rows else base
    session.info[_CACHE] = (_innermost(session), base, calendar)
    return calendar


def _innermost(session: Session):
    return session.get_nested_transaction() or session.get_transaction()


def forget_calendar(session) -> None:
    """The calendar years changed in this transaction: the next look-up reads them again."""
    session.info.pop(_CACHE, None)
