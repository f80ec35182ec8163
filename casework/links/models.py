from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from casework.db import Base, UTCDateTime, utcnow

LINK_TYPES = ("duplicate", "same_petitioner", "same_subject", "spawned_lead", "related", "same_accused",
              "same_village")
AUTO_TYPES = ("same_petitioner", "same_accused", "same_village", "duplicate")


class CaseLink(Base):
    """An undirected link, stored once with the smaller id first (so no duplicates in either direction)."""

    __tablename__ = "case_links"
    __table_args__ = (
        sa.CheckConstraint("low_id < high_id", name="ordered_no_self"),
        sa.CheckConstraint("dismissed = false OR dismissed_at IS NOT NULL", name="dismissed_has_time"),
        sa.UniqueConstraint("low_id", "high_id", "type", name="uq_case_links_pair_type"),
        sa.Index("ix_case_links_high", "high_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    low_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    high_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(sa.String(20))
    note: Mapped[str | None] = mapped_column(sa.String(1000))
    auto: Mapped[bool] = mapped_column(default=False)
    dismissed: Mapped[bool] = mapped_column(default=False)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dismissed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
