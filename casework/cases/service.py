"""Reading cases: lists with filters and search, one case, its events. Always within the caller's scope."""
from __future__ import annotations

import sqlalchemy as sa

from casework.auth.models import User
from casework.cases.access import get_visible_case, visible_condition
from casework.cases.events import events_of
from casework.cases.models import Case, CaseEvent
from casework.sla.flags import awaiting_reply_case_ids, overdue_case_ids, supervised_case_ids
from casework.units.models import Unit


def list_cases(*, session, viewer: User, filters: dict) -> sa.Select:
    """A select of the cases ``viewer`` may see, filtered as API.md lists."""
    stmt = sa.select(Case).where(visible_condition(viewer))
    for name in ("kind", "status", "category", "region"):
        if filters.get(name):
            stmt = stmt.where(getattr(Case, name) == filters[name])
    prefix = None
    if filters.get("unit"):
        unit = session.get(Unit, filters["unit"])
        # An unknown unit matches nothing rather than erroring: the filter is a narrowing.
        stmt = stmt.where(Case.unit_path.startswith(unit.path, autoescape=True) if unit else sa.false())
        prefix = unit.path if unit else None
    for name, case_ids in (("overdue", overdue_case_ids), ("supervised", supervised_case_ids),
                           ("awaiting_reply", awaiting_reply_case_ids)):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(Case, name) == filters[name])
            if filters[name]:
                # The flag has no index (see Case.overdue): the few flagged cases come from a partial index.
                stmt = stmt.where(Case.id.in_(case_ids(prefix)))
    if filters.get("received_from"):
        stmt = stmt.where(Case.received_at >= filters["received_from"])
    if filters.get("received_to"):
        stmt = stmt.where(Case.received_at < filters["received_to"])
    if filters.get("q"):
        pattern = "%" + filters["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(sa.or_(Case.title.ilike(pattern, escape="\\"), Case.content.ilike(pattern, escape="\\")))
    order = filters.get("sort", "-received_at")
    column = Case.received_at
    stmt = stmt.order_by(column.desc() if order.startswith("-") else column.asc(), Case.id.desc())
    return stmt


def get_case(*, session, case_id: int, viewer: User) -> Case:
    """One case in the caller's scope, or 404."""
    return get_visible_case(session=session, case_id=case_id, user=viewer)


def case_events(*, session, case_id: int, viewer: User) -> list[CaseEvent]:
    """The audit trail of a case in scope, oldest first."""
    get_visible_case(session=session, case_id=case_id, user=viewer)
    return events_of(session=session, case_id=case_id)
