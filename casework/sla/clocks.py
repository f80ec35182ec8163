"""Clocks follow the workflow: transitions start, stop, pause and resume them as the tables declare."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from casework.cases.access import unit_above_handler
from casework.cases.actions import ActionContext, after_transition
from casework.cases.calendar_source import current_calendar
from casework.cases.models import Case, CaseParticipant
from casework.cases.presenter import clock_provider
from casework.sla.deadlines import compute, paused_total
from casework.sla.models import CaseClock, Supervision
from casework.sla.moves import supervisions_follow
from casework.sla.policies import SlaPolicies, policies_for_app
from casework.workflow.definitions import workflow_for

LIVE = ("running", "paused")

# Built once: every transition runs these, and building a statement cost more than running it.
_LIVE_CLOCK = sa.select(CaseClock).where(CaseClock.case_id == sa.bindparam("case_id"),
                                         CaseClock.name == sa.bindparam("name"), CaseClock.state.in_(LIVE),
                                         CaseClock.participant_id.is_(None))
# Every clock of the name still to be met: the case's own (one at most), or one per co-handling part.
_STOPPABLE_CLOCKS = sa.select(CaseClock).where(CaseClock.case_id == sa.bindparam("case_id"),
                                               CaseClock.name == sa.bindparam("name"), CaseClock.met_at.is_(None),
                                               CaseClock.state.in_((*LIVE, "breached"))).order_by(CaseClock.id)
_LIVE_CLOCKS = sa.select(CaseClock).where(CaseClock.case_id == sa.bindparam("case_id"),
                                          CaseClock.name == sa.bindparam("name"), CaseClock.state.in_(LIVE))
_FLAGS = sa.select(
    sa.exists().where(CaseClock.case_id == sa.bindparam("case_id"), CaseClock.state == "breached",
                      CaseClock.met_at.is_(None)),
    sa.exists().where(Supervision.case_id == sa.bindparam("case_id"), Supervision.state == "open"),
    sa.exists().where(Supervision.case_id == sa.bindparam("case_id"), Supervision.state == "open",
                      Supervision.replied_at.is_(None)))


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)


def live_clock(*, session, case_id: int, name: str) -> CaseClock | None:
    return session.scalar(_LIVE_CLOCK, {"case_id": case_id, "name": name})


def clock_unit(case: Case, name: str) -> str:
    """The unit that owes clock ``name``: the handling unit, or the unit a review goes up to."""
    return unit_above_handler(case, workflow_for(case.kind).owner_levels(name))


def _deadline(policies: SlaPolicies, case: Case, name: str, start: datetime, extra_days: int, cal):
    clock_policy = policies.for_clock(case.kind, name, case.urgency)
    policy = clock_policy.policy
    if extra_days:
        from dataclasses import replace

        policy = replace(policy, duration=policy.duration + extra_days)
    return clock_policy, compute(policy, start, cal, office=policies.office_hours)


def start_clock(*, session, case: Case, name: str, start: datetime, policies: SlaPolicies | None = None,
                cal=None, due_at: datetime | None = None, participant: CaseParticipant | None = None) -> CaseClock:
    """Start clock ``name`` of ``case`` at ``start`` (the moment the law counts from).

    ``due_at`` fixes the due time instead of the policy's duration (a rectification item's own deadline);
    ``participant`` makes it the clock of that co-handler's part, owed by its unit.
    """
    policies = policies or policies_for_app()
    cal = cal or current_calendar(session)
    clock_policy, deadline = _deadline(policies, case, name, start, 0, cal)
    if due_at is not None:
        from dataclasses import replace

        from casework.sla.deadlines import warn_at

        lead = clock_policy.policy.warn_lead
        deadline = replace(deadline, due_at=due_at, provisional=False,
                           warn_at=warn_at(start, due_at, lead) if lead else None)
    unit = participant.unit_code if participant is not None else clock_unit(case, name)
    clock = CaseClock(case_id=case.id, name=name, policy=clock_policy.policy.name, unit_code=unit,
                      participant_id=participant.id if participant is not None else None,
                      case_path=case.unit_path, state="running", started_at=_utc(start),
                      base_due_at=_utc(deadline.due_at), due_at=_utc(deadline.due_at),
                      warn_at=_utc(deadline.warn_at) if deadline.warn_at else None,
                      provisional=deadline.provisional, paused_seconds=0, pauses=[], extended_days=0)
    session.add(clock)
    return clock


def _start_part_clocks(*, session, case: Case, name: str, now: datetime) -> None:
    """Start ``name`` for every open co-handling part without one still to be met: the part just added, or
    at acceptance and 重办 every open part (a co-handler routing named, or one asked before a 转办)."""
    session.flush()  # the new part needs its id (and its default state)
    open_parts = [p for p in case.participants if p.role == "co" and p.state == "open"]
    if not open_parts:
        return  # most acceptances: no co-handler, no query
    has_clock = set(session.scalars(sa.select(CaseClock.participant_id).where(
        CaseClock.case_id == case.id, CaseClock.name == name, CaseClock.participant_id.is_not(None),
        CaseClock.met_at.is_(None))))
    for part in open_parts:
        if part.id not in has_clock:
            start_clock(session=session, case=case, name=name, start=now, participant=part)


def recompute(*, clock: CaseClock, case: Case, policies: SlaPolicies, cal, now: datetime) -> None:
    """Recompute a live clock's due and warning times (extension, calendar load, pause)."""
    _, deadline = _deadline(policies, case, clock.name, clock.started_at, clock.extended_days, cal)
    paused = timedelta(seconds=clock.paused_seconds)
    clock.base_due_at = _utc(deadline.due_at)
    clock.due_at = clock.base_due_at + paused
    clock.warn_at = _utc(deadline.warn_at) + paused if deadline.warn_at else None
    clock.provisional = deadline.provisional


FIRST_RESPONSE = ("acceptance", "contact")
HANDLING = ("handling", "rectification")


def mark_late(*, case: Case, clock_name: str) -> None:
    """Record on the case that a statutory clock was missed (the bulletins count these)."""
    if clock_name in FIRST_RESPONSE:
        case.first_response_late = True
    elif clock_name in HANDLING:
        case.handling_late = True


def stop_clock(*, session, clock: CaseClock, now: datetime, outcome: str, case: Case | None = None) -> None:
    """Stop a live clock as met; a breached clock keeps its state and records when it was done."""
    if case is not None and (clock.state == "breached" or now > clock.due_at):
        # Met after its due time but before a sweep noticed: still late.
        mark_late(case=case, clock_name=clock.name)
    clock.met_at = now
    if clock.state in LIVE:
        if clock.state == "paused":
            clock.paused_at = None
        clock.state = "met"
    session.execute(sa.update(Supervision).where(Supervision.clock_id == clock.id, Supervision.state == "open")
                    .values(state="closed", closed_at=now, outcome=outcome))


@after_transition
def follow_transition(ctx: ActionContext, from_state: str, to_state: str) -> None:
    """Apply the clock effects the workflow table declares for this transition."""
    session, case, tr, now = ctx.session, ctx.case, ctx.transition, ctx.now
    workflow = workflow_for(case.kind)
    finished = to_state in workflow.terminal
    open_parts = {p.id for p in case.participants if p.role == "co" and p.state == "open"}
    for name in tr.stops:
        for clock in session.scalars(_STOPPABLE_CLOCKS, {"case_id": case.id, "name": name}):
            if clock.participant_id in open_parts and to_state == from_state:
                continue  # an action on one part (协办意见) ends only the parts it closed
            stop_clock(session=session, clock=clock, now=now, outcome=f"handled: {tr.action}", case=case)
    for name in tr.pauses:
        for clock in session.scalars(_LIVE_CLOCKS, {"case_id": case.id, "name": name}):
            if clock.state == "running":
                clock.state, clock.paused_at = "paused", now
    for name in tr.resumes:
        for clock in session.scalars(_LIVE_CLOCKS, {"case_id": case.id, "name": name}):
            if clock.state != "paused":
                continue
            pause = (clock.paused_at, now)
            clock.pauses = [*clock.pauses, [pause[0].isoformat(), now.isoformat()]]
            clock.paused_seconds += int(paused_total([pause], now).total_seconds())
            clock.state, clock.paused_at = "running", None
            recompute(clock=clock, case=case, policies=policies_for_app(), cal=current_calendar(session), now=now)
    moved = tr.action in ("assign", "transfer", "return", "forward", "take_over")
    if moved:
        # The clock runs on; it is now the new unit's to meet (a lead forwarded or taken over too).
        # One statement on this frequent path: the handling unit, or for a review clock the unit above it.
        owners = {name: clock_unit(case, name) for name in workflow.clock_owners}
        owner = sa.case(owners, value=CaseClock.name, else_=case.handling_unit) if owners else case.handling_unit
        session.execute(sa.update(CaseClock).where(CaseClock.case_id == case.id, CaseClock.state.in_(LIVE),
                                                   CaseClock.participant_id.is_(None))  # a part stays its unit's
                        .values(unit_code=owner))
        # A breached clock stays the unit's that missed it, but the overdue and supervised lists find the
        # case by where it is now.
        session.execute(sa.update(CaseClock).where(CaseClock.case_id == case.id, CaseClock.met_at.is_(None))
                        .values(case_path=case.unit_path))
        session.execute(sa.update(Supervision).where(Supervision.case_id == case.id, Supervision.state == "open")
                        .values(case_path=case.unit_path))
    if finished:
        # Every clock still to be met, breached ones too: a finished case is overdue no longer.
        for clock in session.scalars(sa.select(CaseClock).where(CaseClock.case_id == case.id,
                                                                CaseClock.met_at.is_(None),
                                                                CaseClock.state.in_((*LIVE, "breached")))):
            stop_clock(session=session, clock=clock, now=now, outcome=f"case {to_state}")
        session.execute(sa.update(Supervision).where(Supervision.case_id == case.id, Supervision.state == "open")
                        .values(state="closed", closed_at=now, outcome=f"case {to_state}"))
    elif "supervise" in workflow.actions and workflow.transition_for(to_state, "supervise") is None:
        # Nobody owes an answer here (responded: the petitioner decides; registered: back to routing): a
        # 督办 that urged the last stage is done, or a reply could come from a unit it never asked. Those
        # tied to a clock follow it instead (stop_clock); the others are manual ones and their escalations.
        session.execute(sa.update(Supervision).where(Supervision.case_id == case.id, Supervision.state == "open",
                                                     Supervision.clock_id.is_(None))
                        .values(state="closed", closed_at=now, outcome=f"handled: {tr.action}"))
    if moved and case.supervised:  # the flag from before this transition: were any 督办 open
        supervisions_follow(session=session, case=case, action=tr.action, now=now)
    for name in tr.starts:
        if name in workflow.part_clocks:
            _start_part_clocks(session=session, case=case, name=name, now=now)
        elif live_clock(session=session, case_id=case.id, name=name) is None:
            start_clock(session=session, case=case, name=name, start=now)
    session.flush()
    refresh_flags(session=session, case=case)


def refresh_flags(*, session, case: Case) -> None:
    """overdue: a breached clock not yet met; supervised: an open 督办; awaiting_reply: one not yet answered."""
    overdue, supervised, awaiting = session.execute(_FLAGS, {"case_id": case.id}).one()
    case.overdue, case.supervised = bool(overdue), bool(supervised)
    # A lead's 督办 (from a missed lead clock) has no reply action: nothing waits on its unit's answer.
    case.awaiting_reply = bool(awaiting) and "reply_supervision" in workflow_for(case.kind).actions


def start_intake_clocks(*, session, case: Case) -> None:
    """At registration the acceptance (petition) or contact and handling (complaint) clocks start at received_at."""
    names = {"petition": ("acceptance",), "complaint": ("contact", "handling")}.get(case.kind, ())
    if case.kind == "lead" and not case.anonymous:
        names = ("reporter_notice",)  # a real-name reporter is told within 15 working days
    for name in names:
        start_clock(session=session, case=case, name=name, start=case.received_at)
    session.flush()


_SHOWN = (CaseClock.name, CaseClock.policy, CaseClock.state, CaseClock.started_at, CaseClock.due_at,
          CaseClock.warn_at, CaseClock.met_at, CaseClock.breached_at, CaseClock.provisional, CaseClock.paused_at,
          CaseClock.extended_days, CaseClock.extension_state, CaseClock.unit_code)


@clock_provider
def clocks_by_case(*, session, case_ids: list[int]) -> dict[int, list[dict]]:
    """The clocks of these cases as the API shows them, in one query (a list page names 50 cases, a linked
    report up to 200); plain rows, not CaseClock objects, and the ids as one array parameter on PostgreSQL."""
    from casework.cases.access import ids_in
    from casework.db import is_postgres

    out: dict[int, list[dict]] = {}
    if not case_ids:
        return out
    rows = session.execute(sa.select(CaseClock.case_id, *_SHOWN)
                           .where(ids_in(CaseClock.case_id, case_ids, postgres=is_postgres(session)))
                           .order_by(CaseClock.id))
    for r in rows:
        out.setdefault(r.case_id, []).append({
            "name": r.name, "policy": r.policy, "state": r.state, "started_at": r.started_at, "due_at": r.due_at,
            "warn_at": r.warn_at, "met_at": r.met_at, "breached_at": r.breached_at, "provisional": r.provisional,
            "paused_at": r.paused_at, "extended_days": r.extended_days, "unit": r.unit_code,
            "extension_state": r.extension_state})  # not shown (ClockSchema): allowed_actions reads it
    return out
