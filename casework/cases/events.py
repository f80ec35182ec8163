"""The audit trail: append-only, hash-chained per case."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

import sqlalchemy as sa

from casework.cases.models import Case, CaseEvent
from casework.db import utcnow

GENESIS = "0" * 64


def event_hash(*, case_id: int, seq: int, action: str, from_state: str | None, to_state: str | None,
               actor_id: int | None, unit_code: str | None, reason: str | None, params: dict[str, Any],
               created_at: datetime, prev_hash: str | None) -> str:
    """SHA-256 over a canonical JSON of the event's content and the previous hash."""
    payload = json.dumps({
        "case_id": case_id, "seq": seq, "action": action, "from": from_state, "to": to_state,
        "actor": actor_id, "unit": unit_code, "reason": reason, "params": params,
        "at": created_at.isoformat(timespec="microseconds"), "prev": prev_hash or GENESIS,
    }, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def append_event(*, session, case: Case, action: str, from_state: str | None, to_state: str | None,
                 actor=None, unit_code: str | None = None, reason: str | None = None,
                 params: dict[str, Any] | None = None, at: datetime | None = None) -> CaseEvent:
    """Write the next event of ``case`` in the current transaction."""
    params = _jsonable(params or {})
    at = (at or utcnow()).astimezone(timezone.utc)
    seq = case.event_count + 1
    prev = case.last_event_hash
    actor_id = actor.id if actor is not None else None
    unit_code = unit_code or (actor.unit_code if actor is not None else None)
    digest = event_hash(case_id=case.id, seq=seq, action=action, from_state=from_state, to_state=to_state,
                        actor_id=actor_id, unit_code=unit_code, reason=reason, params=params, created_at=at,
                        prev_hash=prev)
    event = CaseEvent(case_id=case.id, seq=seq, action=action, from_state=from_state, to_state=to_state,
                      actor_id=actor_id, actor_name=actor.username if actor is not None else "system",
                      unit_code=unit_code, reason=reason, params=params, created_at=at, prev_hash=prev, hash=digest)
    session.add(event)
    case.event_count = seq
    case.last_event_hash = digest
    return event


def _jsonable(value):
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


@dataclass(frozen=True)
class BrokenEvent:
    case_id: int
    event_id: int
    seq: int
    problem: str


def verify_events(events: Iterable[CaseEvent]) -> BrokenEvent | None:
    """The first event (in seq order) whose hash or link does not check, or None."""
    prev = None
    expected_seq = 1
    for ev in events:
        if ev.seq != expected_seq:
            return BrokenEvent(ev.case_id, ev.id, ev.seq, f"sequence gap: expected {expected_seq}")
        if (ev.prev_hash or None) != prev:
            return BrokenEvent(ev.case_id, ev.id, ev.seq, "prev_hash does not match the previous event")
        digest = event_hash(case_id=ev.case_id, seq=ev.seq, action=ev.action, from_state=ev.from_state,
                            to_state=ev.to_state, actor_id=ev.actor_id, unit_code=ev.unit_code, reason=ev.reason,
                            params=ev.params or {}, created_at=ev.created_at, prev_hash=ev.prev_hash)
        if digest != ev.hash:
            return BrokenEvent(ev.case_id, ev.id, ev.seq, "content does not match its hash")
        prev = ev.hash
        expected_seq += 1
    return None


def verify_all(*, session, batch: int = 1000) -> tuple[int, BrokenEvent | None]:
    """Check every case's chain (streamed by case id); returns (cases checked, first broken event)."""
    checked = 0
    last_id = 0
    while True:
        ids = list(session.scalars(sa.select(Case.id).where(Case.id > last_id).order_by(Case.id).limit(batch)))
        if not ids:
            return checked, None
        heads = dict(session.execute(sa.select(Case.id, Case.last_event_hash).where(Case.id.in_(ids))).all())
        rows = session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id.in_(ids))
                               .order_by(CaseEvent.case_id, CaseEvent.seq))
        by_case: dict[int, list[CaseEvent]] = {i: [] for i in ids}
        for ev in rows:
            by_case[ev.case_id].append(ev)
        for case_id in ids:
            events = by_case[case_id]
            broken = verify_events(events)
            if broken is None and events and events[-1].hash != heads[case_id]:
                last = events[-1]
                broken = BrokenEvent(case_id, last.id, last.seq, "the chain ends before the case's last event")
            checked += 1
            if broken:
                return checked, broken
        last_id = ids[-1]


def events_of(*, session, case_id: int) -> list[CaseEvent]:
    return list(session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)))
