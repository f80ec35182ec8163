"""Models and migrations agree; the migration chain has one head and runs both ways."""
from __future__ import annotations

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
