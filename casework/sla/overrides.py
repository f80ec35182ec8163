"""Admin-loaded official calendars, and recomputing provisional deadlines when one arrives."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from casework.sla.calendar import WorkCalendar, YearOverride
from casework.sla.models import CalendarYear


def _override_of(row: CalendarYear) -> YearOverride:
    return YearOverride(holidays=frozenset(date.fromisoformat(d) for d in row.holidays),
                        workdays=frozenset(date.fromisoformat(d) for d in row.workdays))


def calendar_with_overrides(*, session, base: WorkCalendar) -> WorkCalendar:
    """``base`` plus every year an admin has loaded."""
    if session is None:
        return base
    rows = list(session.scalars(sa.select(CalendarYear)))
    if not rows:
        return base
    return base.with_overrides({row.year: _override_of(row) for row in rows})
