"""Signed webhook POSTs: HMAC-SHA256 over the exact body, retried with backoff by RQ."""
from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request

from casework.cases.models import Case
from casework.db import utcnow
from casework.notifications.models import Notification, WebhookDelivery
from casework.units.models import Unit

MAX_ATTEMPTS = 6
SIGNATURE_HEADER = "X-Casework-Signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_for(*, session, notification: Notification) -> bytes:
    """The webhook body. It names the case by number only: no personal or reporter data ever leaves."""
    case = session.get(Case, notification.case_id) if notification.case_id else None
    payload = {
        "id": notification.id, "kind": notification.kind, "title": notification.title,
        "unit": notification.unit_code, "created_at": notification.created_at.isoformat(),
        "case": {"id": case.id, "number": case.number, "kind": case.kind, "status": case.status} if case else None,
        "supervision_id": notification.supervision_id,
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()


class WebhookFailed(Exception):
    """Raised so RQ retries the job with its backoff."""


def send(*, session, delivery_id: int, secret_fallback: str, timeout: float = 5.0) -> str:
    """POST one delivery; returns its new state. Raises WebhookFailed to ask for a retry."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.state == "delivered":
        return "delivered" if delivery else "gone"
    notification = session.get(Notification, delivery.notification_id)
    unit = session.get(Unit, delivery.unit_code)
    body = body_for(session=session, notification=notification)
    request = urllib.request.Request(delivery.url, data=body, method="POST", headers={
        "Content-Type": "application/json", SIGNATURE_HEADER: sign(unit.webhook_secret or secret_fallback, body),
        "X-Casework-Delivery": str(delivery.id)})
    delivery.attempts += 1
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - admin-configured URL
            delivery.last_status = response.status
        delivery.state, delivery.delivered_at, delivery.last_error = "delivered", utcnow(), None
        return delivery.state
    except (urllib.error.URLError, OSError, ValueError) as exc:
        delivery.last_status = getattr(exc, "code", None)
        delivery.last_error = str(exc)[:500]
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.state = "failed"
            return delivery.state
        raise WebhookFailed(f"delivery {delivery.id} attempt {delivery.attempts}: {exc}") from None
