"""Who may see what: a user sees its unit's subtree and nothing else.

Every query over units, cases or anything owned by a unit goes through
``within_scope`` so the rule is written once.
"""
from __future__ import annotations

import sqlalchemy as sa

from casework.auth.models import User
from casework.units.models import Unit
from casework.units.tree import is_within


def scope_path(user: User) -> str:
    return user.unit.path


def within_scope(column: sa.ColumnElement, user: User) -> sa.ColumnElement[bool]:
    """A SQL condition: ``column`` (a unit path) lies in the user's subtree."""
    return column.startswith(scope_path(user), autoescape=True)


def can_see_path(user: User, path: str) -> bool:
    return is_within(path, scope_path(user))


def can_see_unit(user: User, unit: Unit) -> bool:
    return can_see_path(user, unit.path)


def civil_scope_path(user: User) -> str:
    """The civil-affairs subtree a user oversees: a discipline unit's inspectors oversee the
    civil-affairs units of their own division (for bulletins and ledgers, not for cases)."""
    path = user.unit.path
    return path.replace("D", "") if user.unit.kind == "discipline" else path
