"""Rectification items: creation, progress with evidence, and the ledger (台账)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from casework.auth.models import User
from casework.cases.access import get_visible_case, visible_condition
from casework.cases.events import append_event
from casework.cases.intake import new_case
from casework.cases.models import Case
from casework.problem import Forbidden, Invalid
from casework.rectification.evidence import check_file, store
from casework.rectification.models import EvidenceFile, ProgressReport, RectificationItem
from casework.routing import RouteDecision
from casework.sla.deadlines import SHANGHAI

from casework.units.models import Unit


def _scope_path(actor: User) -> str:
    from casework.auth.jurisdiction import civil_scope_path

    return civil_scope_path(actor)


def create_item(*, session, data: dict, actor: User, now: datetime) -> Case:
    """Turn an inspection finding into a tracked ledger item assigned to the responsible unit."""
    unit = session.get(Unit, data["responsible_unit"])
    if unit is None or unit.kind != "civil_affairs":
        raise Invalid("unknown responsible unit", errors={"responsible_unit": ["unknown unit"]})
    if not unit.path.startswith(_scope_path(actor)):
        raise Forbidden("the responsible unit is outside your jurisdiction",
                        errors={"responsible_unit": ["outside your jurisdiction"]})
    if data["deadline"] < data["finding_date"]:
        raise Invalid("the deadline comes before the finding", errors={"deadline": ["before finding_date"]})
    if end_of_day(data["deadline"]) <= now:  # a clock cannot run to a time already past (was a 500)
        raise Invalid("the deadline has passed", errors={"deadline": ["must not be in the past"]})
    decision = RouteDecision(unit=unit.code, rule="responsible_unit", reason=f"整改责任单位：{unit.name}({unit.code})")
    case = new_case(session=session, kind="rectification", actor=actor, now=now, decision=decision,
                    regions=[unit.division_code], fields=dict(
                        channel="inspection", category=data.get("category", "other"), urgency="normal",
                        title=data["task"][:200], content=data["measures"], people_count=1, received_at=now,
                        anonymous=False))
    session.add(RectificationItem(case_id=case.id, source_text=data["source_text"], finding_date=data["finding_date"],
                                  task=data["task"], measures=data["measures"], deadline=data["deadline"],
                                  responsible_person=data["responsible_person"], responsible_unit=unit.code))
    case.status = "assigned"
    session.flush()
    append_event(session=session, case=case, action="register", from_state=None, to_state="assigned", actor=actor,
                 params={"number": case.number, "deadline": data["deadline"].isoformat(), "unit": unit.code}, at=now)
    from casework.notifications.service import notify
    from casework.sla.clocks import start_clock

    start_clock(session=session, case=case, name="rectification", start=now, due_at=end_of_day(data["deadline"]))
    notify(session=session, unit_code=unit.code, kind="assignment", case_id=case.id,
           dedup_key=f"assignment:{case.id}:{unit.code}:1", title=f"整改任务：{case.number} {case.title[:40]}")
    session.flush()
    return case


def end_of_day(day: date) -> datetime:
    """24:00 Asia/Shanghai of ``day`` (00:00 of the next day)."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), SHANGHAI)


def add_progress(*, session, case_id: int, actor: User, text: str, report_date: date, percent: int,
                 files: list[tuple[str, str, bytes]], evidence_dir: str, max_bytes: int, now: datetime
                 ) -> ProgressReport:
    """A progress report by the responsible unit, with evidence files checked before anything is written."""
    case = get_visible_case(session=session, case_id=case_id, user=actor, for_update=True)
    if case.kind != "rectification":
        raise Invalid("not a rectification item", errors={"case": ["not a rectification item"]})
    if actor.unit_code != case.handling_unit or actor.role not in ("clerk", "supervisor"):
        raise Forbidden("progress is reported by the responsible unit's staff")
    if case.status != "in_progress":
        raise Invalid("progress is reported while the item is in progress",
                      errors={"action": [f"the item is {case.status}"]})
    checked = [check_file(filename=n, content_type=t, data=d, max_bytes=max_bytes) for n, t, d in files]
    item = session.get(RectificationItem, case.id)
    report = ProgressReport(case_id=case.id, text=text, report_date=report_date, percent=percent,
                            created_by=actor.id, created_at=now)
    session.add(report)
    session.flush()
    for c in checked:
        store(folder=evidence_dir, checked=c)
        session.add(EvidenceFile(report_id=report.id, filename=c.filename, content_type=c.content_type,
                                 size=len(c.data), sha256=c.sha256, created_at=now))
    item.progress_percent = max(item.progress_percent, percent)
    append_event(session=session, case=case, action="progress", from_state=case.status, to_state=case.status,
                 actor=actor, params={"percent": percent, "files": [c.sha256 for c in checked]}, at=now)
    case.version += 1
    case.updated_at = now
    session.flush()
    return report


def ledger(*, session, viewer: User, unit: str | None, now: datetime) -> list[dict]:
    """One row per item in scope: task, measures, deadline, responsible person and unit, state, days overdue."""
    stmt = (sa.select(Case, RectificationItem, Unit.name)
            .join(RectificationItem, RectificationItem.case_id == Case.id)
            .join(Unit, Unit.code == RectificationItem.responsible_unit)
            .where(Case.kind == "rectification", visible_condition(viewer)))
    if unit:
        row = session.get(Unit, unit)
        stmt = stmt.where(Case.unit_path.startswith(row.path, autoescape=True) if row else sa.false())
    today = now.astimezone(SHANGHAI).date()
    rows = []
    for case, item, unit_name in session.execute(stmt.order_by(RectificationItem.deadline, Case.id)):
        done = item.completed_at.astimezone(SHANGHAI).date() if item.completed_at else None
        overdue_days = max(0, ((done or today) - item.deadline).days)
        rows.append({"id": case.id, "number": case.number, "source_text": item.source_text,
                     "finding_date": item.finding_date, "task": item.task, "measures": item.measures,
                     "deadline": item.deadline, "responsible_person": item.responsible_person,
                     "responsible_unit": item.responsible_unit, "responsible_unit_name": unit_name,
                     "status": case.status, "progress_percent": item.progress_percent,
                     "days_overdue": overdue_days, "supervised": case.supervised, "completed_at": item.completed_at})
    return rows


def evidence_of(*, session, case_id: int, file_id: int, viewer: User) -> EvidenceFile:
    from casework.problem import NotFound

    get_visible_case(session=session, case_id=case_id, user=viewer)
    row = session.scalar(sa.select(EvidenceFile).join(ProgressReport, ProgressReport.id == EvidenceFile.report_id)
                         .where(EvidenceFile.id == file_id, ProgressReport.case_id == case_id))
    if row is None:
        raise NotFound(f"evidence {file_id} not found")
    return row


