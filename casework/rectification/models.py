from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from casework.db import Base, UTCDateTime, utcnow


class RectificationItem(Base):
    """The ledger facts of a rectification case (整改任务、举措、时限、责任人)."""

    __tablename__ = "rectification_items"

    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    source_text: Mapped[str] = mapped_column(sa.Text)
    finding_date: Mapped[date] = mapped_column(sa.Date)
    task: Mapped[str] = mapped_column(sa.String(500))
    measures: Mapped[str] = mapped_column(sa.Text)
    deadline: Mapped[date] = mapped_column(sa.Date)
    responsible_person: Mapped[str] = mapped_column(sa.String(100))
    responsible_unit: Mapped[str] = mapped_column(sa.ForeignKey("units.code"))
    progress_percent: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProgressReport(Base):
    __tablename__ = "rectification_progress"
    __table_args__ = (sa.CheckConstraint("percent BETWEEN 0 AND 100", name="percent_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    report_date: Mapped[date] = mapped_column(sa.Date)
    percent: Mapped[int] = mapped_column()
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EvidenceFile(Base):
    """An uploaded file, stored outside the database under its content hash."""

    __tablename__ = "evidence_files"
    __table_args__ = (sa.CheckConstraint("size > 0", name="not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("rectification_progress.id", ondelete="CASCADE"),
                                           index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
