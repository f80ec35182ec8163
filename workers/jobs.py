"""Job functions. Jobs take ids, open their own session, commit once, and are idempotent."""
from __future__ import annotations

import functools
from datetime import datetime, timezone

from flask import current_app, has_app_context

from casework.extensions import db, redis_store

_app = None


def _ensure_app():
    global _app
    if has_app_context():
        return None
    if _app is None:
        from casework.app import create_app

        _app = create_app()
    return _app.app_context()


def casework_job(fn):
    """The job wrapper: the one place a job's work is committed or rolled back."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        ctx = _ensure_app()
        if ctx is not None:
            ctx.push()
        try:
            result = fn(*args, **kwargs)
            db.session.commit()
            return result
        except BaseException:
            db.session.rollback()
            raise
        finally:
            db.session.remove()
            if ctx is not None:
                ctx.pop()

    return wrapper


@casework_job
def heartbeat() -> str:
    """Record that the scheduler and a worker are alive (readiness can show the time)."""
    stamp = datetime.now(timezone.utc).isoformat()
    redis_store.client.set("casework:heartbeat", stamp, ex=3600)
    current_app.logger.debug("heartbeat %s", stamp)
    return stamp


@casework_job
def sla_sweep() -> dict:
    """The periodic SLA sweep (idempotent: a rerun over the same state changes nothing)."""
    from casework.sla.policies import policies_for_app
    from casework.sla.service import run_sweep

    return run_sweep(session=db.session, policies=policies_for_app()).as_dict()


@casework_job
def housekeeping() -> dict:
    """Daily: delete relayed outbox rows past their retention and expired Idempotency-Keys."""
    from datetime import timedelta

    from casework.cases.intake import prune_idempotency_keys
    from casework.db import utcnow
    from casework.outbox.service import prune_sent

    now = utcnow()
    keep = timedelta(days=current_app.config["OUTBOX_RETENTION_DAYS"])
    return {"outbox_deleted": prune_sent(session=db.session, before=now - keep),
            "idempotency_keys_deleted": prune_idempotency_keys(session=db.session, now=now)}


@casework_job
def deliver_notification(notification_id: int) -> list[int]:
    """Publish a notification to its unit's live stream and start its webhook deliveries."""
    return _deliver([notification_id])


@casework_job
def deliver_notifications(notification_ids: list[int]) -> list[int]:
    """The same for a batch (the sweep's); a retry redoes the batch, which each delivery makes harmless."""
    return _deliver(notification_ids)


def _deliver(notification_ids: list[int]) -> list[int]:
    from casework.notifications.service import deliver

    deliveries = [d for nid in notification_ids
                  for d in deliver(session=db.session, redis=redis_store.client, notification_id=nid)]
    # The delivery rows must exist before a webhook job can look them up.
    db.session.commit()
    _enqueue_webhooks(deliveries)
    return deliveries


def _enqueue_webhooks(delivery_ids: list[int]) -> int:
    from rq import Queue
    from rq.job import Job

    from casework.outbox.service import _retry_for
    from workers.queues import DEFAULT

    queue, queued = Queue(DEFAULT, connection=redis_store.client), 0
    for delivery_id in delivery_ids:
        # A stable job id: a retried delivery does not start a second webhook job.
        job_id = f"webhook-{delivery_id}"
        if not Job.exists(job_id, connection=redis_store.client):
            queue.enqueue(deliver_webhook, delivery_id=delivery_id, job_id=job_id,
                          retry=_retry_for("deliver_webhook"))
            queued += 1
    return queued


@casework_job
def requeue_webhooks(older_than_seconds: int = 120) -> int:
    """Queue again the pending webhook deliveries that have no job (their enqueue failed, or its worker died
    between committing the delivery and enqueueing it); returns how many were queued."""
    from datetime import timedelta

    import sqlalchemy as sa

    from casework.db import utcnow
    from casework.notifications.models import WebhookDelivery

    stalled = db.session.scalars(sa.select(WebhookDelivery.id).where(
        WebhookDelivery.state == "pending",
        WebhookDelivery.created_at < utcnow() - timedelta(seconds=older_than_seconds))
        .order_by(WebhookDelivery.id)).all()
    return _enqueue_webhooks(list(stalled))


def deliver_webhook(delivery_id: int) -> str:
    """POST one webhook; a failure raises so RQ retries with backoff, and the attempt is recorded first."""
    from casework.notifications.webhooks import WebhookFailed, send

    ctx = _ensure_app()
    if ctx is not None:
        ctx.push()
    try:
        try:
            state = send(session=db.session, delivery_id=delivery_id, secret_fallback=current_app.config["SECRET_KEY"])
            db.session.commit()
            return state
        except WebhookFailed:
            db.session.commit()  # keep the attempt count and error, then let RQ retry
            raise
    except BaseException:
        db.session.rollback()
        raise
    finally:
        db.session.remove()
        if ctx is not None:
            ctx.pop()


@casework_job
def auto_link(case_id: int) -> int:
    """Background automatic links of one case (same person, accused official, village)."""
    from casework.links.service import auto_link as link

    return link(session=db.session, case_id=case_id)


@casework_job
def build_bulletin(bulletin_id: int) -> str:
    """Build one requested bulletin (idempotent: a built bulletin is left as it is)."""
    from casework.bulletins.config import load_config
    from casework.bulletins.service import build
    from casework.db import utcnow

    return build(session=db.session, bulletin_id=bulletin_id, now=utcnow(), cfg=load_config()).state


@casework_job
def build_scheduled_bulletins(period: str) -> int:
    """The cron's batch: every scheduled unit's bulletin for the period that just ended, in one aggregation."""
    from casework.bulletins.config import load_config
    from casework.bulletins.periods import last_completed
    from casework.bulletins.service import build_many, schedule_period
    from casework.db import utcnow

    cfg = load_config()
    now = utcnow()
    p = last_completed(period, now)
    bulletins = schedule_period(session=db.session, kind=period, p=p, levels=cfg.scheduled_levels, now=now)
    build_many(session=db.session, bulletins=bulletins, now=now, cfg=cfg)
    return len(bulletins)
