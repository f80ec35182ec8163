"""First-run setup for the embedded default: schema, units, and a first admin."""
from __future__ import annotations

import secrets

import sqlalchemy as sa

from casework.auth.models import User
from casework.auth.service import create_user
from casework.extensions import db
from casework.migrate import upgrade
from casework.units.loader import load_units
from casework.units.models import MINISTRY_CODE, Unit


def bootstrap(app) -> str:
    """Bring the database to a usable state; returns a line to print about the admin account."""
    upgrade(app.config["SQLALCHEMY_URL"])
    if db.session.scalar(sa.select(sa.func.count()).select_from(Unit)) == 0:
        load_units(session=db.session)
    if db.session.scalar(sa.select(User.id).where(User.role == "admin").limit(1)) is not None:
        db.session.commit()
        return "an admin account already exists"
    password = secrets.token_urlsafe(12)
    create_user(session=db.session, username="admin", password=password, role="admin", unit_code=MINISTRY_CODE,
                actor=None)
    db.session.commit()
    return f"first admin account: username 'admin', password '{password}' (unit {MINISTRY_CODE}); change it after logging in"
