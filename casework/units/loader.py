"""Loads the national division table that ships with the project (see data/SOURCE.md)."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from casework.common.sql import upsert_insert
from casework.units.models import DISCIPLINE_PREFIX, Unit
from casework.units.tree import path_of

DATA_FILE = Path(__file__).resolve().parent / "data" / "divisions.csv"
BATCH = 500


@dataclass(frozen=True)
class DivisionRow:
    code: str
    name: str
    level: str
    parent: str | None


def read_divisions(path: Path = DATA_FILE) -> list[DivisionRow]:
    """Rows of the data file, parents before children, validated."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [DivisionRow(r["code"], r["name"], r["level"], r["parent"] or None) for r in csv.DictReader(fh)]
    seen: set[str] = set()
    for row in rows:
        if row.code in seen:
            raise ValueError(f"{path.name}: duplicate code {row.code}")
        if row.parent is not None and row.parent not in seen:
            raise ValueError(f"{path.name}: {row.code} names parent {row.parent} that does not come before it")
        seen.add(row.code)
    return rows


def unit_rows(divisions: Iterable[DivisionRow]) -> list[dict]:
    """Both trees, civil affairs and discipline, as dicts ready to insert."""
    paths: dict[str, str] = {}
    out: list[dict] = []
    for d in divisions:
        paths[d.code] = path_of(paths.get(d.parent) if d.parent else None, d.code)
        depth = paths[d.code].count("/") - 1
        out.append(dict(code=d.code, name=d.name, level=d.level, kind="civil_affairs", division_code=d.code,
                        parent_code=d.parent, path=paths[d.code], depth=depth))
    for d in divisions:
        dcode = DISCIPLINE_PREFIX + d.code
        dpath = "".join(f"{DISCIPLINE_PREFIX}{c}/" for c in paths[d.code].split("/") if c)
        name = "驻民政部纪检监察组" if d.parent is None else f"{d.name}民政纪检监察组"
        out.append(dict(code=dcode, name=name, level=d.level, kind="discipline", division_code=d.code,
                        parent_code=DISCIPLINE_PREFIX + d.parent if d.parent else None, path=dpath,
                        depth=dpath.count("/") - 1))
    return out


def load_units(*, session, progress: Callable[[int], None] | None = None, path: Path = DATA_FILE) -> int:
    """Insert or update every unit from the data file; returns how many rows were written."""
    rows = unit_rows(read_divisions(path))
    table = Unit.__table__
    for start in range(0, len(rows), BATCH):
        batch = rows[start:start + BATCH]
        stmt = upsert_insert(session, table).values(batch)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.code],
            set_={c: stmt.excluded[c] for c in ("name", "level", "kind", "division_code", "parent_code", "path", "depth")},
        )
        session.execute(stmt)
        if progress:
            progress(len(batch))
    session.flush()
    return len(rows)
