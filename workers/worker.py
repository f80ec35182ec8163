"""The RQ worker entry point."""
from __future__ import annotations

import logging
import signal
import time

from workers.queues import ALL

log = logging.getLogger("casework.worker")


def run_worker(*, queues: list[str] | None = None, burst: bool = False) -> bool:
    """Work the given queues (default: all casework queues) inside an app context.

    RQ's work loop rides out a Redis outage only while idle: one that starts during a job ends the loop
    (or raises from its teardown), and the process used to exit with it. A long-running worker now waits
    for Redis and starts a fresh loop, until it is asked to stop.
    """
    import redis
    from rq import Queue, Worker

    from casework.app import create_app
    from casework.extensions import redis_store

    from workers.relay import start_relay_thread

    class _Worker(Worker):
        stop_requested = False

        def request_stop(self, signum, frame):
            self.stop_requested = True
            super().request_stop(signum, frame)

    app = create_app()
    stop = None if burst else start_relay_thread(app)
    worked = False
    try:
        with app.app_context():
            conn = redis_store.client
            while True:
                worker = _Worker([Queue(name, connection=conn) for name in (queues or ALL)], connection=conn)
                try:
                    # with_scheduler: RQ's scheduler moves jobs whose retry waits out a backoff interval (webhooks,
                    # and jobs retried after their worker died) back onto their queue when it has passed;
                    # without one they would wait forever. It takes a lock per queue, so one worker of many
                    # runs it; a burst worker enqueues what is due once, at its start.
                    worked = worker.work(burst=burst, with_scheduler=True) or worked
                except (redis.ConnectionError, redis.TimeoutError):
                    if burst:
                        raise
                    log.warning("worker %s lost Redis", worker.name, exc_info=True)
                if burst or worker.stop_requested:
                    return worked
                if getattr(worker, "pubsub_thread", None) is not None:
                    worker.pubsub_thread.stop()  # its teardown may not have reached Redis to do so
                log.warning("worker %s stopped unexpectedly; starting again once Redis answers", worker.name)
                if not _wait_for_redis(conn):
                    return worked
    finally:
        if stop is not None:
            stop.set()


def _wait_for_redis(conn, pause: float = 1.0, longest: float = 10.0) -> bool:
    """Ping until Redis answers (True), or until SIGTERM/SIGINT asks the process to stop (False)."""
    import redis

    asked: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: asked.append(signum))
    while not asked:
        time.sleep(pause)  # also spaces out restarts after a loop that ended for another reason
        try:
            conn.ping()
            return not asked
        except (redis.ConnectionError, redis.TimeoutError):
            pause = min(pause * 2, longest)
    return False
