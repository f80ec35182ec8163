"""Dialect helpers for the few statements SQLAlchemy core spells per backend."""
from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite


def upsert_insert(session, table):
    """An INSERT that supports ``on_conflict_do_*`` on the session's backend."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database backend {name}")
