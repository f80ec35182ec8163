"""From raw counts to a bulletin: rates, shares, 环比/同比, the children's ranking and the lists."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from casework.bulletins.config import BulletinConfig
from casework.bulletins.figures import BUCKETS, CASE_KINDS, DISPOSALS
from casework.bulletins.periods import Period
from casework.cases.models import Case
from casework.common.vocab import CATEGORIES, CATEGORY_NAMES, CHANNEL_NAMES, CHANNELS, KIND_NAMES
from casework.sla.flags import overdue_case_ids, supervised_case_ids
from casework.sla.models import CaseClock, Supervision
from casework.units.models import Unit

LEVEL_RANK = {"county": 1, "city": 2, "province": 3, "ministry": 4}
COUNTS = ("received", "accepted", "not_accepted", "closed", "overdue_now", "returned", "reopened", "repeat", "group",
          "cross_level", "supervisions_opened", "supervisions_closed", "evaluated", "satisfied", "leads_received",
          "rect_due", "rect_done_on_time", "rect_overdue")
DAY = 86400.0


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def derived(raw: dict) -> dict:
    """The figures of one bucket (see docs/metrics.md for each formula)."""
    g = lambda k: raw.get(k, 0)  # noqa: E731
    f = {k: g(k) for k in COUNTS}
    f["on_time_acceptance_rate"] = _ratio(g("decided_on_time"), g("decided"))
    f["on_time_closure_rate"] = _ratio(g("closed_on_time"), g("closed"))
    f["return_rate"] = _ratio(g("returned"), g("received"))
    f["reopen_rate"] = _ratio(g("reopened"), g("closed"))
    f["participation_rate"] = _ratio(g("evaluated"), g("closed"))
    f["satisfaction_rate"] = _ratio(g("satisfied"), g("evaluated"))
    f["avg_handling_days"] = round(g("handling_seconds") / g("closed") / DAY, 2) if g("closed") else None
    median = raw.get("median_handling_seconds")
    f["median_handling_days"] = round(median / DAY, 2) if median is not None else None
    f["leads_disposed"] = {d: g(f"leads_disposed:{d}") for d in DISPOSALS}
    return f


def _change(now, before):
    if now is None or before in (None, 0):
        return None
    return round((now - before) / before, 4)


def compare(current: dict, previous: dict, last_year: dict, has_previous: bool, has_last_year: bool) -> dict:
    """Each number with its 环比 (mom) and 同比 (yoy) change, where the earlier period had data."""
    out = {}
    for key, value in current.items():
        if isinstance(value, dict):
            continue
        out[key] = {"value": value,
                    "previous": previous.get(key) if has_previous else None,
                    "last_year": last_year.get(key) if has_last_year else None,
                    "mom": _change(value, previous.get(key)) if has_previous else None,
                    "yoy": _change(value, last_year.get(key)) if has_last_year else None}
    return out


def breakdown(raw: dict, prefix: str, keys, names: dict) -> list[dict]:
    total = raw.get("received", 0)
    rows = [{"key": k, "name": names[k], "count": raw.get(f"{prefix}:{k}", 0),
             "share": _ratio(raw.get(f"{prefix}:{k}", 0), total)} for k in keys]
    return rows


def score(figures: dict, max_overdue: int, weights: dict[str, float]) -> float | None:
    """Composite 0–100; a part with no data is left out and the other weights are rescaled."""
    parts = {
        "on_time_acceptance": figures["on_time_acceptance_rate"],
        "on_time_closure": figures["on_time_closure_rate"],
        "satisfaction": figures["satisfaction_rate"],
        "returns": None if figures["return_rate"] is None else 1 - figures["return_rate"],
        "overdue": 1.0 if max_overdue == 0 else 1 - figures["overdue_now"] / max_overdue,
    }
    if all(v is None for k, v in parts.items() if k != "overdue") and not figures["overdue_now"]:
        # Nothing received, decided or closed in P and nothing overdue: no data (docs/metrics.md), not a
        # perfect 100 that would put every idle unit at the top of the 红榜.
        return None
    used = {k: v for k, v in parts.items() if v is not None and weights.get(k, 0) > 0}
    total = sum(weights[k] for k in used)
    if not total:
        return None
    return round(100 * sum(weights[k] * v for k, v in used.items()) / total, 2)


def unit_figures(raw_by_bucket: dict, has_previous: bool, has_last_year: bool) -> dict:
    buckets = {b: derived(raw_by_bucket.get(b, {})) for b in BUCKETS}
    current_raw = raw_by_bucket.get("current", {})
    return {
        "summary": compare(buckets["current"], buckets["previous"], buckets["last_year"], has_previous,
                           has_last_year),
        "leads_disposed": buckets["current"]["leads_disposed"],
        "by_kind": breakdown(current_raw, "kind", CASE_KINDS, KIND_NAMES),
        "by_channel": breakdown(current_raw, "channel", CHANNELS, CHANNEL_NAMES),
        "by_category": breakdown(current_raw, "category", CATEGORIES, CATEGORY_NAMES),
    }


def ranking(children: list[dict], cfg: BulletinConfig) -> dict:
    """Rank the direct children by composite score: 红榜 (top) and 黑榜 (bottom)."""
    max_overdue = max((c["figures"]["overdue_now"] for c in children), default=0)
    for child in children:
        child["score"] = score(child["figures"], max_overdue, cfg.weights)
    ranked = sorted([c for c in children if c["score"] is not None], key=lambda c: (-c["score"], c["code"]))
    for position, child in enumerate(ranked, start=1):
        child["rank"] = position
    unranked = [c for c in children if c["score"] is None]
    for child in unranked:
        child["rank"] = None
    brief = lambda c: {"code": c["code"], "name": c["name"], "score": c["score"], "rank": c["rank"]}  # noqa: E731
    return {"top": [brief(c) for c in ranked[:cfg.top]],
            "bottom": [brief(c) for c in list(reversed(ranked))[:cfg.top]],
            "table": ranked + unranked, "weights": cfg.weights}


def lists(*, session, unit: Unit, now: datetime, limit: int) -> dict:
    """Cases under supervision and cases overdue now in the unit's subtree."""
    due = (sa.select(CaseClock.case_id, sa.func.min(CaseClock.due_at).label("due"))
           .where(CaseClock.state == "breached", CaseClock.met_at.is_(None)).group_by(CaseClock.case_id).subquery())
    level = (sa.select(Supervision.case_id, sa.func.max(sa.case(
        *[(Supervision.level == name, rank) for name, rank in LEVEL_RANK.items()], else_=0)).label("lvl"))
        .where(Supervision.state == "open").group_by(Supervision.case_id).subquery())
    rows = session.execute(
        sa.select(Case.id, Case.number, Case.kind, Case.handling_unit, Unit.name, Case.overdue, Case.supervised,
                  due.c.due, level.c.lvl)
        .join(Unit, Unit.code == Case.handling_unit).outerjoin(due, due.c.case_id == Case.id)
        .outerjoin(level, level.c.case_id == Case.id)
        .where(Case.unit_path.startswith(unit.path, autoescape=True),
               sa.or_(Case.overdue.is_(True), Case.supervised.is_(True)),
               # The flags have no index (see Case.overdue): the candidates come from two partial indexes.
               sa.or_(Case.id.in_(overdue_case_ids(unit.path)), Case.id.in_(supervised_case_ids(unit.path))),
               Case.status.not_in(("closed", "not_accepted", "merged", "verified")))
        .order_by(due.c.due.asc().nulls_last(), Case.id).limit(limit * 2)).all()
    names = {rank: name for name, rank in LEVEL_RANK.items()}
    overdue, supervised = [], []
    for r in rows:
        days = max(0, (now - r.due).days) if r.due is not None else None
        entry = {"id": r.id, "number": r.number, "kind": r.kind, "unit": r.handling_unit, "unit_name": r.name,
                 "days_overdue": days, "supervision_level": names.get(r.lvl)}
        if r.overdue and len(overdue) < limit:
            overdue.append(entry)
        if r.supervised and len(supervised) < limit:
            supervised.append(entry)
    return {"overdue": overdue, "supervised": supervised}


def period_info(p: Period) -> dict:
    return {"kind": p.kind, "start": p.start.isoformat(), "end": p.end.isoformat(), "label": p.label}
