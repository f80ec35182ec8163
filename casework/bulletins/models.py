from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from casework.cases.models import JSONType
from casework.db import Base, UTCDateTime, utcnow


class Bulletin(Base):
    """One version of one unit's bulletin for one period. Once built it is never changed: a rebuild
    is a new version, and ``figures`` keeps the numbers as they were at build time."""

    __tablename__ = "bulletins"
    __table_args__ = (
        sa.CheckConstraint("period IN ('week','month','quarter','year')", name="period"),
        sa.CheckConstraint("state IN ('queued','building','done','failed')", name="state"),
        sa.CheckConstraint("(state = 'done') = (built_at IS NOT NULL AND figures IS NOT NULL)", name="done_has_figures"),
        sa.UniqueConstraint("unit_code", "period", "period_start", "version", name="uq_bulletins_version"),
        sa.Index("ix_bulletins_unit_period", "unit_code", "period", "period_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(sa.ForeignKey("units.code"))
    period: Mapped[str] = mapped_column(sa.String(8))
    period_start: Mapped[date] = mapped_column(sa.Date)
    period_end: Mapped[date] = mapped_column(sa.Date)
    version: Mapped[int] = mapped_column(default=1)
    state: Mapped[str] = mapped_column(sa.String(10), default="queued")
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    requested_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(sa.String(500))
