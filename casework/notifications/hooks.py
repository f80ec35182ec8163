"""Workflow events that someone must hear about."""
from __future__ import annotations

from casework.cases.actions import ActionContext, after_transition
from casework.notifications.service import notify


@after_transition
def notify_on_transition(ctx: ActionContext, from_state: str, to_state: str) -> None:
    case, action = ctx.case, ctx.transition.action
    seq = case.event_count + 1  # the event this transition is about to write
    if action in ("forward", "take_over"):
        # A lead's notification names its number only: its title can point at the reporter.
        notify(session=ctx.session, unit_code=case.handling_unit, kind="assignment", case_id=case.id,
               dedup_key=f"assignment:{case.id}:{case.handling_unit}:{seq}", title=f"问题线索：{case.number}")
    if action in ("assign", "transfer"):
        notify(session=ctx.session, unit_code=case.handling_unit, kind="assignment", case_id=case.id,
               dedup_key=f"assignment:{case.id}:{case.handling_unit}:{seq}",
               title=f"新交办：{case.number} {case.title[:40]}")
    for extra in ctx.extra_events:
        if extra.get("action") == "flag_returns":
            unit = extra["params"]["supervisor_unit"]
            notify(session=ctx.session, unit_code=unit, kind="return_flag", case_id=case.id,
                   dedup_key=f"return_flag:{case.id}:{case.return_count}",
                   title=f"多次退回：{case.number} 已被退回{case.return_count}次，请指定承办单位")
