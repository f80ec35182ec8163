"""WorkCalendar against the real 2026 arrangement (国办发明电 notice as shipped in
chinesecalendar 1.11) and the 2027 fallback. Expected values are written by hand
from the official calendar, not computed by the code under test.

2026 facts used below: days off on weekdays 1-01/02, 2-16..20, 2-23, 4-06, 5-01,
5-04/05, 6-19, 9-25 (中秋, Friday), 10-01/02, 10-05..07; adjusted working weekends
(调休) 1-04 Sun, 2-14 Sat, 2-28 Sat, 5-09 Sat, 9-20 Sun, 10-10 Sat.
"""
from __future__ import annotations

from datetime import date, datetime

import pytest

from casework.sla.calendar import WorkCalendar, YearOverride

D = date
CAL = WorkCalendar()


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 1, 1), False),    # 元旦
        (D(2026, 1, 4), True),     # Sunday, 调休 working day
        (D(2026, 2, 14), True),    # Saturday before Spring Festival, working
        (D(2026, 2, 16), False),   # 除夕 week
        (D(2026, 2, 23), False),   # Monday, still Spring Festival
        (D(2026, 2, 24), True),
        (D(2026, 2, 28), True),    # Saturday, 调休
        (D(2026, 5, 9), True),     # Saturday, 调休
        (D(2026, 6, 19), False),   # 端午, Friday
        (D(2026, 9, 20), True),    # Sunday, 调休 for National Day
        (D(2026, 9, 25), False),   # 中秋, Friday
        (D(2026, 9, 26), False),   # plain Saturday
        (D(2026, 9, 28), True),
        (D(2026, 10, 1), False),
        (D(2026, 10, 7), False),   # Wednesday, last National Day holiday
        (D(2026, 10, 8), True),
        (D(2026, 10, 10), True),   # Saturday, 调休
        (D(2026, 10, 11), False),  # plain Sunday
        (D(2026, 11, 14), False),  # plain Saturday
        (D(2026, 11, 16), True),   # plain Monday
        (D(2026, 12, 31), True),
        # 2027: fallback = Mon–Fri minus holidays.China(2027)
        (D(2027, 1, 1), False),
        (D(2027, 1, 4), True),
        (D(2027, 1, 9), False),    # Saturday: no 调休 known
        (D(2027, 2, 5), False),    # 除夕 per holidays
        (D(2027, 2, 9), False),    # "observed" Spring Festival day per holidays
        (D(2027, 2, 11), True),
        (D(2027, 10, 1), False),
        (D(2027, 10, 5), False),
        (D(2027, 10, 6), True),
    ],
)
def test_is_workday(day: date, expected: bool) -> None:
    assert CAL.is_workday(day) is expected


@pytest.mark.parametrize(
    ("year", "expected"),
    [(2004, False), (2025, False), (2026, False), (2027, True), (2003, True), (2030, True)],
)
def test_is_provisional(year: int, expected: bool) -> None:
    assert CAL.is_provisional(year) is expected


@pytest.mark.parametrize(
    ("day", "include_self", "expected"),
    [
        (D(2026, 9, 30), False, D(2026, 10, 8)),   # across National Day
        (D(2026, 10, 1), True, D(2026, 10, 8)),
        (D(2026, 10, 9), False, D(2026, 10, 10)),  # Friday → working Saturday
        (D(2026, 10, 10), False, D(2026, 10, 12)),
        (D(2026, 9, 18), False, D(2026, 9, 20)),   # Friday → working Sunday
        (D(2026, 9, 24), False, D(2026, 9, 28)),   # Thursday before 中秋
        (D(2026, 9, 28), True, D(2026, 9, 28)),
        (D(2026, 12, 31), False, D(2027, 1, 4)),   # into fallback 2027
    ],
)
def test_next_workday(day: date, include_self: bool, expected: date) -> None:
    assert CAL.next_workday(day, include_self=include_self) == expected


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        (D(2026, 9, 28), 0, D(2026, 9, 28)),
        (D(2026, 9, 28), 3, D(2026, 10, 8)),    # 9-29, 9-30, 10-08
        (D(2026, 9, 30), 3, D(2026, 10, 10)),   # 10-08, 10-09, 10-10 (Sat)
        (D(2026, 2, 13), 2, D(2026, 2, 24)),    # 2-14 (Sat), then 2-24
        (D(2026, 12, 30), 3, D(2027, 1, 5)),    # 12-31, 1-04, 1-05
    ],
)
def test_add_workdays(day: date, n: int, expected: date) -> None:
    assert CAL.add_workdays(day, n) == expected


@pytest.mark.parametrize(
    ("after", "through", "expected"),
    [
        (D(2026, 9, 30), D(2026, 10, 8), 1),
        (D(2026, 9, 30), D(2026, 10, 10), 3),
        (D(2026, 9, 18), D(2026, 9, 20), 1),    # only the working Sunday
        (D(2026, 2, 13), D(2026, 2, 28), 6),    # 2-14, 2-24..27, 2-28
        (D(2025, 12, 31), D(2026, 12, 31), 248),  # all of 2026
        (D(2026, 12, 30), D(2027, 1, 5), 3),
        (D(2026, 10, 8), D(2026, 10, 8), 0),
        (D(2026, 10, 9), D(2026, 10, 8), 0),
    ],
)
def test_count_workdays(after: date, through: date, expected: int) -> None:
    assert CAL.count_workdays(after, through) == expected


def test_add_workdays_rejects_negative() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        CAL.add_workdays(D(2026, 9, 28), -1)


def test_datetimes_are_rejected_because_their_date_depends_on_the_zone() -> None:
    with pytest.raises(TypeError, match="local date"):
        CAL.is_workday(datetime(2026, 10, 10, 12, 0))


# A hypothetical 2027 notice: Spring Festival 2-08..2-12 off, Saturday 2-20 worked,
# and 2-05 (除夕, a holiday in the fallback) a normal working Friday.
OVERRIDE_2027 = YearOverride(
    holidays={D(2027, 1, 1), D(2027, 2, 8), D(2027, 2, 9), D(2027, 2, 10), D(2027, 2, 11), D(2027, 2, 12)},
    workdays={D(2027, 2, 20)},
)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2027, 2, 5), True),     # was off in the fallback
        (D(2027, 2, 8), False),
        (D(2027, 2, 20), True),    # working Saturday
        (D(2027, 2, 21), False),   # plain Sunday
        (D(2027, 10, 1), True),    # the override is the whole truth for 2027
    ],
)
def test_override_replaces_the_year(day: date, expected: bool) -> None:
    assert CAL.with_overrides({2027: OVERRIDE_2027}).is_workday(day) is expected


def test_override_makes_year_official_and_leaves_original_alone() -> None:
    overridden = CAL.with_overrides({2027: OVERRIDE_2027})
    assert overridden.is_provisional(2027) is False
    assert CAL.is_provisional(2027) is True
    assert CAL.is_workday(D(2027, 2, 5)) is False
    assert overridden.without_override(2027).is_provisional(2027) is True


def test_override_supersedes_package_data() -> None:
    cal = WorkCalendar(overrides={2026: YearOverride()})
    assert cal.is_workday(D(2026, 10, 1)) is True     # no holidays listed
    assert cal.is_workday(D(2026, 10, 10)) is False   # 调休 not listed either
    assert cal.is_provisional(2026) is False


def test_override_accepts_lists_and_stores_frozensets() -> None:
    override = YearOverride(holidays=[D(2027, 1, 1)], workdays=[])
    assert override.holidays == frozenset({D(2027, 1, 1)})
    hash(override)


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({2027: YearOverride(holidays={D(2026, 12, 31)})}, ValueError, "another year"),
        ({2027: "2027-01-01"}, TypeError, "YearOverride"),
    ],
)
def test_bad_overrides(overrides: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        WorkCalendar(overrides=overrides)


def test_override_date_cannot_be_both() -> None:
    with pytest.raises(ValueError, match="both a holiday and a workday: 2027-02-20"):
        YearOverride(holidays={D(2027, 2, 20)}, workdays={D(2027, 2, 20)})


def test_override_rejects_datetimes() -> None:
    with pytest.raises(TypeError, match="must contain dates"):
        YearOverride(holidays={datetime(2027, 1, 1)})
