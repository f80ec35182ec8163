"""The linked-case report: the connected cases a caller may see, with their clocks and one merged timeline."""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from casework.auth.models import User
from casework.cases.access import get_visible_case, ids_in, visible_among
from casework.cases.models import Case, CaseEvent
from casework.cases.pii import present_petitioner, present_reporter
from casework.sla.clocks import clocks_by_case
from casework.db import is_postgres
from casework.links.graph import MAX_DEPTH, connected
from casework.links.models import CaseLink
from casework.units.models import Unit

# Rows per page, as the API's lists (default 50, max 200): most components come whole (p50 6 cases at
# 1,000,000 cases), a hub component reaches thousands, and reading them all took seconds.
PAGE_SIZE = 50
# What the report shows of each case, as present_case(full_pii=False) gives it.
CASE_FIELDS = ("id", "number", "kind", "status", "title", "category", "handling_unit", "received_at", "clocks",
               "overdue", "supervised", "petitioner", "reporter")
# The case columns a report row reads (present_petitioner and present_reporter included); the rest stay unread.
_CASE_COLUMNS = (Case.number, Case.kind, Case.status, Case.title, Case.category, Case.handling_unit, Case.received_at,
                 Case.overdue, Case.supervised, Case.anonymous, Case.petitioner_name, Case.petitioner_id_number,
                 Case.petitioner_phone, Case.petitioner_address)
_EVENT_COLUMNS = (CaseEvent.case_id, CaseEvent.seq, CaseEvent.action, CaseEvent.from_state, CaseEvent.to_state,
                  CaseEvent.unit_code, CaseEvent.actor_name, CaseEvent.created_at)


def linked_report(*, session, case_id: int, viewer: User, depth: int = 3, page: int = 1,
                  page_size: int | None = PAGE_SIZE) -> dict:
    """Cases connected to ``case_id`` (non-dismissed links) up to ``depth``; out-of-scope ones only counted.

    The visible cases are paged (nearest first, ``page_size`` None for all): a hub component reaches thousands
    of cases. ``total`` counts the visible cases of the whole component; the page's rows carry their events,
    ``timeline`` merges those, and ``links`` are the links touching the page's cases between visible cases.
    """
    get_visible_case(session=session, case_id=case_id, user=viewer)
    pg = is_postgres(session)
    distance = dict(connected(session=session, start_id=case_id, depth=depth))
    # The walk goes through cases outside the viewer's scope (a link is a fact about both ends), but
    # only visible cases become rows; the others are the outside_scope count.
    visible_ids = sorted(session.scalars(sa.select(Case.id).where(visible_among(viewer, distance, postgres=pg))),
                         key=lambda i: (distance[i], i))
    first = (page - 1) * page_size if page_size else 0
    ids = visible_ids[first:first + page_size] if page_size else visible_ids
    # Only the page's rows are read, and only the columns a row shows: plain rows, not Case objects,
    # whose loading was a third of the report's time.
    rows = session.execute(sa.select(Case.id, *_CASE_COLUMNS, Unit.name.label("unit_name"))
                           .join(Unit, Unit.code == Case.handling_unit)
                           .where(ids_in(Case.id, ids, postgres=pg))).all() if ids else []
    found = {row.id: row for row in rows}
    names = {row.handling_unit: row.unit_name for row in rows}
    shown = [found[i] for i in ids]
    events = session.execute(sa.select(*_EVENT_COLUMNS).where(ids_in(CaseEvent.case_id, ids, postgres=pg))
                             .order_by(CaseEvent.created_at, CaseEvent.case_id, CaseEvent.seq)).all() if ids else []
    by_case: dict[int, list[dict]] = {i: [] for i in ids}
    timeline = []
    for ev in events:
        entry = {"case_id": ev.case_id, "number": found[ev.case_id].number, "seq": ev.seq, "action": ev.action,
                 "from_state": ev.from_state, "to_state": ev.to_state, "unit": ev.unit_code,
                 "actor": ev.actor_name, "at": ev.created_at}
        by_case[ev.case_id].append(entry)
        timeline.append(entry)
    touching = session.execute(
        sa.select(CaseLink.id, CaseLink.low_id, CaseLink.high_id, CaseLink.type, CaseLink.auto, CaseLink.dismissed)
        .where(sa.or_(ids_in(CaseLink.low_id, ids, postgres=pg), ids_in(CaseLink.high_id, ids, postgres=pg)))
        .order_by(CaseLink.id)).all() if ids else []
    in_scope = set(visible_ids)  # a link to a case outside the scope would name it
    links = [link for link in touching if link.low_id in in_scope and link.high_id in in_scope]
    cases = []
    for row in report_cases(session=session, cases=shown, viewer=viewer):
        cid = row["id"]
        cases.append({"id": cid, "number": row["number"], "kind": row["kind"], "status": row["status"],
                      "title": row["title"], "category": row["category"], "distance": distance[cid],
                      "handling_unit": row["handling_unit"], "handling_unit_name": names.get(row["handling_unit"]),
                      "received_at": row["received_at"], "clocks": row["clocks"], "overdue": row["overdue"],
                      "supervised": row["supervised"], "petitioner": row["petitioner"],
                      "reporter": row["reporter"], "events": by_case[cid]})
    more = bool(page_size) and first + page_size < len(visible_ids)
    return {"case_id": case_id, "depth": min(depth, MAX_DEPTH), "cases": cases, "total_connected": len(distance),
            "outside_scope": len(distance) - len(visible_ids), "total": len(visible_ids),
            "page": page if page_size else 1, "page_size": page_size or len(visible_ids),
            "next_page": page + 1 if more else None,
            "links": [{"id": link.id, "a": link.low_id, "b": link.high_id, "type": link.type, "auto": link.auto,
                       "dismissed": link.dismissed} for link in links],
            "timeline": timeline}


def report_cases(*, session, cases: Iterable, viewer: User) -> list[dict]:
    """``CASE_FIELDS`` of ``present_case(full_pii=False)`` for many cases at once: one clock query for all.

    ``cases`` are Case objects or rows holding ``id`` and ``_CASE_COLUMNS``.

    It skips what a report row does not show (allowed actions, related cases, participants); clocks and masks
    come from the same functions as present_case's.
    """
    cases = list(cases)
    found_clocks = clocks_by_case(session=session, case_ids=[c.id for c in cases])
    out = []
    for case in cases:
        lead = case.kind == "lead"
        out.append({
            "id": case.id, "number": case.number, "kind": case.kind, "status": case.status, "title": case.title,
            "category": case.category, "handling_unit": case.handling_unit, "received_at": case.received_at,
            "clocks": found_clocks.get(case.id, []), "overdue": case.overdue, "supervised": case.supervised,
            "petitioner": None if lead else present_petitioner(session=session, case=case, viewer=viewer,
                                                               full_allowed=False),
            "reporter": present_reporter(session=session, case=case, viewer=viewer, full_allowed=False)
            if lead else None,
        })
    return out
