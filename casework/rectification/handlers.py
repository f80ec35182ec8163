"""Guards of the rectification workflow."""
from __future__ import annotations

from casework.cases.actions import ActionContext, handles
from casework.problem import Invalid
from casework.rectification.models import RectificationItem


@handles("submit")
def submit(ctx: ActionContext) -> None:
    item = ctx.session.get(RectificationItem, ctx.case.id)
    if item is None or item.progress_percent < 100:
        raise Invalid("submit for 销号 once a progress report reaches 100%",
                      errors={"action": ["progress is below 100%"]})
    ctx.reason = ctx.params.get("note")


@handles("verify")
def verify(ctx: ActionContext) -> None:
    item = ctx.session.get(RectificationItem, ctx.case.id)
    item.completed_at = ctx.now
    ctx.reason = ctx.params.get("note")


@handles("send_back")
def send_back(ctx: ActionContext) -> None:
    reason = ctx.params.get("reason")
    if not reason:
        raise Invalid("sending back needs a reason", errors={"reason": ["required"]})
    ctx.reason = reason
    item = ctx.session.get(RectificationItem, ctx.case.id)
    item.progress_percent = min(item.progress_percent, 90)
