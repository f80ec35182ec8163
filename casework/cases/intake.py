"""Intake: validate, route, number and register a case, idempotently."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from casework.auth.models import User
from casework.cases.events import append_event
from casework.cases.models import Case, CaseParticipant, IdempotencyKey
from casework.cases.numbering import next_number
from casework.cases.pii import store_petitioner
from casework.cases.routing_adapter import decide_route
from casework.db import utcnow
from casework.problem import Conflict, Invalid
from casework.routing import RouteRequest
from casework.units.models import Unit

IDEMPOTENCY_TTL = timedelta(hours=48)
REPEAT_WINDOW = timedelta(days=180)
TERMINAL = ("closed", "not_accepted", "merged")


@dataclass
class IntakeResult:
    case: Case
    created: bool  # False when an Idempotency-Key replayed an earlier intake


def request_fingerprint(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def intake(*, session, data: dict, actor: User, idempotency_key: str | None = None, raw_body: dict | None = None,
           now: datetime | None = None, repeat_window: timedelta = REPEAT_WINDOW,
           skip_role_check: bool = False) -> IntakeResult:
    """Register a new case from validated ``data``; replays an earlier answer for a repeated key."""
    now = now or utcnow()
    if not skip_role_check:  # a petition's handler spinning off a lead is checked by the workflow table
        check_intake_role(actor=actor, kind=data["kind"])
    key_row = None
    if idempotency_key:
        fingerprint = request_fingerprint(raw_body if raw_body is not None else data)
        replay = _claim_key(session=session, actor=actor, key=idempotency_key, fingerprint=fingerprint, now=now)
        if isinstance(replay, Case):
            return IntakeResult(replay, created=False)
        key_row = replay
    case = _register(session=session, data=data, actor=actor, now=now, repeat_window=repeat_window)
    if key_row is not None:
        key_row.case_id = case.id
        key_row.status_code = 201
    session.flush()
    return IntakeResult(case, created=True)


def prune_idempotency_keys(*, session, now: datetime) -> int:
    """Delete keys past their 48 hours: a retry that late is a new request anyway."""
    return session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now)).rowcount


def check_intake_role(*, actor: User, kind: str) -> None:
    """Leads are taken in by discipline units; petitions and complaints by civil-affairs staff."""
    from casework.problem import Forbidden

    if kind == "lead":
        if actor.unit.kind != "discipline" or actor.role not in ("inspector", "supervisor", "admin"):
            raise Forbidden("leads are registered by a discipline-inspection unit (or spun off from a petition)")
    elif actor.unit.kind != "civil_affairs" or actor.role not in ("clerk", "supervisor", "admin"):
        raise Forbidden(f"a {kind} is registered by civil-affairs clerks or supervisors")


def _claim_key(*, session, actor: User, key: str, fingerprint: str, now: datetime):
    """Insert the key row (a savepoint, so a race loses cleanly) or return the case it already made."""
    existing = _live_key(session, actor.id, key, now)
    if existing is None:
        # Only an expired row may be cleared: a live one committed since the lookup above belongs to a
        # concurrent request with this key, which this one must replay, not replace.
        session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.user_id == actor.id, IdempotencyKey.key == key,
                                                        IdempotencyKey.expires_at <= now))
        row = IdempotencyKey(user_id=actor.id, key=key, request_hash=fingerprint, status_code=0, created_at=now,
                             expires_at=now + IDEMPOTENCY_TTL)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
            return row
        except IntegrityError:
            # Another request with this key committed first; answer as it did.
            existing = _live_key(session, actor.id, key, now)
            if existing is None:
                raise Conflict("a request with this Idempotency-Key is still in progress; retry",
                               errors={"Idempotency-Key": ["in progress"]}) from None
    if existing.request_hash != fingerprint:
        raise Conflict("this Idempotency-Key was used with a different request body",
                       errors={"Idempotency-Key": ["reused with a different body"]})
    if existing.case_id is None:
        raise Conflict("a request with this Idempotency-Key is still in progress; retry",
                       errors={"Idempotency-Key": ["in progress"]})
    return session.get(Case, existing.case_id)


def _live_key(session, user_id: int, key: str, now: datetime) -> IdempotencyKey | None:
    return session.scalar(sa.select(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.key == key, IdempotencyKey.expires_at > now
    ).execution_options(populate_existing=True))


def _register(*, session, data: dict, actor: User, now: datetime, repeat_window: timedelta) -> Case:
    kind = data["kind"]
    regions = _regions(session, data)
    accused = data.get("accused") or {}
    if accused.get("unit"):
        _civil_unit(session, accused["unit"], "accused.unit")
    decision = decide_route(session=session, request=RouteRequest(
        kind=kind, category=data["category"], regions=tuple(regions), people_count=data.get("people_count", 1),
        registering_unit=actor.unit_code, accused_unit=accused.get("unit")))
    def personal_data(case: Case) -> None:
        # Written with the case row itself: each later flush of the same row was one more UPDATE.
        if kind == "lead":
            store_lead_facts(case, data)
        else:
            store_petitioner(case, data.get("petitioner"))
            case.possible_repeat_of_id = None

    case = new_case(session=session, kind=kind, actor=actor, now=now, decision=decision, regions=regions,
                    fields=dict(channel=data["channel"], category=data["category"],
                                urgency=data.get("urgency", "normal"), title=data["title"], content=data["content"],
                                people_count=data.get("people_count", 1), received_at=data.get("received_at") or now,
                                anonymous=bool(data.get("anonymous")), village_code=data.get("village_code")),
                    prepare=personal_data)
    if kind != "lead":
        case.possible_repeat_of_id = _find_repeat(session, case, now, repeat_window)
    initial = "received" if kind == "lead" else "registered"
    append_event(session=session, case=case, action="register", from_state=None, to_state=initial, actor=actor,
                 params={"number": case.number, "channel": case.channel, "category": case.category,
                         "regions": regions}, at=now)
    if decision.forwarded_from:
        case.cross_level = True
        append_event(session=session, case=case, action="forward", from_state=initial, to_state=initial,
                     actor=actor, reason=decision.reason,
                     params={"from_unit": decision.forwarded_from, "to_unit": case.handling_unit}, at=now)
    case.status = initial
    if kind in ("petition", "complaint"):
        append_event(session=session, case=case, action="assign", from_state="registered", to_state="assigned",
                     actor=actor, reason=decision.reason,
                     params={"unit": case.handling_unit, "rule": decision.rule,
                             "co_handlers": list(decision.co_handlers)}, at=now)
        case.status = "assigned"
    _after_registration(session=session, case=case, decision=decision)
    if case.possible_repeat_of_id:
        append_event(session=session, case=case, action="link_repeat", from_state=case.status, to_state=case.status,
                     actor=actor, params={"possible_repeat_of": case.possible_repeat_of_id}, at=now)
    from casework.links.service import queue_auto_links

    queue_auto_links(session=session, case=case)
    session.flush()
    return case


def new_case(*, session, kind: str, actor: User, now: datetime, decision, regions: list[str], fields: dict,
             prepare: Callable[[Case], None] | None = None) -> Case:
    """Insert the case row with its number, route and participants (no events yet).

    ``prepare`` sets further fields of the new case before its row is written.
    """
    handling = session.get(Unit, decision.unit)
    # The participants go in with the case: appended after the flush, the collection was first
    # loaded (one SELECT of a case that had none).
    participants = [CaseParticipant(unit_code=handling.code, role="lead", added_at=now),
                    *(CaseParticipant(unit_code=co, role="co", added_at=now) for co in decision.co_handlers)]
    case = Case(
        number=next_number(session=session, kind=kind, region=regions[0],
                           year=_year_in_china(fields.get("received_at") or now)),
        kind=kind, status="registered", region=regions[0], regions=regions, handling_unit=handling.code,
        unit_path=handling.path, registering_unit=actor.unit_code, route_rule=decision.rule,
        route_reason=decision.reason, created_at=now, updated_at=now, created_by=actor.id, version=1,
        assigned_at=now, participants=participants, **fields)
    if prepare is not None:
        prepare(case)
    session.add(case)
    session.flush()
    return case


def store_lead_facts(case: Case, data: dict) -> None:
    """The reporter goes into the encrypted personal fields with no person index: a reporter must not
    become findable, or linkable to their own petitions, by anyone but the owning inspectors."""
    from casework.security import pii_box

    store_petitioner(case, data.get("reporter"))
    case.person_index = None
    case.anonymous = not data.get("reporter")
    case.lead_source = data.get("source")
    accused = data.get("accused") or {}
    if accused.get("name"):
        case.accused_name = pii_box.encrypt(accused["name"])
        case.accused_key = accused_key(accused["name"], accused.get("unit"))
    case.accused_unit = accused.get("unit")
    case.accused_position = accused.get("position")


def accused_key(name: str, unit: str | None) -> str:
    from casework.security import pii_box

    normalized = "".join(name.split()).replace("·", "").lower()
    return pii_box.blind_index(f"accused:{normalized}|{unit or ''}")


def _civil_unit(session, code: str, field: str) -> Unit:
    unit = session.get(Unit, code)
    if unit is None or unit.kind != "civil_affairs":
        raise Invalid(f"unit {code} is not a known unit", errors={field: [f"unknown unit {code}"]})
    return unit


def _after_registration(*, session, case: Case, decision) -> None:
    """Start the statutory clocks and tell the receiving units (lead and co-handlers)."""
    from casework.notifications.service import notify
    from casework.sla.clocks import start_intake_clocks

    start_intake_clocks(session=session, case=case)
    for unit_code in (case.handling_unit, *decision.co_handlers):
        role = "主办" if unit_code == case.handling_unit else "协办"
        # A lead's notification names only its number: titles of leads can point at a reporter.
        title = case.title[:40] if case.kind != "lead" else "问题线索"
        notify(session=session, unit_code=unit_code, kind="assignment", case_id=case.id,
               dedup_key=f"assignment:{case.id}:{unit_code}:{case.event_count}",
               title=f"新交办（{role}）：{case.number} {title}")


def _regions(session, data: dict) -> list[str]:
    regions = [data["region"], *[r for r in data.get("regions", []) if r != data["region"]]]
    regions = list(dict.fromkeys(regions))
    # By primary key: a unit already in the session (routing and new_case ask for it again) costs no query.
    known = {code for code in regions
             if (unit := session.get(Unit, code)) is not None and unit.kind == "civil_affairs"}
    for index, code in enumerate(regions):
        if code not in known:
            field = "region" if index == 0 else f"regions.{index - 1}"
            raise Invalid(f"region {code} is not a known division code", errors={field: [f"unknown division {code}"]})
    return regions


def _find_repeat(session, case: Case, now: datetime, window: timedelta) -> int | None:
    """An open or recently closed case of the same person and category (重复信访)."""
    if not case.person_index:
        return None
    return session.scalar(_REPEAT, {"person_index": case.person_index, "category": case.category,
                                    "closed_since": now - window, "case_id": case.id})


# Built once (one look-up per intake; building it cost more than running it).
_REPEAT = (
    sa.select(Case.id)
    .where(Case.person_index == sa.bindparam("person_index"), Case.category == sa.bindparam("category"),
           sa.or_(Case.status.not_in(TERMINAL),
                  sa.and_(Case.status == "closed", Case.closed_at >= sa.bindparam("closed_since"))),
           Case.id != sa.bindparam("case_id"))
    .order_by(Case.received_at.desc(), Case.id.desc()).limit(1)
)


def _year_in_china(moment: datetime) -> int:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Asia/Shanghai")).year
