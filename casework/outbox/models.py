from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from casework.cases.models import JSONType
from casework.db import Base, UTCDateTime, utcnow


class OutboxMessage(Base):
    """A job to enqueue, written in the transaction of the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.CheckConstraint("state IN ('pending','sent')", name="state"),
        sa.CheckConstraint("(state = 'sent') = (sent_at IS NOT NULL)", name="sent_has_time"),
        sa.Index("ix_outbox_pending", "id", sqlite_where=sa.text("state = 'pending'"),
                 postgresql_where=sa.text("state = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(sa.String(40))
    func: Mapped[str] = mapped_column(sa.String(200))
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[str] = mapped_column(sa.String(8), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))

    @property
    def job_id(self) -> str:
        # A stable RQ job id: a relay that crashed after enqueueing cannot enqueue twice. The creation
        # time is part of it because SQLite may reuse the id of a deleted row.
        return f"outbox-{self.id}-{int(self.created_at.timestamp() * 1_000_000)}"
