"""Models and migrations agree; the migration chain has one head and runs both ways."""
from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from casework.db import make_engine
from casework.migrate import alembic_config, object_filter
from casework.models import metadata
from tests.conftest import DATABASE_URL, IS_POSTGRES


def _fresh_url():
    """An empty database of the same kind as the suite's."""
    if IS_POSTGRES:
        admin = make_engine(DATABASE_URL, isolation_level="AUTOCOMMIT")
        name = f"{sa.engine.make_url(DATABASE_URL).database}_mig"
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return sa.engine.make_url(DATABASE_URL).set(database=name).render_as_string(hide_password=False), name
    return f"sqlite:///{Path(tempfile.mkdtemp()) / 'mig.db'}", None


def _drop(name):
    if name:
        admin = make_engine(DATABASE_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _diff(url):
    engine = make_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                     "include_object": object_filter(conn.dialect.name)})
        diff = compare_metadata(ctx, metadata)
    engine.dispose()
    return diff


def test_single_head():
    heads = ScriptDirectory.from_config(alembic_config(DATABASE_URL)).get_heads()
    assert len(heads) == 1, heads


def test_upgrade_matches_models_and_downgrade_roundtrip():
    url, name = _fresh_url()
    try:
        cfg = alembic_config(url)
        command.upgrade(cfg, "head")
        assert _diff(url) == []
        command.downgrade(cfg, "base")
        engine = make_engine(url)
        tables = set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
        engine.dispose()
        assert tables == set()
        command.upgrade(cfg, "head")
        assert _diff(url) == []
    finally:
        _drop(name)


def _fill(engine, table: str, values: dict) -> None:
    """INSERT one row, every other NOT NULL column without a default filled by its type (the schema of the
    revision under test, read from the database, not from today's models)."""
    columns = [c for c in sa.inspect(engine).get_columns(table)
               if c["name"] not in values and not c["nullable"] and c.get("default") is None
               and c.get("autoincrement") is not True and c["name"] != "id"]
    row = dict(values)
    for c in columns:
        kind = type(c["type"]).__name__.lower()
        row[c["name"]] = (1 if "int" in kind else False if "bool" in kind else "2026-01-01T00:00:00+00:00"
                          if "time" in kind or "date" in kind else "[]" if "json" in kind else "x")
    table_ = sa.table(table, *(sa.column(k) for k in row))
    with engine.begin() as conn:
        conn.execute(sa.insert(table_).values(row))


UNIT_NAMES = {"100000": ("民政部", "ministry"), "360000": ("江西省", "province"), "360800": ("吉安市", "city"),
              "360827": ("遂川县", "county")}


def _tree(engine, *chain: str) -> str:
    """Units ``chain`` (root first), each the parent of the next; answers the last one's path."""
    path, parent = "", None
    for depth, code in enumerate(chain):
        path += f"{code}/"
        name, level = UNIT_NAMES[code]
        _fill(engine, "units", {"code": code, "name": name, "level": level, "kind": "civil_affairs", "path": path,
                                "parent_code": parent, "depth": depth})
        parent = code
    return path


def _petition(engine, case_id: int, path: str, status: str) -> None:
    """A petition handled at 遂川县 (360827), whose unit_path is ``path``."""
    _fill(engine, "cases", {"id": case_id, "number": f"XF-360827-2026-{case_id:06d}", "kind": "petition",
                            "status": status, "region": "360827", "handling_unit": "360827",
                            "registering_unit": "360827", "unit_path": path, "people_count": 1, "version": 1,
                            "anonymous": False, "merged_into_id": None, "regions": '["360827"]'})


def _supervised_petition_at_0011(url: str):
    """A database at 0011 holding petition 7 at 遂川县 (a county straight under the ministry is enough),
    its breached clock 70 and the automatic 督办 700 on it; answers the Alembic config and the case's path."""
    cfg = alembic_config(url)
    command.upgrade(cfg, "0011")
    engine = make_engine(url)
    path = _tree(engine, "100000", "360827")
    _petition(engine, 7, path, "in_progress")
    _fill(engine, "case_clocks", {"id": 70, "case_id": 7, "unit_code": "360827", "state": "breached",
                                  "breached_at": "2026-01-02T00:00:00+00:00", "paused_at": None,
                                  "extended_days": 0, "pauses": "[]"})
    _fill(engine, "supervisions", {"id": 700, "case_id": 7, "clock_id": 70, "kind": "auto", "state": "open",
                                   "unit_code": "100000", "target_unit": "360827", "closed_at": None})
    engine.dispose()
    return cfg, path


def _rows(url: str, sql: str) -> list[tuple]:
    """The rows of ``sql`` read on a fresh engine (the migration under test ran on its own)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text(sql)).all()]
    engine.dispose()
    return rows


def test_0012_fills_case_path_from_the_case():
    """Clocks and 督办 that exist before 0012 get their case's unit_path; the overdue list relies on it."""
    url, name = _fresh_url()
    try:
        cfg, path = _supervised_petition_at_0011(url)
        command.upgrade(cfg, "0012")
        engine = make_engine(url)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT case_path FROM case_clocks WHERE id = 70")).scalar_one() == path
            assert conn.execute(sa.text("SELECT case_path FROM supervisions WHERE id = 700")).scalar_one() == path
        engine.dispose()
        command.downgrade(cfg, "0011")  # and back: the case flags' indexes return
        engine = make_engine(url)
        assert "ix_cases_overdue_path" in {i["name"] for i in sa.inspect(engine).get_indexes("cases")}
        engine.dispose()
    finally:
        _drop(name)


def test_0013_moves_live_review_clocks_to_the_reviewing_unit():
    """A review clock running before 0013 moves one level up, a re-review two; a breached one stays."""
    url, name = _fresh_url()
    try:
        cfg = alembic_config(url)
        command.upgrade(cfg, "0012")
        engine = make_engine(url)
        path = _tree(engine, "100000", "360000", "360800", "360827")
        _petition(engine, 7, path, "under_review")
        clocks = {71: ("review", "running"), 72: ("re_review", "paused"), 73: ("review", "breached"),
                  74: ("handling", "running")}
        for clock_id, (clock_name, state) in clocks.items():
            _fill(engine, "case_clocks", {
                "id": clock_id, "case_id": 7, "name": clock_name, "unit_code": "360827", "state": state,
                "case_path": path, "extended_days": 0, "pauses": "[]",
                "breached_at": "2026-01-02T00:00:00+00:00" if state == "breached" else None,
                "paused_at": "2026-01-02T00:00:00+00:00" if state == "paused" else None})
        engine.dispose()

        owners = "SELECT id, unit_code FROM case_clocks"
        command.upgrade(cfg, "0013")
        assert dict(_rows(url, owners)) == {71: "360800", 72: "360000", 73: "360827", 74: "360827"}
        command.downgrade(cfg, "0012")
        assert dict(_rows(url, owners)) == {71: "360827", 72: "360827", 73: "360827", 74: "360827"}
    finally:
        _drop(name)


def test_0014_marks_cases_whose_open_supervision_awaits_a_reply():
    url, name = _fresh_url()
    try:
        cfg = alembic_config(url)
        command.upgrade(cfg, "0013")
        engine = make_engine(url)
        path = _tree(engine, "100000", "360827")
        # case 1: an open 督办 unanswered; 2: open but answered; 3: closed unanswered; 4: none.
        for case_id in (1, 2, 3, 4):
            _petition(engine, case_id, path, "in_progress")
        for sup_id, case_id, state, replied in ((10, 1, "open", None), (20, 2, "open", "2026-01-03T00:00:00+00:00"),
                                                 (30, 3, "closed", None)):
            _fill(engine, "supervisions", {
                "id": sup_id, "case_id": case_id, "clock_id": None, "kind": "manual", "state": state,
                "unit_code": "100000", "target_unit": "360827", "case_path": path, "replied_at": replied,
                "closed_at": "2026-01-04T00:00:00+00:00" if state == "closed" else None})
        engine.dispose()
        command.upgrade(cfg, "0014")
        awaiting = dict(_rows(url, "SELECT id, awaiting_reply FROM cases"))
        assert {k: bool(v) for k, v in awaiting.items()} == {1: True, 2: False, 3: False, 4: False}
        command.downgrade(cfg, "0013")
    finally:
        _drop(name)


def test_upgrading_keeps_rows_that_refer_to_a_rebuilt_table():
    """On SQLite a migration may rebuild a table (copy, drop, rename); the rows pointing at it stay whole.

    0012 rebuilds case_clocks and 0014 cases: with foreign keys enforced during the rebuild, the DROP would
    null every 督办's clock_id (ON DELETE SET NULL) and delete every clock and 督办 (ON DELETE CASCADE).
    """
    url, name = _fresh_url()
    try:
        cfg, _path = _supervised_petition_at_0011(url)
        command.upgrade(cfg, "head")
        assert _rows(url, "SELECT case_id FROM case_clocks") == [(7,)]
        assert _rows(url, "SELECT clock_id, case_id FROM supervisions") == [(70, 7)]
    finally:
        _drop(name)


def _dangling_event(engine, path: str) -> None:
    """A trail row of a case that does not exist, written past the keys (plain sqlite3 leaves them off)."""
    columns = [c for c in sa.inspect(engine).get_columns("case_events")
               if not c["nullable"] and c.get("default") is None and c["name"] != "id"]
    row = {c["name"]: (1 if "int" in type(c["type"]).__name__.lower() else "x") for c in columns}
    row.update(case_id=999, seq=1, params="{}", created_at="2026-01-01T00:00:00+00:00")
    raw = sqlite3.connect(path)
    raw.execute(f"INSERT INTO case_events ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()))
    raw.commit()
    raw.close()


def test_sqlite_migration_refuses_to_commit_dangling_keys_and_a_no_op_upgrade_skips_the_check():
    """An applied revision runs PRAGMA foreign_key_check before it commits; an up-to-date start-up does not."""
    path = str(Path(tempfile.mkdtemp()) / "fk.db")  # the check is SQLite's, whatever the suite runs on
    url = f"sqlite:///{path}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "0013")
    engine = make_engine(url)
    _dangling_event(engine, path)

    def revision() -> str:
        with engine.connect() as c:
            return c.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()

    try:
        command.upgrade(cfg, "0014")
    except RuntimeError as exc:
        assert "foreign keys point nowhere" in str(exc)
    else:
        raise AssertionError("a migration committed over a dangling foreign key")
    assert revision() == "0013"  # rolled back whole
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM case_events WHERE case_id = 999")
    command.upgrade(cfg, "head")
    _dangling_event(engine, path)
    command.upgrade(cfg, "head")  # nothing to apply: no whole-database check at start-up
    assert revision() == ScriptDirectory.from_config(cfg).get_current_head()
    engine.dispose()
