"""Reporting periods in Asia/Shanghai: bounds, labels, invalid starts, 环比/同比 and the cron's choice.

All pure except the last test, which builds October and November bulletins around a case received one
second before midnight of 31 October, Beijing time.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from croniter import croniter

from casework import clock
from casework.bulletins.periods import (Period, containing, history, last_completed, period, previous,
                                        year_before)
from tests.bulletins.fixture import bj
from tests.cases.conftest import complaint_body, petition_body

UTC = timezone.utc
D = date


@pytest.mark.parametrize("kind, start, end, label", [
    # A week spanning a month end, Monday to Monday.
    ("week", D(2026, 9, 28), D(2026, 10, 5), "2026年09月28日至10月04日"),
    ("week", D(2026, 12, 28), D(2027, 1, 4), "2026年12月28日至01月03日"),  # and a year end
    ("month", D(2026, 11, 1), D(2026, 12, 1), "2026年11月"),
    ("month", D(2026, 12, 1), D(2027, 1, 1), "2026年12月"),
    ("month", D(2028, 2, 1), D(2028, 3, 1), "2028年2月"),
    ("quarter", D(2026, 10, 1), D(2027, 1, 1), "2026年第4季度"),
    ("quarter", D(2026, 1, 1), D(2026, 4, 1), "2026年第1季度"),
    ("year", D(2026, 1, 1), D(2027, 1, 1), "2026年"),
])
def test_bounds_and_labels(kind, start, end, label):
    p = period(kind, start)
    assert (p.kind, p.start, p.end, p.label) == (kind, start, end, label)


@pytest.mark.parametrize("kind, day, start", [
    ("week", D(2026, 10, 1), D(2026, 9, 28)),  # Thursday 1 October is in the week of Monday 28 September
    ("week", D(2026, 10, 4), D(2026, 9, 28)),  # Sunday closes it
    ("week", D(2026, 10, 5), D(2026, 10, 5)),
    ("month", D(2026, 10, 31), D(2026, 10, 1)),
    ("quarter", D(2026, 11, 15), D(2026, 10, 1)),
    ("quarter", D(2026, 3, 31), D(2026, 1, 1)),
    ("year", D(2026, 12, 31), D(2026, 1, 1)),
])
def test_containing(kind, day, start):
    assert containing(kind, day) == period(kind, start)


@pytest.mark.parametrize("kind, start, message", [
    ("week", D(2026, 9, 29), "Monday"),  # a Tuesday
    ("week", D(2026, 10, 4), "Monday"),  # a Sunday
    ("month", D(2026, 11, 2), "1st"),
    ("quarter", D(2026, 11, 1), "January, April, July or October"),
    ("quarter", D(2026, 10, 2), "1st"),
    ("year", D(2026, 2, 1), "1 January"),
    ("fortnight", D(2026, 9, 28), "must be one of"),
])
def test_invalid_starts(kind, start, message):
    with pytest.raises(ValueError, match=message):
        period(kind, start)


@pytest.mark.parametrize("kind, start, prev, last_year", [
    ("week", D(2026, 10, 5), D(2026, 9, 28), D(2025, 10, 6)),  # 52 weeks back is a Monday again
    ("week", D(2026, 1, 5), D(2025, 12, 29), D(2025, 1, 6)),
    ("month", D(2026, 1, 1), D(2025, 12, 1), D(2025, 1, 1)),
    ("month", D(2026, 11, 1), D(2026, 10, 1), D(2025, 11, 1)),
    ("quarter", D(2026, 1, 1), D(2025, 10, 1), D(2025, 1, 1)),
    ("year", D(2026, 1, 1), D(2025, 1, 1), D(2025, 1, 1)),
])
def test_previous_and_year_before(kind, start, prev, last_year):
    p = period(kind, start)
    assert previous(p) == period(kind, prev)
    assert year_before(p) == period(kind, last_year)


def test_history_is_oldest_first_and_ends_with_the_period():
    p = period("month", D(2026, 11, 1))
    assert [x.start for x in history(p, 3)] == [D(2026, 9, 1), D(2026, 10, 1), D(2026, 11, 1)]
    assert len(history(p, 12)) == 12 and history(p, 12)[0].start == D(2025, 12, 1)


def test_utc_bounds_are_beijing_midnights():
    october = period("month", D(2026, 10, 1))
    assert october.utc_start == datetime(2026, 9, 30, 16, tzinfo=UTC)
    assert october.utc_end == datetime(2026, 10, 31, 16, tzinfo=UTC)
    week = period("week", D(2026, 9, 28))
    assert week.utc_start == datetime(2026, 9, 27, 16, tzinfo=UTC)
    assert week.utc_end == datetime(2026, 10, 4, 16, tzinfo=UTC)


@pytest.mark.parametrize("moment, month", [
    # 23:59:59 on 31 October in Beijing is 15:59:59Z the same day: October.
    (bj(10, 31, 23, 59, 59), 10),
    (datetime(2026, 10, 31, 15, 59, 59, tzinfo=UTC), 10),
    # Midnight of 1 November in Beijing is still 31 October in UTC (16:00Z), yet November.
    (bj(11, 1, 0), 11),
    (datetime(2026, 10, 31, 16, 0, tzinfo=UTC), 11),
])
def test_a_moment_falls_in_the_beijing_month(moment, month):
    p: Period = period("month", D(2026, month, 1))
    utc = moment.astimezone(UTC)
    assert p.utc_start <= utc < p.utc_end
    assert not (previous(p).utc_start <= utc < previous(p).utc_end)


@pytest.mark.parametrize("name, kind", [("bulletins-monthly", "month"), ("bulletins-weekly", "week")])
def test_each_cron_firing_builds_the_period_that_just_ended(name, kind):
    from workers.schedule import SCHEDULE

    (entry,) = [s for s in SCHEDULE if s.name == name]
    assert entry.kwargs == {"period": kind}
    # Walk a year of firings (UTC, as the scheduler runs): each is early on the first Beijing day of a new
    # period and asks for the period just completed, so consecutive firings cover consecutive periods.
    fires = croniter(entry.cron, datetime(2025, 12, 31, 0, 0))
    done = []
    for _ in range(14 if kind == "month" else 60):
        fire = fires.get_next(datetime).replace(tzinfo=UTC)
        local = fire.astimezone(bj(1, 1).tzinfo)
        built = last_completed(kind, fire)
        assert local.date() == built.end and local.hour < 3, (fire, built)
        done.append(built)
    assert all(previous(b) == a for a, b in zip(done, done[1:]))
    if kind == "week":
        assert period("week", D(2026, 9, 28)) in done


def test_case_at_one_second_before_midnight_counts_in_october(client, make_user, session):
    from casework.bulletins.models import Bulletin
    from casework.bulletins.service import request_build
    from casework.cases.models import Case
    from workers import jobs

    supervisor, _ = make_user(role="supervisor", unit="360800")
    _, clerk = make_user(role="clerk", unit="360827")
    stored = {}
    for moment, body in ((bj(10, 31, 23, 59, 59), petition_body()), (bj(11, 1, 0), complaint_body())):
        with clock.frozen(moment.astimezone(UTC)):
            r = client.post("/api/v1/cases", json=dict(body, received_at=moment.isoformat()), headers=clerk)
            assert r.status_code == 201, r.get_json()
            assert r.get_json()["received_at"] == moment.isoformat()
            stored[moment] = session.get(Case, r.get_json()["id"]).received_at
    # Stored in UTC: both on 31 October, one second apart across 16:00Z, the Beijing midnight.
    assert sorted(t.astimezone(UTC) for t in stored.values()) == [datetime(2026, 10, 31, 15, 59, 59, tzinfo=UTC),
                                                                  datetime(2026, 10, 31, 16, 0, tzinfo=UTC)]
    received = {}
    with clock.frozen(bj(12, 1, 2).astimezone(UTC)):
        for start in (D(2026, 10, 1), D(2026, 11, 1)):
            bulletin, _ = request_build(session=session, unit_code="360800", kind="month", start=start,
                                        actor=supervisor, now=clock.now())
            session.commit()
            bulletin_id = bulletin.id
            jobs.build_bulletin(bulletin_id)
            figures = session.get(Bulletin, bulletin_id).figures
            received[start.month] = {r["key"]: r["count"] for r in figures["by_kind"]}
            assert figures["summary"]["received"]["value"] == 1
    # The petition (23:59:59) is October's, the complaint one second later November's.
    assert received == {10: {"petition": 1, "complaint": 0}, 11: {"petition": 0, "complaint": 1}}
