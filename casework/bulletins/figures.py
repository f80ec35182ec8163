"""The bulletin's numbers: set-based aggregations, one pass per table, grouped by unit path prefix.

Every case row is joined to the depths being reported (a tiny derived table)
and counted under the path prefix of each; conditional sums give every figure
for the current period, the previous one (环比) and the same period last year
(同比) in the same pass. docs/metrics.md states each formula.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa

from casework.bulletins.periods import Period
from casework.cases.models import Case
from casework.common.vocab import CATEGORIES, CHANNELS
from casework.rectification.models import RectificationItem
from casework.sla.models import Supervision
from casework.units.models import Unit

BUCKETS = ("current", "previous", "last_year")
CASE_KINDS = ("petition", "complaint")
DISPOSALS = ("inquiry", "verification", "hold", "close", "investigation")
SEGMENT = 7  # "360827/": civil-affairs paths are fixed-width, so a prefix of 7*d chars is the depth-d ancestor
D_SEGMENT = 8  # "D360827/" in the discipline tree


def _count(cond) -> sa.ColumnElement:
    return sa.func.sum(sa.case((cond, 1), else_=0))


def _within(column, p: Period):
    return sa.and_(column >= p.utc_start, column < p.utc_end)


def _depths(depths: list[int]):
    return sa.union_all(*[sa.select(sa.literal(d).label("n")) for d in sorted(set(depths))]).subquery("depths")


def _seconds(session, later, earlier):
    if session.get_bind().dialect.name == "postgresql":
        return sa.extract("epoch", later - earlier)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


def case_metrics(p: Period, group_threshold: int, seconds) -> dict[str, sa.ColumnElement]:
    """Named conditional aggregates over petitions and complaints for one period (see docs/metrics.md)."""
    received = _within(Case.received_at, p)
    decided = _within(Case.decided_at, p)
    closed = sa.and_(_within(Case.closed_at, p), Case.status == "closed")
    m = {
        "received": _count(received),
        "decided": _count(decided),
        "decided_on_time": _count(sa.and_(decided, Case.first_response_late.is_(False))),
        "accepted": _count(sa.and_(decided, Case.status != "not_accepted")),
        "not_accepted": _count(sa.and_(decided, Case.status == "not_accepted")),
        "closed": _count(closed),
        "closed_on_time": _count(sa.and_(closed, Case.handling_late.is_(False))),
        "returned": _count(sa.and_(received, Case.return_count > 0)),
        "reopened": _count(sa.and_(closed, Case.reopen_count > 0)),
        "repeat": _count(sa.and_(received, Case.possible_repeat_of_id.is_not(None))),
        "group": _count(sa.and_(received, Case.people_count >= group_threshold)),
        "cross_level": _count(sa.and_(received, Case.cross_level.is_(True))),
        "evaluated": _count(sa.and_(closed, Case.satisfaction.is_not(None))),
        "satisfied": _count(sa.and_(closed, Case.satisfaction == "satisfied")),
        "handling_seconds": sa.func.sum(sa.case((closed, seconds), else_=0)),
    }
    for kind in CASE_KINDS:
        m[f"kind:{kind}"] = _count(sa.and_(received, Case.kind == kind))
    for channel in CHANNELS:
        m[f"channel:{channel}"] = _count(sa.and_(received, Case.channel == channel))
    for category in CATEGORIES:
        m[f"category:{category}"] = _count(sa.and_(received, Case.category == category))
    return m


def _collect(rows, names: list[str], out: dict, prefix_index: int = 0) -> None:
    for row in rows:
        prefix = row[prefix_index]
        for i, name in enumerate(names, start=1):
            bucket, metric = name.split("|", 1)
            out[prefix][bucket][metric] = float(row[i] or 0) if metric.endswith("seconds") else int(row[i] or 0)


def aggregate(*, session, root_path: str, depths: list[int], periods: dict[str, Period], now: datetime,
              group_threshold: int = 5) -> dict[str, dict[str, dict]]:
    """Raw counts keyed by civil-affairs unit path, then bucket, then metric."""
    out: dict[str, dict[str, dict]] = defaultdict(lambda: defaultdict(dict))
    d = _depths(depths)
    seconds = _seconds(session, Case.closed_at, Case.received_at)

    # 1. Petitions and complaints.
    prefix = sa.func.substr(Case.unit_path, 1, SEGMENT * d.c.n)
    columns, names = [prefix.label("prefix")], []
    for bucket, p in periods.items():
        for name, expr in case_metrics(p, group_threshold, seconds).items():
            columns.append(expr)
            names.append(f"{bucket}|{name}")
    columns.append(_count(sa.and_(Case.overdue.is_(True), Case.status.not_in(("closed", "not_accepted", "merged")))))
    names.append("current|overdue_now")
    stmt = (sa.select(*columns).select_from(Case).join(d, sa.func.length(Case.unit_path) >= SEGMENT * d.c.n)
            .where(Case.kind.in_(CASE_KINDS), Case.unit_path.startswith(root_path, autoescape=True))
            .group_by(prefix))
    _collect(session.execute(stmt), names, out)

    # 2. Leads, counted under the civil-affairs unit of the same division.
    d_prefix = sa.func.replace(sa.func.substr(Case.unit_path, 1, D_SEGMENT * d.c.n), "D", "")
    columns, names = [d_prefix.label("prefix")], []
    for bucket, p in periods.items():
        columns.append(_count(_within(Case.received_at, p)))
        names.append(f"{bucket}|leads_received")
        for disposal in DISPOSALS:
            columns.append(_count(sa.and_(_within(Case.disposed_at, p), Case.disposal == disposal)))
            names.append(f"{bucket}|leads_disposed:{disposal}")
    d_root = "".join(f"D{c}/" for c in root_path.split("/") if c)
    stmt = (sa.select(*columns).select_from(Case).join(d, sa.func.length(Case.unit_path) >= D_SEGMENT * d.c.n)
            .where(Case.kind == "lead", Case.unit_path.startswith(d_root, autoescape=True)).group_by(d_prefix))
    _collect(session.execute(stmt), names, out)

    # 3. Rectification items due in the period.
    columns, names = [prefix.label("prefix")], []
    for bucket, p in periods.items():
        due = sa.and_(RectificationItem.deadline >= p.start, RectificationItem.deadline < p.end)
        columns += [_count(due),
                    _count(sa.and_(due, Case.status == "verified", Case.handling_late.is_(False))),
                    _count(sa.and_(due, sa.or_(Case.handling_late.is_(True), Case.overdue.is_(True))))]
        names += [f"{bucket}|rect_due", f"{bucket}|rect_done_on_time", f"{bucket}|rect_overdue"]
    stmt = (sa.select(*columns).select_from(Case).join(RectificationItem, RectificationItem.case_id == Case.id)
            .join(d, sa.func.length(Case.unit_path) >= SEGMENT * d.c.n)
            .where(Case.kind == "rectification", Case.unit_path.startswith(root_path, autoescape=True))
            .group_by(prefix))
    _collect(session.execute(stmt), names, out)

    # 4. Supervisions, counted under the unit they were aimed at.
    target = sa.orm.aliased(Unit)
    t_prefix = sa.func.substr(target.path, 1, SEGMENT * d.c.n)
    columns, names = [t_prefix.label("prefix")], []
    for bucket, p in periods.items():
        columns += [_count(_within(Supervision.opened_at, p)), _count(_within(Supervision.closed_at, p))]
        names += [f"{bucket}|supervisions_opened", f"{bucket}|supervisions_closed"]
    stmt = (sa.select(*columns).select_from(Supervision).join(target, target.code == Supervision.target_unit)
            .join(d, sa.func.length(target.path) >= SEGMENT * d.c.n)
            .where(target.path.startswith(root_path, autoescape=True)).group_by(t_prefix))
    _collect(session.execute(stmt), names, out)

    for path, median in medians(session=session, root_path=root_path, d=d, p=periods["current"]).items():
        out[path]["current"]["median_handling_seconds"] = median
    return out


def medians(*, session, root_path: str, d, p: Period) -> dict[str, float]:
    """Median handling time of the cases closed in ``p``, per unit path."""
    prefix = sa.func.substr(Case.unit_path, 1, SEGMENT * d.c.n)
    seconds = _seconds(session, Case.closed_at, Case.received_at)
    where = (Case.kind.in_(CASE_KINDS), Case.status == "closed", _within(Case.closed_at, p),
             Case.unit_path.startswith(root_path, autoescape=True))
    base = sa.select().select_from(Case).join(d, sa.func.length(Case.unit_path) >= SEGMENT * d.c.n).where(*where)
    if session.get_bind().dialect.name == "postgresql":
        stmt = base.add_columns(prefix, sa.func.percentile_cont(0.5).within_group(seconds)).group_by(prefix)
        return {row[0]: float(row[1]) for row in session.execute(stmt)}
    values: dict[str, list[float]] = defaultdict(list)
    for path, secs in session.execute(base.add_columns(prefix, seconds)):
        values[path].append(float(secs))
    return {path: statistics.median(v) for path, v in values.items()}
