"""Runs the demo end to end and reports what happened."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from casework import clock
from casework.bulletins.config import load_config
from casework.bulletins.exports import bulletin_pdf, bulletin_xlsx
from casework.bulletins.models import Bulletin
from casework.bulletins.periods import SHANGHAI, containing, last_completed
from casework.bulletins.service import build_many
from casework.cases.models import Case
from casework.demo.simulate import Simulation
from casework.demo.world import COUNTIES, demo_units, ensure_users
from casework.sla.models import Supervision
from casework.sla.policies import policies_for_app
from casework.sla.service import run_sweep
from casework.units.models import Unit

REPORT_UNITS = ("100000", "360000", "430000")
# When the cron builds bulletins (workers/schedule.py), in Asia/Shanghai: Monday 01:00 and the 1st at 02:00.
CRON = {"week": time(1, 0), "month": time(2, 0)}


def run_demo(*, app, session, days: int, per_day: int, seed: int, start: date, out_dir: Path, progress=None) -> dict:
    """Users, the simulated days with their sweeps and bulletins, then last month's bulletins as files."""
    units = demo_units(session)
    users = ensure_users(session, units)
    session.commit()
    policies, cfg = policies_for_app(app), load_config()
    # The scheduled levels (ministry, province, city) of the demo's part of the tree.
    bulletin_units = sorted(c for c, u in units.items()
                            if u.kind == "civil_affairs" and u.level in cfg.scheduled_levels)
    sim = Simulation(session=session, users=users, start=start, days=days, per_day=per_day, seed=seed,
                     evidence_dir=app.config["EVIDENCE_DIR"], progress=progress)
    built: dict[tuple[str, date], list[Bulletin]] = {}

    def sweep(at: datetime) -> None:
        with clock.frozen(at):
            run_sweep(session=session, policies=policies, now=at)
        sim.stats.sweeps += 1

    def day_end(evening: datetime) -> None:
        """The evening sweep; then, after a Sunday or a month's last day, what the bulletin crons build
        overnight (staff steps up to that moment first, and the sweep that ran just before it)."""
        sweep(evening)
        tomorrow = evening.astimezone(SHANGHAI).date() + timedelta(days=1)
        for kind, due in (("week", tomorrow.weekday() == 0), ("month", tomorrow.day == 1)):
            if not due:
                continue
            at = datetime.combine(tomorrow, CRON[kind], SHANGHAI).astimezone(timezone.utc)
            sim.advance(at)
            sweep(at)
            p = last_completed(kind, at)
            with clock.frozen(at):
                built[(kind, p.start)] = _build(session, bulletin_units, kind, p, at, cfg)
            sim.stats.bulletins += len(bulletin_units)

    stats = sim.run(on_day_end=day_end)
    end = datetime.combine(start + timedelta(days=days), time(0), SHANGHAI).astimezone(timezone.utc)
    last_month = last_completed("month", end)
    if last_month.end <= start:  # a short run inside one month: report that (partial) month as of the end
        last_month = containing("month", start + timedelta(days=days - 1))
    ready = {b.unit_code: b for b in built.get(("month", last_month.start), ()) if b.unit_code in REPORT_UNITS}
    if len(ready) < len(REPORT_UNITS):  # the monthly cron has not run for it: build it now
        with clock.frozen(end):
            ready = {b.unit_code: b for b in _build(session, REPORT_UNITS, "month", last_month, end, cfg)}
        stats.bulletins += len(REPORT_UNITS)
    session.commit()
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for code in REPORT_UNITS:
        bulletin = ready[code]
        stem = out_dir / f"bulletin-{bulletin.unit_code}-{bulletin.period_start:%Y-%m}"
        stem.with_suffix(".xlsx").write_bytes(bulletin_xlsx(bulletin.figures))
        stem.with_suffix(".pdf").write_bytes(bulletin_pdf(bulletin.figures))
        files += [str(stem.with_suffix(".xlsx")), str(stem.with_suffix(".pdf"))]
    return {"stats": asdict(stats), "summary": summary(session), "files": files}


def _build(session, codes, kind: str, p, now: datetime, cfg) -> list[Bulletin]:
    bulletins = []
    for code in codes:
        version = (session.scalar(sa.select(sa.func.max(Bulletin.version)).where(
            Bulletin.unit_code == code, Bulletin.period == kind, Bulletin.period_start == p.start)) or 0) + 1
        b = Bulletin(unit_code=code, period=kind, period_start=p.start, period_end=p.end, version=version,
                     state="queued", requested_at=now)
        session.add(b)
        bulletins.append(b)
    session.flush()
    build_many(session=session, bulletins=bulletins, now=now, cfg=cfg)
    return bulletins


def summary(session) -> dict:
    """Cases by kind and state, on-time closure per demo county, supervisions per level."""
    by_state = Counter({f"{k}/{s}": n for k, s, n in session.execute(
        sa.select(Case.kind, Case.status, sa.func.count()).group_by(Case.kind, Case.status))})
    per_county = {}
    names = dict(session.execute(sa.select(Unit.code, Unit.name).where(Unit.code.in_(COUNTIES))).all())
    rows = session.execute(sa.select(Case.handling_unit, sa.func.count(),
                                     sa.func.sum(sa.case((Case.handling_late.is_(False), 1), else_=0)))
                           .where(Case.status == "closed", Case.kind.in_(("petition", "complaint")),
                                  Case.handling_unit.in_(COUNTIES)).group_by(Case.handling_unit)).all()
    for code, closed, on_time in rows:
        per_county[code] = {"name": names[code], "closed": closed, "on_time": int(on_time or 0),
                            "rate": round((on_time or 0) / closed, 3) if closed else None}
    levels = dict(session.execute(sa.select(Supervision.level, sa.func.count()).group_by(Supervision.level)).all())
    return {"by_state": dict(sorted(by_state.items())), "on_time_by_county": dict(sorted(per_county.items())),
            "supervisions_by_level": levels}
