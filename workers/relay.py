"""The outbox relay loop, run beside the worker and the scheduler.

It runs in a thread of those processes rather than as an RQ job: an RQ job
needs Redis to be scheduled, and the relay is exactly what must keep trying
while Redis is down.
"""
from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger("casework.relay")

# An RQ worker forks a work horse for every job, and a fork copies every lock but only the forking
# thread. Forked while this thread was inside a relay pass (SQLite's allocator mutex, the connection
# pool's or the Redis pool's lock held), the horse waited on that lock forever, and every job queued
# behind it waited for RQ's job timeout. A fork now waits for the current pass to finish, and the
# horse leaves the relay's pooled database connection to the parent instead of sharing its socket.
_PASS = threading.Lock()


def _in_child() -> None:
    _PASS.release()
    from casework.extensions import db

    if db.engine is not None:
        db.engine.dispose(close=False)


os.register_at_fork(before=_PASS.acquire, after_in_parent=_PASS.release, after_in_child=_in_child)


def relay_forever(app, stop: threading.Event, interval: float = 2.0) -> None:
    from casework.extensions import db, redis_store
    from casework.outbox.service import relay_once

    with app.app_context():
        while not stop.is_set():
            with _PASS:
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
