"""Per-dialect engine settings the project relies on."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from casework.db import make_engine
from tests.conftest import DATABASE_URL


@pytest.mark.postgres_only
def test_app_connections_run_without_jit_unless_a_pass_asks_for_it():
    engine = make_engine(DATABASE_URL)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW jit")).scalar() == "off"
            conn.execute(sa.text("SET LOCAL jit = on"))  # an analytic pass may still turn it on
            assert conn.execute(sa.text("SHOW jit")).scalar() == "on"
    finally:
        engine.dispose()


@pytest.mark.postgres_only
def test_app_statements_are_never_prepared_so_a_prefix_stays_an_index_range():
    """A jurisdiction prefix (``LIKE $1 || '%'``) in a generic plan is no index range, and PostgreSQL may switch a
    prepared statement to its generic plan from the sixth run on: the app's connections never prepare one."""
    import psycopg

    query = "SELECT count(*) FROM cases WHERE unit_path LIKE %(p)s || '%%'"
    engine = make_engine(DATABASE_URL)
    try:
        with engine.connect() as conn:
            for _ in range(12):
                conn.exec_driver_sql(query, {"p": "100000/360000/"})
            assert conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar() == 0
            assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "auto"  # FK checks keep their plans
    finally:
        engine.dispose()
    # The same statements on a plain psycopg connection are prepared: the check above can tell them apart.
    with psycopg.connect(engine.url.set(drivername="postgresql").render_as_string(hide_password=False)) as raw:
        for _ in range(12):
            raw.execute(query, {"p": "100000/360000/"})
        assert raw.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0] == 1


def test_sqlite_connections_enforce_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()
