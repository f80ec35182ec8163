"""The declarative base and the session handle shared by the API, the CLI and the workers.

Exactly one place commits: the request teardown (``casework.app``) or the job
wrapper (``workers.jobs``). Service functions only flush.
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes stored in UTC on both PostgreSQL and SQLite.

    SQLite drops offsets, so values are normalised to UTC on the way in and
    re-labelled UTC on the way out; PostgreSQL stores timestamptz.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    """The current time from the injectable clock (``casework.clock``)."""
    from casework import clock

    return clock.now()


class Database:
    """Engine plus a thread-scoped session; bound lazily by ``init_app`` or ``configure``."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.session = scoped_session(sessionmaker(expire_on_commit=False, autoflush=True))

    def configure(self, url: str, **engine_kwargs) -> Engine:
        """Create the engine for ``url`` and bind the session factory to it."""
        if self.engine is not None and str(self.engine.url) == url:
            return self.engine
        self.session.remove()
        self.engine = make_engine(url, **engine_kwargs)
        self.session.configure(bind=self.engine)
        return self.engine

    def dispose(self) -> None:
        self.session.remove()
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None


def make_engine(url: str, **kwargs) -> Engine:
    """An engine with the per-dialect settings the project relies on."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = sa.create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # The app's queries are short lookups whose plan costs can look huge (an OR over a participants
    # subquery): PostgreSQL then spends up to a second compiling them with JIT to save milliseconds.
    # Analytic passes that gain from JIT may turn it on for their own transaction.
    # No server-side prepared statements: psycopg prepares a statement on its fifth run, and PostgreSQL's
    # generic plan for "unit_path LIKE $1 || '%'" cannot use the prefix as an index range; the overdue list
    # of a province went from 2 ms to 250 ms from its tenth request on (bench/bench_reads.py). Each statement
    # is planned with its values instead (~0.1-1 ms). Not plan_cache_mode=force_custom_plan: that also
    # re-plans PostgreSQL's own cached foreign-key checks for every row, and made the sweep's INSERTs 2x slower.
    kwargs.setdefault("connect_args", {"options": "-c jit=off", "prepare_threshold": None})
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    return sa.create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and defers BEGIN;
    # take control so transactions and savepoints behave as on PostgreSQL.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn) -> None:
    # IMMEDIATE takes the write lock up front: concurrent writers then wait on
    # busy_timeout instead of failing when a read transaction tries to upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def is_postgres(session_or_engine) -> bool:
    bind = session_or_engine.get_bind() if hasattr(session_or_engine, "get_bind") else session_or_engine
    return bind.dialect.name == "postgresql"
