"""The official Chinese working-day calendar, with 调休 (adjusted working weekends).

Sources, in order of authority for a given year:

1. an admin override (``YearOverride``): the State Council notice typed in by an
   admin; it replaces everything else for that year;
2. the ``chinesecalendar`` package, which ships the published arrangements
   (2004 to the latest notice it knows);
3. a fallback for years the package has no data for: Monday–Friday minus the
   statutory holidays the ``holidays`` package can compute. The fallback cannot
   know the adjusted working weekends (they are only fixed by the yearly notice),
   so such a year is *provisional* and deadlines touching it say so.

Dates here are plain local (Asia/Shanghai) ``date`` objects; turning a moment
into a local date is the caller's job (see ``deadlines``).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType

import chinese_calendar
import holidays as holidays_lib

__all__ = ["WorkCalendar", "YearOverride"]

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class YearOverride:
    """The official arrangement of one year, as entered by an admin.

    A date is a working day iff it is in ``workdays`` or it is Monday–Friday and
    not in ``holidays``; so ``holidays`` lists weekday days off and ``workdays``
    the adjusted working weekends.
    """

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        # Accept any iterable (sets, lists from JSON) but store frozensets so the
        # override stays hashable and nobody mutates a calendar in use.
        object.__setattr__(self, "holidays", _date_set(self.holidays, "holidays"))
        object.__setattr__(self, "workdays", _date_set(self.workdays, "workdays"))
        both = self.holidays & self.workdays
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"dates cannot be both a holiday and a workday: {listed}")

    def is_workday(self, day: date) -> bool:
        return day in self.workdays or (day.weekday() < 5 and day not in self.holidays)


@dataclass(frozen=True)
class _Year:
    workdays: frozenset[date]
    provisional: bool


def _date_set(values: Iterable[date], field: str) -> frozenset[date]:
    out = frozenset(values)
    for value in out:
        if isinstance(value, datetime) or not isinstance(value, date):
            raise TypeError(f"{field} must contain dates, got {value!r}")
    return out


def _days_of(year: int) -> Iterable[date]:
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += _ONE_DAY


@lru_cache(maxsize=None)
def _published_year(year: int) -> _Year:
    """The package's view of a year; cached process-wide since package data is static."""
    try:
        workdays = frozenset(d for d in _days_of(year) if chinese_calendar.is_workday(d))
    except NotImplementedError:
        # "no available data for year N": the notice is not in this package version.
        return _fallback_year(year)
    return _Year(workdays, provisional=False)


def _fallback_year(year: int) -> _Year:
    statutory = holidays_lib.China(years=year)
    workdays = frozenset(d for d in _days_of(year) if d.weekday() < 5 and d not in statutory)
    return _Year(workdays, provisional=True)


def _override_year(year: int, override: YearOverride) -> _Year:
    return _Year(frozenset(d for d in _days_of(year) if override.is_workday(d)), provisional=False)


class WorkCalendar:
    """Working-day questions for any year; immutable once built.

    Per-year answers are cached on the instance (overrides) or process-wide
    (package data), because the SLA sweep asks about the same few years a lot.
    """

    def __init__(self, overrides: Mapping[int, YearOverride] | None = None) -> None:
        checked: dict[int, YearOverride] = {}
        for year, override in (overrides or {}).items():
            if not isinstance(override, YearOverride):
                raise TypeError(f"override for {year} must be a YearOverride, got {type(override).__name__}")
            strays = sorted(d for d in override.holidays | override.workdays if d.year != year)
            if strays:
                raise ValueError(f"override for {year} lists dates of another year: "
                                 + ", ".join(d.isoformat() for d in strays))
            checked[year] = override
        self._overrides = checked
        self._years: dict[int, _Year] = {}

    @property
    def overrides(self) -> Mapping[int, YearOverride]:
        return MappingProxyType(self._overrides)

    def with_overrides(self, overrides: Mapping[int, YearOverride]) -> WorkCalendar:
        """A new calendar with these years replaced (other overrides kept)."""
        return WorkCalendar({**self._overrides, **overrides})

    def without_override(self, year: int) -> WorkCalendar:
        return WorkCalendar({y: o for y, o in self._overrides.items() if y != year})

    def _year(self, year: int) -> _Year:
        found = self._years.get(year)
        if found is None:
            override = self._overrides.get(year)
            found = _override_year(year, override) if override is not None else _published_year(year)
            self._years[year] = found
        return found

    def is_workday(self, day: date) -> bool:
        _require_date(day)
        return day in self._year(day.year).workdays

    def is_provisional(self, year: int) -> bool:
        """True when ``year`` comes from the fallback, i.e. 调休 may be missing."""
        return self._year(year).provisional

    def next_workday(self, day: date, *, include_self: bool = False) -> date:
        """The first working day after ``day`` (or ``day`` itself if ``include_self`` and it works)."""
        _require_date(day)
        candidate = day if include_self else day + _ONE_DAY
        while not self.is_workday(candidate):
            candidate += _ONE_DAY
        return candidate

    def add_workdays(self, day: date, n: int) -> date:
        """The ``n``-th working day after ``day``; ``day`` itself is never counted."""
        _require_date(day)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        for _ in range(n):
            day = self.next_workday(day)
        return day

    def count_workdays(self, after: date, through: date) -> int:
        """Working days d with ``after < d <= through`` (0 if the range is empty)."""
        _require_date(after)
        _require_date(through)
        first = after + _ONE_DAY
        if through < first:
            return 0
        # Per-year set scans instead of a day loop: bulletins ask over long ranges.
        return sum(
            sum(1 for d in self._year(year).workdays if first <= d <= through)
            for year in range(first.year, through.year + 1)
        )


def _require_date(day: object) -> None:
    # A datetime is a date subclass, but its date part may be in the wrong time
    # zone (UTC vs Shanghai shifts the day); make callers convert explicitly.
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"expected a local date, got {day!r}")
