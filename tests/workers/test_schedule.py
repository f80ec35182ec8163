"""The periodic schedule: one list, registered once per scheduler, the same through both RQ entry points."""
from __future__ import annotations

import importlib
import os
import sys
import time
from datetime import datetime, timezone

import pytest
from croniter import croniter
from rq import Queue, cron
from rq.cron import CronScheduler, create_cron
from rq.utils import import_attribute

from workers import jobs, queues
from workers.schedule import SCHEDULE, ScheduledJob, build_scheduler, register_all


def _entries(scheduler: CronScheduler) -> list[tuple]:
    """What a scheduler will run, as comparable tuples (RQ stores the function by its dotted name)."""
    return [(j.name, j.func_name, j.queue_name, j.interval, j.cron, j.job_options.get("job_timeout"))
            for j in scheduler.get_jobs()]


EXPECTED = [(s.name, f"{s.func.__module__}.{s.func.__name__}", s.queue, s.interval, s.cron, s.timeout)
            for s in SCHEDULE]


def test_names_are_unique():
    names = [s.name for s in SCHEDULE]
    assert len(names) == len(set(names)), names


@pytest.mark.parametrize("item", SCHEDULE, ids=lambda s: s.name)
def test_each_entry_is_runnable(item: ScheduledJob):
    # Exactly one of interval/cron (RQ refuses both or neither), a known queue, and a function a
    # worker in another process can import back from the dotted name RQ stores.
    assert (item.interval is None) != (item.cron is None)
    assert item.interval is None or item.interval > 0
    assert item.cron is None or croniter.is_valid(item.cron)
    assert item.queue in queues.ALL and item.timeout > 0
    assert import_attribute(f"{item.func.__module__}.{item.func.__name__}") is item.func


def test_sla_sweep_runs_every_minute_on_the_sla_queue():
    (sweep,) = [s for s in SCHEDULE if s.name == "sla-sweep"]
    assert sweep.func is jobs.sla_sweep and sweep.queue == queues.SLA == "sla" and sweep.interval == 60
    assert sweep.cron is None and sweep.timeout >= 60  # a sweep may take longer than its interval


def test_register_all_registers_each_entry_once(redis_client):
    scheduler = register_all(CronScheduler(connection=redis_client))
    assert _entries(scheduler) == EXPECTED


def test_restart_builds_the_same_schedule_not_a_doubled_one(redis_client):
    first = build_scheduler(redis_client)
    first.register_birth()  # the first process announced itself in Redis, then "died" without cleanup
    second = build_scheduler(redis_client)
    assert _entries(first) == _entries(second) == EXPECTED
    # What each fresh scheduler puts on the queues in its first tick: one job per entry, no more.
    # (Interval entries run at once; cron entries wait for their time.)
    second.enqueue_jobs()
    for q in queues.ALL:
        assert Queue(q, connection=redis_client).count == sum(s.queue == q and bool(s.interval) for s in SCHEDULE)
    # The next tick (interval not yet elapsed) enqueues nothing further.
    assert second.enqueue_jobs() == []
    assert sum(Queue(q, connection=redis_client).count for q in queues.ALL) == sum(bool(s.interval)
                                                                                for s in SCHEDULE)
    # Both schedulers are the same registry entries, keyed by their own names.
    saved = {s.name: _entries(s) for s in CronScheduler.all(redis_client, cleanup=False)}
    assert saved[first.name] == EXPECTED
    first.register_death()


def test_duplicate_names_raise_before_anything_is_registered(redis_client):
    dup = [SCHEDULE[0], ScheduledJob(SCHEDULE[0].name, jobs.heartbeat, queues.DEFAULT, interval=300)]
    scheduler = CronScheduler(connection=redis_client)
    with pytest.raises(ValueError, match="duplicate schedule names"):
        register_all(scheduler, dup)
    assert scheduler.get_jobs() == []


def test_cron_config_module_through_create_cron(redis_client):
    # ``rq cron workers.cron_config`` imports the module, whose top level fills RQ's module registry.
    cron._job_data_registry.clear()
    sys.modules.pop("workers.cron_config", None)  # a fresh import, as in a new process
    importlib.import_module("workers.cron_config")
    assert _entries(create_cron(redis_client)) == EXPECTED
    # create_cron consumes the registry: a second scheduler in the same process starts empty, not doubled.
    assert create_cron(redis_client).get_jobs() == []


def test_cron_config_through_load_config_from_file_twice(redis_client):
    # RQ's CLI path: each (re)start loads the config module afresh and must see each entry once.
    for _ in range(2):
        scheduler = CronScheduler(connection=redis_client)
        scheduler.load_config_from_file("workers.cron_config")
        assert _entries(scheduler) == EXPECTED


@pytest.fixture(autouse=True)
def _restore_process_zone():
    # Building a scheduler pins the process to UTC; give the rest of the test run back its own zone.
    saved = os.environ.get("TZ")
    yield
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


def _from_config_module(connection):
    scheduler = CronScheduler(connection=connection)
    scheduler.load_config_from_file("workers.cron_config")
    return scheduler


@pytest.mark.parametrize("build", [build_scheduler, _from_config_module], ids=["casework-scheduler", "rq-cron"])
@pytest.mark.parametrize("item", [s for s in SCHEDULE if s.cron], ids=lambda s: s.name)
def test_cron_entries_run_at_their_utc_time_on_a_china_time_host(redis_client, item, build):
    # The schedule writes cron in UTC; RQ's cron matches the process's local time, so the scheduler
    # must run its clock in UTC or a host in Asia/Shanghai fires every entry 8 hours early.
    os.environ["TZ"] = "Asia/Shanghai"
    time.tzset()
    (job,) = [j for j in build(redis_client).get_jobs() if j.name == item.name]
    base = datetime.now(timezone.utc).replace(tzinfo=None)
    expected = croniter(item.cron, base).get_next(datetime).replace(tzinfo=timezone.utc)
    assert job.next_enqueue_time == expected
