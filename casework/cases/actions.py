"""Applying one workflow transition to a case: check, guard, effect, audit, in one transaction."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from casework.auth.models import User
from casework.cases.access import get_visible_case, relations_of
from casework.cases.events import append_event
from casework.cases.models import Case
from casework.db import utcnow
from casework.problem import Conflict, Forbidden, Invalid
from casework.units.tree import codes_of
from casework.workflow.definitions import workflow_for
from casework.workflow.engine import IllegalTransition, NotPermitted, Transition


@dataclass
class ActionContext:
    session: Any
    case: Case
    actor: User
    params: dict[str, Any]
    transition: Transition
    now: datetime
    event_params: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    extra_events: list[dict[str, Any]] = field(default_factory=list)


Handler = Callable[[ActionContext], None]
# The first answer a unit owes: acceptance decision (petition), first contact (complaint).
DECISIONS = ("accept", "decline", "contact")
_HANDLERS: dict[str, Handler] = {}
# Hooks other packages register (the SLA clocks): called after the state changed.
_AFTER: list[Callable[[ActionContext, str, str], None]] = []


def handles(*actions: str):
    """Register the guard-and-effect function of ``actions``."""

    def register(fn: Handler) -> Handler:
        for action in actions:
            if action in _HANDLERS:
                raise ValueError(f"two handlers for {action}")
            _HANDLERS[action] = fn
        return fn

    return register


def after_transition(fn: Callable[[ActionContext, str, str], None]):
    _AFTER.append(fn)
    return fn


# Whether an action can succeed for this viewer on what the answer already holds (the case and its clocks),
# so that allowed_actions does not offer what the action's handler would refuse (a reply with no open 督办).
_AVAILABLE: dict[str, Callable[[Case, list[dict], User], bool]] = {}


def _registering(table: dict, actions: tuple[str, ...]):
    def register(fn):
        for action in actions:
            table[action] = fn
        return fn

    return register


def available_when(*actions: str):
    """Register the data check of ``actions`` for allowed_actions: ``fn(case, clocks, viewer) -> bool``."""
    return _registering(_AVAILABLE, actions)


# Who may act, beyond the table's relation to the handling unit: under review the answer is owed one
# level up, so a 督办 reply comes from there and a 督办 from above it. ``fn(case, actor)`` returns why
# the actor may not, or None; apply_action refuses with it (403) and allowed_actions leaves the action out.
_REFUSED: dict[str, Callable[[Case, User], str | None]] = {}


def refused_unless(*actions: str):
    """Register the actor check of ``actions``: ``fn(case, actor) -> reason | None``."""
    return _registering(_REFUSED, actions)


def apply_action(*, session, case_id: int, action: str, params: dict[str, Any], actor: User,
                 expected_version: int | None, now: datetime | None = None) -> Case:
    """Apply ``action`` to the case as ``actor``; raises 404/403/409/422 domain errors."""
    register_plugins()

    now = now or utcnow()
    case = get_visible_case(session=session, case_id=case_id, user=actor, for_update=True)
    workflow = workflow_for(case.kind)
    if action not in workflow.actions:
        raise Invalid(f"unknown action '{action}' for a {case.kind}",
                      errors={"action": [f"must be one of {', '.join(workflow.actions)}"]},
                      extra={"allowed_actions": allowed_actions(case=case, viewer=actor)})
    if expected_version is None:
        raise Invalid("the case version is required", errors={"version": ["required (body field or If-Match)"]})
    if expected_version != case.version:
        raise Conflict(f"the case is at version {case.version}, not {expected_version}",
                       errors={"version": [f"stale; current version is {case.version}"]},
                       extra={"current_version": case.version})
    try:
        tr = workflow.check(case.status, action, actor.role, relations_of(actor, case))
    except IllegalTransition as exc:
        raise Invalid(str(exc), errors={"action": [f"allowed from '{exc.state}': {', '.join(exc.allowed) or 'none'}"]},
                      extra={"allowed_actions": exc.allowed}) from None
    except NotPermitted as exc:
        raise Forbidden(str(exc)) from None
    refusal = _REFUSED[action](case, actor) if action in _REFUSED else None
    if refusal:
        raise Forbidden(refusal)
    beyond = _owner_beyond_the_tree(workflow, tr, case)
    if beyond:
        raise Invalid(beyond, errors={"action": [beyond]})
    ctx = ActionContext(session=session, case=case, actor=actor, params=params, transition=tr, now=now,
                        reason=params.get("reason"))
    from_state = case.status
    _HANDLERS.get(action, _no_effect)(ctx)
    to_state = workflow.target_of(tr, current=from_state, prior=case.prior_status)
    if to_state != from_state:
        case.prior_status = from_state
        case.status = to_state
    if to_state in workflow.terminal and from_state not in workflow.terminal:
        case.closed_at = case.closed_at or now
    if action in DECISIONS and case.decided_at is None:
        case.decided_at = now
    if action == "reopen":
        case.reopen_count += 1
    for hook in _AFTER:
        hook(ctx, from_state, to_state)
    append_event(session=session, case=case, action=action, from_state=from_state, to_state=to_state, actor=actor,
                 reason=ctx.reason, params=ctx.event_params, at=now)
    for extra in ctx.extra_events:
        append_event(session=session, case=case, actor=actor, at=now, **extra)
    case.version += 1
    case.updated_at = now
    session.flush()
    return case


def _owner_beyond_the_tree(workflow, tr: Transition, case: Case) -> str | None:
    """Why ``tr`` cannot be recorded here: a clock it starts is owed by a unit above the top of the tree.

    复查 is decided one level above the handling unit and 复核 two (信访工作条例 第三十五、三十六条).
    For a case handled at the ministry, or 复核 of one handled at a province, that unit is outside this
    system: a request recorded here could never be decided, and would only wait for its deadline.
    """
    levels_above = len(codes_of(case.unit_path)) - 1
    for clock in tr.starts:
        owner = workflow.owner_levels(clock)
        if owner > levels_above:
            return (f"'{tr.action}' starts '{clock}', decided {owner} level(s) above the handling unit "
                    f"{case.handling_unit}; this system has no unit there")
    return None


def register_plugins() -> None:
    """Import the modules that register handlers and hooks (kept out of import time to avoid cycles)."""
    from casework.cases import handlers  # noqa: F401
    from casework.leads import handlers as lead_handlers  # noqa: F401
    from casework.rectification import handlers as rectification_handlers  # noqa: F401
    from casework.notifications import hooks  # noqa: F401
    from casework.sla import clocks, handlers as sla_handlers  # noqa: F401


def _no_effect(ctx: ActionContext) -> None:
    if ctx.params.get("note"):
        ctx.event_params["note"] = ctx.params["note"]


def allowed_actions(*, case: Case, viewer: User, clocks: list[dict] | None = None) -> list[str]:
    """What ``viewer`` may do to ``case`` now (the table, minus guards known without parameters; with the case's
    ``clocks``, also minus actions whose data check fails)."""
    register_plugins()
    workflow = workflow_for(case.kind)
    allowed = workflow.allowed(case.status, viewer.role, relations_of(viewer, case))
    if case.returns_blocked and "return" in allowed:
        allowed.remove("return")
    if case.is_final and "reopen" in allowed:
        allowed.remove("reopen")
    allowed = [a for a in allowed if a not in _REFUSED or not _REFUSED[a](case, viewer)]
    allowed = [a for a in allowed
               if not _owner_beyond_the_tree(workflow, workflow.transition_for(case.status, a), case)]
    if clocks is not None:
        allowed = [a for a in allowed if a not in _AVAILABLE or _AVAILABLE[a](case, clocks, viewer)]
    return allowed
