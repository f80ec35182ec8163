"""Signed webhooks against a real local HTTP server: signature, no personal data, retries, giving up."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus

from casework.notifications.models import Notification, WebhookDelivery
from casework.notifications.webhooks import MAX_ATTEMPTS, SIGNATURE_HEADER, WebhookFailed
from casework.outbox.service import _retry_for
from casework.units.models import Unit
from tests.cases.conftest import make_id_number, petition_body
from workers import jobs

SECRET = "unit-webhook-secret-360827"
PETITIONER = {"name": "王小明", "id_number": make_id_number("19750512", "317"), "phone": "13987654321",
              "address": "江西省吉安市遂川县泉江镇某村"}


class Receiver:
    """A local HTTP endpoint that records every request and answers with ``status``."""

    def __init__(self, status: int = 200):
        self.status = status
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/casework"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # urllib honours proxy variables; a proxy must not stand between the test and its local server.
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture()
def receiver(session):
    with Receiver() as r:
        unit = session.get(Unit, "360827")
        unit.webhook_url, unit.webhook_secret = r.url, SECRET
        session.commit()
        yield r


@pytest.fixture()
def delivery_id(client, session, make_user, receiver, redis_client):
    """Intake a case for 360827, then run its notification job: one webhook delivery is recorded and queued."""
    _, clerk = make_user(role="clerk", unit="360827")
    r = client.post("/api/v1/cases", json=petition_body(petitioner=PETITIONER), headers=clerk)
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    (nid,) = session.scalars(sa.select(Notification.id).where(Notification.case_id == case["id"]))
    (did,) = jobs.deliver_notification(notification_id=nid)
    # A rerun of the notification job neither records nor queues a second delivery.
    assert jobs.deliver_notification(notification_id=nid) == [did]
    assert session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)
                          .where(WebhookDelivery.notification_id == nid)) == 1
    assert Queue("default", connection=redis_client).job_ids == [f"webhook-{did}"]
    return case, did


def _delivery(session, did: int) -> WebhookDelivery:
    session.expire_all()
    return session.get(WebhookDelivery, did)


def test_delivered_post_is_signed_and_carries_no_personal_data(session, receiver, delivery_id):
    case, did = delivery_id
    assert jobs.deliver_webhook(delivery_id=did) == "delivered"
    (req,) = receiver.requests
    assert req["path"] == "/hooks/casework"
    # Verify independently of the code under test: HMAC-SHA256 of the exact bytes received.
    expected = "sha256=" + hmac.new(SECRET.encode(), req["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(req["headers"][SIGNATURE_HEADER], expected)
    assert req["headers"]["X-Casework-Delivery"] == str(did)
    assert req["headers"]["Content-Type"] == "application/json"
    payload = json.loads(req["body"])
    assert payload["case"] == {"id": case["id"], "number": case["number"], "kind": "petition",
                               "status": "assigned"}
    assert payload["unit"] == "360827" and payload["kind"] == "assignment"
    text = req["body"].decode()
    for secret_value in (*PETITIONER.values(), PETITIONER["phone"][-4:], PETITIONER["id_number"][-6:]):
        assert secret_value not in text
    assert "petitioner" not in text
    row = _delivery(session, did)
    assert (row.state, row.attempts, row.last_status, row.last_error) == ("delivered", 1, 200, None)
    assert row.delivered_at is not None
    # Delivered is final: a rerun (a late RQ retry) does not POST again.
    assert jobs.deliver_webhook(delivery_id=did) == "delivered"
    assert len(receiver.requests) == 1


def test_a_tampered_body_does_not_verify(receiver, delivery_id):
    _, did = delivery_id
    jobs.deliver_webhook(delivery_id=did)
    (req,) = receiver.requests
    tampered = req["body"].replace(b"assignment", b"assignmenT")
    forged = "sha256=" + hmac.new(SECRET.encode(), tampered, hashlib.sha256).hexdigest()
    assert req["headers"][SIGNATURE_HEADER] != forged


def test_real_worker_delivers_the_queued_webhook_job(session, receiver, delivery_id, redis_client):
    _, did = delivery_id
    assert SimpleWorker([Queue("default", connection=redis_client)], connection=redis_client).work(burst=True)
    assert Job.fetch(f"webhook-{did}", connection=redis_client).get_status() == JobStatus.FINISHED
    assert len(receiver.requests) == 1 and _delivery(session, did).state == "delivered"


def test_server_error_raises_for_rq_retry_then_fails_after_max_attempts(session, receiver, delivery_id,
                                                                        redis_client):
    _, did = delivery_id
    receiver.status = 500
    # The queued job under a real worker: the 500 makes it raise, and RQ schedules a retry.
    assert _retry_for("workers.jobs.deliver_webhook").max + 1 == MAX_ATTEMPTS  # RQ's retries = our attempts
    SimpleWorker([Queue("default", connection=redis_client)], connection=redis_client).work(burst=True)
    job = Job.fetch(f"webhook-{did}", connection=redis_client)
    assert job.get_status() == JobStatus.SCHEDULED and job.retries_left == MAX_ATTEMPTS - 2
    row = _delivery(session, did)
    assert (row.state, row.attempts, row.last_status) == ("pending", 1, 500)
    assert "500" in row.last_error
    # The remaining retries, run directly: each raises and records its attempt, the last one gives up.
    for attempt in range(2, MAX_ATTEMPTS):
        with pytest.raises(WebhookFailed, match=f"attempt {attempt}"):
            jobs.deliver_webhook(delivery_id=did)
        assert _delivery(session, did).attempts == attempt
    assert jobs.deliver_webhook(delivery_id=did) == "failed"
    row = _delivery(session, did)
    assert (row.state, row.attempts, row.last_status, row.delivered_at) == ("failed", MAX_ATTEMPTS, 500, None)
    assert len(receiver.requests) == MAX_ATTEMPTS


def test_unreachable_endpoint_is_recorded_and_retried(session, receiver, delivery_id):
    _, did = delivery_id
    receiver.server.shutdown()
    receiver.server.server_close()  # nothing listens on the port any more: connection refused
    with pytest.raises(WebhookFailed):
        jobs.deliver_webhook(delivery_id=did)
    row = _delivery(session, did)
    assert (row.state, row.attempts, row.last_status) == ("pending", 1, None)
    assert row.last_error


def test_a_delivery_whose_job_was_lost_is_queued_again_once(session, receiver, delivery_id, redis_client):
    _, did = delivery_id
    # The job never reached Redis (its enqueue failed after the delivery row was committed).
    Job.fetch(f"webhook-{did}", connection=redis_client).delete()
    Queue("default", connection=redis_client).empty()
    assert jobs.requeue_webhooks(older_than_seconds=120) == 0  # too fresh: its enqueue may still be on the way

    assert jobs.requeue_webhooks(older_than_seconds=0) == 1
    assert jobs.requeue_webhooks(older_than_seconds=0) == 0  # its job exists now
    assert Queue("default", connection=redis_client).job_ids == [f"webhook-{did}"]
    SimpleWorker([Queue("default", connection=redis_client)], connection=redis_client).work(burst=True)
    assert _delivery(session, did).state == "delivered" and len(receiver.requests) == 1
    assert jobs.requeue_webhooks(older_than_seconds=0) == 0  # delivered is final
