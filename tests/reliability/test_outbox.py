"""The outbox against a real Redis that goes away and comes back: intake never needs Redis, nothing is
lost, and every job reaches RQ exactly once, even across a relay that died between enqueue and commit."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections import Counter

import pytest
import redis
import sqlalchemy as sa
from rq import Queue
from rq.job import Job

from casework.extensions import redis_store
from casework.notifications.models import Notification
from casework.outbox.models import OutboxMessage
from casework.outbox.service import backlog, relay_once
from tests.cases.conftest import make_id_number, petition_body

CASES = 200
DELIVER = "workers.jobs.deliver_notification"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A private redis-server on a fixed port that the test stops and starts."""

    def __init__(self, workdir):
        self.port, self.dir, self.proc = _free_port(), workdir, None

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1, socket_timeout=5)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.dir), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        probe, deadline = self.client(), time.monotonic() + 15
        while True:
            try:
                probe.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)
            finally:
                probe.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture()
def private_redis(tmp_path, redis_client):
    """The app's Redis swapped for a private server (started once, then stopped: it 'went away')."""
    server = RedisServer(tmp_path)
    server.start()
    server.stop()
    saved = redis_store._client
    redis_store._client = server.client()
    try:
        yield server
    finally:
        redis_store._client.close()
        redis_store._client = saved
        server.stop()


def _pending(session) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.scalars(sa.select(OutboxMessage).where(OutboxMessage.state == "pending")
                                .order_by(OutboxMessage.id)))


def _relay_all(session, redis_client) -> int:
    total = 0
    for _ in range(100):  # bounded: 200 cases' rows take a handful of batches
        sent = relay_once(session=session, redis=redis_client, limit=50)
        if not sent:
            return total
        total += sent
    raise AssertionError("relay never drained the outbox")


def test_outbox_survives_redis_outage_and_relays_exactly_once(client, session, make_user, private_redis,
                                                              monkeypatch):
    _, clerk = make_user(role="clerk", unit="360827")
    baseline = backlog(session=session)
    first_new = (session.scalar(sa.select(sa.func.max(Notification.id))) or 0) + 1

    # Redis is down: every intake still answers 201, writing notifications and outbox rows only,
    # without so much as trying Redis (a swallowed connection error would hide a lost side effect).
    tried: list = []
    app_redis = redis_store.client
    monkeypatch.setattr(app_redis, "execute_command", lambda *a, **k: tried.append(a[:1]))
    monkeypatch.setattr(app_redis, "pipeline", lambda *a, **k: tried.append("pipeline"))
    for i in range(CASES):
        body = petition_body(title=f"低保事项{i}",
                             petitioner=dict(petition_body()["petitioner"],
                                             id_number=make_id_number(seq=f"{i % 1000:03d}")))
        resp = client.post("/api/v1/cases", json=body, headers=clerk)
        assert resp.status_code == 201, (i, resp.get_json())
    monkeypatch.undo()
    assert tried == []
    notifications = list(session.scalars(sa.select(Notification.id).where(Notification.id >= first_new)))
    assert len(notifications) >= CASES  # at least the assignment notice of each case
    rows = _pending(session)
    assert len(rows) - baseline >= len(notifications)  # plus any other jobs intake queues
    deliver_rows = [r for r in rows if r.func == DELIVER]
    # One delivery job per notification, never two.
    assert Counter(r.kwargs["notification_id"] for r in deliver_rows) == Counter(notifications)

    # Readiness names Redis as down and shows the backlog waiting for it.
    ready = client.get("/readyz")
    assert ready.status_code == 503
    problem = ready.get_json()
    assert "redis" in problem["detail"] and problem["checks"]["redis"].startswith("down")
    assert problem["checks"]["database"] == "ok" and problem["outbox_backlog"] == len(rows)
    # A relay while Redis is down sends nothing and loses nothing.
    assert relay_once(session=session, redis=redis_store.client) == 0
    assert len(_pending(session)) == len(rows)

    # Redis is back.
    private_redis.start()
    r = private_redis.client()
    # A relay dies after enqueueing its batch but before its commit: the jobs are in RQ, the rows pending.
    monkeypatch.setattr(session, "commit", lambda: (_ for _ in ()).throw(SystemError("relay killed")))
    assert relay_once(session=session, redis=redis_store.client, limit=25) == 0
    monkeypatch.undo()
    assert len(_pending(session)) == len(rows)
    queue = Queue("default", connection=r)
    assert queue.count == 25

    # The next relays mark those 25 without enqueueing them again, and send the rest once each.
    assert _relay_all(session, redis_store.client) == len(rows)
    assert _pending(session) == []
    job_ids = queue.job_ids
    assert sorted(job_ids) == sorted(row.job_id for row in rows)
    assert len(job_ids) == len(set(job_ids)) == queue.count
    jobs = Job.fetch_many(job_ids, connection=r)
    delivered = Counter(j.kwargs["notification_id"] for j in jobs if j.func_name == DELIVER)
    assert delivered == Counter(notifications)
    assert all(j.retries_left and j.retries_left > 0 for j in jobs)  # RQ will retry a failing job

    # Relaying again finds nothing new.
    assert relay_once(session=session, redis=redis_store.client) == 0
    assert queue.count == len(rows)

    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json()["checks"] == {"database": "ok", "redis": "ok"}
    assert ready.get_json()["outbox_backlog"] == 0


def test_relay_of_rows_whose_jobs_exist_only_marks_them(session, private_redis):
    """The crash window in isolation: jobs with the stable ids already exist; no new job is made."""
    from casework.outbox.service import enqueue

    baseline = backlog(session=session)
    rows = [enqueue(session=session, func="workers.jobs.heartbeat", queue="default", n=i) for i in range(6)]
    session.commit()
    private_redis.start()
    r = private_redis.client()
    queue = Queue("default", connection=r)
    for row in rows[:4]:  # what the dead relay managed to enqueue
        queue.enqueue(row.func, kwargs=row.kwargs, job_id=row.job_id)
    first = {j.id: j.enqueued_at for j in Job.fetch_many([row.job_id for row in rows[:4]], connection=r)}
    assert _relay_all(session, r) == baseline + 6
    job_ids = queue.job_ids  # ours, plus any pending rows committed before this test (normally none)
    assert len(job_ids) == len(set(job_ids)) == baseline + 6 and {row.job_id for row in rows} <= set(job_ids)
    again = {j.id: j.enqueued_at for j in Job.fetch_many(list(first), connection=r)}
    assert again == first  # the existing jobs were left alone, not replaced


@pytest.mark.postgres_only
def test_concurrent_relays_skip_rows_another_relay_holds(committed_session, pg_engine, private_redis):
    """FOR UPDATE SKIP LOCKED: a relay does not wait for, nor take, the rows another relay is sending."""
    from casework.outbox.service import enqueue

    ids = [enqueue(session=committed_session, func="workers.jobs.heartbeat", queue="default", n=i).id
           for i in range(10)]
    committed_session.commit()
    private_redis.start()
    r = private_redis.client()
    try:
        with pg_engine.connect() as other:
            # Another relay is mid-batch on the first four rows.
            other.execute(sa.text("SELECT id FROM outbox WHERE id = ANY(:ids) FOR UPDATE"), {"ids": ids[:4]})
            started = time.monotonic()
            relay_once(session=committed_session, redis=r, limit=1000)
            assert time.monotonic() - started < 5  # it skipped the locked rows instead of waiting
            state = dict(committed_session.execute(
                sa.select(OutboxMessage.id, OutboxMessage.state).where(OutboxMessage.id.in_(ids))).all())
            assert [state[i] for i in ids] == ["pending"] * 4 + ["sent"] * 6
            other.rollback()
        relay_once(session=committed_session, redis=r, limit=1000)
        committed_session.expire_all()
        assert set(committed_session.scalars(sa.select(OutboxMessage.state).where(OutboxMessage.id.in_(ids)))) \
            == {"sent"}
        job_ids = Queue("default", connection=r).job_ids
        expected = {m.job_id for m in committed_session.scalars(sa.select(OutboxMessage).where(OutboxMessage.id.in_(ids)))}
        assert len(job_ids) == len(set(job_ids)) and expected <= set(job_ids)
    finally:
        committed_session.rollback()
        committed_session.execute(sa.delete(OutboxMessage).where(OutboxMessage.id.in_(ids)))
        committed_session.commit()
