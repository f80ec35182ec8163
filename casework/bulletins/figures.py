"""The bulletin's numbers: set-based aggregations, one pass per table, grouped by unit path prefix.

Each pass groups the rows by the path prefix of the deepest depth being reported and adds the
groups up into the shallower prefixes in Python (a few thousand rows at most); filtered counts
give every figure for the current period, the previous one (环比) and the same period last year
(同比) in the same pass. docs/metrics.md states each formula.
"""
from __future__ import annotations

import contextlib
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
    # count(*) FILTER (WHERE ...) skips the CASE and the sum's NULL handling on every row.
    return sa.func.count().filter(cond)


def _within(column, p: Period):
    return sa.and_(column >= p.utc_start, column < p.utc_end)


def _depths(depths: list[int]):
    return sa.union_all(*[sa.select(sa.literal(d).label("n")) for d in sorted(set(depths))]).subquery("depths")


def _seconds(session, later, earlier):
    if session.get_bind().dialect.name == "postgresql":
        return sa.extract("epoch", later - earlier)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


@contextlib.contextmanager
def _without_jit(session):
    """JIT off for the passes, as SET LOCAL would, then back to what it was.

    Compiling some 70 filtered aggregates took about half a second (the leader and each parallel
    worker compile) and bought less: the case pass over 1,000,000 cases ran 0.1–0.7 s faster off.
    """
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    before = session.scalar(sa.text("SELECT current_setting('jit')"))
    session.execute(sa.text("SELECT set_config('jit', 'off', true)"))
    try:
        yield
    finally:
        session.execute(sa.text("SELECT set_config('jit', :before, true)"), {"before": before})


def _spans(periods) -> list[Period]:
    """The periods' UTC ranges, adjacent or overlapping ones merged (current and previous are one range)."""
    spans: list[Period] = []
    for p in sorted(periods, key=lambda q: q.utc_start):
        if spans and p.utc_start <= spans[-1].utc_end:
            if p.utc_end > spans[-1].utc_end:
                spans[-1] = Period(p.kind, spans[-1].start, p.end)
        else:
            spans.append(p)
    return spans


def case_metrics(p: Period, group_threshold: int, seconds) -> dict[str, sa.ColumnElement]:
    """Named aggregates over petitions and complaints that every bucket compares (see docs/metrics.md)."""
    received = _within(Case.received_at, p)
    decided = _within(Case.decided_at, p)
    closed = sa.and_(_within(Case.closed_at, p), Case.status == "closed")
    return {
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
        "handling_seconds": sa.func.sum(seconds).filter(closed),
    }


def breakdown_metrics(p: Period) -> dict[str, sa.ColumnElement]:
    """The split of ``received`` by kind, channel and category: shown for the current period only."""
    received = _within(Case.received_at, p)
    m = {f"kind:{kind}": _count(sa.and_(received, Case.kind == kind)) for kind in CASE_KINDS}
    m.update({f"channel:{c}": _count(sa.and_(received, Case.channel == c)) for c in CHANNELS})
    m.update({f"category:{c}": _count(sa.and_(received, Case.category == c)) for c in CATEGORIES})
    return m


def _rollup(rows, names: list[str], out: dict, depths: list[int], segment: int, strip: str = "") -> None:
    """Add rows grouped by the deepest reported prefix into every reported ancestor prefix.

    One row per deepest prefix instead of one per (row, depth) pair halves the rows the aggregation
    sees; a path shorter than a depth's prefix is not counted at that depth, as a join on length would.
    """
    for row in rows:
        key = row[0]
        for n in depths:
            if len(key) < segment * n:
                continue
            slot = out[key[:segment * n].replace(strip, "") if strip else key[:segment * n]]
            for i, name in enumerate(names, start=1):
                bucket, metric = name.split("|", 1)
                slot[bucket][metric] = slot[bucket].get(metric, 0) + (row[i] or 0)


def _normalise(out: dict) -> None:
    for buckets in out.values():
        for metrics in buckets.values():
            for metric, value in metrics.items():
                metrics[metric] = float(value) if metric.endswith("seconds") else int(value)


def aggregate(*, session, root_path: str, depths: list[int], periods: dict[str, Period], now: datetime,
              group_threshold: int = 5) -> dict[str, dict[str, dict]]:
    """Raw counts keyed by civil-affairs unit path, then bucket, then metric.

    ``periods`` names the buckets to count ("current" always; the caller leaves out a comparison
    period that has no data). The breakdowns, lead disposals and overdue count are the current
    period's only: nothing compares them.
    """
    with _without_jit(session):
        out: dict[str, dict[str, dict]] = defaultdict(lambda: defaultdict(dict))
        depths = sorted(set(depths))
        deepest = max(depths)
        seconds = _seconds(session, Case.closed_at, Case.received_at)
        spans = _spans(periods.values())

        # 1. Petitions and complaints, only the rows that touch a bucket or are overdue now.
        key = sa.func.substr(Case.unit_path, 1, SEGMENT * deepest)
        open_overdue = sa.and_(Case.overdue.is_(True), Case.status.not_in(("closed", "not_accepted", "merged")))
        columns, names = [key.label("prefix")], []
        for bucket, p in periods.items():
            metrics = case_metrics(p, group_threshold, seconds)
            if bucket == "current":
                metrics.update(breakdown_metrics(p))
            for name, expr in metrics.items():
                columns.append(expr)
                names.append(f"{bucket}|{name}")
        columns.append(_count(open_overdue))
        names.append("current|overdue_now")
        touches = sa.or_(*[_within(column, s) for column in (Case.received_at, Case.decided_at, Case.closed_at)
                           for s in spans], open_overdue)
        stmt = (sa.select(*columns).where(Case.kind.in_(CASE_KINDS),
                                          Case.unit_path.startswith(root_path, autoescape=True), touches)
                .group_by(key))
        _rollup(session.execute(stmt), names, out, depths, SEGMENT)

        # 2. Leads, counted under the civil-affairs unit of the same division.
        d_key = sa.func.substr(Case.unit_path, 1, D_SEGMENT * deepest)
        columns, names = [d_key.label("prefix")], []
        for bucket, p in periods.items():
            columns.append(_count(_within(Case.received_at, p)))
            names.append(f"{bucket}|leads_received")
            if bucket == "current":
                for disposal in DISPOSALS:
                    columns.append(_count(sa.and_(_within(Case.disposed_at, p), Case.disposal == disposal)))
                    names.append(f"{bucket}|leads_disposed:{disposal}")
        d_root = "".join(f"D{c}/" for c in root_path.split("/") if c)
        stmt = (sa.select(*columns).where(Case.kind == "lead", Case.unit_path.startswith(d_root, autoescape=True))
                .group_by(d_key))
        _rollup(session.execute(stmt), names, out, depths, D_SEGMENT, strip="D")

        # 3. Rectification items due in the period.
        columns, names = [key.label("prefix")], []
        for bucket, p in periods.items():
            due = sa.and_(RectificationItem.deadline >= p.start, RectificationItem.deadline < p.end)
            columns += [_count(due),
                        _count(sa.and_(due, Case.status == "verified", Case.handling_late.is_(False))),
                        _count(sa.and_(due, sa.or_(Case.handling_late.is_(True), Case.overdue.is_(True))))]
            names += [f"{bucket}|rect_due", f"{bucket}|rect_done_on_time", f"{bucket}|rect_overdue"]
        stmt = (sa.select(*columns).select_from(Case).join(RectificationItem, RectificationItem.case_id == Case.id)
                .where(Case.kind == "rectification", Case.unit_path.startswith(root_path, autoescape=True))
                .group_by(key))
        _rollup(session.execute(stmt), names, out, depths, SEGMENT)

        # 4. Supervisions, counted under the unit they were aimed at.
        target = sa.orm.aliased(Unit)
        t_key = sa.func.substr(target.path, 1, SEGMENT * deepest)
        columns, names = [t_key.label("prefix")], []
        for bucket, p in periods.items():
            columns += [_count(_within(Supervision.opened_at, p)), _count(_within(Supervision.closed_at, p))]
            names += [f"{bucket}|supervisions_opened", f"{bucket}|supervisions_closed"]
        stmt = (sa.select(*columns).select_from(Supervision).join(target, target.code == Supervision.target_unit)
                .where(target.path.startswith(root_path, autoescape=True)).group_by(t_key))
        _rollup(session.execute(stmt), names, out, depths, SEGMENT)
        _normalise(out)

        d = _depths(depths)
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
