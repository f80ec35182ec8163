"""The daily housekeeping job: what it deletes, and what it must never delete."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from casework import clock
from casework.cases.models import IdempotencyKey
from casework.outbox.models import OutboxMessage
from tests.cases.conftest import petition_body
from workers import jobs
from workers.schedule import SCHEDULE

NOW = datetime(2026, 11, 20, 19, 0, tzinfo=timezone.utc)


def _outbox(session, state: str, at: datetime) -> int:
    row = OutboxMessage(queue="default", func="workers.jobs.heartbeat", kwargs={}, state=state, created_at=at,
                        sent_at=at if state == "sent" else None)
    session.add(row)
    session.flush()
    return row.id


def test_housekeeping_deletes_old_relayed_rows_and_expired_keys_only(client, session, make_user):
    _, clerk = make_user(role="clerk", unit="360827")
    with clock.frozen(NOW - timedelta(days=3)):
        old = client.post("/api/v1/cases", json=petition_body(), headers={**clerk, "Idempotency-Key": "old-key"})
    with clock.frozen(NOW - timedelta(hours=1)):
        fresh = client.post("/api/v1/cases", json=petition_body(title="另一件"),
                            headers={**clerk, "Idempotency-Key": "fresh-key"})
    assert old.status_code == fresh.status_code == 201
    old_sent = _outbox(session, "sent", NOW - timedelta(days=15))
    recent_sent = _outbox(session, "sent", NOW - timedelta(days=13))
    old_pending = _outbox(session, "pending", NOW - timedelta(days=40))  # Redis was down: never lose it

    with clock.frozen(NOW):
        result = jobs.housekeeping()

    assert result["idempotency_keys_deleted"] == 1 and result["outbox_deleted"] >= 1
    keys = set(session.scalars(sa.select(IdempotencyKey.key)))
    assert "fresh-key" in keys and "old-key" not in keys
    left = set(session.scalars(sa.select(OutboxMessage.id).where(
        OutboxMessage.id.in_([old_sent, recent_sent, old_pending]))))
    assert left == {recent_sent, old_pending}
    with clock.frozen(NOW):
        assert jobs.housekeeping() == {"outbox_deleted": 0, "idempotency_keys_deleted": 0}


def test_housekeeping_runs_daily_at_three_in_the_morning_shanghai():
    (entry,) = [s for s in SCHEDULE if s.name == "housekeeping"]
    assert entry.func is jobs.housekeeping and entry.cron == "0 19 * * *" and entry.interval is None
