"""Deadline arithmetic for statutory clocks, in Asia/Shanghai local time.

Inputs are timezone-aware datetimes in any zone (naive ones are rejected: a
naive time is ambiguous between server time, UTC and Beijing time). Outputs are
aware datetimes in Asia/Shanghai; callers convert to UTC for storage if they
want to. "24:00 of day D" is represented as 00:00 of D+1, which is 16:00 UTC on
D, so a stored due time compares correctly with ``now()``.

Counting follows the Civil Code (民法典 第二百零一条、第二百零三条): the day of
the starting event is not counted, a period ends at 24:00 of its last day, and
a last day that is a statutory holiday or rest day moves to the end of the next
working day.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from casework.sla.calendar import WorkCalendar

__all__ = [
    "SHANGHAI", "DEFAULT_OFFICE_HOURS", "UNITS", "Deadline", "Policy", "Unit",
    "calendar_days_deadline", "working_days_deadline", "working_hours_deadline",
    "shift_for_pause", "paused_total", "warn_at", "count_workdays_between", "compute",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")

Unit = Literal["calendar_days", "working_days", "working_hours", "hours"]
UNITS: frozenset[str] = frozenset(get_args(Unit))

OfficeHours = Sequence[tuple[time, time]]
# Typical 机关 hours; the lunch break does not count towards hour-based clocks.
DEFAULT_OFFICE_HOURS: tuple[tuple[time, time], ...] = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Deadline:
    """A computed due time (Shanghai-aware).

    ``provisional`` means some year the computation depended on has no official
    calendar yet, so 调休 may be missing and the date may change once an admin
    enters the notice. ``warn_at`` is filled by ``compute`` when the policy has a
    warning lead.
    """

    due_at: datetime
    provisional: bool
    warn_at: datetime | None = None


def _local(moment: datetime, what: str) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime, got {moment!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(SHANGHAI)


def _local_date(value: date | datetime, what: str) -> date:
    return _local(value, what).date() if isinstance(value, datetime) else value


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day + _ONE_DAY, time(0), tzinfo=SHANGHAI)


def _touches_provisional(cal: WorkCalendar, first: date, last: date) -> bool:
    return any(cal.is_provisional(year) for year in range(first.year, last.year + 1))


def _check_days(days: int) -> None:
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be a positive integer, got {days!r}")


def calendar_days_deadline(start: datetime, days: int, cal: WorkCalendar) -> Deadline:
    """End of the ``days``-th calendar day after the start day, moved off rest days."""
    _check_days(days)
    last = _local(start, "start").date() + timedelta(days=days)
    final = cal.next_workday(last, include_self=True)
    # Only the last day and the days it rolls over are looked up in the calendar.
    return Deadline(_end_of_day(final), _touches_provisional(cal, last, final))


def working_days_deadline(start: datetime, days: int, cal: WorkCalendar) -> Deadline:
    """End of the ``days``-th working day after the start day."""
    _check_days(days)
    start_day = _local(start, "start").date()
    final = cal.add_workdays(start_day, days)
    return Deadline(_end_of_day(final), _touches_provisional(cal, start_day + _ONE_DAY, final))


def end_of_workday_after(moment: datetime, days: int, cal: WorkCalendar) -> datetime:
    """23:59:59 in Shanghai of the ``days``-th working day after ``moment``'s day, in UTC (督办 reply and
    escalation times: one second inside the day, so they sort before that day's calendar deadlines)."""
    day = cal.add_workdays(_local(moment, "moment").date(), days)
    return datetime.combine(day, time(23, 59, 59), SHANGHAI).astimezone(timezone.utc)


def _check_office(office: OfficeHours) -> tuple[tuple[time, time], ...]:
    windows = tuple(office)
    if not windows:
        raise ValueError("office hours must have at least one window")
    previous_close: time | None = None
    for opens, closes in windows:
        if opens.tzinfo is not None or closes.tzinfo is not None:
            raise ValueError("office hours are local wall-clock times; pass naive times")
        if not opens < closes:
            raise ValueError(f"office window {opens}–{closes} must open before it closes")
        if previous_close is not None and opens < previous_close:
            raise ValueError("office windows must be sorted and must not overlap")
        previous_close = closes
    return windows


def working_hours_deadline(
    start: datetime,
    hours: float,
    cal: WorkCalendar,
    *,
    office: OfficeHours = DEFAULT_OFFICE_HOURS,
) -> Deadline:
    """The moment ``hours`` of office time on working days have elapsed since ``start``.

    Time outside the office windows (nights, lunch, rest days) does not count;
    a start outside them effectively begins at the next opening. A period that
    is used up exactly at a closing time is due at that closing time.
    """
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not math.isfinite(hours) or hours <= 0:
        raise ValueError(f"hours must be a positive number, got {hours!r}")
    windows = _check_office(office)
    cursor = _local(start, "start")
    first_day = day = cursor.date()
    remaining = timedelta(hours=hours)
    while True:
        if cal.is_workday(day):
            for opens, closes in windows:
                window_end = datetime.combine(day, closes, tzinfo=SHANGHAI)
                if cursor >= window_end:
                    continue
                begin = max(cursor, datetime.combine(day, opens, tzinfo=SHANGHAI))
                available = window_end - begin
                if remaining <= available:
                    due = begin + remaining
                    return Deadline(due, _touches_provisional(cal, first_day, day))
                remaining -= available
                cursor = window_end
        day = cal.next_workday(day)
        cursor = datetime.combine(day, time(0), tzinfo=SHANGHAI)


def shift_for_pause(due_at: datetime, paused: timedelta) -> datetime:
    """The due time after a suspension (中止) of ``paused`` wall-clock time.

    The clock is frozen while suspended, so the due time moves by exactly the
    paused duration; it is deliberately not re-snapped to a working day.
    """
    if paused < timedelta(0):
        raise ValueError(f"paused must not be negative, got {paused}")
    return _local(due_at, "due_at") + paused


def paused_total(intervals: Sequence[tuple[datetime, datetime | None]], now: datetime) -> timedelta:
    """Total time covered by pause intervals up to ``now``.

    An open interval (end ``None``) runs until ``now``; anything after ``now`` is
    ignored; overlapping intervals (two suspensions recorded for one clock) are
    counted once.
    """
    now = _local(now, "now")
    spans: list[tuple[datetime, datetime]] = []
    for begin, end in intervals:
        begin = _local(begin, "pause start")
        if end is None:
            end = now
        else:
            end = _local(end, "pause end")
            if end < begin:
                raise ValueError(f"pause ends before it starts: {begin.isoformat()} → {end.isoformat()}")
            end = min(end, now)
        if end > begin:
            spans.append((begin, end))
    total = timedelta(0)
    covered_until: datetime | None = None
    for begin, end in sorted(spans):
        if covered_until is not None and begin < covered_until:
            begin = covered_until
        if end > begin:
            total += end - begin
            covered_until = end
    return total


def warn_at(start: datetime, due_at: datetime, lead: timedelta | float) -> datetime:
    """When to warn (预警): ``lead`` before ``due_at``, never before ``start``.

    ``lead`` is a duration, or a fraction of the whole period (0.2 = warn when
    80% of the time has elapsed).
    """
    start, due_at = _local(start, "start"), _local(due_at, "due_at")
    if due_at < start:
        raise ValueError("due_at is before start")
    if isinstance(lead, timedelta):
        if lead < timedelta(0):
            raise ValueError(f"lead must not be negative, got {lead}")
        offset = lead
    elif isinstance(lead, (int, float)) and not isinstance(lead, bool) and 0 <= lead <= 1:
        offset = (due_at - start) * lead
    else:
        raise ValueError(f"lead must be a timedelta or a fraction between 0 and 1, got {lead!r}")
    return max(start, due_at - offset)


def count_workdays_between(start_date: date | datetime, end_date: date | datetime, cal: WorkCalendar) -> int:
    """Working days after ``start_date`` up to and including ``end_date``.

    Aware datetimes are taken at their Shanghai local date, so
    ``count_workdays_between(assigned_at, now, cal) <= 5`` reads as "within 5
    working days of assignment".
    """
    first = _local_date(start_date, "start_date")
    last = _local_date(end_date, "end_date")
    return cal.count_workdays(first, last)


@dataclass(frozen=True)
class Policy:
    """A clock's rule: ``duration`` ``unit``s, warning ``warn_before`` ahead.

    ``warn_before`` is a timedelta or a number of calendar days (wall-clock
    lead, independent of the unit). Invalid policies raise ValueError when built,
    so a bad policy file fails at load time rather than in the sweep.
    """

    name: str
    duration: int | float
    unit: Unit
    warn_before: timedelta | int | float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"policy name must be a non-empty string, got {self.name!r}")
        where = f"policy {self.name!r}"
        if self.unit not in UNITS:
            raise ValueError(f"{where}: unit must be one of {', '.join(sorted(UNITS))}; got {self.unit!r}")
        duration = self.duration
        if self.unit in ("working_hours", "hours"):
            if isinstance(duration, bool) or not isinstance(duration, (int, float)) \
                    or not math.isfinite(duration) or duration <= 0:
                raise ValueError(f"{where}: duration must be a positive number of hours, got {duration!r}")
        elif isinstance(duration, bool) or not isinstance(duration, int) or duration < 1:
            raise ValueError(f"{where}: duration must be a positive whole number of days, got {duration!r}")
        lead = self.warn_before
        if lead is None:
            return
        if isinstance(lead, timedelta):
            ok = lead >= timedelta(0)
        else:
            ok = isinstance(lead, (int, float)) and not isinstance(lead, bool) and math.isfinite(lead) and lead >= 0
        if not ok:
            raise ValueError(f"{where}: warn_before must be a non-negative timedelta or number of days, got {lead!r}")

    @property
    def warn_lead(self) -> timedelta | None:
        lead = self.warn_before
        if lead is None or isinstance(lead, timedelta):
            return lead
        return timedelta(days=lead)


def compute(
    policy: Policy,
    start: datetime,
    cal: WorkCalendar,
    *,
    office: OfficeHours = DEFAULT_OFFICE_HOURS,
) -> Deadline:
    """The deadline of ``policy`` for a clock started at ``start``, with its warning time."""
    if policy.unit == "calendar_days":
        deadline = calendar_days_deadline(start, int(policy.duration), cal)
    elif policy.unit == "working_days":
        deadline = working_days_deadline(start, int(policy.duration), cal)
    elif policy.unit == "working_hours":
        deadline = working_hours_deadline(start, float(policy.duration), cal, office=office)
    elif policy.unit == "hours":
        # Wall-clock hours (hotline "24 hours"): no calendar involved, never provisional.
        deadline = Deadline(_local(start, "start") + timedelta(hours=float(policy.duration)), False)
    else:  # unreachable for a validated Policy; guards hand-built objects
        raise ValueError(f"policy {policy.name!r}: unknown unit {policy.unit!r}")
    lead = policy.warn_lead
    if lead is None:
        return deadline
    return replace(deadline, warn_at=warn_at(start, deadline.due_at, lead))
