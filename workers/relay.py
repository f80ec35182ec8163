"""The outbox relay loop, run beside the worker and the scheduler.

It runs in a thread of those processes rather than as an RQ job: an RQ job
needs Redis to be scheduled, and the relay is exactly what must keep trying
while Redis is down.
"""
from __future__ import annotations

import logging
import threading

log = logging.getLogger("casework.relay")


def relay_forever(app, stop: threading.Event, interval: float = 2.0) -> None:
    from casework.extensions import db, redis_store
    from casework.outbox.service import relay_once

    with app.app_context():
        while not stop.is_set():
            try:
                sent = relay_once(session=db.session, redis=redis_store.client)
            except Exception:  # keep relaying; the rows stay pending
                log.exception("outbox relay failed")
                sent = 0
            finally:
                db.session.remove()
            if not sent:
                stop.wait(interval)


def start_relay_thread(app, interval: float = 2.0) -> threading.Event:
    stop = threading.Event()
    threading.Thread(target=relay_forever, args=(app, stop, interval), name="outbox-relay", daemon=True).start()
    return stop
