"""Reporting periods in Asia/Shanghai: week (Monday–Sunday), month, quarter, year."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
KINDS = ("week", "month", "quarter", "year")
LABELS = {"week": "周", "month": "月", "quarter": "季度", "year": "年"}


@dataclass(frozen=True)
class Period:
    kind: str
    start: date  # first day
    end: date  # first day after

    @property
    def utc_start(self) -> datetime:
        return datetime.combine(self.start, time(0), SHANGHAI).astimezone(timezone.utc)

    @property
    def utc_end(self) -> datetime:
        return datetime.combine(self.end, time(0), SHANGHAI).astimezone(timezone.utc)

    @property
    def label(self) -> str:
        if self.kind == "week":
            return f"{self.start:%Y年%m月%d日}至{self.end - timedelta(days=1):%m月%d日}"
        if self.kind == "month":
            return f"{self.start.year}年{self.start.month}月"
        if self.kind == "quarter":
            return f"{self.start.year}年第{(self.start.month - 1) // 3 + 1}季度"
        return f"{self.start.year}年"


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period(kind: str, start: date) -> Period:
    """The period of ``kind`` beginning on ``start``; raises ValueError if ``start`` does not begin one."""
    if kind not in KINDS:
        raise ValueError(f"period must be one of {', '.join(KINDS)}")
    if kind == "week":
        if start.weekday() != 0:
            raise ValueError("a week starts on a Monday")
        return Period(kind, start, start + timedelta(days=7))
    if start.day != 1:
        raise ValueError(f"a {kind} starts on the 1st")
    if kind == "month":
        return Period(kind, start, _add_months(start, 1))
    if kind == "quarter":
        if start.month not in (1, 4, 7, 10):
            raise ValueError("a quarter starts in January, April, July or October")
        return Period(kind, start, _add_months(start, 3))
    if start.month != 1:
        raise ValueError("a year starts on 1 January")
    return Period(kind, start, _add_months(start, 12))


def containing(kind: str, day: date) -> Period:
    """The period of ``kind`` that contains ``day``."""
    if kind == "week":
        return period(kind, day - timedelta(days=day.weekday()))
    if kind == "month":
        return period(kind, day.replace(day=1))
    if kind == "quarter":
        return period(kind, date(day.year, (day.month - 1) // 3 * 3 + 1, 1))
    return period(kind, date(day.year, 1, 1))


def previous(p: Period) -> Period:
    """环比: the period just before."""
    return containing(p.kind, p.start - timedelta(days=1))


def year_before(p: Period) -> Period:
    """同比: the same period a year earlier (for weeks: the week 52 weeks before)."""
    if p.kind == "week":
        return period("week", p.start - timedelta(weeks=52))
    return period(p.kind, p.start.replace(year=p.start.year - 1))


def last_completed(kind: str, now: datetime) -> Period:
    """The most recent period of ``kind`` that has ended at ``now`` (what the cron builds)."""
    today = now.astimezone(SHANGHAI).date()
    return previous(containing(kind, today))


def history(p: Period, count: int) -> list[Period]:
    """The ``count`` periods ending with ``p``, oldest first."""
    out = [p]
    while len(out) < count:
        out.append(previous(out[-1]))
    return list(reversed(out))
