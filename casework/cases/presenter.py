"""Builds the case answer for one viewer: masks, allowed actions, clocks."""
from __future__ import annotations

from casework.auth.models import User
from casework.cases.actions import allowed_actions
import sqlalchemy as sa

from casework.cases.access import visible_condition
from casework.cases.models import Case
from casework.cases.pii import present_petitioner, present_reporter

_clock_providers: list = []


def clock_provider(fn):
    """The SLA package registers how the clocks of cases are listed: ``fn(*, session, case_ids)`` gives
    ``{case_id: [clock, ...]}``."""
    _clock_providers.append(fn)
    return fn


def clocks_of(*, session, case_ids: list[int]) -> dict[int, list[dict]]:
    """Every case's clocks, from every provider, in one query per provider."""
    out: dict[int, list[dict]] = {i: [] for i in case_ids}
    for provider in _clock_providers:
        for case_id, clocks in provider(session=session, case_ids=case_ids).items():
            out[case_id].extend(clocks)
    return out


def present_cases(*, session, cases: list[Case], viewer: User, full_pii: bool = False) -> list[dict]:
    """``present_case`` for a page of cases, their clocks read at once rather than a query per case."""
    clocks = clocks_of(session=session, case_ids=[c.id for c in cases])
    return [present_case(session=session, case=c, viewer=viewer, full_pii=full_pii, clocks=clocks[c.id])
            for c in cases]


def present_case(*, session, case: Case, viewer: User, full_pii: bool = True, clocks: list[dict] | None = None) -> dict:
    """The case as ``viewer`` may see it; ``full_pii`` False forces masks (lists)."""
    refs = {}
    for attr in ("merged_into_id", "possible_repeat_of_id"):
        target_id = getattr(case, attr)
        if target_id:
            # A related case outside the viewer's scope is not named, not even by number.
            other = session.scalar(sa.select(Case).where(Case.id == target_id, visible_condition(viewer)))
            refs[attr] = {"id": other.id, "number": other.number} if other is not None else None
    if clocks is None:
        clocks = clocks_of(session=session, case_ids=[case.id])[case.id]
    return {
        "id": case.id, "number": case.number, "kind": case.kind, "status": case.status, "channel": case.channel,
        "category": case.category, "title": case.title, "content": case.content, "region": case.region,
        "regions": case.regions or [case.region], "handling_unit": case.handling_unit,
        "registering_unit": case.registering_unit, "route": {"rule": case.route_rule, "reason": case.route_reason},
        "participants": case.participants, "anonymous": case.anonymous,
        "petitioner": None if case.kind == "lead" else present_petitioner(session=session, case=case, viewer=viewer,
                                                                          full_allowed=full_pii),
        "reporter": present_reporter(session=session, case=case, viewer=viewer, full_allowed=full_pii)
        if case.kind == "lead" else None,
        "lead": _lead_facts(case) if case.kind == "lead" else None, "village_code": case.village_code,
        "people_count": case.people_count, "urgency": case.urgency, "received_at": case.received_at,
        "created_at": case.created_at, "updated_at": case.updated_at, "version": case.version,
        "outcome": case.outcome, "satisfaction": case.satisfaction, "return_count": case.return_count,
        "is_final": case.is_final, "merged_into": refs.get("merged_into_id"),
        "possible_repeat_of": refs.get("possible_repeat_of_id"), "clocks": clocks, "overdue": case.overdue,
        "supervised": case.supervised, "awaiting_reply": case.awaiting_reply, "allowed_actions": allowed_actions(case=case, viewer=viewer, clocks=clocks),
    }


def _lead_facts(case: Case) -> dict:
    from casework.security import pii_box

    return {"source": case.lead_source, "disposal": case.disposal,
            "accused": {"name": pii_box.decrypt(case.accused_name), "unit": case.accused_unit,
                        "position": case.accused_position} if case.accused_name or case.accused_unit else None}
