"""Alembic environment: the models' metadata is the target; the URL comes from the caller."""
from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from casework.db import make_engine
from casework.migrate import object_filter
from casework.models import metadata

config = context.config


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    # Batch mode lets ALTER TABLE work on SQLite, the embedded default, by copying the table into a new one
    # and dropping the old. With foreign keys enforced, that DROP runs every ON DELETE action of the tables
    # that refer to it: recreating cases would delete every clock, 督办 and notification. So, as SQLite's
    # documentation prescribes for this, keys are off while migrating (the pragma is ignored inside a
    # transaction, hence before BEGIN) and checked before the migration commits.
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        if connection.in_transaction():
            raise RuntimeError("migrate SQLite on a connection outside a transaction: foreign keys must go off first")
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    applied: list[str] = []
    # transactional_ddl: SQLite's DDL is transactional (Alembic assumes not and commits each revision on its
    # own), so the whole upgrade is one transaction and the key check below can still roll it back.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True,
                      include_object=object_filter(connection.dialect.name), transactional_ddl=True,
                      on_version_apply=lambda *, step, **_: applied.append(str(step)))
    try:
        with context.begin_transaction():
            context.run_migrations()
            # Only after a change: the check reads the whole database under the write lock, and start-up
            # runs the upgrade every time.
            if sqlite and applied:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the migration left rows whose foreign keys point nowhere: {broken[:10]}")
    finally:
        if sqlite:
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
