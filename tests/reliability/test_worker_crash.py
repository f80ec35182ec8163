"""A real ``casework worker`` process SIGKILLed in the middle of the SLA sweep.

The sweep runs in one transaction, so a worker killed inside it leaves nothing
half-done; the next sweep does the whole work exactly once. The test holds a
lock the sweep needs (a row lock on PostgreSQL, the write lock on SQLite) so the
kill lands while the job is certainly running, not before or after it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from rq import Queue
from rq.job import JobStatus

from casework.cases.models import Case
from casework.db import utcnow
from casework.extensions import redis_store
from casework.notifications.models import Notification
from casework.outbox.models import OutboxMessage
from casework.sla.models import CaseClock, Supervision
from casework.units.models import Unit
from tests.conftest import DATABASE_URL, IS_POSTGRES
from workers import jobs

ROOT = Path(__file__).resolve().parents[2]
CLOCKS = 400
UNIT = "360827"  # its 督办 opens at the parent, 360800


def _insert_breaching(session, n: int) -> tuple[list[int], list[int]]:
    """``n`` assigned cases whose acceptance clock ran out yesterday, written set-based and committed."""
    now, prefix = utcnow(), f"XF-CRASH-{uuid.uuid4().hex[:8]}"
    path = session.get(Unit, UNIT).path
    session.execute(sa.insert(Case), [dict(
        number=f"{prefix}-{i:05d}", kind="petition", status="assigned", channel="letter", category="dibao",
        title="超期测试", content="x", region=UNIT, regions=[UNIT], handling_unit=UNIT, unit_path=path,
        registering_unit=UNIT, route_rule="territorial", route_reason="test", people_count=1,
        received_at=now - timedelta(days=20), created_at=now, updated_at=now, version=1, anonymous=False,
    ) for i in range(n)])
    case_ids = list(session.scalars(sa.select(Case.id).where(Case.number.startswith(prefix)).order_by(Case.id)))
    session.execute(sa.insert(CaseClock), [dict(
        case_id=cid, name="acceptance", policy="petition.acceptance", unit_code=UNIT, case_path=path, state="running",
        started_at=now - timedelta(days=20), base_due_at=now - timedelta(days=1), due_at=now - timedelta(days=1),
        warn_at=now - timedelta(days=4), provisional=False, paused_seconds=0, pauses=[], extended_days=0,
    ) for cid in case_ids])
    session.commit()
    clock_ids = list(session.scalars(sa.select(CaseClock.id).where(CaseClock.case_id.in_(case_ids))))
    session.rollback()  # end the read: on SQLite every transaction holds the write lock
    return case_ids, clock_ids


def _start_worker(log: Path, queue: str = "sla") -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=DATABASE_URL, REDIS_URL=redis_store.url_for_children())
    env.pop("CASEWORK_ENV", None)
    # Its own process group, so the kill takes the work horse RQ forks for the job as well.
    return subprocess.Popen([sys.executable, "-m", "casework.cli", "worker", "--burst", queue], cwd=ROOT, env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


def _wait(predicate, what: str, proc: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None and not predicate():
            raise AssertionError(f"worker exited ({proc.returncode}) before {what}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (RQ's work horse)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def _kill_group(proc: subprocess.Popen, horses: list[int] = ()) -> None:
    """SIGKILL the worker and its work horses: RQ puts each horse in a process group of its own, so a
    kill of the worker alone would leave the horse running the job to its end."""
    for pgid in (proc.pid, *horses):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while not all(_gone(h) for h in horses):
        assert time.monotonic() < deadline, f"work horse {horses} survived SIGKILL"
        time.sleep(0.05)


# The row a job's write must wait for, per table (fixed statements: nothing here is built from values).
_LOCK_ROW = {"case_clocks": "SELECT id FROM case_clocks WHERE id = :id FOR UPDATE",
             "bulletins": "SELECT id FROM bulletins WHERE id = :id FOR UPDATE"}
_WAITING_ON = {"case_clocks": "%UPDATE case_clocks%", "bulletins": "%UPDATE bulletins%"}


def _hold_lock(engine, table: str, row_id: int):
    """A connection holding what the job's UPDATE of ``table`` must wait for."""
    conn = engine.connect()
    if IS_POSTGRES:
        conn.execute(sa.text(_LOCK_ROW[table]), {"id": row_id})
    else:
        conn.execute(sa.text("SELECT 1"))  # the engine begins with BEGIN IMMEDIATE: the database write lock
    return conn


def _is_waiting(engine, table: str) -> bool:
    if not IS_POSTGRES:
        return True  # SQLite cannot show a waiting writer; the job's STARTED state is what we have
    with engine.connect() as conn:
        return bool(conn.scalar(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE :pattern"), {"pattern": _WAITING_ON[table]}))


def _stop_all(procs: list[subprocess.Popen], lock, session, outbox_before: int) -> None:
    """A test's teardown: no worker left running, no lock held, and the outbox rows it made gone."""
    for proc in procs:
        if proc.poll() is None:
            _kill_group(proc)
    if lock is not None:
        lock.rollback()
        lock.close()
    session.rollback()
    session.execute(sa.delete(OutboxMessage).where(OutboxMessage.id > outbox_before))


@pytest.mark.timeout(150)
def test_worker_killed_mid_sweep_then_next_sweep_completes_once(committed_session, redis_client, pg_engine,
                                                                 tmp_path):
    session = committed_session
    outbox_before = session.scalar(sa.select(sa.func.max(OutboxMessage.id))) or 0
    session.rollback()
    case_ids, clock_ids = _insert_breaching(session, CLOCKS)
    queue = Queue("sla", connection=redis_client)
    procs: list[subprocess.Popen] = []
    lock = None
    try:
        # 1. A worker takes the sweep job and is killed while the job runs.
        lock = _hold_lock(pg_engine, "case_clocks", clock_ids[len(clock_ids) // 2])
        doomed = queue.enqueue("workers.jobs.sla_sweep", job_id="sweep-killed", job_timeout=120)
        log1 = tmp_path / "worker1.log"
        procs.append(_start_worker(log1))
        _wait(lambda: doomed.get_status(refresh=True) == JobStatus.STARTED, "the sweep job to start", procs[0], log1)
        _wait(lambda: _is_waiting(pg_engine, "case_clocks"), "the sweep to wait on the held lock", procs[0], log1)
        time.sleep(0.3 if IS_POSTGRES else 1.0)
        horses = _children(procs[0].pid)
        assert horses, "the job runs in a forked work horse"
        _kill_group(procs[0], horses)
        assert procs[0].returncode == -signal.SIGKILL
        assert doomed.get_status(refresh=True) == JobStatus.STARTED  # nobody finished or failed it
        lock.rollback()
        lock.close()
        lock = None
        time.sleep(0.5)  # a surviving sweep would now get the lock and commit; the checks below would see it

        # Nothing of the killed sweep is visible: its transaction never committed.
        session.expire_all()
        assert set(session.scalars(sa.select(CaseClock.state).where(CaseClock.id.in_(clock_ids)))) == {"running"}
        assert session.scalar(sa.select(sa.func.count()).select_from(Supervision)
                              .where(Supervision.case_id.in_(case_ids))) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(Notification)
                              .where(Notification.case_id.in_(case_ids))) == 0
        session.rollback()

        # 2. The next scheduled sweep, on a fresh worker, does all the work.
        again = queue.enqueue("workers.jobs.sla_sweep", job_id="sweep-after-crash", job_timeout=120)
        log2 = tmp_path / "worker2.log"
        procs.append(_start_worker(log2))
        procs[1].wait(timeout=90)
        assert procs[1].returncode == 0, log2.read_text()[-3000:]
        assert again.get_status(refresh=True) == JobStatus.FINISHED, log2.read_text()[-3000:]
        result = again.return_value(refresh=True)
        assert result["breached"] >= CLOCKS and result["supervisions_opened"] >= CLOCKS, result

        # 3. A third sweep (in-process) finds nothing left to do.
        session.rollback()
        third = jobs.sla_sweep()
        assert third["breached"] == third["supervisions_opened"] == third["escalated"] == 0

        # Exactly once: one 督办 per breached clock, one breach and one supervision notice per case,
        # one delivery job per notice.
        session.expire_all()
        assert set(session.scalars(sa.select(CaseClock.state).where(CaseClock.id.in_(clock_ids)))) == {"breached"}
        sups = session.execute(sa.select(Supervision.clock_id, Supervision.unit_code)
                               .where(Supervision.case_id.in_(case_ids))).all()
        assert Counter(c for c, _ in sups) == Counter(clock_ids) and {u for _, u in sups} == {"360800"}
        notes = session.execute(sa.select(Notification.id, Notification.case_id, Notification.kind,
                                          Notification.dedup_key).where(Notification.case_id.in_(case_ids))).all()
        assert Counter((n.case_id, n.kind) for n in notes) == Counter(
            {(c, k): 1 for c in case_ids for k in ("breach", "supervision")})
        assert max(Counter(n.dedup_key for n in notes).values()) == 1
        delivery_rows = session.scalars(sa.select(OutboxMessage.kwargs).where(
            OutboxMessage.id > outbox_before, OutboxMessage.func.in_(
                ("workers.jobs.deliver_notification", "workers.jobs.deliver_notifications")))).all()
        queued = [i for k in delivery_rows for i in k.get("notification_ids", [k.get("notification_id")])]
        mine = {n.id for n in notes}
        assert Counter(i for i in queued if i in mine) == Counter(mine)
        assert set(session.scalars(sa.select(Case.overdue).where(Case.id.in_(case_ids)))) == {True}
    finally:
        _stop_all(procs, lock, session, outbox_before)
        session.execute(sa.delete(Notification).where(Notification.case_id.in_(case_ids)))
        session.execute(sa.update(Supervision).where(Supervision.case_id.in_(case_ids)).values(parent_id=None))
        session.execute(sa.delete(Supervision).where(Supervision.case_id.in_(case_ids)))
        session.execute(sa.delete(CaseClock).where(CaseClock.case_id.in_(case_ids)))
        session.execute(sa.delete(Case).where(Case.id.in_(case_ids)))
        session.commit()


@pytest.mark.timeout(150)
def test_worker_killed_mid_bulletin_build_then_rq_retries_it_once(committed_session, redis_client, pg_engine,
                                                                  tmp_path):
    """The build is killed while it writes its figures; RQ's abandoned-job handling retries it with its backoff,
    and the retry builds the bulletin once: one version, done, with its figures."""
    from rq.registry import StartedJobRegistry

    from casework.bulletins.models import Bulletin
    from casework.bulletins.service import request_build
    from casework.outbox.service import _retry_for, relay_once

    session = committed_session
    outbox_before = session.scalar(sa.select(sa.func.max(OutboxMessage.id))) or 0
    first_retry = _retry_for("workers.jobs.build_bulletin").intervals[0]
    now = utcnow()
    bulletin, job_id = request_build(session=session, unit_code=UNIT, kind="month",
                                     start=(now - timedelta(days=40)).date().replace(day=1), actor=None, now=now)
    bulletin_id = bulletin.id
    session.commit()
    queue = Queue("reports", connection=redis_client)
    procs: list[subprocess.Popen] = []
    lock = None
    try:
        assert relay_once(session=session, redis=redis_client) >= 1  # the outbox row becomes the RQ job
        session.commit()
        job = queue.fetch_job(job_id)
        assert job is not None and job.retries_left == _retry_for("workers.jobs.build_bulletin").max

        # 1. A worker takes the build and is killed while it waits to write the figures.
        lock = _hold_lock(pg_engine, "bulletins", bulletin_id)
        log1 = tmp_path / "worker1.log"
        procs.append(_start_worker(log1, "reports"))
        _wait(lambda: job.get_status(refresh=True) == JobStatus.STARTED, "the build to start", procs[0], log1)
        _wait(lambda: _is_waiting(pg_engine, "bulletins"), "the build to wait on the held lock", procs[0], log1)
        horses = _children(procs[0].pid)
        assert horses, "the job runs in a forked work horse"
        _kill_group(procs[0], horses)
        lock.rollback()
        lock.close()
        lock = None
        time.sleep(0.5)
        session.expire_all()
        killed = session.get(Bulletin, bulletin_id)
        assert (killed.state, killed.figures, killed.built_at) == ("queued", None, None)  # nothing half-built
        session.rollback()
        assert job.get_status(refresh=True) == JobStatus.STARTED  # abandoned: nobody finished or failed it

        # 2. RQ's abandoned-job handling, as a worker's maintenance runs it once the dead worker's execution
        # has expired (the time is passed in rather than waited for): a retry, after its backoff interval.
        StartedJobRegistry(queue=queue).cleanup(timestamp=time.time() + 24 * 3600)
        assert job.get_status(refresh=True) == JobStatus.SCHEDULED
        time.sleep(first_retry + 0.5)

        # 3. A fresh worker (its scheduler enqueues the due retry) builds it.
        log2 = tmp_path / "worker2.log"
        procs.append(_start_worker(log2, "reports"))
        procs[1].wait(timeout=90)
        assert procs[1].returncode == 0, log2.read_text()[-3000:]
        assert job.get_status(refresh=True) == JobStatus.FINISHED, log2.read_text()[-3000:]
        session.expire_all()
        built = session.get(Bulletin, bulletin_id)
        assert built.state == "done" and built.figures and built.built_at is not None
        same_period = session.scalars(sa.select(Bulletin.id).where(
            Bulletin.unit_code == UNIT, Bulletin.period == "month", Bulletin.period_start == built.period_start,
            Bulletin.id >= bulletin_id)).all()
        assert same_period == [bulletin_id]  # built once, no second version
        built_at = built.built_at
        session.rollback()

        # 4. Run again (a late duplicate delivery of the job): the built bulletin stays as it was.
        assert jobs.build_bulletin(bulletin_id=bulletin_id) == "done"
        session.expire_all()
        assert session.get(Bulletin, bulletin_id).built_at == built_at
    finally:
        _stop_all(procs, lock, session, outbox_before)
        session.execute(sa.delete(Bulletin).where(Bulletin.id == bulletin_id))
        session.commit()
