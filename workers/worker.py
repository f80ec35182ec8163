"""The RQ worker entry point."""
from __future__ import annotations

from workers.queues import ALL


def run_worker(*, queues: list[str] | None = None, burst: bool = False) -> bool:
    """Work the given queues (default: all casework queues) inside an app context."""
    from rq import Queue, Worker

    from casework.app import create_app
    from casework.extensions import redis_store

    from workers.relay import start_relay_thread

    app = create_app()
    stop = None if burst else start_relay_thread(app)
    try:
        with app.app_context():
            conn = redis_store.client
            worker = Worker([Queue(name, connection=conn) for name in (queues or ALL)], connection=conn)
            return worker.work(burst=burst, with_scheduler=False)
    finally:
        if stop is not None:
            stop.set()
