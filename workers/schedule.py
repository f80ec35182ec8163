"""The periodic schedule: one declarative list, registered with RQ's own cron scheduler.

Registering builds a fresh ``CronScheduler`` from ``SCHEDULE`` each start, so a
restart never doubles an entry. Times are cron expressions in UTC (RQ's cron
matches local time, so the scheduler pins its process to UTC); the comment on
each says the Asia/Shanghai time it means.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from workers import jobs, queues


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    func: Callable
    queue: str
    interval: int | None = None  # seconds
    cron: str | None = None  # UTC
    kwargs: dict = field(default_factory=dict)
    timeout: int = 600


SCHEDULE: list[ScheduledJob] = [
    ScheduledJob("heartbeat", jobs.heartbeat, queues.DEFAULT, interval=60),
    ScheduledJob("sla-sweep", jobs.sla_sweep, queues.SLA, interval=60, timeout=600),
    ScheduledJob("webhook-requeue", jobs.requeue_webhooks, queues.DEFAULT, interval=300),
    # 03:00 Asia/Shanghai = 19:00 UTC, the quiet hour.
    ScheduledJob("housekeeping", jobs.housekeeping, queues.DEFAULT, cron="0 19 * * *"),
    # Monday 01:00 Asia/Shanghai = Sunday 17:00 UTC.
    ScheduledJob("bulletins-weekly", jobs.build_scheduled_bulletins, queues.REPORTS, cron="0 17 * * 0",
                 kwargs={"period": "week"}, timeout=3600),
    # The 1st at 02:00 Asia/Shanghai = the last day of the month before, 18:00 UTC.
    ScheduledJob("bulletins-monthly", jobs.build_scheduled_bulletins, queues.REPORTS, cron="0 18 L * *",
                 kwargs={"period": "month"}, timeout=3600),
]


def register_all(scheduler, schedule: list[ScheduledJob] = SCHEDULE):
    """Register every entry on ``scheduler`` (an ``rq.cron.CronScheduler``)."""
    names = [s.name for s in schedule]
    if len(names) != len(set(names)):
        raise ValueError(f"duplicate schedule names in {names}")
    for item in schedule:
        scheduler.register(item.func, item.queue, kwargs=item.kwargs, interval=item.interval, cron=item.cron,
                           job_timeout=item.timeout, name=item.name)
    return scheduler


def use_utc() -> None:
    """RQ's cron matches the process's local time: pin this process to UTC, the zone SCHEDULE is written in,
    or a host set to Asia/Shanghai would fire every cron entry 8 hours early."""
    import os
    import time

    os.environ["TZ"] = "UTC"
    time.tzset()


def build_scheduler(connection):
    from rq.cron import CronScheduler

    use_utc()
    return register_all(CronScheduler(connection=connection))


def run_scheduler() -> None:
    from casework.app import create_app
    from casework.extensions import redis_store

    from workers.relay import start_relay_thread

    app = create_app()
    stop = start_relay_thread(app)
    try:
        with app.app_context():
            build_scheduler(redis_store.client).start()
    finally:
        stop.set()
