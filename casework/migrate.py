"""Alembic, driven from code: the schema is only ever made by migrations."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)



def object_filter(dialect_name: str):
    """An Alembic ``include_object`` that skips PostgreSQL-only objects (trigram indexes) elsewhere."""

    def include_object(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "index" and not reflected and obj.info.get("postgresql_only"):
            return dialect_name == "postgresql"
        return True

    return include_object
