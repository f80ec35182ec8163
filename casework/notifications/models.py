from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from casework.cases.models import JSONType
from casework.db import Base, UTCDateTime, utcnow

NOTIFICATION_KINDS = ("warning", "breach", "supervision", "escalation", "assignment", "return_flag", "extension")


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # Producers name each notification; a re-run of the sweep cannot notify twice.
        sa.UniqueConstraint("dedup_key", name="uq_notifications_dedup_key"),
        sa.Index("ix_notifications_unit_unread", "unit_code", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(sa.ForeignKey("units.code"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    supervision_id: Mapped[int | None] = mapped_column(sa.ForeignKey("supervisions.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(sa.String(300))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    dedup_key: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.CheckConstraint("state IN ('pending','delivered','failed')", name="state"),
        sa.UniqueConstraint("notification_id", "unit_code", name="uq_webhook_deliveries_notification_unit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(sa.ForeignKey("notifications.id", ondelete="CASCADE"))
    unit_code: Mapped[str] = mapped_column(sa.ForeignKey("units.code"))
    url: Mapped[str] = mapped_column(sa.String(500))
    state: Mapped[str] = mapped_column(sa.String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_status: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
