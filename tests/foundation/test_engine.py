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
def test_a_prepared_prefix_query_keeps_its_index_range():
    """A jurisdiction prefix (``LIKE $1 || '%'``) in a generic plan is no index range: the app's sessions plan
    every run of a prepared statement with its values."""
    engine = make_engine(DATABASE_URL)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
            conn.execute(sa.text("PREPARE in_scope(text) AS SELECT id FROM cases WHERE unit_path LIKE $1 || '%'"))

            def plan() -> str:
                for _ in range(6):  # past the five custom runs after which PostgreSQL may settle on a generic plan
                    conn.execute(sa.text("EXECUTE in_scope('100000/360000/')")).all()
                return "\n".join(conn.execute(sa.text("EXPLAIN EXECUTE in_scope('100000/360000/')")).scalars())

            assert "~>=~" in plan()  # the prefix became an index range
            conn.execute(sa.text("SET LOCAL plan_cache_mode = force_generic_plan"))
            assert "~>=~" not in plan()  # what a generic plan would run: the check can tell them apart
            conn.rollback()
    finally:
        engine.dispose()


def test_sqlite_connections_enforce_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()
