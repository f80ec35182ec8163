"""Guards and effects of each workflow action (the table says who and from where; these say what)."""
from __future__ import annotations

import sqlalchemy as sa

from casework.auth.jurisdiction import can_see_unit
from casework.cases.actions import ActionContext, handles
from casework.cases.calendar_source import current_calendar
from casework.cases.models import OUTCOMES, CaseParticipant
from casework.cases.routing_adapter import decide_route
from casework.problem import Forbidden, Invalid
from casework.routing import RouteRequest
from casework.sla.deadlines import calendar_days_deadline, count_workdays_between
from casework.units.models import Unit
from casework.units.tree import codes_of, common_ancestor_path

RETURN_WINDOW_WORKDAYS = 5  # 信访工作条例 第二十三条
MAX_RETURNS = 3
REVIEW_WINDOW_DAYS = 30
TERMINAL = ("closed", "not_accepted", "merged")


def _require(ctx: ActionContext, name: str, message: str = "required") -> str:
    value = ctx.params.get(name)
    if value in (None, ""):
        raise Invalid(f"'{ctx.transition.action}' needs {name}", errors={name: [message]})
    return value


def _civil_unit(ctx: ActionContext, code: str, field: str = "unit") -> Unit:
    unit = ctx.session.get(Unit, code)
    if unit is None or unit.kind != "civil_affairs":
        raise Invalid(f"unit {code} is not a civil-affairs unit", errors={field: [f"unknown unit {code}"]})
    return unit


def _set_lead(ctx: ActionContext, unit: Unit) -> None:
    case = ctx.case
    for p in list(case.participants):
        if p.role == "lead" or p.unit_code == unit.code:
            case.participants.remove(p)
    ctx.session.flush()
    case.participants.append(CaseParticipant(unit_code=unit.code, role="lead", added_at=ctx.now))
    case.handling_unit = unit.code
    case.unit_path = unit.path
    case.assigned_at = ctx.now


@handles("assign")
def assign(ctx: ActionContext) -> None:
    """Hand a case held for routing to a unit: the one named, or the router's choice minus units that returned it."""
    if ctx.params.get("unit"):
        unit = _civil_unit(ctx, ctx.params["unit"])
        if not can_see_unit(ctx.actor, unit):
            raise Forbidden("the unit is outside your jurisdiction", errors={"unit": ["outside your jurisdiction"]})
        rule, reason = "manual", f"人工交办至{unit.name}({unit.code})"
    else:
        returned = _returned_units(ctx)
        decision = decide_route(session=ctx.session, request=RouteRequest(
            kind=ctx.case.kind, category=ctx.case.category, regions=tuple(ctx.case.regions or [ctx.case.region]),
            people_count=ctx.case.people_count, registering_unit=ctx.actor.unit_code, exclude_units=returned))
        unit = _civil_unit(ctx, decision.unit)
        rule, reason = decision.rule, decision.reason
    _set_lead(ctx, unit)
    ctx.case.route_rule, ctx.case.route_reason = rule, reason
    ctx.reason = ctx.reason or reason
    ctx.event_params.update(unit=unit.code, rule=rule)


def _returned_units(ctx: ActionContext) -> tuple[str, ...]:
    from casework.cases.models import CaseEvent

    rows = ctx.session.scalars(sa.select(CaseEvent.params).where(CaseEvent.case_id == ctx.case.id,
                                                                 CaseEvent.action == "return"))
    return tuple(dict.fromkeys(p.get("unit") for p in rows if p and p.get("unit")))


@handles("return")
def return_case(ctx: ActionContext) -> None:
    """退回: only within 5 working days of assignment; the third return is flagged and blocks more."""
    case = ctx.case
    reason = _require(ctx, "reason", "say why the case is not yours")
    if case.returns_blocked:
        raise Invalid("this case has been returned too often; its supervisor must assign it",
                      errors={"action": ["returns are blocked after the third return"]})
    elapsed = count_workdays_between(case.assigned_at, ctx.now, current_calendar(ctx.session))
    if elapsed > RETURN_WINDOW_WORKDAYS:
        raise Invalid(f"a case can be returned only within {RETURN_WINDOW_WORKDAYS} working days of assignment "
                      f"({elapsed} have passed)", errors={"action": ["the return window has closed"]})
    returning = ctx.session.get(Unit, case.handling_unit)
    dispatcher = ctx.session.get(Unit, returning.parent_code) if returning.parent_code else returning
    ctx.event_params.update(unit=returning.code, to_unit=dispatcher.code)
    ctx.reason = reason
    case.return_count += 1
    _set_lead(ctx, dispatcher)
    if case.return_count >= MAX_RETURNS:
        case.returns_blocked = True
        involved = list(_returned_units(ctx)) + [returning.code]
        paths = [u.path for u in ctx.session.scalars(sa.select(Unit).where(Unit.code.in_(involved)))]
        common = codes_of(common_ancestor_path(paths + [dispatcher.path]))[-1]
        ctx.extra_events.append(dict(action="flag_returns", from_state="registered", to_state="registered",
                                     reason=f"returned {case.return_count} times",
                                     params={"supervisor_unit": common, "returns": case.return_count}))


@handles("transfer")
def transfer(ctx: ActionContext) -> None:
    """转办 to another civil-affairs unit in the caller's scope."""
    unit = _civil_unit(ctx, _require(ctx, "unit"))
    if unit.code == ctx.case.handling_unit:
        raise Invalid("the case is already at that unit", errors={"unit": ["same as the handling unit"]})
    if not can_see_unit(ctx.actor, unit):
        raise Forbidden("the unit is outside your jurisdiction", errors={"unit": ["outside your jurisdiction"]})
    ctx.event_params.update(from_unit=ctx.case.handling_unit, unit=unit.code)
    _set_lead(ctx, unit)
    ctx.case.route_rule, ctx.case.route_reason = "transfer", f"转办至{unit.name}({unit.code})"


@handles("decline")
def decline(ctx: ActionContext) -> None:
    reason = _require(ctx, "reason", "a decision not to accept must give its reason")
    ctx.reason = reason
    # The petitioner must be told in writing (不予受理告知书): record the notice itself.
    ctx.extra_events.append(dict(action="notice", from_state="not_accepted", to_state="not_accepted",
                                 reason=reason, params={"notice": "not_accepted", "to": "petitioner",
                                                        "channel": ctx.params.get("notice_channel", "letter")}))


@handles("respond")
def respond(ctx: ActionContext) -> None:
    """处理意见书; blocked while a co-handler's part is open unless a supervisor overrides with a reason."""
    outcome = _require(ctx, "outcome")
    if outcome not in OUTCOMES:
        raise Invalid("unknown outcome", errors={"outcome": [f"must be one of {', '.join(OUTCOMES)}"]})
    text = _require(ctx, "text", "the written opinion is required")
    open_parts = [p.unit_code for p in ctx.case.participants if p.role == "co" and p.state == "open"]
    if open_parts:
        override = ctx.params.get("override_reason")
        if ctx.actor.role != "supervisor" or not override:
            raise Invalid("co-handlers have not submitted their parts: " + ", ".join(open_parts),
                          errors={"override_reason": ["a supervisor may respond anyway with a reason"]})
        ctx.event_params["override_reason"] = override
        ctx.event_params["open_parts"] = open_parts
    ctx.case.outcome = outcome
    ctx.case.responded_at = ctx.now
    ctx.event_params.update(outcome=outcome, text=text)


@handles("evaluate", "visit_back")
def evaluate(ctx: ActionContext) -> None:
    value = _require(ctx, "satisfaction")
    if value not in ("satisfied", "unsatisfied"):
        raise Invalid("unknown satisfaction", errors={"satisfaction": ["must be satisfied or unsatisfied"]})
    ctx.case.satisfaction = value
    ctx.event_params["satisfaction"] = value


def _window_end(ctx: ActionContext, start):
    return calendar_days_deadline(start, REVIEW_WINDOW_DAYS, current_calendar(ctx.session)).due_at


@handles("close")
def close(ctx: ActionContext) -> None:
    case = ctx.case
    if case.kind == "petition":
        start = case.reviewed_at if case.status == "reviewed" else case.responded_at
        if case.satisfaction != "satisfied" and start is not None and ctx.now < _window_end(ctx, start):
            raise Invalid("the petitioner may still ask for review; close after the window or when satisfied",
                          errors={"action": ["review window still open and the petitioner is not satisfied"]})
    ctx.case.closed_at = ctx.now
    _no_note(ctx)


@handles("request_review", "request_re_review")
def request_review(ctx: ActionContext) -> None:
    case = ctx.case
    start = case.responded_at if ctx.transition.action == "request_review" else case.reviewed_at
    if start is not None and ctx.now >= _window_end(ctx, start):
        raise Invalid(f"a review must be requested within {REVIEW_WINDOW_DAYS} days",
                      errors={"action": ["the review window has passed"]})
    ctx.reason = ctx.params.get("reason")
    # Asking for review withdraws any earlier "satisfied"; left in place, it would let `close` end the
    # case right after the review decision and cut off the petitioner's 30 days to ask for re-review.
    case.satisfaction = None


@handles("decide_review", "decide_re_review")
def decide_review(ctx: ActionContext) -> None:
    decision = _require(ctx, "decision")
    if decision not in ("uphold", "revise"):
        raise Invalid("unknown decision", errors={"decision": ["must be uphold or revise"]})
    text = _require(ctx, "text", "the written decision is required")
    ctx.event_params.update(decision=decision, text=text)
    if ctx.transition.action == "decide_review":
        ctx.case.reviewed_at = ctx.now
    else:
        ctx.case.is_final = True


@handles("merge")
def merge(ctx: ActionContext) -> None:
    """重复信访: merge into an earlier open case of the same person and category."""
    from casework.cases.access import get_visible_case

    into_id = ctx.params.get("into")
    if not isinstance(into_id, int):
        raise Invalid("merge needs the surviving case id", errors={"into": ["an integer case id is required"]})
    case = ctx.case
    try:
        target = get_visible_case(session=ctx.session, case_id=into_id, user=ctx.actor)
    except Exception:
        raise Invalid("the surviving case does not exist or is outside your jurisdiction",
                      errors={"into": ["unknown case"]}) from None
    problems = []
    if target.id == case.id:
        problems.append("a case cannot be merged into itself")
    if not case.person_index or target.person_index != case.person_index:
        problems.append("the cases are not of the same person")
    if target.category != case.category:
        problems.append("the cases are not of the same category")
    if (target.received_at, target.id) >= (case.received_at, case.id):
        problems.append("the surviving case must be the earlier one")
    if target.status in TERMINAL:
        problems.append("the surviving case is not open")
    if problems:
        raise Invalid("cannot merge: " + "; ".join(problems), errors={"into": problems})
    from casework.links.service import add_link

    # Link first: add_link queries and flushes, and a flush with merged_into_id set while the status is not yet
    # 'merged' violates ck_cases_merged_has_target (every merge answered 500).
    add_link(session=ctx.session, case_id=case.id, target_id=target.id, type_="duplicate", note="合并重复信访",
             actor=None, auto=True)
    case.merged_into_id = target.id
    ctx.event_params.update(into=target.id, into_number=target.number)


@handles("suspend")
def suspend(ctx: ActionContext) -> None:
    ctx.reason = _require(ctx, "reason", "中止 needs its legal ground")


@handles("reopen")
def reopen(ctx: ActionContext) -> None:
    case = ctx.case
    ctx.reason = _require(ctx, "reason", "重办 needs a reason")
    if case.is_final:
        raise Invalid("a case concluded by re-review (终结) cannot be reopened",
                      errors={"action": ["the case is final"]})
    case.merged_into_id = None
    case.closed_at = None
    case.satisfaction = None


@handles("add_co_handler")
def add_co_handler(ctx: ActionContext) -> None:
    unit = _civil_unit(ctx, _require(ctx, "unit"))
    # 协办 is asked of units near the case: within the handling unit's parent's subtree.
    handling = ctx.session.get(Unit, ctx.case.handling_unit)
    parent = ctx.session.get(Unit, handling.parent_code) if handling.parent_code else handling
    if not unit.path.startswith(parent.path):
        raise Forbidden("a co-handler must lie within the handling unit's parent's jurisdiction",
                        errors={"unit": ["too far from the handling unit"]})
    if any(p.unit_code == unit.code for p in ctx.case.participants):
        raise Invalid("the unit already works on this case", errors={"unit": ["already a participant"]})
    ctx.case.participants.append(CaseParticipant(unit_code=unit.code, role="co", added_at=ctx.now,
                                                 part=ctx.params.get("part")))
    ctx.event_params.update(unit=unit.code)


@handles("co_handler_submit")
def co_handler_submit(ctx: ActionContext) -> None:
    text = _require(ctx, "text", "the co-handler's part is required")
    part = next(p for p in ctx.case.participants
                if p.role == "co" and p.state == "open" and p.unit_code == ctx.actor.unit_code)
    part.state, part.submitted_at, part.part = "submitted", ctx.now, text
    ctx.event_params.update(unit=part.unit_code, text=text)


@handles("accept", "start", "resume", "contact", "handle")
def _no_note(ctx: ActionContext) -> None:
    if ctx.params.get("note"):
        ctx.event_params["note"] = ctx.params["note"]
    if ctx.params.get("reason"):
        ctx.reason = ctx.params["reason"]

