"""Requesting, building and reading bulletins. A built bulletin is never updated: a rebuild is a new version."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from casework.auth.jurisdiction import civil_scope_path
from casework.auth.models import User
from casework.bulletins import assemble
from casework.bulletins.config import BulletinConfig
from casework.bulletins.figures import aggregate
from casework.bulletins.models import Bulletin
from casework.bulletins.periods import SHANGHAI, Period, history, period, previous, year_before
from casework.cases.models import Case
from casework.problem import Forbidden, Invalid, NotFound
from casework.units.models import MINISTRY_CODE, Unit

SUFFIX = {"ministry": "", "province": "民政厅", "city": "民政局", "county": "民政局"}


def title_of(unit: Unit, p: Period) -> str:
    return f"{unit.name}{SUFFIX[unit.level]}{p.label}民政领域群众诉求办理情况通报"


def parse_period(kind: str, start: date) -> Period:
    try:
        return period(kind, start)
    except ValueError as exc:
        raise Invalid(str(exc), errors={"start": [str(exc)]}) from None


def _next_version(session, unit_code: str, p: Period) -> int:
    last = session.scalar(sa.select(sa.func.max(Bulletin.version)).where(
        Bulletin.unit_code == unit_code, Bulletin.period == p.kind, Bulletin.period_start == p.start))
    return (last or 0) + 1


def request_build(*, session, unit_code: str, kind: str, start: date, actor: User | None, now: datetime
                  ) -> tuple[Bulletin, str]:
    """Queue a build of one bulletin (a new version); returns it and the job id."""
    from casework.outbox.service import enqueue

    unit = session.get(Unit, unit_code)
    if unit is None or unit.kind != "civil_affairs":
        raise Invalid("unknown unit", errors={"unit": [f"unknown unit {unit_code}"]})
    if actor is not None and not unit.path.startswith(civil_scope_path(actor)):
        raise Forbidden("the unit is outside your jurisdiction", errors={"unit": ["outside your jurisdiction"]})
    p = parse_period(kind, start)
    if p.start > now.astimezone(SHANGHAI).date():  # periods start at Beijing midnight, not UTC's
        raise Invalid("the period has not started", errors={"start": ["in the future"]})
    bulletin = Bulletin(unit_code=unit.code, period=p.kind, period_start=p.start, period_end=p.end,
                        version=_next_version(session, unit.code, p), state="queued",
                        requested_by=actor.id if actor else None, requested_at=now)
    session.add(bulletin)
    session.flush()
    message = enqueue(session=session, func="workers.jobs.build_bulletin", queue="reports", bulletin_id=bulletin.id)
    return bulletin, message.job_id


def build(*, session, bulletin_id: int, now: datetime, cfg: BulletinConfig, group_threshold: int = 5) -> Bulletin:
    """Build one queued bulletin (idempotent: a done bulletin is returned untouched)."""
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise NotFound(f"bulletin {bulletin_id} not found")
    if bulletin.state == "done":
        return bulletin
    build_many(session=session, bulletins=[bulletin], now=now, cfg=cfg, group_threshold=group_threshold)
    return bulletin


def build_many(*, session, bulletins: list[Bulletin], now: datetime, cfg: BulletinConfig,
               group_threshold: int = 5) -> None:
    """Build bulletins of one period kind and start together, with one aggregation for all of them."""
    if not bulletins:
        return
    p = period(bulletins[0].period, bulletins[0].period_start)
    units = {u.code: u for u in session.scalars(sa.select(Unit).where(
        Unit.code.in_([b.unit_code for b in bulletins])))}
    depths = {u.depth + 1 for u in units.values()} | {u.depth + 2 for u in units.values()}
    depths = sorted(d for d in depths if d <= 4)
    root = units[MINISTRY_CODE].path if MINISTRY_CODE in units else _common_root(list(units.values()))
    prev, last_year = previous(p), year_before(p)
    earliest = session.scalar(sa.select(sa.func.min(Case.received_at)))
    has_prev = earliest is not None and earliest < prev.utc_end
    has_ly = earliest is not None and earliest < last_year.utc_end
    # A comparison period with no data is shown empty whatever it counts (assemble.compare): not counted.
    periods = {"current": p} | ({"previous": prev} if has_prev else {}) | ({"last_year": last_year} if has_ly else {})
    raw = aggregate(session=session, root_path=root, depths=depths, periods=periods, now=now,
                    group_threshold=group_threshold)
    for bulletin in bulletins:
        unit = units[bulletin.unit_code]
        bulletin.figures = _figures(session=session, unit=unit, p=p, raw=raw, now=now, cfg=cfg, has_prev=has_prev,
                                    has_ly=has_ly)
        bulletin.state, bulletin.built_at = "done", now
    session.flush()


def _common_root(units: list[Unit]) -> str:
    from casework.units.tree import common_ancestor_path

    return common_ancestor_path([u.path for u in units])


def _figures(*, session, unit: Unit, p: Period, raw: dict, now: datetime, cfg: BulletinConfig, has_prev: bool,
             has_ly: bool) -> dict:
    own = assemble.unit_figures(raw.get(unit.path, {}), has_prev, has_ly)
    children = []
    for child in session.scalars(sa.select(Unit).where(Unit.parent_code == unit.code).order_by(Unit.code)):
        figures = assemble.derived(raw.get(child.path, {}).get("current", {}))
        children.append({"code": child.code, "name": child.name, "level": child.level, "figures": figures})
    rank = assemble.ranking(children, cfg)
    summary = own["summary"]
    return {
        "title": title_of(unit, p), "unit": {"code": unit.code, "name": unit.name, "level": unit.level},
        "period": assemble.period_info(p), "built_at": now.isoformat(), **own,
        "top_categories": sorted(own["by_category"], key=lambda r: (-r["count"], r["key"]))[:5],
        "children": rank["table"], "ranking": {k: rank[k] for k in ("top", "bottom", "weights")},
        "lists": assemble.lists(session=session, unit=unit, now=now, limit=cfg.list_limit),
        "history": _history(session=session, unit=unit, p=p, current=summary["on_time_closure_rate"]["value"],
                            count=cfg.history_periods),
    }


def _history(*, session, unit: Unit, p: Period, current, count: int) -> list[dict]:
    """On-time closure rate of the last ``count`` periods, from the bulletins stored for them."""
    periods = history(p, count)
    stored = {}
    for b in session.scalars(sa.select(Bulletin).where(
            Bulletin.unit_code == unit.code, Bulletin.period == p.kind, Bulletin.state == "done",
            Bulletin.period_start.in_([x.start for x in periods[:-1]])).order_by(Bulletin.version)):
        stored[b.period_start] = b.figures["summary"]["on_time_closure_rate"]["value"]
    out = [{"period": x.label, "start": x.start.isoformat(), "on_time_closure_rate": stored.get(x.start)}
           for x in periods[:-1]]
    out.append({"period": p.label, "start": p.start.isoformat(), "on_time_closure_rate": current})
    return out


def get_bulletin(*, session, bulletin_id: int, viewer: User) -> Bulletin:
    from casework.cases.access import MAX_ID

    # Ids are 32-bit integers: a larger one cannot even be bound (was a 500).
    bulletin = session.get(Bulletin, bulletin_id) if 0 < bulletin_id <= MAX_ID else None
    if bulletin is None:
        raise NotFound(f"bulletin {bulletin_id} not found")
    unit = session.get(Unit, bulletin.unit_code)
    if not unit.path.startswith(civil_scope_path(viewer)):
        raise NotFound(f"bulletin {bulletin_id} not found")
    return bulletin


def list_bulletins(*, session, viewer: User, unit: str | None, kind: str | None) -> sa.Select:
    stmt = (sa.select(Bulletin).join(Unit, Unit.code == Bulletin.unit_code)
            .where(Unit.path.startswith(civil_scope_path(viewer), autoescape=True)))
    if unit:
        stmt = stmt.where(Bulletin.unit_code == unit)
    if kind:
        stmt = stmt.where(Bulletin.period == kind)
    return stmt.order_by(Bulletin.period_start.desc(), Bulletin.unit_code, Bulletin.version.desc())


def schedule_period(*, session, kind: str, p: Period, levels: tuple[str, ...], now: datetime) -> list[Bulletin]:
    """Create the bulletins of every unit at ``levels`` for ``p`` (the cron's batch)."""
    units = session.scalars(sa.select(Unit).where(Unit.kind == "civil_affairs", Unit.level.in_(levels))
                            .order_by(Unit.code)).all()
    out = []
    for unit in units:
        b = Bulletin(unit_code=unit.code, period=kind, period_start=p.start, period_end=p.end,
                     version=_next_version(session, unit.code, p), state="queued", requested_at=now)
        session.add(b)
        out.append(b)
    session.flush()
    return out
