"""Notifications to units; webhook deliveries go out through the outbox."""
from __future__ import annotations

import sqlalchemy as sa

from casework.auth.models import User
from casework.common.sql import upsert_insert
from casework.db import utcnow
from casework.notifications.models import Notification, WebhookDelivery
from casework.outbox import service as outbox
from casework.units.models import Unit


def notify(*, session, unit_code: str, kind: str, title: str, dedup_key: str, case_id: int | None = None,
           supervision_id: int | None = None, payload: dict | None = None) -> int | None:
    """Create one notification (once per ``dedup_key``) and queue its delivery; None if it already existed."""
    new_id = session.execute(_insert_once(session), dict(
        unit_code=unit_code, kind=kind, title=title, dedup_key=dedup_key, case_id=case_id,
        supervision_id=supervision_id, payload=payload or {}, created_at=utcnow(),
    )).scalar()
    if new_id is not None:
        queue_delivery(session=session, notification_ids=[new_id])
    return new_id


_INSERT_ONCE: dict[str, sa.Insert] = {}


def _insert_once(session) -> sa.Insert:
    """The INSERT ... ON CONFLICT DO NOTHING RETURNING id, built once per backend (every intake and
    assignment notifies); the values are bound at execution."""
    dialect = session.get_bind().dialect.name
    if dialect not in _INSERT_ONCE:
        table = Notification.__table__
        _INSERT_ONCE[dialect] = (upsert_insert(session, table).on_conflict_do_nothing(index_elements=["dedup_key"])
                                 .returning(table.c.id))
    return _INSERT_ONCE[dialect]


# A sweep notifies thousands of units at once: one outbox row and one job per notification would
# cost more than the notifications themselves (a row, a Redis round trip and a job each).
DELIVERY_BATCH = 500


def queue_delivery(*, session, notification_ids: list[int]) -> int:
    """Queue the delivery of these notifications (live stream, webhooks) through the outbox; returns jobs queued."""
    if len(notification_ids) == 1:
        return outbox.enqueue_many(session=session, func="workers.jobs.deliver_notification", queue="default",
                                   kwargs_list=[{"notification_id": notification_ids[0]}])
    batches = [notification_ids[i:i + DELIVERY_BATCH] for i in range(0, len(notification_ids), DELIVERY_BATCH)]
    return outbox.enqueue_many(session=session, func="workers.jobs.deliver_notifications", queue="default",
                               kwargs_list=[{"notification_ids": batch} for batch in batches])


# Longer than any retry of the job (RQ keeps a failed job 7 days for a manual requeue).
_PUBLISHED_TTL = 8 * 86400
_PUBLISH_ONCE = """
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
end
return false
"""


def stream_key(unit_code: str) -> str:
    return f"casework:notifications:{unit_code}"


def deliver(*, session, redis, notification_id: int) -> list[int]:
    """Publish a notification to its unit's Redis stream and record webhook deliveries; returns delivery ids.

    Idempotent: a marker key per notification guards the stream entry (set and
    appended in one atomic script), and deliveries are unique per (notification, unit).
    """
    n = session.get(Notification, notification_id)
    if n is None:
        return []
    fields = {"id": n.id, "kind": n.kind, "title": n.title, "case_id": n.case_id or ""}
    # Not an entry id derived from the notification id: stream ids must grow, so a notification
    # delivered after a later one (parallel workers, a retry) would be taken as published and lost.
    redis.eval(_PUBLISH_ONCE, 2, stream_key(n.unit_code), f"casework:notification-published:{n.id}",
               _PUBLISHED_TTL, 10_000, *[x for kv in fields.items() for x in kv])
    unit = session.get(Unit, n.unit_code)
    if not unit.webhook_url:
        return []
    existing = session.scalar(sa.select(WebhookDelivery.id).where(WebhookDelivery.notification_id == n.id,
                                                                  WebhookDelivery.unit_code == unit.code))
    if existing is not None:
        return [existing]
    delivery = WebhookDelivery(notification_id=n.id, unit_code=unit.code, url=unit.webhook_url, state="pending",
                               attempts=0, created_at=utcnow())
    session.add(delivery)
    session.flush()
    return [delivery.id]


def list_for(*, session, user: User, unread: bool | None = None) -> sa.Select:
    """Notifications addressed to the caller's unit."""
    stmt = sa.select(Notification).where(Notification.unit_code == user.unit_code)
    if unread is True:
        stmt = stmt.where(Notification.read_at.is_(None))
    elif unread is False:
        stmt = stmt.where(Notification.read_at.is_not(None))
    return stmt.order_by(Notification.created_at.desc(), Notification.id.desc())


def mark_read(*, session, user: User, notification_id: int) -> Notification:
    from casework.problem import NotFound

    n = session.get(Notification, notification_id)
    if n is None or n.unit_code != user.unit_code:
        raise NotFound(f"notification {notification_id} not found")
    if n.read_at is None:
        n.read_at, n.read_by = utcnow(), user.id
    session.flush()
    return n
