"""The sweep benchmark's baseline writes exactly the rows the sweep writes.

bench/bench_sweep.py compares the sweep with one hand-written UPDATE of the same rows; the claim holds
only while that statement and the sweep agree. The benchmark checks it at 1,000,000 cases, but nobody
runs the benchmark on every change: this test checks it on a few cases, so a schema change that breaks
the hand-written statement, or a sweep that starts writing more, fails here.
"""
from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from bench.bench_sweep import SAME_ROWS_COUNTS_SQL, SAME_ROWS_UPDATE_SQL
from casework.cases.models import Case
from casework.sla.policies import policies_for_app
from casework.sla.service import run_sweep
from tests.sla.test_clock_integration import BJ, register

pytestmark = pytest.mark.postgres_only


def test_hand_written_update_writes_the_rows_the_sweep_writes(app, session, client, make_user):
    _, clerk = make_user(role="clerk", unit="360827")
    _, other = make_user(role="clerk", unit="360822")
    # Acceptance runs out at 24:00 on 11-17 for the first two; the third is due 11-20, warned from 11-17 24:00.
    late = [register(client, clerk, datetime(2026, 11, 2, 10, tzinfo=BJ)),
            register(client, other, datetime(2026, 11, 2, 11, tzinfo=BJ))]
    warned = register(client, clerk, datetime(2026, 11, 5, 10, tzinfo=BJ))
    session.commit()
    now = datetime(2026, 11, 18, 0, 5, tzinfo=BJ)

    savepoint = session.begin_nested()
    conn = session.connection()
    flagged = conn.exec_driver_sql(SAME_ROWS_UPDATE_SQL, {"now": now}).rowcount
    by_hand = dict(zip(("warned", "breached", "supervisions", "notifications"),
                       conn.exec_driver_sql(SAME_ROWS_COUNTS_SQL, {"now": now}).one()))
    savepoint.rollback()

    result = run_sweep(session=session, policies=policies_for_app(app), now=now)
    session.flush()
    overdue = set(session.scalars(sa.select(Case.id).where(Case.overdue, Case.supervised, Case.awaiting_reply)))

    assert overdue == {c["id"] for c in late} and warned["id"] not in overdue
    assert by_hand == {"warned": result.warned, "breached": result.breached,
                       "supervisions": result.supervisions_opened, "notifications": result.notifications}
    assert (result.warned, result.breached, result.supervisions_opened, result.notifications) == (1, 2, 2, 5)
    assert flagged == len(overdue)
