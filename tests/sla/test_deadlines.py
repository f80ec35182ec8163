"""Deadline arithmetic on real 2026 dates (see test_calendar's docstring for the
2026 arrangement). "24:00 of D" is written as 00:00 of D+1 in Asia/Shanghai.
Expected values are worked out by hand from the official calendar."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.sla.calendar import WorkCalendar, YearOverride
from casework.sla.deadlines import (
    SHANGHAI, Deadline, Policy, calendar_days_deadline, compute, count_workdays_between,
    paused_total, shift_for_pause, warn_at, working_days_deadline, working_hours_deadline,
)

CAL = WorkCalendar()
UTC = timezone.utc


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "days", "due", "provisional"),
    [
        (sh(2026, 9, 28, 10), 15, sh(2026, 10, 14), False),   # 10-13 (Tue) 24:00
        (sh(2026, 9, 28, 10), 60, sh(2026, 11, 28), False),   # 11-27 (Fri) 24:00
        (sh(2026, 12, 30, 10), 15, sh(2027, 1, 15), True),    # 2027-01-14, no 2027 data
        (sh(2026, 10, 31, 9), 15, sh(2026, 11, 17), False),   # ends Sun 11-15 → Mon 11-16
        (sh(2026, 9, 16, 9), 15, sh(2026, 10, 9), False),     # ends 10-01 → Thu 10-08
        (sh(2026, 9, 25, 9), 15, sh(2026, 10, 11), False),    # ends Sat 10-10, a 调休 workday: stays
        (sh(2026, 9, 5, 9), 15, sh(2026, 9, 21), False),      # ends Sun 9-20, a 调休 workday: stays
        (sh(2026, 2, 1, 9), 15, sh(2026, 2, 25), False),      # ends 2-16 → Spring Festival → Tue 2-24
        (sh(2026, 12, 21, 9), 10, sh(2027, 1, 1), False),     # ends 12-31: only 2026 consulted
        (sh(2026, 12, 22, 9), 10, sh(2027, 1, 5), True),      # ends 元旦 2027 → Mon 1-04
        (sh(2026, 9, 28, 23, 59), 15, sh(2026, 10, 14), False),  # time of day is irrelevant
    ],
)
def test_calendar_days(start: datetime, days: int, due: datetime, provisional: bool) -> None:
    assert calendar_days_deadline(start, days, CAL) == Deadline(due, provisional)


@pytest.mark.parametrize(
    ("start", "days", "due", "provisional"),
    [
        (sh(2026, 9, 18, 15), 1, sh(2026, 9, 21), False),    # Fri → working Sun 9-20
        (sh(2026, 9, 18, 15), 5, sh(2026, 9, 25), False),    # 9-20, 21, 22, 23, 24 (9-25 off)
        (sh(2026, 9, 30, 15), 3, sh(2026, 10, 11), False),   # 10-08, 10-09, Sat 10-10
        (sh(2026, 9, 28, 10), 15, sh(2026, 10, 24), False),  # ... ends Fri 10-23
        (sh(2026, 2, 13, 10), 2, sh(2026, 2, 25), False),    # Sat 2-14, then Tue 2-24
        (sh(2026, 10, 3, 10), 1, sh(2026, 10, 9), False),    # starts on a holiday
        (sh(2026, 12, 30, 10), 1, sh(2027, 1, 1), False),    # 12-31
        (sh(2026, 12, 30, 10), 3, sh(2027, 1, 6), True),     # 12-31, 1-04, 1-05
    ],
)
def test_working_days(start: datetime, days: int, due: datetime, provisional: bool) -> None:
    assert working_days_deadline(start, days, CAL) == Deadline(due, provisional)


@pytest.mark.parametrize(
    ("start", "hours", "due", "provisional"),
    [
        (sh(2026, 11, 13, 16, 30), 2, sh(2026, 11, 16, 10), False),  # Fri → Mon morning
        (sh(2026, 9, 18, 16, 30), 2, sh(2026, 9, 20, 10), False),    # Fri → working Sunday
        (sh(2026, 9, 30, 16, 30), 2, sh(2026, 10, 8, 10), False),    # before National Day
        (sh(2026, 9, 24, 16, 30), 2, sh(2026, 9, 28, 10), False),    # Thu before 中秋 Friday
        (sh(2026, 11, 16, 11), 2, sh(2026, 11, 16, 14, 30), False),  # over lunch
        (sh(2026, 11, 16, 7), 2, sh(2026, 11, 16, 11), False),       # before opening
        (sh(2026, 11, 16, 12, 15), 1, sh(2026, 11, 16, 14, 30), False),  # starts at lunch
        (sh(2026, 11, 16, 9), 3, sh(2026, 11, 16, 12), False),       # used up at closing
        (sh(2026, 11, 16, 9), 7, sh(2026, 11, 16, 17, 30), False),   # one full day
        (sh(2026, 11, 16, 9), 8, sh(2026, 11, 17, 10), False),
        (sh(2026, 11, 16, 18), 1, sh(2026, 11, 17, 10), False),      # after closing
        (sh(2026, 11, 14, 10), 1, sh(2026, 11, 16, 10), False),      # starts on Saturday
        (sh(2026, 11, 16, 9), 0.5, sh(2026, 11, 16, 9, 30), False),
        (sh(2026, 11, 16, 16), 24, sh(2026, 11, 20, 10, 30), False),  # 1.5 + 7 + 7 + 7 + 1.5
        (sh(2026, 12, 31, 17), 1, sh(2027, 1, 4, 9, 30), True),
    ],
)
def test_working_hours(start: datetime, hours: float, due: datetime, provisional: bool) -> None:
    assert working_hours_deadline(start, hours, CAL) == Deadline(due, provisional)


def test_working_hours_custom_office() -> None:
    office = ((time(8), time(20)),)
    got = working_hours_deadline(sh(2026, 11, 13, 19), 2, CAL, office=office)
    assert got.due_at == sh(2026, 11, 16, 9)


@pytest.mark.parametrize(
    "office",
    [(), ((time(12), time(9)),), ((time(9), time(12)), (time(11), time(17)))],
)
def test_working_hours_rejects_bad_office(office: tuple) -> None:
    with pytest.raises(ValueError, match="office"):
        working_hours_deadline(sh(2026, 11, 16, 9), 1, CAL, office=office)


def test_end_of_day_is_1600_utc_same_date() -> None:
    due = calendar_days_deadline(sh(2026, 9, 28, 10), 15, CAL).due_at
    assert due.utcoffset() == timedelta(hours=8)
    assert due == utc(2026, 10, 13, 16)


@pytest.mark.parametrize(
    ("start", "due_utc"),
    [
        (utc(2026, 9, 27, 17), utc(2026, 10, 13, 16)),       # 9-28 01:00 in Beijing
        (utc(2026, 9, 28, 15, 59), utc(2026, 10, 13, 16)),   # 9-28 23:59 in Beijing
        (utc(2026, 9, 28, 16), utc(2026, 10, 14, 16)),       # already 9-29 in Beijing
    ],
)
def test_start_day_is_the_shanghai_date(start: datetime, due_utc: datetime) -> None:
    assert calendar_days_deadline(start, 15, CAL).due_at == due_utc


def test_working_hours_from_utc_input() -> None:
    due = working_hours_deadline(utc(2026, 11, 16, 1), 1, CAL).due_at  # 09:00 Beijing
    assert due == utc(2026, 11, 16, 2)
    assert due.tzinfo == SHANGHAI


@pytest.mark.parametrize(
    "call",
    [
        lambda: calendar_days_deadline(datetime(2026, 9, 28), 15, CAL),
        lambda: working_days_deadline(datetime(2026, 9, 28), 1, CAL),
        lambda: working_hours_deadline(datetime(2026, 9, 28), 1, CAL),
    ],
)
def test_naive_datetimes_are_rejected(call) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call()


@pytest.mark.parametrize("days", [0, -1, 1.5, True])
def test_bad_day_counts(days) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        calendar_days_deadline(sh(2026, 9, 28), days, CAL)


# Hypothetical official 2027 notice (see test_calendar): 除夕 2-05 worked,
# 2-08..12 off, Saturday 2-20 worked.
CAL_2027 = CAL.with_overrides({2027: YearOverride(
    holidays={date(2027, 1, 1), *(date(2027, 2, d) for d in range(8, 13))},
    workdays={date(2027, 2, 20)},
)})


@pytest.mark.parametrize(
    ("func", "start", "days", "fallback", "official"),
    [
        # ends 除夕 2-05: fallback rolls past 2-05..2-10 to Thu 2-11; officially 2-05 is worked
        (calendar_days_deadline, sh(2027, 1, 21, 10), 15, sh(2027, 2, 12), sh(2027, 2, 6)),
        # fallback: Fri 2-19, Mon 2-22; officially Fri 2-19, working Sat 2-20
        (working_days_deadline, sh(2027, 2, 18, 10), 2, sh(2027, 2, 23), sh(2027, 2, 21)),
    ],
)
def test_2027_provisional_then_official(func, start, days, fallback, official) -> None:
    assert func(start, days, CAL) == Deadline(fallback, True)
    assert func(start, days, CAL_2027) == Deadline(official, False)


def test_suspension_of_three_days_moves_due_by_exactly_three_days() -> None:
    due = calendar_days_deadline(sh(2026, 9, 28, 10), 15, CAL).due_at
    paused = paused_total([(sh(2026, 10, 1, 10), sh(2026, 10, 4, 10))], now=sh(2026, 10, 5))
    assert paused == timedelta(days=3)
    shifted = shift_for_pause(due, paused)
    assert shifted == sh(2026, 10, 17)
    assert shifted - due == timedelta(days=3)


def test_shift_rejects_negative_pause() -> None:
    with pytest.raises(ValueError, match="negative"):
        shift_for_pause(sh(2026, 10, 14), timedelta(hours=-1))


NOW = sh(2026, 10, 20, 12)


@pytest.mark.parametrize(
    ("intervals", "expected"),
    [
        ([], timedelta(0)),
        ([(sh(2026, 10, 1, 10), sh(2026, 10, 4, 10))], timedelta(days=3)),
        ([(sh(2026, 10, 1), sh(2026, 10, 2)), (sh(2026, 10, 19, 12), None)], timedelta(days=2)),
        ([(sh(2026, 10, 1), sh(2026, 10, 3)), (sh(2026, 10, 2), sh(2026, 10, 4))], timedelta(days=3)),
        ([(sh(2026, 10, 1), sh(2026, 10, 10)), (sh(2026, 10, 2), sh(2026, 10, 3))], timedelta(days=9)),
        ([(sh(2026, 10, 25), None)], timedelta(0)),                          # not started yet
        ([(sh(2026, 10, 19, 12), sh(2026, 10, 25))], timedelta(days=1)),     # counted up to now
        ([(utc(2026, 10, 1, 2), sh(2026, 10, 2, 10))], timedelta(days=1)),   # 2:00Z is 10:00 Beijing
    ],
)
def test_paused_total(intervals: list, expected: timedelta) -> None:
    assert paused_total(intervals, NOW) == expected


def test_paused_total_rejects_reversed_interval() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        paused_total([(sh(2026, 10, 4), sh(2026, 10, 1))], NOW)


START, DUE = sh(2026, 9, 28, 10), sh(2026, 10, 14)


@pytest.mark.parametrize(
    ("lead", "expected"),
    [
        (timedelta(days=3), sh(2026, 10, 11)),
        (timedelta(0), DUE),
        (0.25, sh(2026, 10, 10, 2, 30)),    # a quarter of 374 h is 93.5 h
        (timedelta(days=30), START),        # never before the start
        (1, START),
    ],
)
def test_warn_at(lead, expected: datetime) -> None:
    assert warn_at(START, DUE, lead) == expected


@pytest.mark.parametrize(
    ("start", "due", "lead"),
    [(START, DUE, 1.5), (START, DUE, -0.1), (START, DUE, timedelta(-1)), (START, DUE, "3"), (DUE, START, 0.5)],
)
def test_warn_at_rejects(start, due, lead) -> None:
    with pytest.raises(ValueError):
        warn_at(start, due, lead)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 9, 30), date(2026, 10, 10), 3),             # 10-08, 10-09, Sat 10-10
        (sh(2026, 9, 30, 15), sh(2026, 10, 10, 9), 3),
        (utc(2026, 9, 29, 16, 30), utc(2026, 10, 8, 15, 59), 1),  # 9-30 00:30 → 10-08 23:59
        (utc(2026, 9, 29, 16, 30), utc(2026, 10, 8, 16), 2),       # ... → 10-09 00:00
        (date(2026, 10, 12), date(2026, 10, 9), 0),
    ],
)
def test_count_workdays_between(start, end, expected: int) -> None:
    assert count_workdays_between(start, end, CAL) == expected


@pytest.mark.parametrize(
    ("policy", "start", "due", "warn"),
    [
        (Policy("acceptance", 15, "calendar_days", warn_before=3), START, DUE, sh(2026, 10, 11)),
        (Policy("handling", 60, "calendar_days", warn_before=timedelta(days=10)), START,
         sh(2026, 11, 28), sh(2026, 11, 18)),
        (Policy("urgent", 2, "working_hours", warn_before=timedelta(minutes=30)), sh(2026, 11, 13, 16, 30),
         sh(2026, 11, 16, 10), sh(2026, 11, 16, 9, 30)),
        (Policy("return_window", 5, "working_days"), sh(2026, 9, 30, 15), sh(2026, 10, 14), None),
    ],
)
def test_compute(policy: Policy, start: datetime, due: datetime, warn: datetime | None) -> None:
    assert compute(policy, start, CAL) == Deadline(due, False, warn)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"unit": "weeks"}, "unit must be one of calendar_days, hours, working_days, working_hours; got 'weeks'"),
        ({"duration": 0}, "positive whole number of days"),
        ({"duration": 1.5}, "positive whole number of days"),
        ({"duration": True}, "positive whole number of days"),
        ({"unit": "working_hours", "duration": -1}, "positive number of hours"),
        ({"unit": "working_hours", "duration": float("nan")}, "positive number of hours"),
        ({"warn_before": -1}, "warn_before"),
        ({"warn_before": timedelta(hours=-1)}, "warn_before"),
        ({"warn_before": "3"}, "warn_before"),
        ({"name": " "}, "name"),
    ],
)
def test_bad_policies(kwargs: dict, message: str) -> None:
    fields = {"name": "acceptance", "duration": 15, "unit": "calendar_days", **kwargs}
    with pytest.raises(ValueError, match=message):
        Policy(**fields)


# --- properties -------------------------------------------------------------

starts = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31),
    timezones=st.sampled_from([SHANGHAI, UTC]),
)
day_counts = st.integers(min_value=1, max_value=400)
prop = settings(deadline=None, max_examples=150)


@prop
@given(starts, day_counts, day_counts)
def test_due_is_monotone_in_days(start: datetime, a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    assert calendar_days_deadline(start, lo, CAL).due_at <= calendar_days_deadline(start, hi, CAL).due_at
    if lo < hi:
        assert working_days_deadline(start, lo, CAL).due_at < working_days_deadline(start, hi, CAL).due_at


@prop
@given(starts, day_counts)
def test_working_days_deadline_ends_a_workday(start: datetime, days: int) -> None:
    due = working_days_deadline(start, days, CAL).due_at
    assert due.timetz() == time(0, tzinfo=SHANGHAI)
    assert CAL.is_workday(due.date() - timedelta(days=1))
    assert count_workdays_between(start, due - timedelta(microseconds=1), CAL) == days


@prop
@given(starts, day_counts)
def test_calendar_days_deadline_not_before_start_plus_days(start: datetime, days: int) -> None:
    due = calendar_days_deadline(start, days, CAL).due_at
    assert due >= start + timedelta(days=days)
    assert due.timetz() == time(0, tzinfo=SHANGHAI)
    assert CAL.is_workday(due.date() - timedelta(days=1))


@prop
@given(starts, st.integers(min_value=1, max_value=200))
def test_working_hours_deadline_falls_in_office_time(start: datetime, quarter_hours: int) -> None:
    due = working_hours_deadline(start, quarter_hours / 4, CAL).due_at
    assert due > start
    assert CAL.is_workday(due.date())
    assert time(9) < due.time() <= time(12) or time(13, 30) < due.time() <= time(17, 30)
