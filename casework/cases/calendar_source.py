"""The working-day calendar the services use (official data plus admin overrides)."""
from __future__ import annotations

from casework.sla.calendar import WorkCalendar

_default = WorkCalendar()


def current_calendar(session=None) -> WorkCalendar:
    """The calendar in force; admin-loaded years are applied by the SLA package when present."""
    try:
        from casework.sla.overrides import calendar_with_overrides
    except ImportError:
        return _default
    return calendar_with_overrides(session=session, base=_default)
