"""The linked-case report: the connected cases a caller may see, with their clocks and one merged timeline."""
from __future__ import annotations

import sqlalchemy as sa

from casework.auth.models import User
from casework.cases.access import get_visible_case, visible_condition
from casework.cases.models import Case, CaseEvent
from casework.cases.presenter import present_case
from casework.links.graph import connected
from casework.links.models import CaseLink
from casework.units.models import Unit

# Event params that may carry free text about people; the report shows the action, not these.
_HIDDEN_PARAMS = {"text", "note"}


def linked_report(*, session, case_id: int, viewer: User, depth: int = 3) -> dict:
    """Cases connected to ``case_id`` (non-dismissed links) up to ``depth``; out-of-scope ones only counted."""
    get_visible_case(session=session, case_id=case_id, user=viewer)
    reach = connected(session=session, start_id=case_id, depth=depth)
    distance = dict(reach)
    ids = list(distance)
    visible = {c.id: c for c in session.scalars(sa.select(Case).where(Case.id.in_(ids), visible_condition(viewer)))}
    names = dict(session.execute(sa.select(Unit.code, Unit.name).where(
        Unit.code.in_({c.handling_unit for c in visible.values()}))).all())
    events = session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id.in_(list(visible)))
                             .order_by(CaseEvent.created_at, CaseEvent.case_id, CaseEvent.seq)).all()
    by_case: dict[int, list[dict]] = {i: [] for i in visible}
    timeline = []
    for ev in events:
        entry = {"case_id": ev.case_id, "number": visible[ev.case_id].number, "seq": ev.seq, "action": ev.action,
                 "from_state": ev.from_state, "to_state": ev.to_state, "unit": ev.unit_code,
                 "actor": ev.actor_name, "at": ev.created_at}
        by_case[ev.case_id].append(entry)
        timeline.append(entry)
    links = session.scalars(sa.select(CaseLink).where(CaseLink.low_id.in_(list(visible)),
                                                      CaseLink.high_id.in_(list(visible)))
                            .order_by(CaseLink.id)).all()
    cases = []
    for cid in sorted(visible, key=lambda i: (distance[i], i)):
        shown = present_case(session=session, case=visible[cid], viewer=viewer, full_pii=False)
        cases.append({"id": cid, "number": shown["number"], "kind": shown["kind"], "status": shown["status"],
                      "title": shown["title"], "category": shown["category"], "distance": distance[cid],
                      "handling_unit": shown["handling_unit"], "handling_unit_name": names.get(shown["handling_unit"]),
                      "received_at": shown["received_at"], "clocks": shown["clocks"], "overdue": shown["overdue"],
                      "supervised": shown["supervised"], "petitioner": shown["petitioner"],
                      "reporter": shown["reporter"], "events": by_case[cid]})
    return {"case_id": case_id, "depth": min(depth, 6), "cases": cases, "total_connected": len(ids),
            "outside_scope": len(ids) - len(visible),
            "links": [{"id": link.id, "a": link.low_id, "b": link.high_id, "type": link.type, "auto": link.auto,
                       "dismissed": link.dismissed} for link in links],
            "timeline": timeline}
