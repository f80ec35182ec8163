"""PostgreSQL crashes under a burst of intakes served by the real app (``casework serve``, gunicorn).

The database is a throwaway cluster this test makes and crashes (``pg_ctl stop -m immediate``: every
backend dies mid-statement, no checkpoint, crash recovery on restart); the machine's shared server is
never touched. What must hold:

* every intake answered 201 is in the database after the restart, whole;
* every other intake got a 5xx or lost its connection, and left either nothing or a whole case (a commit
  whose acknowledgement died with the server is in doubt: it may have happened, but never by halves);
* no idempotency key is left claimed by a request that never finished: a client that retries with its
  key after the restart gets its case, exactly one per request, never a 409 "in progress";
* /readyz names the database while it is down, and the app's pools recover without a restart of the app.
"""
from __future__ import annotations

import http.client
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from casework.cases.events import verify_all
from casework.cases.models import Case, CaseEvent, CaseParticipant, IdempotencyKey
from casework.db import make_engine
from casework.notifications.models import Notification
from casework.sla.models import CaseClock
from tests.cases.conftest import make_id_number, petition_body
from tests.reliability.servers import (
    PostgresServer,
    RedisServer,
    call,
    casework_env,
    free_port,
    postgres_bindir,
    start_casework,
    stop_group,
    wait_for,
)

REQUESTS = 200
KILL_AFTER = 60  # answers received before the crash
CLIENT_THREADS = 8  # = gunicorn's 2 workers x 4 threads: the server always has work in flight
USER, PASSWORD, UNIT = "crash_clerk", "crash-clerk-password", "360827"


@pytest.fixture()
def throwaway_postgres():
    bindir = postgres_bindir()
    if bindir is None:
        if os.environ.get("CASEWORK_REQUIRE_POSTGRES") == "1":
            pytest.fail("no PostgreSQL server binaries (initdb, pg_ctl) to start a throwaway cluster")
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl)")
    server = PostgresServer(bindir)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture()
def service(throwaway_postgres, tmp_path):
    """The throwaway database migrated, with units and a clerk, served by gunicorn; yields
    (base url, auth headers, the server process, its log)."""
    from casework.auth.service import create_user
    from casework.migrate import upgrade
    from casework.units.loader import load_units

    pg = throwaway_postgres
    upgrade(pg.url)
    engine = make_engine(pg.url)
    with Session(engine) as s:
        load_units(session=s)
        create_user(session=s, username=USER, password=PASSWORD, role="clerk", unit_code=UNIT, actor=None,
                    fast_hash=True)
        s.commit()
    engine.dispose()
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    env = casework_env(DATABASE_URL=pg.url, REDIS_URL=redis_server.url, CASEWORK_INSTANCE=str(tmp_path / "instance"))
    port, log = free_port(), tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}"
    proc = start_casework(["serve", "--port", str(port), "--workers", "2"], env, log)
    try:
        wait_for(lambda: _status(base + "/readyz") == 200, "the API to be ready", 60, interval=0.25, proc=proc,
                 log=log)
        status, token = call("POST", base + "/api/v1/auth/token", {"username": USER, "password": PASSWORD})
        assert status == 200, token
        yield base, {"Authorization": f"Bearer {token['access_token']}"}, proc, log
    finally:
        stop_group(proc)
        redis_server.kill()


def _status(url: str) -> int | None:
    try:
        return call("GET", url, timeout=5)[0]
    except (OSError, http.client.HTTPException):
        return None


def _body(i: int, run: str) -> dict:
    return petition_body(title=f"断库测试{run}-{i:03d}",
                         petitioner=dict(petition_body()["petitioner"], id_number=make_id_number(seq=f"{i:03d}")))


def _post(base, headers, key, body):
    """(status or the connection error's name, json or None, started, ended)."""
    started = time.monotonic()
    try:
        status, answer = call("POST", base + "/api/v1/cases", body, headers={**headers, "Idempotency-Key": key})
    except (OSError, http.client.HTTPException) as exc:
        status, answer = type(exc).__name__, None
    return status, answer, started, time.monotonic()


def _check_whole(s: Session, titles: set[str]) -> dict[str, Case]:
    """Every case in the database is whole; returns them by title (asserting one case per title)."""
    cases = list(s.scalars(sa.select(Case)))
    assert {c.title for c in cases} <= titles, "a case this test did not send"
    by_title = {c.title: c for c in cases}
    assert len(by_title) == len(cases), "two cases for one request"
    ids = [c.id for c in cases]

    def per_case(model):
        return dict(s.execute(sa.select(model.case_id, sa.func.count()).where(model.case_id.in_(ids))
                              .group_by(model.case_id)).all())

    events, participants, clocks, notes = (per_case(m) for m in (CaseEvent, CaseParticipant, CaseClock, Notification))
    for c in cases:
        # register + assign at least; the counter on the case agrees with the rows that exist.
        assert events.get(c.id, 0) == c.event_count >= 2, (c.number, events.get(c.id), c.event_count)
        assert c.status == "assigned" and c.last_event_hash, c.number
        assert participants.get(c.id, 0) >= 1 and clocks.get(c.id, 0) >= 1 and notes.get(c.id, 0) >= 1, c.number
    keys = list(s.scalars(sa.select(IdempotencyKey)))
    # One finished key per case and no key claimed by a request that died: such a key would answer
    # "in progress" to every retry for 48 hours.
    assert sorted(k.case_id for k in keys if k.case_id is not None) == sorted(ids)
    assert all(k.case_id is not None and k.status_code == 201 for k in keys), \
        [(k.key, k.case_id, k.status_code) for k in keys if k.case_id is None or k.status_code != 201]
    checked, broken = verify_all(session=s)
    assert checked == len(cases) and broken is None, broken
    return by_title


@pytest.mark.postgres_only
@pytest.mark.timeout(240)
def test_postgres_crash_during_intake_burst(service, throwaway_postgres):
    base, headers, server_proc, server_log = service
    pg = throwaway_postgres
    run = uuid.uuid4().hex[:6]
    requests = [(f"{run}-{i}", _body(i, run)) for i in range(REQUESTS)]
    titles = {body["title"] for _, body in requests}

    # 1. The burst; PostgreSQL crashes once KILL_AFTER answers are in, with requests in flight.
    answered = threading.Semaphore(0)
    crashed_at: list[float] = []
    crash_errors: list[BaseException] = []

    def send(item):
        result = _post(base, headers, *item)
        answered.release()
        return result

    def crash():
        for _ in range(KILL_AFTER):
            if not answered.acquire(timeout=60):
                return
        try:
            crashed_at.append(time.monotonic())
            pg.crash()
        except BaseException as exc:  # shown by the assertion below, not lost in the thread
            crash_errors.append(exc)

    killer = threading.Thread(target=crash, name="crash-postgres")
    killer.start()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        results = list(pool.map(send, requests))
    killer.join(timeout=60)
    assert crashed_at and not crash_errors, f"PostgreSQL was not crashed: {crash_errors}"

    ok = {i for i, (status, *_) in enumerate(results) if status == 201}
    failed = set(range(REQUESTS)) - ok
    # An answer other than 201 is a server error or a lost connection: never a 4xx that blames the client.
    wrong = {i: results[i][:2] for i in failed if not (isinstance(results[i][0], str) or results[i][0] >= 500)}
    assert not wrong, wrong
    assert KILL_AFTER // 2 <= len(ok) < REQUESTS and failed, (len(ok), len(failed))
    # Sent before the crash began, yet failed: these were in the server when their database died.
    in_flight = [i for i in failed if results[i][2] < crashed_at[0]]
    assert in_flight, "no request was in flight when the server crashed"
    assert all(results[i][1]["title"] == requests[i][1]["title"] for i in ok)

    # 2. While the database is down, readiness says so, naming it (Redis is fine).
    status, ready = call("GET", base + "/readyz")
    assert status == 503, ready
    assert "database" in ready["detail"] and ready["checks"]["database"].startswith("down"), ready
    assert ready["checks"]["redis"] == "ok"

    # 3. PostgreSQL comes back (crash recovery); the app's pools reconnect by themselves.
    pg.start()
    wait_for(lambda: _status(base + "/readyz") == 200, "readiness after the restart", 30, interval=0.25,
             proc=server_proc, log=server_log)
    engine = make_engine(pg.url)
    try:
        with Session(engine) as s:
            by_title = _check_whole(s, titles)
            for i in ok:  # every 201 survived the crash, as answered
                case = by_title.get(requests[i][1]["title"])
                assert case is not None, f"answered 201 but lost: {results[i][1]['number']}"
                assert (case.id, case.number) == (results[i][1]["id"], results[i][1]["number"])
            # Failed, yet committed: the crash took the answer, not the commit.
            in_doubt = {i: by_title[requests[i][1]["title"]].id for i in failed
                        if requests[i][1]["title"] in by_title}

        # 4. Every failed request, retried with its key, now gets its case: the one its lost commit made, if
        # it made one, or a new one, from pools that reconnected by themselves; none answers 409 or 5xx.
        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            again = sorted(failed)
            retried = dict(zip(again, pool.map(lambda i: _post(base, headers, *requests[i]), again)))
        not_created = {i: r[:2] for i, r in retried.items() if r[0] != 201}
        assert not not_created, not_created
        with Session(engine) as s:
            by_title = _check_whole(s, titles)
            assert set(by_title) == titles  # exactly one case per request, all 200
            for _, answer, *_rest in retried.values():
                assert by_title[answer["title"]].id == answer["id"]
            for i, case_id in in_doubt.items():  # a replay of the committed case, not a second one
                assert retried[i][1]["id"] == case_id
    finally:
        engine.dispose()
    status, ready = call("GET", base + "/readyz")
    assert status == 200 and ready["checks"] == {"database": "ok", "redis": "ok"}, ready
    assert server_proc.poll() is None, server_log.read_text()[-3000:]
