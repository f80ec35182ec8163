"""Writing to the outbox (inside a business transaction) and relaying it to RQ (outside one)."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from casework.db import is_postgres, utcnow
from casework.outbox.models import OutboxMessage

log = logging.getLogger("casework.outbox")


def enqueue(*, session, func: str, queue: str = "default", **kwargs: Any) -> OutboxMessage:
    """Record a job to run once the current transaction commits."""
    message = OutboxMessage(queue=queue, func=func, kwargs=kwargs, state="pending", created_at=utcnow())
    session.add(message)
    session.flush()
    return message


def enqueue_many(*, session, func: str, queue: str, kwargs_list: list[dict[str, Any]]) -> int:
    """Set-based variant for the sweep: one INSERT for many jobs."""
    if not kwargs_list:
        return 0
    now = utcnow()
    session.execute(sa.insert(OutboxMessage), [
        dict(queue=queue, func=func, kwargs=kw, state="pending", created_at=now, attempts=0) for kw in kwargs_list])
    return len(kwargs_list)


def prune_sent(*, session, before: datetime) -> int:
    """Delete rows relayed before ``before``; pending rows are never touched, whatever their age."""
    return session.execute(sa.delete(OutboxMessage).where(OutboxMessage.state == "sent",
                                                          OutboxMessage.sent_at < before)).rowcount


def backlog(*, session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.state == "pending")) or 0


def relay_once(*, session, redis, limit: int = 500) -> int:
    """Move up to ``limit`` pending rows to RQ and mark them sent; commits its own work.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so several
    relays (worker and scheduler) never take the same row. A job id derived from
    the row id makes delivery exactly-once: if a relay enqueued and died before
    marking the row, the next one sees the job already exists and only marks it.
    If Redis is unreachable the transaction rolls back and every row stays pending.
    """
    from rq import Queue
    from rq.job import Job

    try:
        # Ask Redis first: while it is down the relay must not sit in a write transaction
        # (on SQLite that would hold the database lock against intake).
        redis.ping()
    except Exception as exc:
        log.warning("outbox relay: Redis unreachable (%s); %s rows wait", exc, "pending")
        return 0
    stmt = sa.select(OutboxMessage).where(OutboxMessage.state == "pending").order_by(OutboxMessage.id).limit(limit)
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(session.scalars(stmt))
    sent = 0
    try:
        queues: dict[str, Queue] = {}
        for row in rows:
            if not Job.exists(row.job_id, connection=redis):
                queue = queues.setdefault(row.queue, Queue(row.queue, connection=redis))
                queue.enqueue(row.func, kwargs=row.kwargs, job_id=row.job_id, result_ttl=86400,
                              failure_ttl=7 * 86400, retry=_retry_for(row.func))
            row.state, row.sent_at = "sent", utcnow()
            sent += 1
        session.commit()
    except Exception as exc:  # Redis down or any enqueue failure: nothing is lost, retry later
        session.rollback()
        log.warning("outbox relay stopped after %d of %d rows: %s", sent, len(rows), exc)
        return 0
    return sent


def _retry_for(func: str):
    from rq import Retry

    # Webhooks reach other systems: retry with growing backoff. Internal jobs are idempotent and cheap to rerun.
    if func.endswith("deliver_webhook"):
        return Retry(max=5, interval=[10, 30, 120, 600, 1800])
    return Retry(max=3, interval=[5, 30, 120])
