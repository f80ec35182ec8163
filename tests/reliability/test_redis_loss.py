"""A real ``casework worker`` whose Redis dies in the middle of a job and comes back.

RQ rides out a Redis outage only while idle; one that starts during a job ends its work loop, and the
worker process used to exit with it, leaving every queued job waiting for a restart nobody made. The
worker now waits for Redis and works again: the job queued before the outage, the job its outbox relay
could only send once Redis was back, and a job enqueued after the restart all run.
"""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from rq import Queue
from rq.job import Job, JobStatus

from casework.outbox.models import OutboxMessage
from casework.outbox.service import enqueue
from tests.conftest import DATABASE_URL
from tests.reliability.servers import RedisServer, casework_env, start_casework, stop_group, wait_for

SLOW = "tests.reliability.servers.slow_mark"
JOB_SECONDS = 3.0


def _status(job_id: str, conn) -> JobStatus | None:
    job = Job.fetch(job_id, connection=conn) if Job.exists(job_id, connection=conn) else None
    return job.get_status(refresh=True) if job is not None else None


def _marks(path) -> list[str]:
    return path.read_text(encoding="utf-8").split() if path.exists() else []


@pytest.mark.timeout(60)
def test_worker_survives_redis_loss_mid_job(committed_session, tmp_path):
    session = committed_session
    server = RedisServer(tmp_path)
    server.start()
    conn = server.client()
    queue = Queue("default", connection=conn)
    marks, log = tmp_path / "marks", tmp_path / "worker.log"
    row_id = None
    worker = None
    try:
        # The in-flight job, and one queued behind it that has not started when Redis goes.
        queue.enqueue(SLOW, str(marks), JOB_SECONDS, "inflight", job_id="inflight", job_timeout=30)
        queue.enqueue(SLOW, str(marks), 0.1, "queued-before", job_id="queued-before", job_timeout=30)
        worker = start_casework(["worker", "default"], casework_env(DATABASE_URL=DATABASE_URL, REDIS_URL=server.url),
                                log)
        wait_for(lambda: _status("inflight", conn) == JobStatus.STARTED, "the slow job to start", 30, proc=worker,
                 log=log)

        # Redis dies mid-job (SIGKILL: no shutdown save; the append-only file holds what was acknowledged).
        server.kill()
        outage_started = time.monotonic()
        # Down long enough that the job ends while Redis is away: RQ cannot record its end, and the work loop
        # trips over the missing Redis. That is the case that used to end the worker process.
        wait_for(lambda: "inflight" in _marks(marks), "the in-flight job to finish during the outage", 15,
                 proc=worker, log=log)
        # Meanwhile the API keeps writing jobs to the outbox; they wait in the database.
        row = enqueue(session=session, func="workers.jobs.heartbeat", queue="default")
        session.commit()
        row_id, row_job_id = row.id, row.job_id
        wait_for(lambda: "stopped unexpectedly" in log.read_text(errors="replace"), "the work loop to end", 20,
                 proc=worker, log=log)
        assert worker.poll() is None, "the worker process exited when Redis went away"
        assert _marks(marks) == ["inflight"]  # nothing else could run without Redis

        # Redis is back on the same port and data folder.
        server.start()
        outage = time.monotonic() - outage_started
        queue.enqueue(SLOW, str(marks), 0.1, "enqueued-after", job_id="enqueued-after", job_timeout=30)
        wait_for(lambda: all(_status(j, conn) == JobStatus.FINISHED for j in ("queued-before", "enqueued-after")),
                 "the worker to reconnect and run the queued jobs", 25, proc=worker, log=log)
        # The outbox relay in the worker process sent the row written during the outage, and the worker ran it.
        wait_for(lambda: _status(row_job_id, conn) == JobStatus.FINISHED, "the relayed outbox job", 15, proc=worker,
                 log=log)
        assert conn.get("casework:heartbeat") is not None
        session.expire_all()
        assert session.get(OutboxMessage, row_id).state == "sent"
        session.rollback()  # on SQLite an open transaction holds the write lock the relay needs

        # Each job's work happened exactly once; the in-flight one was not run a second time.
        assert sorted(_marks(marks)) == ["enqueued-after", "inflight", "queued-before"], log.read_text()[-3000:]
        # What RQ says of the in-flight job: its end was never recorded, so it still reads STARTED. RQ's registry
        # cleanup declares it abandoned 90 s after it started (job_timeout 30 + 60) and then retries it if it has
        # retries left, as the outbox's jobs do: one reason every casework job is idempotent.
        assert _status("inflight", conn) == JobStatus.STARTED
        assert "inflight" not in queue.job_ids
        assert outage < 30

        # The restart loop still lets SIGTERM stop the worker warmly (not by the SIGKILL fallback).
        stop_group(worker)
        assert worker.returncode == 0, log.read_text()[-3000:]
    finally:
        stop_group(worker)
        server.kill()
        session.rollback()
        if row_id is not None:
            session.execute(sa.delete(OutboxMessage).where(OutboxMessage.id == row_id))
            session.commit()
