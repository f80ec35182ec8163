from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.db import Base, UTCDateTime, utcnow
from casework.units.models import Unit

ROLES = ("clerk", "supervisor", "inspector", "admin")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint("role IN ('clerk','supervisor','inspector','admin')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16))
    unit_code: Mapped[str] = mapped_column(sa.ForeignKey("units.code"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Bumped on logout or disable: tokens carry the version they were issued under.
    token_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Open311 clients authenticate with an API key; only its SHA-256 is stored.
    api_key_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    unit: Mapped[Unit] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}@{self.unit_code}>"
