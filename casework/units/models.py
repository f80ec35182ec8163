from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.db import Base

LEVELS = ("ministry", "province", "city", "county")
KINDS = ("civil_affairs", "discipline")
MINISTRY_CODE = "100000"
# Discipline-inspection units mirror the civil-affairs tree; their code is the
# division code with this prefix, so both trees share one table and one path scheme.
DISCIPLINE_PREFIX = "D"


class Unit(Base):
    __tablename__ = "units"
    __table_args__ = (
        sa.CheckConstraint("level IN ('ministry','province','city','county')", name="level"),
        sa.CheckConstraint("kind IN ('civil_affairs','discipline')", name="kind"),
        sa.CheckConstraint("(level = 'ministry') = (parent_code IS NULL)", name="root_is_ministry"),
        # Pattern ops so PostgreSQL uses the index for the subtree's LIKE 'prefix%'.
        sa.Index("ix_units_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
    )

    code: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    level: Mapped[str] = mapped_column(sa.String(16))
    kind: Mapped[str] = mapped_column(sa.String(16), default="civil_affairs")
    division_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    parent_code: Mapped[str | None] = mapped_column(sa.ForeignKey("units.code"), index=True)
    # Materialised path of codes, root first, '/'-terminated: a subtree is one
    # prefix match on an indexed column, with no recursive query.
    path: Mapped[str] = mapped_column(sa.String(200))
    depth: Mapped[int] = mapped_column(sa.SmallInteger)
    # Where this unit wants its notifications POSTed (signed with webhook_secret), if anywhere.
    webhook_url: Mapped[str | None] = mapped_column(sa.String(500))
    webhook_secret: Mapped[str | None] = mapped_column(sa.String(200))

    parent: Mapped[Unit | None] = relationship(remote_side=[code], lazy="raise")

    def path_codes(self) -> list[str]:
        return [c for c in self.path.split("/") if c]

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name}>"
