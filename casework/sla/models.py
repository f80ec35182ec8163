from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from casework.cases.models import JSONType
from casework.db import Base, UTCDateTime, utcnow

CLOCK_STATES = ("running", "paused", "met", "breached")


class CaseClock(Base):
    """One statutory clock of a case (acceptance, handling, review, ...)."""

    __tablename__ = "case_clocks"
    __table_args__ = (
        sa.CheckConstraint("state IN ('running','paused','met','breached')", name="state"),
        sa.CheckConstraint("(state = 'paused') = (paused_at IS NOT NULL)", name="paused_has_time"),
        sa.CheckConstraint("state <> 'met' OR met_at IS NOT NULL", name="met_has_time"),
        sa.CheckConstraint("state <> 'breached' OR breached_at IS NOT NULL", name="breached_has_time"),
        sa.CheckConstraint("extended_days >= 0", name="extension_positive"),
        # At most one live clock of a name per case; a finished one may be followed by a new one (重办).
        sa.Index("uq_case_clocks_live", "case_id", "name", unique=True,
                 sqlite_where=sa.text("state IN ('running','paused') AND participant_id IS NULL"),
                 postgresql_where=sa.text("state IN ('running','paused') AND participant_id IS NULL")),
        # A co-handler's part (协办) has a clock of its own: at most one live per part.
        sa.Index("uq_case_clocks_live_part", "participant_id", unique=True,
                 sqlite_where=sa.text("state IN ('running','paused') AND participant_id IS NOT NULL"),
                 postgresql_where=sa.text("state IN ('running','paused') AND participant_id IS NOT NULL")),
        # A participant removed (a co-handler made the lead) sets its clocks' key to NULL: found by this index.
        sa.Index("ix_case_clocks_participant", "participant_id", sqlite_where=sa.text("participant_id IS NOT NULL"),
                 postgresql_where=sa.text("participant_id IS NOT NULL")),
        # The sweep reads only running clocks by time: partial indexes keep it off the closed majority.
        sa.Index("ix_case_clocks_due_running", "due_at", sqlite_where=sa.text("state = 'running'"),
                 postgresql_where=sa.text("state = 'running'")),
        sa.Index("ix_case_clocks_warn_pending", "warn_at",
                 sqlite_where=sa.text("state = 'running' AND warned_at IS NULL"),
                 postgresql_where=sa.text("state = 'running' AND warned_at IS NULL")),
        # The sweep finds the clocks it has just warned or breached by its own timestamp; without these
        # each of those look-ups reads every clock (bench/bench_sweep.py, docs/performance.md).
        sa.Index("ix_case_clocks_warned_running", "warned_at",
                 sqlite_where=sa.text("state = 'running' AND warned_at IS NOT NULL"),
                 postgresql_where=sa.text("state = 'running' AND warned_at IS NOT NULL")),
        sa.Index("ix_case_clocks_breached_at", "breached_at", sqlite_where=sa.text("state = 'breached'"),
                 postgresql_where=sa.text("state = 'breached'")),
        sa.Index("ix_case_clocks_provisional", "provisional",
                 sqlite_where=sa.text("provisional AND state IN ('running','paused')"),
                 postgresql_where=sa.text("provisional AND state IN ('running','paused')")),
        # "Overdue cases under my unit": a case is overdue while one of its clocks is breached and not yet met.
        sa.Index("ix_case_clocks_overdue_path", "case_path", postgresql_ops={"case_path": "varchar_pattern_ops"},
                 postgresql_include=["case_id"], sqlite_where=sa.text("state = 'breached' AND met_at IS NULL"),
                 postgresql_where=sa.text("state = 'breached' AND met_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    # Set on the clock of a co-handler's part (Workflow.part_clocks); unit_code is then that co-handler. A part
    # ended by its unit becoming the lead keeps its clock, as a record, with the key set to NULL.
    participant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case_participants.id", ondelete="SET NULL"))
    policy: Mapped[str] = mapped_column(sa.String(60))
    unit_code: Mapped[str] = mapped_column(sa.ForeignKey("units.code"))
    # The case's unit_path, kept in step with it while the clock is not met (see follow_transition).
    case_path: Mapped[str] = mapped_column(sa.String(200))
    state: Mapped[str] = mapped_column(sa.String(12), default="running")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # base_due_at is the policy's answer; due_at adds pauses and an approved extension.
    base_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provisional: Mapped[bool] = mapped_column(default=False)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_seconds: Mapped[int] = mapped_column(default=0)
    pauses: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    extended_days: Mapped[int] = mapped_column(default=0)
    extension_state: Mapped[str | None] = mapped_column(sa.String(12))
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Supervision(Base):
    """督办: a unit above the handling unit presses for an answer; escalates while unanswered, or while its clock
    stays breached."""

    __tablename__ = "supervisions"
    __table_args__ = (
        sa.CheckConstraint("state IN ('open','closed')", name="state"),
        sa.CheckConstraint("kind IN ('auto','manual')", name="kind"),
        sa.CheckConstraint("(state = 'closed') = (closed_at IS NOT NULL)", name="closed_has_time"),
        # The sweep may run twice: one automatic supervision per clock and supervising unit.
        sa.Index("uq_supervisions_auto", "clock_id", "unit_code", unique=True,
                 sqlite_where=sa.text("kind = 'auto'"), postgresql_where=sa.text("kind = 'auto'")),
        sa.Index("ix_supervisions_escalate", "escalate_at", sqlite_where=sa.text("state = 'open'"),
                 postgresql_where=sa.text("state = 'open'")),
        # "Supervised cases under my unit": a case is supervised while a 督办 of it is open.
        sa.Index("ix_supervisions_open_case_path", "case_path", postgresql_ops={"case_path": "varchar_pattern_ops"},
                 postgresql_include=["case_id"], sqlite_where=sa.text("state = 'open'"),
                 postgresql_where=sa.text("state = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    clock_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case_clocks.id", ondelete="SET NULL"))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("supervisions.id"))
    kind: Mapped[str] = mapped_column(sa.String(8))
    unit_code: Mapped[str] = mapped_column(sa.ForeignKey("units.code"), index=True)
    unit_path: Mapped[str] = mapped_column(sa.String(200))  # the supervising unit's
    # The case's unit_path, kept in step with it while the 督办 is open (see follow_transition).
    case_path: Mapped[str] = mapped_column(sa.String(200))
    level: Mapped[str] = mapped_column(sa.String(16))
    target_unit: Mapped[str] = mapped_column(sa.ForeignKey("units.code"))
    reason: Mapped[str] = mapped_column(sa.String(1000))
    state: Mapped[str] = mapped_column(sa.String(8), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    opened_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    reply_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reply_text: Mapped[str | None] = mapped_column(sa.Text)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(sa.String(200))


class CalendarYear(Base):
    """An admin-loaded official calendar for a year (国务院办公厅 notice): holidays and adjusted workdays."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    holidays: Mapped[list[str]] = mapped_column(JSONType, default=list)
    workdays: Mapped[list[str]] = mapped_column(JSONType, default=list)
    loaded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
