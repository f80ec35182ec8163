"""Open 督办 follow a case that moves (交办, 转办, 退回, forwarded or taken over).

The answer a 督办 presses for is owed by whichever unit holds the case now. Left alone, a 督办 kept
urging the unit the case had left: its re-escalation climbed that unit's chain, its notices went
there, and its supervisor could hold a 督办 on a case outside its own area.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from casework.cases.access import answering_unit, unit_above_handler
from casework.cases.calendar_source import current_calendar
from casework.cases.models import Case
from casework.notifications.service import notify
from casework.sla.deadlines import end_of_workday_after
from casework.sla.models import CaseClock, Supervision
from casework.sla.policies import policies_for_app
from casework.units.models import Unit
from casework.units.tree import codes_of
from casework.workflow.definitions import workflow_for


def supervisions_follow(*, session, case: Case, action: str, now: datetime) -> None:
    """Re-aim the case's open 督办 at the unit that owes the answer after ``action`` moved it.

    A 督办 from a unit still above that unit now presses it. One from a unit that is not (the case
    left its area) closes; an automatic one then opens again one level above the new unit, where the
    sweep would have opened it, so an overdue case does not go unsupervised for having moved.
    """
    owing = answering_unit(case)
    chain = codes_of(case.unit_path)
    above = set(chain[:chain.index(owing)]) or {owing}  # at the top of the tree the ministry supervises itself
    # A co-handler's late part is that unit's to answer wherever the case goes: its 督办 stay as they are.
    open_ = list(session.scalars(sa.select(Supervision).outerjoin(CaseClock, CaseClock.id == Supervision.clock_id)
                                 .where(Supervision.case_id == case.id, Supervision.state == "open",
                                        CaseClock.participant_id.is_(None))
                                 .order_by(Supervision.id)))
    policies, cal = policies_for_app(), current_calendar(session)
    escalate_at = end_of_workday_after(now, policies.reescalate_after_workdays, cal)
    supervisor: Unit | None = None
    for sup in open_:
        if sup.unit_code in above:
            if sup.target_unit != owing:
                _pass_on(session=session, case=case, sup=sup, owing=owing, escalate_at=escalate_at,
                         reply_due=end_of_workday_after(now, policies.default_reply_workdays, cal))
            continue
        sup.state, sup.closed_at, sup.outcome = "closed", now, f"moved: {action} to {case.handling_unit}"
        if sup.clock_id is None or sup.escalated_at is not None:
            continue  # a manual 督办 is its supervisor's to renew; an escalated one's successor is open too
        # One level above the unit owing the answer, as the sweep opens it (the ministry: itself).
        supervisor = supervisor or session.get(Unit, unit_above_handler(
            case, workflow_for(case.kind).answering_levels(case.status) + 1))
        _reopen_above(session=session, case=case, closed=sup, supervisor=supervisor, owing=owing, now=now,
                      escalate_at=escalate_at)
    session.flush()


def _pass_on(*, session, case: Case, sup: Supervision, owing: str, escalate_at: datetime, reply_due: datetime) -> None:
    """The 督办 now asks ``owing`` for its own answer, with the time to give it that a new 督办 would have.

    An answer the previous unit gave stays in the case's events (reply_supervision); kept on the row, it
    would leave the new unit nothing to answer and stop the 督办 from escalating.
    """
    sup.target_unit = owing
    sup.reply_text = sup.replied_at = None
    if sup.reply_due_at is not None:
        sup.reply_due_at = max(sup.reply_due_at, reply_due)
    sup.escalate_at = max(d for d in (sup.escalate_at, sup.reply_due_at, escalate_at) if d is not None)
    _tell(session=session, case=case, sup=sup, unit=owing)


def _tell(*, session, case: Case, sup: Supervision, unit: str) -> None:
    # case.version is the version this transition started from: one notice per 督办, unit and move, so a
    # case that comes back to a unit tells it again.
    notify(session=session, unit_code=unit, kind="supervision", case_id=case.id, supervision_id=sup.id,
           dedup_key=f"supervision-moved:{sup.id}:{unit}:{case.version}", title=f"督办（随案转来）：{case.number}")


def _reopen_above(*, session, case: Case, closed: Supervision, supervisor: Unit, owing: str, now: datetime,
                  escalate_at: datetime) -> None:
    sup = session.scalar(sa.select(Supervision).where(
        Supervision.clock_id == closed.clock_id, Supervision.unit_code == supervisor.code, Supervision.kind == "auto"))
    if sup is not None:
        # The case came back under a unit that supervised this clock before (one automatic 督办 per clock and
        # unit): that 督办 opens again and waits for a new reply; the earlier one stays in the case's events.
        sup.state, sup.closed_at, sup.outcome, sup.target_unit = "open", None, None, owing
        sup.reply_text = sup.replied_at = None
        sup.case_path = case.unit_path
    else:
        sup = Supervision(case_id=case.id, clock_id=closed.clock_id, parent_id=closed.id, kind="auto",
                          unit_code=supervisor.code, unit_path=supervisor.path, level=supervisor.level,
                          case_path=case.unit_path, target_unit=owing, reason=closed.reason, state="open",
                          opened_at=now)
        session.add(sup)
    sup.escalated_at, sup.escalate_at = None, escalate_at
    session.flush()
    _tell(session=session, case=case, sup=sup, unit=supervisor.code)
