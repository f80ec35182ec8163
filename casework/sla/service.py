"""SLA operations shared by the API, the CLI and the jobs."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from casework.auth.models import User
from casework.cases.access import get_visible_case
from casework.cases.calendar_source import current_calendar
from casework.cases.models import Case
from casework.common.sql import upsert_insert
from casework.db import utcnow
from casework.problem import Invalid
from casework.sla.calendar import WorkCalendar
from casework.sla.clocks import recompute
from casework.sla.models import CalendarYear, CaseClock, Supervision
from casework.sla.policies import SlaPolicies
from casework.units.models import Unit


def run_sweep(*, session, policies: SlaPolicies, now=None):
    """One sweep at ``now`` (default: the clock); the caller commits."""
    from casework.sla.sweep import sweep

    return sweep(session=session, now=now or utcnow(), policies=policies)


def list_supervisions(*, session, viewer: User, unit: str | None = None, open_: bool | None = None) -> sa.Select:
    """督办 records the caller may see: opened by or aimed at a unit of its subtree."""
    target = aliased(Unit)
    root = viewer.unit.path
    stmt = (sa.select(Supervision).join(target, target.code == Supervision.target_unit)
            .where(sa.or_(Supervision.unit_path.startswith(root, autoescape=True),
                          target.path.startswith(root, autoescape=True))))
    if unit:
        unit_row = session.get(Unit, unit)
        stmt = stmt.where(Supervision.unit_path.startswith(unit_row.path, autoescape=True) if unit_row else sa.false())
    if open_ is not None:
        stmt = stmt.where(Supervision.state == ("open" if open_ else "closed"))
    return stmt.order_by(Supervision.opened_at.desc(), Supervision.id.desc())


def case_supervisions(*, session, case_id: int, viewer: User) -> list[Supervision]:
    """Every 督办 of one case the caller can see, oldest first: what the handling unit is asked to answer."""
    get_visible_case(session=session, case_id=case_id, user=viewer)
    return list(session.scalars(sa.select(Supervision).where(Supervision.case_id == case_id)
                                .order_by(Supervision.id)))


def calendar_view(*, session, year: int) -> dict:
    """The working-day calendar of ``year``: its source, and the days that differ from Mon–Fri."""
    row = session.get(CalendarYear, year)
    cal = current_calendar(session)
    off_weekdays, on_weekends = [], []
    day = date(year, 1, 1)
    while day.year == year:
        workday = cal.is_workday(day)
        if day.weekday() < 5 and not workday:
            off_weekdays.append(day)
        elif day.weekday() >= 5 and workday:
            on_weekends.append(day)
        day = date.fromordinal(day.toordinal() + 1)
    source = "admin" if row else ("fallback" if WorkCalendar().is_provisional(year) else "official_package")
    return {"year": year, "source": source, "provisional": cal.is_provisional(year), "holidays": off_weekdays,
            "workdays": on_weekends, "loaded_at": row.loaded_at if row else None}


def load_calendar(*, session, year: int, holidays: list[date], workdays: list[date], actor: User,
                  policies: SlaPolicies) -> int:
    """Store the official calendar of ``year`` and recompute every live provisional deadline; returns how many."""
    bad = [d for d in [*holidays, *workdays] if d.year != year]
    if bad:
        raise Invalid("dates must lie in the year", errors={"holidays": [f"{d} is not in {year}" for d in bad]})
    both = set(holidays) & set(workdays)
    if both:
        raise Invalid("a day cannot be both a holiday and a workday",
                      errors={"workdays": [f"{d} is also a holiday" for d in sorted(both)]})
    values = dict(year=year, holidays=sorted(d.isoformat() for d in holidays),
                  workdays=sorted(d.isoformat() for d in workdays), loaded_by=actor.id, loaded_at=utcnow())
    stmt = upsert_insert(session, CalendarYear.__table__).values(**values)
    session.execute(stmt.on_conflict_do_update(index_elements=["year"], set_={k: stmt.excluded[k] for k in values
                                                                              if k != "year"}))
    session.flush()
    from casework.sla.overrides import forget_calendar

    forget_calendar(session)
    return recompute_provisional(session=session, policies=policies)


def recompute_provisional(*, session, policies: SlaPolicies) -> int:
    """Recompute live clocks whose deadline was provisional, with the calendar now in force."""
    cal = current_calendar(session)
    now = utcnow()
    count = 0
    rows = session.execute(sa.select(CaseClock, Case).join(Case, Case.id == CaseClock.case_id)
                           .where(CaseClock.provisional.is_(True), CaseClock.state.in_(("running", "paused"))))
    for clock, case in rows:
        recompute(clock=clock, case=case, policies=policies, cal=cal, now=now)
        count += 1
    session.flush()
    return count
