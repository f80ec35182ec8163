"""The SLA sweep: warn, breach, supervise, re-escalate, close — set-based, idempotent, one transaction.

Every step is an UPDATE or INSERT ... SELECT over indexed columns; rows touched
by this run are recognised by the run's own timestamp, so no Python loop walks
the open cases. A second run over the same state finds nothing to do, and a run
that dies midway rolls back whole, leaving the next run the full work.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from casework.cases.calendar_source import current_calendar
from casework.cases.models import Case
from casework.common.sql import upsert_insert
from casework.db import UTCDateTime
from casework.notifications.models import Notification
from casework.notifications.service import queue_delivery
from casework.sla.deadlines import end_of_workday_after
from casework.sla.models import CaseClock, Supervision
from casework.sla.policies import SlaPolicies
from casework.units.models import Unit
from casework.workflow.definitions import WORKFLOWS

TERMINAL = ("closed", "not_accepted", "merged")
SWEEP_LOCK = 0x5357_4545_50  # pg_advisory_xact_lock key of the sweep ("SWEEP")
# Kinds whose 督办 the unit answers (reply_supervision); a lead's 督办 only records the missed deadline.
REPLYABLE_KINDS = tuple(sorted(kind for kind, flow in WORKFLOWS.items() if "reply_supervision" in flow.actions))


@dataclass
class SweepResult:
    windows_closed: int = 0
    warned: int = 0
    breached: int = 0
    supervisions_opened: int = 0
    escalated: int = 0
    supervisions_closed: int = 0
    notifications: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def _cases_update() -> sa.Update:
    """An UPDATE of cases that leaves the session's objects alone: the ORM's default would fetch every updated
    key back to refresh the identity map (10,000 keys, 50 ms of Python), and a sweep's session holds no cases."""
    return sa.update(Case).execution_options(synchronize_session=False)


def _notify_select(session, select: sa.Select) -> list[int]:
    """INSERT notifications FROM a select of (unit_code, kind, case_id, supervision_id, title, dedup_key, created_at)."""
    table = Notification.__table__
    cols = ["unit_code", "kind", "case_id", "supervision_id", "title", "dedup_key", "created_at", "payload"]
    stmt = (upsert_insert(session, table).from_select(cols, select)
            .on_conflict_do_nothing(index_elements=["dedup_key"]).returning(table.c.id))
    return session.execute(stmt).scalars().all()  # one fetchall: row by row cost 40 ms at 25,000 ids


def sweep(*, session, now: datetime, policies: SlaPolicies) -> SweepResult:
    """Run one sweep at ``now``; the caller commits."""
    if session.get_bind().dialect.name == "postgresql":
        # One sweep at a time: the cron enqueues one a minute whether or not the last has finished, and
        # `casework sla sweep` may run beside it. Two at once could both escalate the same 督办 (a manual
        # one's escalation has no clock for the unique index to catch). The second waits, then finds the
        # first one's work done; the lock ends with the transaction. SQLite has a single writer anyway.
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(SWEEP_LOCK)))
    result = SweepResult()
    notified: list[int] = []
    clocks = CaseClock.__table__
    # The JSON type serialises the bound value: bind the dict itself (a "{}" string would be stored as "\"{}\"").
    empty = sa.literal({}, sa.JSON) if session.get_bind().dialect.name == "sqlite" else sa.cast(
        sa.literal("{}"), sa.dialects.postgresql.JSONB)

    # 1. 预警, once per clock.
    result.warned = session.execute(
        sa.update(clocks).where(clocks.c.state == "running", clocks.c.warned_at.is_(None), clocks.c.warn_at <= now,
                                clocks.c.due_at > now).values(warned_at=now)).rowcount
    if result.warned:
        notified += (_notify_select(session, sa.select(
            clocks.c.unit_code, sa.literal("warning"), clocks.c.case_id, sa.null(),
            sa.literal("预警：") + Case.number + sa.literal(" ") + clocks.c.name + sa.literal(" 即将到期"),
            sa.literal("warn:") + sa.cast(clocks.c.id, sa.String), sa.literal(now, UTCDateTime()), empty,
        ).select_from(clocks.join(Case.__table__, Case.id == clocks.c.case_id))
            .where(clocks.c.warned_at == now, clocks.c.state == "running")))

    # 2. Clocks that ran out, in one pass over the due index: a petitioner's window closes quietly (met,
    # no 督办); any other clock is breached, its case becomes overdue and a 督办 opens at the handling
    # unit's parent.
    is_window = clocks.c.name.in_(sorted(policies.window_names))
    ran_out = session.execute(
        sa.update(clocks).where(clocks.c.state == "running", clocks.c.due_at <= now)
        .values(state=sa.case((is_window, "met"), else_="breached"),
                met_at=sa.case((is_window, clocks.c.due_at), else_=clocks.c.met_at),
                breached_at=sa.case((is_window, clocks.c.breached_at), else_=sa.literal(now, UTCDateTime())))
        .returning(clocks.c.state)).scalars().all()
    result.windows_closed = ran_out.count("met")
    result.breached = len(ran_out) - result.windows_closed
    if result.breached:
        # One UPDATE per case, not one per flag: each extra pass wrote a new version of the same wide,
        # heavily indexed row and re-ran its foreign-key checks. The flags come from one grouped pass
        # over the clocks just breached, joined on the key (docs/performance.md).
        def any_named(names: tuple[str, ...]):
            return sa.func.max(sa.case((clocks.c.name.in_(names), 1), else_=0))

        breached = (sa.select(clocks.c.case_id, any_named(("acceptance", "contact")).label("first"),
                              any_named(("handling", "rectification")).label("handling"))
                    .where(clocks.c.breached_at == now, clocks.c.state == "breached")
                    .group_by(clocks.c.case_id).subquery())
        session.execute(_cases_update().where(Case.id == breached.c.case_id).values(
            overdue=True, supervised=True, awaiting_reply=Case.kind.in_(REPLYABLE_KINDS),
            first_response_late=sa.or_(Case.first_response_late, breached.c.first == 1),
            handling_late=sa.or_(Case.handling_late, breached.c.handling == 1)))
        handler, parent = aliased(Unit), aliased(Unit)
        escalate_at = end_of_workday_after(now, policies.reescalate_after_workdays, current_calendar(session))
        sup = Supervision.__table__
        # The ministry has no parent: a breach there is supervised by the ministry itself.
        supervisor_code = sa.func.coalesce(parent.code, handler.code)
        inserted = session.execute(
            upsert_insert(session, sup).from_select(
                ["case_id", "clock_id", "kind", "unit_code", "unit_path", "case_path", "level", "target_unit", "reason",
                 "state", "opened_at", "escalate_at"],
                sa.select(clocks.c.case_id, clocks.c.id, sa.literal("auto"), supervisor_code,
                          sa.func.coalesce(parent.path, handler.path), clocks.c.case_path,
                          sa.func.coalesce(parent.level, handler.level),
                          clocks.c.unit_code, sa.literal("超期：") + clocks.c.name + sa.literal(" 未在期限内办理"),
                          sa.literal("open"), sa.literal(now, UTCDateTime()),
                          sa.literal(escalate_at, UTCDateTime()))
                .select_from(clocks.join(handler, handler.code == clocks.c.unit_code)
                             .outerjoin(parent, parent.code == handler.parent_code))
                .where(clocks.c.breached_at == now, clocks.c.state == "breached"),
            ).on_conflict_do_nothing(index_elements=["clock_id", "unit_code"], index_where=sa.text("kind = 'auto'"))
            .returning(sup.c.id)).scalars().all()
        result.supervisions_opened = len(inserted)
        notified += (_notify_select(session, sa.select(
            clocks.c.unit_code, sa.literal("breach"), clocks.c.case_id, sa.null(),
            sa.literal("超期：") + Case.number + sa.literal(" ") + clocks.c.name,
            sa.literal("breach:") + sa.cast(clocks.c.id, sa.String), sa.literal(now, UTCDateTime()), empty,
        ).select_from(clocks.join(Case.__table__, Case.id == clocks.c.case_id))
            .where(clocks.c.breached_at == now, clocks.c.state == "breached")))
        notified += _notify_supervisions(session, now, empty, "supervision")

    # 3. Re-escalate 督办 still pressing one level up, up to the ministry (_reescalate says which).
    result.escalated = _reescalate(session, now, policies, empty)
    if result.escalated:
        notified += _notify_supervisions(session, now, empty, "escalation")
        # The new 督办 waits for its own answer, even where the one it escalates was answered.
        escalated_now = sa.select(Supervision.case_id).where(Supervision.opened_at == now,
                                                             Supervision.parent_id.is_not(None))
        session.execute(_cases_update().where(Case.id.in_(escalated_now), Case.awaiting_reply.is_(False),
                                              Case.kind.in_(REPLYABLE_KINDS)).values(awaiting_reply=True))

    # 4. Close 督办 whose clock has been met or whose case has finished.
    sup = Supervision.__table__
    # Correlated EXISTS: one primary-key probe per open 督办. An IN over every met clock cannot be hashed
    # once the met clocks outgrow work_mem, and PostgreSQL then rescans them for each open 督办.
    met_clock = sa.exists().where(clocks.c.id == sup.c.clock_id, clocks.c.met_at.is_not(None))
    done_case = sa.exists().where(Case.id == sup.c.case_id, Case.status.in_(TERMINAL))
    # A 督办 opened by this run cannot be finished yet: its clock has just been breached.
    result.supervisions_closed = session.execute(
        sa.update(sup).where(sup.c.state == "open", sup.c.opened_at < now, sa.or_(met_clock, done_case))
        .values(state="closed", closed_at=now, outcome="handled")).rowcount
    if result.supervisions_closed:
        still_open = sa.select(sup.c.case_id).where(sup.c.state == "open")
        session.execute(_cases_update().where(Case.supervised.is_(True), Case.id.not_in(still_open))
                        .values(supervised=False))
        unanswered = sa.select(sup.c.case_id).where(sup.c.state == "open", sup.c.replied_at.is_(None))
        session.execute(_cases_update().where(Case.awaiting_reply.is_(True), Case.id.not_in(unanswered))
                        .values(awaiting_reply=False))
    # Deliveries are queued in batches, once for the whole run (see queue_delivery).
    result.notifications = len(notified)
    queue_delivery(session=session, notification_ids=notified)
    session.flush()
    return result


def _notify_supervisions(session, now: datetime, empty, kind: str) -> list[int]:
    """Tell each supervising unit about the supervisions opened in this run.

    An escalation is also told to the unit that owes the answer: it is now urged from one level higher,
    and its breach notice (sent once, at the first 督办) does not say so.
    """
    sup = Supervision.__table__
    recipients = [(sup.c.unit_code, f"{kind}:")]
    if kind == "escalation":
        recipients.append((sup.c.target_unit, "escalation-target:"))
    notified: list[int] = []
    for unit, key in recipients:
        notified += _notify_select(session, sa.select(
            unit, sa.literal(kind), sup.c.case_id, sup.c.id,
            sa.literal("督办：") + Case.number + sa.literal(" ") + sup.c.reason,
            sa.literal(key) + sa.cast(sup.c.id, sa.String), sa.literal(now, UTCDateTime()), empty,
        ).select_from(sup.join(Case.__table__, Case.id == sup.c.case_id))
            .where(sup.c.opened_at == now, sup.c.state == "open", sup.c.kind == "auto",
                   sup.c.parent_id.is_(None) if kind == "supervision" else sup.c.parent_id.is_not(None)))
    return notified


def _reescalate(session, now: datetime, policies: SlaPolicies, empty) -> int:
    sup = Supervision.__table__
    current, parent = aliased(Unit), aliased(Unit)
    # One tied to a clock presses while the clock stays breached, answered or not: a written reply does not
    # make a late case timely. A manual one (and its escalations) asked for a reply, and a reply settles it.
    due = sa.and_(sup.c.state == "open", sup.c.escalate_at <= now, sup.c.escalated_at.is_(None),
                  sa.or_(sup.c.replied_at.is_(None), sup.c.clock_id.is_not(None)), sup.c.level != "ministry")
    escalate_at = end_of_workday_after(now, policies.reescalate_after_workdays, current_calendar(session))
    inserted = session.execute(
        upsert_insert(session, sup).from_select(
            ["case_id", "clock_id", "parent_id", "kind", "unit_code", "unit_path", "case_path", "level", "target_unit",
             "reason", "state", "opened_at", "escalate_at"],
            sa.select(sup.c.case_id, sup.c.clock_id, sup.c.id, sa.literal("auto"), parent.code, parent.path,
                      sup.c.case_path, parent.level, sup.c.target_unit, sa.literal("逐级督办：") + sup.c.reason,
                      sa.literal("open"), sa.literal(now, UTCDateTime()), sa.literal(escalate_at, UTCDateTime()))
            .select_from(sup.join(current, current.code == sup.c.unit_code)
                         .join(parent, parent.code == current.parent_code))
            .where(due),
        ).on_conflict_do_nothing(index_elements=["clock_id", "unit_code"], index_where=sa.text("kind = 'auto'"))
        .returning(sup.c.id)).scalars().all()
    session.execute(sa.update(sup).where(due).values(escalated_at=now))
    return len(inserted)
