"""Guards and effects of the lead workflow, and handing a petition's accusation to discipline inspection."""
from __future__ import annotations

from casework.cases.actions import ActionContext, handles
from casework.cases.calendar_source import current_calendar
from casework.problem import Forbidden, Invalid
from casework.sla.deadlines import count_workdays_between
from casework.units.models import Unit

FORWARD_WINDOW_WORKDAYS = 5
DISPOSALS = {"dispose_inquiry": "inquiry", "dispose_verification": "verification", "dispose_hold": "hold",
             "dispose_close": "close", "dispose_investigation": "investigation"}


def _move_to(ctx: ActionContext, unit: Unit) -> None:
    from casework.cases.handlers import _set_lead

    _set_lead(ctx, unit)


@handles("forward")
def forward(ctx: ActionContext) -> None:
    """转交 up or down the discipline tree, within 5 working days of receipt."""
    code = ctx.params.get("unit")
    if not code:
        raise Invalid("forward needs the receiving unit", errors={"unit": ["required"]})
    unit = ctx.session.get(Unit, code)
    here = ctx.session.get(Unit, ctx.case.handling_unit)
    if unit is None or unit.kind != "discipline":
        raise Invalid("the receiving unit must be a discipline unit", errors={"unit": [f"unknown unit {code}"]})
    if unit.code not in (here.parent_code,) and unit.parent_code != here.code:
        raise Invalid("a lead is forwarded one level up or down", errors={"unit": ["not the parent or a child"]})
    elapsed = count_workdays_between(ctx.case.received_at, ctx.now, current_calendar(ctx.session))
    if elapsed > FORWARD_WINDOW_WORKDAYS:
        raise Invalid(f"a lead is forwarded within {FORWARD_WINDOW_WORKDAYS} working days of receipt "
                      f"({elapsed} have passed)", errors={"action": ["the forwarding window has closed"]})
    ctx.reason = ctx.params.get("reason")
    ctx.event_params.update(from_unit=here.code, unit=unit.code)
    _move_to(ctx, unit)


@handles("take_over")
def take_over(ctx: ActionContext) -> None:
    """直查直办: a higher discipline unit takes the lead over, with a reason."""
    reason = ctx.params.get("reason")
    if not reason:
        raise Invalid("a take-over needs a reason", errors={"reason": ["required"]})
    unit = ctx.session.get(Unit, ctx.actor.unit_code)
    if unit.kind != "discipline":
        raise Forbidden("only a discipline unit takes a lead over")
    ctx.reason = reason
    ctx.event_params.update(from_unit=ctx.case.handling_unit, unit=unit.code)
    _move_to(ctx, unit)


@handles(*DISPOSALS)
def dispose(ctx: ActionContext) -> None:
    ctx.case.disposal = DISPOSALS[ctx.transition.action]
    ctx.case.disposed_at = ctx.now
    ctx.reason = ctx.params.get("reason")
    ctx.event_params["disposal"] = ctx.case.disposal


@handles("record_answer", "file_case", "conclude", "transfer_out", "reactivate", "notify_reporter", "register")
def lead_step(ctx: ActionContext) -> None:
    if ctx.transition.action == "notify_reporter" and ctx.case.anonymous:
        raise Invalid("an anonymous report has nobody to notify", errors={"action": ["the report is anonymous"]})
    if ctx.transition.action in ("conclude", "transfer_out", "file_case") and not ctx.params.get("reason"):
        raise Invalid("the outcome needs its reason", errors={"reason": ["required"]})
    ctx.reason = ctx.params.get("reason")
    if ctx.params.get("note"):
        ctx.event_params["note"] = ctx.params["note"]
    if ctx.transition.action == "transfer_out" and ctx.params.get("unit"):
        ctx.event_params["to"] = ctx.params["unit"]


@handles("spin_off_lead")
def spin_off_lead(ctx: ActionContext) -> None:
    """Hand a petition's accusation to discipline inspection: a linked lead is created, the petition goes on."""
    from casework.cases.intake import intake
    from casework.cases.pii import decrypt_petitioner
    from casework.links.service import add_link

    title, content = ctx.params.get("title"), ctx.params.get("content")
    missing = {f: ["required"] for f, v in (("title", title), ("content", content)) if not v}
    if missing:
        raise Invalid("a lead needs its own title and content", errors=missing)
    petitioner = {k: v for k, v in decrypt_petitioner(ctx.case).items() if v}
    data = {"kind": "lead", "channel": "transfer", "category": ctx.case.category, "title": title,
            "content": content, "region": ctx.case.region, "source": "petition_spinoff",
            "accused": ctx.params.get("accused"), "received_at": ctx.now,
            "reporter": petitioner if petitioner.get("name") and petitioner.get("phone") else None}
    lead = intake(session=ctx.session, data=data, actor=ctx.actor, now=ctx.now, skip_role_check=True).case
    add_link(session=ctx.session, case_id=ctx.case.id, target_id=lead.id, type_="spawned_lead",
             note="信访件移交问题线索", actor=None)
    # The petition's trail records that a lead exists and its number, never its reporter.
    ctx.event_params.update(lead_id=lead.id, lead_number=lead.number)
