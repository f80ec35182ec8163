"""Queries over the unit tree."""
from __future__ import annotations

import sqlalchemy as sa

from casework.problem import NotFound
from casework.units.models import Unit
from casework.units.tree import codes_of, common_ancestor_path


def get_unit(*, session, code: str) -> Unit:
    """The unit with ``code`` or NotFound."""
    unit = session.get(Unit, code)
    if unit is None:
        raise NotFound(f"unit {code} does not exist", errors={"unit": [f"unknown unit {code}"]})
    return unit


def find_unit(*, session, code: str) -> Unit | None:
    """The unit with ``code`` or None."""
    return session.get(Unit, code) if code else None


def list_units(*, session, level: str | None = None, parent: str | None = None, kind: str | None = None,
               within_path: str | None = None) -> sa.Select:
    """A select of units filtered by level, parent, kind and subtree."""
    stmt = sa.select(Unit).order_by(Unit.code)
    if level:
        stmt = stmt.where(Unit.level == level)
    if parent:
        stmt = stmt.where(Unit.parent_code == parent)
    if kind:
        stmt = stmt.where(Unit.kind == kind)
    if within_path:
        stmt = stmt.where(Unit.path.startswith(within_path, autoescape=True))
    return stmt


def children(*, session, code: str) -> list[Unit]:
    """Direct children of a unit."""
    return list(session.scalars(sa.select(Unit).where(Unit.parent_code == code).order_by(Unit.code)))


def ancestors(*, session, unit: Unit) -> list[Unit]:
    """Parent chain from the unit's parent up to the root."""
    codes = codes_of(unit.path)[:-1]
    if not codes:
        return []
    by_code = {u.code: u for u in session.scalars(sa.select(Unit).where(Unit.code.in_(codes)))}
    return [by_code[c] for c in reversed(codes)]


def lowest_common_ancestor(*, session, codes: list[str]) -> Unit:
    """The deepest unit that contains every unit in ``codes``."""
    units = [get_unit(session=session, code=c) for c in codes]
    return get_unit(session=session, code=codes_of(common_ancestor_path([u.path for u in units]))[-1])

