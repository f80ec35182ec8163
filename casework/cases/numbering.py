"""Readable case numbers: ``XF-<region>-<year>-<serial>``, serial unique per region and year.

The counter row is created or bumped with one INSERT ... ON CONFLICT DO UPDATE
... RETURNING, which takes the row lock on PostgreSQL (and the database write
lock on SQLite), so concurrent intakes in one region get consecutive serials
with no collisions and no gaps other than those left by rolled-back requests.
"""
from __future__ import annotations

from casework.cases.models import CaseNumberCounter
from casework.common.sql import upsert_insert

PREFIXES = {"petition": "XF", "complaint": "SQ", "lead": "XS", "rectification": "ZG"}


def next_number(*, session, kind: str, region: str, year: int) -> str:
    """Allocate the next case number for ``kind`` in ``region`` and ``year``."""
    prefix = PREFIXES[kind]
    serial = session.execute(_bump(session), {"prefix": prefix, "region": region, "year": year, "last": 1}
                             ).scalar_one()
    return f"{prefix}-{region}-{year}-{serial:06d}"


_BUMP: dict[str, object] = {}


def _bump(session):
    """The counter upsert, built once per backend; the values are bound at execution."""
    dialect = session.get_bind().dialect.name
    if dialect not in _BUMP:
        table = CaseNumberCounter.__table__
        _BUMP[dialect] = (upsert_insert(session, table)
                          .on_conflict_do_update(index_elements=["prefix", "region", "year"],
                                                 set_={"last": table.c.last + 1})
                          .returning(table.c.last))
    return _BUMP[dialect]
