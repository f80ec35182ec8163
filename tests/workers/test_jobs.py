"""Job functions run in-process and under a real RQ worker: counts, idempotency, exactly-once publishing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus

from casework import clock
from casework.notifications.models import Notification
from casework.notifications.service import stream_key
from casework.outbox.models import OutboxMessage
from casework.outbox.service import relay_once
from casework.sla.models import CaseClock, Supervision
from tests.cases.conftest import petition_body
from workers import jobs

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=timezone.utc)
ZERO = {"windows_closed": 0, "warned": 0, "breached": 0, "supervisions_opened": 0, "escalated": 0,
        "supervisions_closed": 0, "notifications": 0}


@pytest.fixture()
def clerk(make_user):
    return make_user(role="clerk", unit="360827")[1]


def _intake(client, headers, **overrides) -> dict:
    r = client.post("/api/v1/cases", json=petition_body(**overrides), headers=headers)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _notification_ids(session, case_id: int) -> list[int]:
    return list(session.scalars(sa.select(Notification.id).where(Notification.case_id == case_id)
                                .order_by(Notification.id)))


def test_sla_sweep_job_returns_counts_and_is_idempotent(client, session, clerk):
    with clock.frozen(T0):
        case = _intake(client, clerk, received_at=T0.isoformat())
    before = session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    with clock.frozen(T0 + timedelta(days=40)):
        first = jobs.sla_sweep()
        second = jobs.sla_sweep()
    # One acceptance clock breached: one 督办 at the parent unit, a breach notice to the handler and a
    # supervision notice to the supervisor, delivered by one batched outbox job naming both.
    assert first == dict(ZERO, breached=1, supervisions_opened=1, notifications=2)
    assert second == ZERO
    assert session.scalar(sa.select(CaseClock.state).where(CaseClock.case_id == case["id"])) == "breached"
    assert session.scalar(sa.select(sa.func.count()).select_from(Supervision)
                          .where(Supervision.case_id == case["id"])) == 1
    kinds = sorted(session.scalars(sa.select(Notification.kind).where(Notification.case_id == case["id"])))
    assert kinds == ["assignment", "breach", "supervision"]
    queued = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.id > 0).order_by(OutboxMessage.id)
                             .offset(before)).all()
    notes = _notification_ids(session, case["id"])[1:]
    assert [(m.func, m.kwargs) for m in queued] == [("workers.jobs.deliver_notifications", {"notification_ids": notes})]


def test_sweep_queues_deliveries_in_batches(session):
    from casework.notifications.service import DELIVERY_BATCH, queue_delivery

    ids = list(range(1, 2 * DELIVERY_BATCH + 2))
    before = session.scalar(sa.select(sa.func.max(OutboxMessage.id))) or 0
    assert queue_delivery(session=session, notification_ids=ids) == 3
    rows = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.id > before).order_by(OutboxMessage.id)).all()
    assert [r.func for r in rows] == ["workers.jobs.deliver_notifications"] * 3
    assert [i for r in rows for i in r.kwargs["notification_ids"]] == ids
    assert [len(r.kwargs["notification_ids"]) for r in rows] == [DELIVERY_BATCH, DELIVERY_BATCH, 1]
    assert queue_delivery(session=session, notification_ids=[]) == 0


def test_batched_delivery_publishes_each_notification_once(client, session, clerk, redis_client):
    ids = [_notification_ids(session, _intake(client, clerk, title=f"事项{i}")["id"])[0] for i in range(3)]
    assert jobs.deliver_notifications(notification_ids=ids) == []
    assert jobs.deliver_notifications(notification_ids=[ids[1], 10**9, ids[2]]) == []  # a retry, and a gone row
    published = [int(fields[b"id"]) for _, fields in redis_client.xrange(stream_key("360827"))]
    assert published == ids


def test_deliver_notification_publishes_once_when_run_twice(client, session, clerk, redis_client):
    case = _intake(client, clerk)
    (nid,) = _notification_ids(session, case["id"])
    assert jobs.deliver_notification(notification_id=nid) == []  # no webhook configured for the unit
    assert jobs.deliver_notification(notification_id=nid) == []
    entries = redis_client.xrange(stream_key("360827"))
    assert len(entries) == 1
    fields = {k.decode(): v.decode() for k, v in entries[0][1].items()}
    assert fields["id"] == str(nid) and fields["kind"] == "assignment" and fields["case_id"] == str(case["id"])
    assert case["number"] in fields["title"]


def test_notifications_delivered_out_of_order_are_all_published(client, session, clerk, redis_client):
    # Several workers, or a retry after a failure, deliver a later notification first: the earlier one
    # must still reach the unit's stream, once.
    ids = [_notification_ids(session, _intake(client, clerk, title=f"事项{i}")["id"])[0] for i in range(3)]
    for nid in (ids[2], ids[0], ids[1], ids[0], ids[2]):
        jobs.deliver_notification(notification_id=nid)
    published = [int(fields[b"id"]) for _, fields in redis_client.xrange(stream_key("360827"))]
    assert sorted(published) == ids


def test_deliver_notification_of_a_missing_row_is_a_no_op(session, redis_client):
    assert jobs.deliver_notification(notification_id=10**9) == []
    assert redis_client.keys("casework:notifications:*") == []


def test_real_worker_runs_relayed_outbox_jobs(client, session, clerk, redis_client):
    cases = [_intake(client, clerk, title=f"事项{i}") for i in range(5)]
    nids = [n for c in cases for n in _notification_ids(session, c["id"])]
    assert len(nids) == 5
    pending = [m.job_id for m in session.scalars(sa.select(OutboxMessage).where(OutboxMessage.state == "pending"))]
    while relay_once(session=session, redis=redis_client):
        pass
    queue = Queue("default", connection=redis_client)
    job_ids = list(queue.job_ids)
    # Intake may queue other jobs too (auto-linking): each outbox row is exactly one job.
    assert sorted(job_ids) == sorted(pending)
    # SimpleWorker runs each job in this process, inside the test's app context and transaction.
    worker = SimpleWorker([queue], connection=redis_client)
    assert worker.work(burst=True) is True
    assert queue.count == 0
    finished = Job.fetch_many(job_ids, connection=redis_client)
    assert {j.id: j.get_status() for j in finished} == {i: JobStatus.FINISHED for i in job_ids}
    published = sorted(int(f[b"id"]) for _, f in redis_client.xrange(stream_key("360827")))
    assert published == sorted(nids)
    # A redundant relay and a second burst change nothing.
    assert relay_once(session=session, redis=redis_client) == 0
    SimpleWorker([queue], connection=redis_client).work(burst=True)
    assert redis_client.xlen(stream_key("360827")) == len(nids)


def test_heartbeat_job_records_a_time(session, redis_client):
    stamp = jobs.heartbeat()
    assert redis_client.get("casework:heartbeat").decode() == stamp
    assert 0 < redis_client.ttl("casework:heartbeat") <= 3600
