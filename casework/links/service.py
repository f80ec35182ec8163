"""Explicit and automatic links between cases."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from casework.auth.models import User
from casework.cases.access import get_visible_case, visible_among
from casework.cases.models import Case
from casework.common.sql import upsert_insert
from casework.db import UTCDateTime, utcnow
from casework.links.models import LINK_TYPES, CaseLink
from casework.problem import Conflict, Invalid

# Automatic links: which column makes two cases "the same", per link type. Leads carry no
# person index (reporter confidentiality), so same_petitioner never reaches a lead.
AUTO_RULES = {"same_petitioner": Case.person_index, "same_accused": Case.accused_key, "same_village": Case.village_code}


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def add_link(*, session, case_id: int, target_id: int, type_: str, note: str | None, actor: User | None,
             auto: bool = False) -> CaseLink:
    """Link two cases; both must be visible to a human actor. No self-links, no duplicates."""
    if type_ not in LINK_TYPES:
        raise Invalid("unknown link type", errors={"type": [f"must be one of {', '.join(LINK_TYPES)}"]})
    if case_id == target_id:
        raise Invalid("a case cannot be linked to itself", errors={"target": ["same as the case"]})
    if actor is not None:
        get_visible_case(session=session, case_id=case_id, user=actor)
        try:
            get_visible_case(session=session, case_id=target_id, user=actor)
        except Exception:
            raise Invalid("the target case does not exist or is outside your jurisdiction",
                          errors={"target": ["unknown case"]}) from None
    low, high = _pair(case_id, target_id)
    existing = session.scalar(sa.select(CaseLink).where(CaseLink.low_id == low, CaseLink.high_id == high,
                                                        CaseLink.type == type_))
    if existing is not None:
        if actor is None:
            return existing
        raise Conflict("these cases are already linked this way", errors={"target": ["link exists"]})
    link = CaseLink(low_id=low, high_id=high, type=type_, note=note, auto=auto,
                    created_by=actor.id if actor else None, created_at=utcnow())
    session.add(link)
    session.flush()
    return link


def links_of(*, session, case_id: int, viewer: User) -> dict:
    """Links of a visible case, both directions; counterparts outside the viewer's scope are only counted."""
    get_visible_case(session=session, case_id=case_id, user=viewer)
    other_id = sa.case((CaseLink.low_id == case_id, CaseLink.high_id), else_=CaseLink.low_id)
    rows = session.execute(sa.select(CaseLink, other_id.label("other"))
                           .where(sa.or_(CaseLink.low_id == case_id, CaseLink.high_id == case_id))
                           .order_by(CaseLink.id)).all()
    others = {r.other for r in rows}
    visible = {c.id: c for c in session.scalars(sa.select(Case).where(visible_among(viewer, others)))}
    items, hidden = [], 0
    for link, other in rows:
        if other not in visible:
            hidden += 1
            continue
        items.append({"id": link.id, "type": link.type, "note": link.note, "auto": link.auto,
                      "dismissed": link.dismissed, "created_at": link.created_at,
                      "case": {"id": other, "number": visible[other].number, "kind": visible[other].kind,
                               "status": visible[other].status}})
    return {"items": items, "total": len(items), "outside_scope": hidden}


def dismiss_link(*, session, case_id: int, link_id: int, actor: User) -> CaseLink:
    """An inspector dismisses an automatic link; it stays, marked dismissed."""
    get_visible_case(session=session, case_id=case_id, user=actor)
    link = session.get(CaseLink, link_id)
    if link is None or case_id not in (link.low_id, link.high_id):
        from casework.problem import NotFound

        raise NotFound(f"link {link_id} not found")
    if not link.auto:
        raise Invalid("only automatic links are dismissed; an explicit link was made on purpose",
                      errors={"link": ["not an automatic link"]})
    if not link.dismissed:
        link.dismissed, link.dismissed_at, link.dismissed_by = True, utcnow(), actor.id
    session.flush()
    return link


def queue_auto_links(*, session, case: Case) -> None:
    """Link the new case to its repeat at once, and leave the wider search to a background job."""
    if case.possible_repeat_of_id:
        add_link(session=session, case_id=case.id, target_id=case.possible_repeat_of_id, type_="same_petitioner",
                 note="自动：同一信访人同类事项", actor=None, auto=True)
    if case.person_index or case.accused_key or case.village_code:
        from casework.outbox.service import enqueue

        enqueue(session=session, func="workers.jobs.auto_link", queue="default", case_id=case.id)


def auto_link(*, session, case_id: int) -> int:
    """Create every automatic link of one case, set-based; idempotent (existing links are kept)."""
    created = 0
    table = CaseLink.__table__
    me = aliased(Case)
    for link_type, column in AUTO_RULES.items():
        other = aliased(Case)
        mine = getattr(me, column.key)
        theirs = getattr(other, column.key)
        select = (sa.select(sa.case((me.id < other.id, me.id), else_=other.id),
                            sa.case((me.id < other.id, other.id), else_=me.id), sa.literal(link_type),
                            sa.literal("自动关联"), sa.literal(True), sa.literal(False),
                            sa.literal(utcnow(), UTCDateTime()))
                  # Leads link only to leads: a link from a petition would tell its handlers a lead exists.
                  .select_from(me).join(other, sa.and_(theirs == mine, other.id != me.id,
                                                       (other.kind == "lead") == (me.kind == "lead")))
                  .where(me.id == case_id, mine.is_not(None))
                  .limit(500))
        stmt = (upsert_insert(session, table)
                .from_select(["low_id", "high_id", "type", "note", "auto", "dismissed", "created_at"], select)
                .on_conflict_do_nothing(index_elements=["low_id", "high_id", "type"]).returning(table.c.id))
        created += len(session.execute(stmt).scalars().all())
    session.flush()
    return created
