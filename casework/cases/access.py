"""Who sees a case and how the caller stands to it."""
from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from casework.auth.jurisdiction import scope_path
from casework.auth.models import User
from casework.cases.models import Case, CaseParticipant
from casework.problem import NotFound
from casework.units.models import Unit
from casework.units.tree import codes_of
from casework.workflow.definitions import workflow_for
from casework.workflow.engine import ANCESTOR, CO_HANDLER, DISPATCHER, GRANDPARENT, HANDLER, PARENT


# Case ids are 32-bit integer columns on PostgreSQL.
MAX_ID = 2**31 - 1


def visible_condition(user: User) -> sa.ColumnElement[bool]:
    """Cases handled in the caller's subtree, or in which a unit of that subtree co-handles."""
    return _visible_within(scope_path(user))


def _visible_within(root: str) -> sa.ColumnElement[bool]:
    co_handled = (
        sa.select(CaseParticipant.case_id)
        .join(Unit, Unit.code == CaseParticipant.unit_code)
        .where(Unit.path.startswith(root, autoescape=True))
    )
    return sa.or_(Case.unit_path.startswith(root, autoescape=True), Case.id.in_(co_handled))


def visible_among(user: User, ids, *, postgres: bool = False) -> sa.ColumnElement[bool]:
    """``visible_condition`` for a known set of case ids: the co-handling look-up reads only their participants.

    The general condition's subquery ranges over every participant of the subtree. PostgreSQL costs it in the
    millions even when the ``unit_path`` branch makes it never run, so every query with it was JIT-compiled
    (~110 ms), and below the ministry it hashes all participants of the subtree (docs/performance.md).
    """
    root = scope_path(user)
    ids = [int(i) for i in ids]
    co_handled = (
        sa.select(CaseParticipant.case_id)
        .join(Unit, Unit.code == CaseParticipant.unit_code)
        .where(ids_in(CaseParticipant.case_id, ids, postgres=postgres), Unit.path.startswith(root, autoescape=True))
    )
    return sa.and_(ids_in(Case.id, ids, postgres=postgres),
                   sa.or_(Case.unit_path.startswith(root, autoescape=True), Case.id.in_(co_handled)))


def ids_in(column, ids, *, postgres: bool = False) -> sa.ColumnElement[bool]:
    """``column IN ids`` for up to a few thousand integer ids: one array parameter on PostgreSQL, the ids
    written into the SQL elsewhere. One bound parameter per id cost the driver more than the query took."""
    ids = [int(i) for i in ids]
    if postgres:  # an array literal in a text parameter: the driver's list adapter cost more than the query
        text = "{" + ",".join(map(str, ids)) + "}"
        return column == sa.any_(sa.cast(sa.bindparam("ids", text, type_=sa.Text, unique=True),
                                         postgresql.ARRAY(sa.Integer)))
    return column.in_(sa.bindparam("ids", ids, expanding=True, literal_execute=True, unique=True))


def get_visible_case(*, session, case_id: int, user: User, for_update: bool = False) -> Case:
    """The case if the caller may see it; 404 otherwise (its existence is not revealed)."""
    if not 0 < case_id <= MAX_ID:  # the database cannot even bind a larger id (was a 500)
        raise NotFound(f"case {case_id} not found")
    case = session.scalar(_visible_case(scope_path(user), for_update), {"case_id": case_id})
    if case is None:
        raise NotFound(f"case {case_id} not found")
    return case


@functools.lru_cache(maxsize=1024)
def _visible_case(root: str, for_update: bool) -> sa.Select:
    """The look-up of one case visible from ``root``, built once per subtree: building the statement
    anew for every action cost several times what running it did."""
    stmt = sa.select(Case).where(Case.id == sa.bindparam("case_id"), _visible_within(root))
    if for_update:
        stmt = stmt.with_for_update(of=Case).execution_options(populate_existing=True)
    return stmt


def relations_of(user: User, case: Case) -> frozenset[str]:
    """How the caller's unit stands to the case, in the engine's vocabulary."""
    rel: set[str] = set()
    chain = codes_of(case.unit_path)  # root … handling unit
    if user.unit_code == case.handling_unit:
        # A petition or complaint back at "registered" waits for (re)assignment by the unit holding it.
        dispatching = case.status == "registered" and case.kind in ("petition", "complaint")
        rel.add(DISPATCHER if dispatching else HANDLER)
    if len(chain) >= 2 and user.unit_code == chain[-2]:
        rel.add(PARENT)
    if len(chain) >= 3 and user.unit_code == chain[-3]:
        rel.add(GRANDPARENT)
    if user.unit_code in chain[:-1]:
        rel.add(ANCESTOR)
    if any(p.role == "co" and p.state == "open" and p.unit_code == user.unit_code for p in case.participants):
        rel.add(CO_HANDLER)
    return frozenset(rel)


def unit_above_handler(case: Case, levels: int) -> str:
    """The unit ``levels`` above the handling unit (0: the handling unit), the tree's root at most."""
    chain = codes_of(case.unit_path)  # root … handling unit
    return chain[max(0, len(chain) - 1 - levels)]


def answering_unit(case: Case) -> str:
    """The unit that owes the case's next answer now: the handling unit, or the unit deciding a review."""
    return unit_above_handler(case, workflow_for(case.kind).answering_levels(case.status))
