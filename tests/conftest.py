"""Test harness.

The schema is made once per session by the real Alembic migrations; every test
then runs inside one outer transaction that is rolled back, with the app's own
commits turned into savepoints. Tests marked ``postgres_only`` need PostgreSQL
itself; they skip on the embedded default, and CASEWORK_REQUIRE_POSTGRES=1 (set
by .ci/run) turns that skip into a failure.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from casework.db import make_engine

_TMP = Path(tempfile.mkdtemp(prefix="casework-tests-"))
os.environ.setdefault("CASEWORK_INSTANCE", str(_TMP / "instance"))
DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL") or f"sqlite:///{_TMP / 'test.db'}"
os.environ["TEST_DATABASE_URL"] = DATABASE_URL
IS_POSTGRES = DATABASE_URL.startswith("postgresql")
REQUIRE_POSTGRES = os.environ.get("CASEWORK_REQUIRE_POSTGRES") == "1"


def pytest_configure(config):
    if REQUIRE_POSTGRES and not IS_POSTGRES:
        raise pytest.UsageError("CASEWORK_REQUIRE_POSTGRES=1 but the tests are not pointed at PostgreSQL")


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres_only") and not IS_POSTGRES:
        if REQUIRE_POSTGRES:
            pytest.fail("a postgres_only test would skip, but CASEWORK_REQUIRE_POSTGRES=1")
        pytest.skip("needs PostgreSQL (set TEST_DATABASE_URL); runs in CI")


@pytest.fixture(scope="session")
def app():
    from casework.app import create_app
    from casework.extensions import db, redis_store
    from casework.migrate import upgrade
    from casework.units.loader import load_units
    from config import TestingConfig

    upgrade(DATABASE_URL)
    settings = TestingConfig()
    application = create_app(settings)
    with application.app_context():
        load_units(session=db.session)
        db.session.commit()
        redis_store.client.flushdb()
    yield application
    db.dispose()


@pytest.fixture()
def session(app):
    """db.session bound to a connection whose outer transaction is rolled back after the test."""
    from casework.extensions import db

    connection = db.engine.connect()
    outer = connection.begin()
    db.session.remove()
    db.session.configure(bind=connection, join_transaction_mode="create_savepoint")
    ctx = app.app_context()
    ctx.push()
    try:
        yield db.session
    finally:
        db.session.remove()
        ctx.pop()
        outer.rollback()
        connection.close()
        db.session.configure(bind=db.engine)


@pytest.fixture()
def committed_session(app):
    """db.session on the real engine, for tests that need real commits across threads.

    The test must delete what it created; rows it leaves would leak into others.
    """
    from casework.extensions import db

    ctx = app.app_context()
    ctx.push()
    db.session.remove()
    try:
        yield db.session
    finally:
        db.session.remove()
        ctx.pop()


@pytest.fixture()
def redis_client(app):
    from casework.extensions import redis_store

    client = redis_store.client
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture()
def client(app, session, redis_client):
    return app.test_client()


@pytest.fixture()
def make_user(session):
    """Create a user quickly; returns (user, auth headers)."""
    from tests.factories import UserFactory, auth_headers

    def _make(role="clerk", unit="360827", **kwargs):
        user = UserFactory(role=role, unit_code=unit, **kwargs)
        return user, auth_headers(user)

    return _make


@pytest.fixture()
def pg_engine():
    """A separate engine on the test database (PostgreSQL-only tests use it for raw SQL)."""
    engine = make_engine(DATABASE_URL)
    yield engine
    engine.dispose()


@pytest.fixture()
def unit_count(session):
    from casework.units.models import Unit

    return session.scalar(sa.select(sa.func.count()).select_from(Unit))
