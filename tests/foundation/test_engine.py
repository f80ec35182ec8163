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


def test_sqlite_connections_enforce_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()
