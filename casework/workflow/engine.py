"""One small engine: a workflow is a table of transitions; an illegal move raises.

Pure: no Flask, no session. Who the actor is relative to the case (the handling
unit, its parent, an ancestor, a co-handler) is computed by the caller and
passed in as ``relations``; the table says which relation and role may act.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

# How the actor's unit stands to the case. A transition lists the relations
# that may perform it; the service computes the actor's relations.
HANDLER = "handler"  # the actor's unit is the handling (lead) unit
DISPATCHER = "dispatcher"  # the actor's unit holds the case for (re)assignment
PARENT = "parent"  # one level above the handling unit (review)
GRANDPARENT = "grandparent"  # two levels above (re-review)
ANCESTOR = "ancestor"  # any unit above the handling unit (督办, reopen)
CO_HANDLER = "co_handler"  # a unit with an open co-handling part
RELATIONS = frozenset({HANDLER, DISPATCHER, PARENT, GRANDPARENT, ANCESTOR, CO_HANDLER})
# Levels above the handling unit of the unit that owes a clock's answer: a review is decided one level
# up and a re-review two, so their deadlines (and the 督办 when they are missed) belong there.
OWNER_LEVELS = {HANDLER: 0, PARENT: 1, GRANDPARENT: 2}
PRIOR = "@prior"  # target meaning "the state before the current one" (resume after 中止)
STAY = "@stay"  # target meaning "no change of state" (co-handling, supervision, evaluation)


class WorkflowError(Exception):
    """Base of the engine's refusals."""


class IllegalTransition(WorkflowError):
    """The action is not allowed from the current state."""

    def __init__(self, kind: str, state: str, action: str, allowed: list[str]):
        super().__init__(f"{kind}: '{action}' is not allowed from '{state}'")
        self.kind, self.state, self.action, self.allowed = kind, state, action, allowed


class NotPermitted(WorkflowError):
    """The action exists from this state but not for this role or unit."""

    def __init__(self, action: str, roles: frozenset[str], relations: frozenset[str]):
        super().__init__(f"'{action}' needs role {' or '.join(sorted(roles))} "
                         f"at the {' or '.join(sorted(relations))} unit")
        self.action = action


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str  # a state, or PRIOR
    roles: frozenset[str]
    relations: frozenset[str]
    starts: tuple[str, ...] = ()  # clocks this transition starts
    stops: tuple[str, ...] = ()  # clocks it meets (stops as met)
    pauses: tuple[str, ...] = ()
    resumes: tuple[str, ...] = ()
    description: str = ""

    def permits(self, role: str, relations: frozenset[str]) -> bool:
        return role in self.roles and bool(self.relations & relations)


def t(action: str, sources: str | tuple[str, ...], target: str, *, roles: tuple[str, ...],
      by: tuple[str, ...], starts=(), stops=(), pauses=(), resumes=(), description: str = "") -> Transition:
    """Shorthand for the workflow tables."""
    srcs = (sources,) if isinstance(sources, str) else sources
    return Transition(action, frozenset(srcs), target, frozenset(roles), frozenset(by), tuple(starts), tuple(stops),
                      tuple(pauses), tuple(resumes), description)


@dataclass(frozen=True)
class Workflow:
    kind: str
    states: tuple[str, ...]
    initial: str
    terminal: frozenset[str]
    transitions: tuple[Transition, ...]
    clocks: frozenset[str] = field(default_factory=frozenset)
    # clock -> the relation (in OWNER_LEVELS) of the unit that must meet it; absent means the handling unit.
    clock_owners: Mapping[str, str] = field(default_factory=dict, hash=False)
    # Clocks kept per co-handling part (协办), owed by that part's unit. Starting one starts it for every
    # open part without one; a transition that stays in its state stops those of parts it closed, any
    # other stops them all; pausing and resuming apply to all.
    part_clocks: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """A bad table is a programming error: fail at import, not at the first request."""
        states = set(self.states)
        if self.initial not in states:
            raise ValueError(f"{self.kind}: initial state {self.initial} is not a state")
        if not self.terminal <= states:
            raise ValueError(f"{self.kind}: terminal states {self.terminal - states} are not states")
        seen: set[tuple[str, str]] = set()
        for tr in self.transitions:
            for src in tr.sources:
                if src not in states:
                    raise ValueError(f"{self.kind}.{tr.action}: unknown source state {src}")
                if (tr.action, src) in seen:
                    raise ValueError(f"{self.kind}.{tr.action}: two transitions from {src}")
                seen.add((tr.action, src))
            if tr.target not in (PRIOR, STAY) and tr.target not in states:
                raise ValueError(f"{self.kind}.{tr.action}: unknown target state {tr.target}")
            if not tr.relations <= RELATIONS:
                raise ValueError(f"{self.kind}.{tr.action}: unknown relation {tr.relations - RELATIONS}")
            for clock in (*tr.starts, *tr.stops, *tr.pauses, *tr.resumes):
                if clock not in self.clocks:
                    raise ValueError(f"{self.kind}.{tr.action}: unknown clock {clock}")
        if not self.part_clocks <= self.clocks or self.part_clocks & set(self.clock_owners):
            raise ValueError(f"{self.kind}: part clocks {set(self.part_clocks)} must be clocks without an owner")
        for clock, owner in self.clock_owners.items():
            if clock not in self.clocks or owner not in OWNER_LEVELS:
                raise ValueError(f"{self.kind}: clock owner {clock}={owner} names an unknown clock or relation")

    def owner_levels(self, clock: str) -> int:
        """How many levels above the handling unit the unit owing ``clock`` sits."""
        return OWNER_LEVELS[self.clock_owners.get(clock, HANDLER)]

    def answering_levels(self, state: str) -> int:
        """How far above the handling unit the unit that owes the next answer in ``state`` sits.

        Read off the table: the owners of the clocks that the transitions into ``state`` start
        (under review the review clock's, one level up); 0, the handling unit, everywhere else.
        """
        return max((self.owner_levels(clock) for tr in self.transitions if tr.target == state
                    for clock in tr.starts), default=0)

    @property
    def actions(self) -> list[str]:
        return sorted({tr.action for tr in self.transitions})

    def transition_for(self, state: str, action: str) -> Transition | None:
        for tr in self.transitions:
            if tr.action == action and state in tr.sources:
                return tr
        return None

    def actions_from(self, state: str) -> list[str]:
        return sorted({tr.action for tr in self.transitions if state in tr.sources})

    def allowed(self, state: str, role: str, relations: frozenset[str]) -> list[str]:
        """Actions this actor may take now (before data guards)."""
        return sorted({tr.action for tr in self.transitions if state in tr.sources and tr.permits(role, relations)})

    def check(self, state: str, action: str, role: str, relations: frozenset[str]) -> Transition:
        """The transition for ``action`` from ``state`` by this actor, or raise."""
        tr = self.transition_for(state, action)
        if tr is None:
            raise IllegalTransition(self.kind, state, action, self.actions_from(state))
        if not tr.permits(role, relations):
            raise NotPermitted(action, tr.roles, tr.relations)
        return tr

    def target_of(self, tr: Transition, *, current: str, prior: str | None) -> str:
        if tr.target == STAY:
            return current
        if tr.target == PRIOR:
            if prior is None:
                raise WorkflowError(f"{self.kind}.{tr.action}: no prior state to return to")
            return prior
        return tr.target
