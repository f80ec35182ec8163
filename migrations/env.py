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
    # Batch mode lets ALTER TABLE work on SQLite, the embedded default.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True,
                      include_object=object_filter(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
