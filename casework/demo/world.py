"""The demo's units and staff: the 罗霄山片区 counties named in the 2020 work plan, up to the ministry."""
from __future__ import annotations

import sqlalchemy as sa

from casework.auth.models import User
from casework.security import hash_password
from casework.units.models import Unit

# 罗霄山片区 counties in 江西 (萍乡、吉安、赣州) and 湖南 (株洲、郴州).
COUNTIES = ("360321", "360827", "360828", "360830", "360881", "360731", "360732", "360781",
            "430224", "430225", "431022", "431026", "431027", "431028")
DEMO_PASSWORD = "demo-password-2026"


def demo_units(session) -> dict[str, Unit]:
    """The counties, their cities and provinces, the ministry, and the discipline units of each."""
    counties = list(session.scalars(sa.select(Unit).where(Unit.code.in_(COUNTIES))))
    codes = set()
    for county in counties:
        codes.update(c for c in county.path.split("/") if c)
    codes |= {f"D{c}" for c in codes}
    return {u.code: u for u in session.scalars(sa.select(Unit).where(Unit.code.in_(codes)))}


def ensure_users(session, units: dict[str, Unit]) -> dict[tuple[str, str], User]:
    """One user per role a unit needs; existing demo users are reused (the demo can run again)."""
    wanted = []
    for code, unit in units.items():
        if unit.kind == "discipline":
            roles = ("inspector", "supervisor") if unit.level != "county" else ()
        elif unit.level == "county":
            roles = ("clerk", "supervisor")
        else:
            roles = ("clerk", "supervisor", "admin")
        wanted += [(code, role) for role in roles]
    existing = {(u.unit_code, u.role): u for u in session.scalars(
        sa.select(User).where(User.username.like("demo\\_%", escape="\\")))}
    password_hash = hash_password(DEMO_PASSWORD, fast=True)
    for code, role in wanted:
        if (code, role) not in existing:
            user = User(username=f"demo_{code}_{role}", password_hash=password_hash, role=role, unit_code=code)
            session.add(user)
            existing[(code, role)] = user
    session.flush()
    for user in existing.values():
        user.unit = units.get(user.unit_code) or session.get(Unit, user.unit_code)
    return existing
