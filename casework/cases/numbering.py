"""Readable case numbers: ``XF-<region>-<year>-<serial>``, serial unique per region and year.

The counter row is bumped with one UPDATE ... RETURNING, which takes the row
lock on PostgreSQL (and the database write lock on SQLite), so concurrent
intakes in one region get consecutive serials with no collisions and no gaps
other than those left by rolled-back requests.
"""
from __future__ import annotations

import sqlalchemy as sa

from casework.cases.models import CaseNumberCounter
from casework.common.sql import upsert_insert

PREFIXES = {"petition": "XF", "complaint": "SQ", "lead": "XS", "rectification": "ZG"}


def next_number(*, session, kind: str, region: str, year: int) -> str:
    """Allocate the next case number for ``kind`` in ``region`` and ``year``."""
    prefix = PREFIXES[kind]
    table = CaseNumberCounter.__table__
    session.execute(
        upsert_insert(session, table).values(prefix=prefix, region=region, year=year, last=0)
        .on_conflict_do_nothing(index_elements=["prefix", "region", "year"])
    )
    serial = session.execute(
        sa.update(table)
        .where(table.c.prefix == prefix, table.c.region == region, table.c.year == year)
        .values(last=table.c.last + 1)
        .returning(table.c.last)
    ).scalar_one()
    return f"{prefix}-{region}-{year}-{serial:06d}"
