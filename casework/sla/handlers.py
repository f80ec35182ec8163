"""督办 and 延期 as workflow actions."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import object_session

from casework.cases.access import answering_unit
from casework.cases.actions import ActionContext, available_when, handles, refused_unless
from casework.cases.calendar_source import current_calendar
from casework.notifications.service import notify
from casework.problem import Invalid
from casework.sla.clocks import live_clock, recompute
from casework.sla.deadlines import end_of_workday_after
from casework.sla.models import Supervision
from casework.sla.policies import policies_for_app
from casework.units.models import Unit
from casework.units.tree import codes_of


def _reason(ctx: ActionContext, what: str) -> str:
    reason = ctx.params.get("reason")
    if not reason:
        raise Invalid(f"{what} needs a reason", errors={"reason": ["required"]})
    ctx.reason = reason
    return reason


def workdays_later(ctx: ActionContext, days: int) -> datetime:
    """End of the ``days``-th working day after now (Shanghai), in UTC."""
    return end_of_workday_after(ctx.now, days, current_calendar(ctx.session))


@refused_unless("supervise")
def _above_the_answering_unit(case, actor) -> str | None:
    chain = codes_of(case.unit_path)
    owing = answering_unit(case)
    if actor.unit_code not in chain[:chain.index(owing)]:
        return f"督办 comes from a unit above {owing}, the unit that owes the answer now"
    return None


def _answered_by(case, unit_code: str) -> sa.Select:
    """The open, unanswered 督办 of ``case`` that ``unit_code`` answers: those aimed at it, and for the unit that
    owes the case's answer also those aimed at no co-handler of the case (a co-handler answers its own part's)."""
    aimed = Supervision.target_unit == unit_code
    if unit_code == answering_unit(case):
        co_units = sorted(_co_units(case))
        aimed = sa.or_(aimed, Supervision.target_unit.not_in(co_units)) if co_units else sa.true()
    return sa.select(Supervision).where(Supervision.case_id == case.id, Supervision.state == "open",
                                        Supervision.replied_at.is_(None), aimed)


def _co_units(case) -> set[str]:
    return {p.unit_code for p in case.participants if p.role == "co"}


def _answers_some(case, unit_code: str) -> bool:
    """Whether a 督办 waits for this unit's reply. Without co-handlers every one waits for the unit that owes
    the answer, as the case's flag says; only with co-handlers must the 督办 be looked at."""
    if not case.awaiting_reply:
        return False
    if not _co_units(case):
        return unit_code == answering_unit(case)
    return bool(object_session(case).scalar(sa.select(sa.exists(_answered_by(case, unit_code)))))


@refused_unless("reply_supervision")
def _the_answering_unit(case, actor) -> str | None:
    owing = answering_unit(case)
    if actor.unit_code != owing and not (actor.unit_code in _co_units(case) and _answers_some(case, actor.unit_code)):
        return f"the reply to a 督办 comes from {owing}, the unit that owes the answer now"
    return None


@handles("supervise")
def supervise(ctx: ActionContext) -> None:
    """Manual 督办 by a supervisor of a unit above the unit that owes the answer."""
    reason = _reason(ctx, "督办")
    policies = policies_for_app()
    reply_due = ctx.params.get("reply_due") or workdays_later(ctx, policies.default_reply_workdays)
    if reply_due <= ctx.now:
        raise Invalid("the reply deadline must be in the future", errors={"reply_due": ["must be in the future"]})
    unit = ctx.session.get(Unit, ctx.actor.unit_code)
    sup = Supervision(case_id=ctx.case.id, kind="manual", unit_code=unit.code, unit_path=unit.path, level=unit.level,
                      case_path=ctx.case.unit_path, target_unit=answering_unit(ctx.case), reason=reason, state="open",
                      opened_at=ctx.now, opened_by=ctx.actor.id, reply_due_at=reply_due,
                      # Never escalate before the reply the supervisor asked for is due.
                      escalate_at=max(reply_due, workdays_later(ctx, policies.reescalate_after_workdays)))
    ctx.session.add(sup)
    ctx.session.flush()
    ctx.case.supervised = ctx.case.awaiting_reply = True
    ctx.event_params.update(supervision=sup.id, unit=unit.code, reply_due=reply_due.isoformat())
    notify(session=ctx.session, unit_code=sup.target_unit, kind="supervision", case_id=ctx.case.id,
           supervision_id=sup.id, dedup_key=f"supervision:{sup.id}",
           title=f"督办：{ctx.case.number}（{unit.name}）", payload={"reply_due": reply_due.isoformat()})


@handles("reply_supervision")
def reply_supervision(ctx: ActionContext) -> None:
    text = ctx.params.get("text")
    if not text:
        raise Invalid("the reply needs its text", errors={"text": ["required"]})
    stmt = _answered_by(ctx.case, ctx.actor.unit_code)
    if ctx.params.get("supervision"):
        stmt = stmt.where(Supervision.id == ctx.params["supervision"])
    open_ = list(ctx.session.scalars(stmt))
    if not open_:
        raise Invalid("there is no open supervision awaiting a reply", errors={"supervision": ["none open"]})
    for sup in open_:
        sup.reply_text, sup.replied_at = text, ctx.now
    ctx.event_params.update(supervisions=[s.id for s in open_], text=text)


@available_when("reply_supervision")
def _supervision_unanswered(case, clocks: list[dict], viewer) -> bool:
    return _answers_some(case, viewer.unit_code)


def _extendable_shown(clocks: list[dict]) -> dict | None:
    """The clock _extendable_clock would pick, among the clocks a case answer shows."""
    for name in sorted(policies_for_app().extension_clocks):
        for clock in clocks:
            if clock["name"] == name and clock["state"] in ("running", "paused"):
                return clock
    return None


@available_when("request_extension")
def _extension_requestable(case, clocks: list[dict], viewer) -> bool:
    clock = _extendable_shown(clocks)
    return clock is not None and clock.get("extension_state") is None


@available_when("approve_extension", "deny_extension")
def _extension_pending(case, clocks: list[dict], viewer) -> bool:
    clock = _extendable_shown(clocks)
    return clock is not None and clock.get("extension_state") == "requested"


def _extendable_clock(ctx: ActionContext):
    policies = policies_for_app()
    for name in sorted(policies.extension_clocks):
        clock = live_clock(session=ctx.session, case_id=ctx.case.id, name=name)
        if clock is not None:
            return clock, policies
    raise Invalid("no running clock of this case can be extended", errors={"action": ["nothing to extend"]})


@handles("request_extension")
def request_extension(ctx: ActionContext) -> None:
    """延期: once per clock, at most the policy's maximum (30 days for handling)."""
    _reason(ctx, "an extension request")
    clock, policies = _extendable_clock(ctx)
    days = ctx.params.get("days")
    if not isinstance(days, int) or days < 1:
        raise Invalid("say how many days", errors={"days": ["a positive whole number of days is required"]})
    if days > policies.extension_max_days:
        raise Invalid(f"an extension is at most {policies.extension_max_days} days",
                      errors={"days": [f"must be at most {policies.extension_max_days}"]})
    if clock.extension_state is not None:
        raise Invalid("this clock has already had its one extension request",
                      errors={"action": [f"extension already {clock.extension_state}"]})
    clock.extension_state = "requested"
    ctx.event_params.update(clock=clock.name, days=days)
    parent = ctx.session.get(Unit, ctx.session.get(Unit, ctx.case.handling_unit).parent_code or ctx.case.handling_unit)
    notify(session=ctx.session, unit_code=parent.code, kind="extension", case_id=ctx.case.id,
           dedup_key=f"extension-request:{clock.id}", title=f"延期申请：{ctx.case.number} {days}天")


def _requested_days(ctx: ActionContext, clock) -> int:
    from casework.cases.models import CaseEvent

    params = ctx.session.scalar(sa.select(CaseEvent.params).where(
        CaseEvent.case_id == ctx.case.id, CaseEvent.action == "request_extension").order_by(CaseEvent.seq.desc()))
    return int(params["days"])


@handles("approve_extension", "deny_extension")
def decide_extension(ctx: ActionContext) -> None:
    clock, policies = _extendable_clock(ctx)
    if clock.extension_state != "requested":
        raise Invalid("there is no pending extension request", errors={"action": ["no pending request"]})
    days = _requested_days(ctx, clock)
    if ctx.transition.action == "approve_extension":
        clock.extension_state, clock.extended_days = "approved", days
        recompute(clock=clock, case=ctx.case, policies=policies, cal=current_calendar(ctx.session), now=ctx.now)
        clock.warned_at = None if clock.warn_at and clock.warn_at > ctx.now else clock.warned_at
        ctx.event_params.update(clock=clock.name, days=days, due_at=clock.due_at.isoformat())
    else:
        _reason(ctx, "a refusal")
        clock.extension_state = "denied"
        ctx.event_params.update(clock=clock.name, days=days)
