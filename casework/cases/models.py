from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.common.vocab import CATEGORIES, CHANNELS, KINDS  # noqa: F401  (re-exported)
from casework.db import Base, UTCDateTime, utcnow

INTAKE_KINDS = ("petition", "complaint", "lead")  # rectification items have their own endpoint
LEAD_SOURCES = ("public_report", "audit", "inspection", "petition_spinoff")
URGENCIES = ("urgent", "normal", "complex")
OUTCOMES = ("support", "explain", "not_support")
# Imported explicitly: sa.dialects.postgresql exists only once something else has imported it.
JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        sa.CheckConstraint("(status = 'merged') = (merged_into_id IS NOT NULL)", name="merged_has_target"),
        sa.CheckConstraint("merged_into_id IS NULL OR merged_into_id <> id", name="not_merged_into_self"),
        sa.CheckConstraint("people_count >= 1", name="people_count_positive"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("anonymous = false OR kind <> 'petition'", name="petitions_are_named"),
        sa.UniqueConstraint("number", name="uq_cases_number"),
        sa.Index("ix_cases_unit_path", "unit_path", postgresql_ops={"unit_path": "varchar_pattern_ops"}),
        # Which of a linked component's cases may the viewer see: id and unit_path from the index alone
        # (an index-only scan), not a heap read of each of up to thousands of random case rows.
        sa.Index("ix_cases_id_unit_path", "id", postgresql_include=["unit_path"]),
        sa.Index("ix_cases_person", "person_index", "category"),
        sa.Index("ix_cases_received_at", "received_at"),
        sa.Index("ix_cases_title_trgm", "title", postgresql_using="gin", postgresql_ops={"title": "gin_trgm_ops"},
                 info={"postgresql_only": True}),
        sa.Index("ix_cases_content_trgm", "content", postgresql_using="gin",
                 postgresql_ops={"content": "gin_trgm_ops"}, info={"postgresql_only": True}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(40))
    kind: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(24), index=True)
    prior_status: Mapped[str | None] = mapped_column(sa.String(24))
    channel: Mapped[str] = mapped_column(sa.String(16))
    category: Mapped[str] = mapped_column(sa.String(32))
    urgency: Mapped[str] = mapped_column(sa.String(16), default="normal")
    title: Mapped[str] = mapped_column(sa.String(200))
    content: Mapped[str] = mapped_column(sa.Text)
    region: Mapped[str] = mapped_column(sa.ForeignKey("units.code"))
    regions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    handling_unit: Mapped[str] = mapped_column(sa.ForeignKey("units.code"), index=True)
    # Denormalised path of the handling unit: jurisdiction and bulletins filter
    # and group on one indexed prefix instead of joining the unit tree.
    unit_path: Mapped[str] = mapped_column(sa.String(200))
    registering_unit: Mapped[str] = mapped_column(sa.ForeignKey("units.code"))
    route_rule: Mapped[str] = mapped_column(sa.String(40))
    route_reason: Mapped[str] = mapped_column(sa.String(500))
    people_count: Mapped[int] = mapped_column(default=1)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)

    # Petitioner. Every personal field is encrypted (see casework.security.PiiBox);
    # person_index is the keyed blind index of the normalised ID number.
    anonymous: Mapped[bool] = mapped_column(default=False)
    petitioner_name: Mapped[str | None] = mapped_column(sa.String(400))
    petitioner_id_number: Mapped[str | None] = mapped_column(sa.String(400))
    petitioner_phone: Mapped[str | None] = mapped_column(sa.String(400))
    petitioner_address: Mapped[str | None] = mapped_column(sa.String(2000))
    pii_key_id: Mapped[str | None] = mapped_column(sa.String(32))
    person_index: Mapped[str | None] = mapped_column(sa.String(64))

    # Workflow facts the guards and the answers need.
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    return_count: Mapped[int] = mapped_column(default=0)
    returns_blocked: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[str | None] = mapped_column(sa.String(16))
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    satisfaction: Mapped[str | None] = mapped_column(sa.String(16))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_final: Mapped[bool] = mapped_column(default=False)
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))
    possible_repeat_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))
    # Facts the bulletins count, kept on the case so a bulletin is one pass over one table.
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # accept/decline, or first contact
    first_response_late: Mapped[bool] = mapped_column(default=False)  # acceptance / contact clock breached
    handling_late: Mapped[bool] = mapped_column(default=False)  # handling clock breached
    reopen_count: Mapped[int] = mapped_column(default=0)
    cross_level: Mapped[bool] = mapped_column(default=False)  # 越级: logged above the territorial unit
    disposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # leads: disposal decided
    # No index may name these two: the sweep flips them on thousands of cases at once, and a change to an
    # indexed column makes PostgreSQL write a new entry in every index of this wide table (two trigram GINs
    # among them) instead of a HOT update. The overdue and supervised lists reach their cases through the
    # breached clocks and open 督办, whose case_path follows the case (docs/performance.md).
    overdue: Mapped[bool] = mapped_column(default=False)
    supervised: Mapped[bool] = mapped_column(default=False)
    # An open 督办 still waits for the unit's reply: what lets allowed_actions offer reply_supervision only
    # when there is something to answer.
    awaiting_reply: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Leads (问题线索): where the lead came from and whom it concerns. accused_key is a keyed
    # hash of the normalised name and unit, so the same official links across leads.
    lead_source: Mapped[str | None] = mapped_column(sa.String(24))
    accused_name: Mapped[str | None] = mapped_column(sa.String(400))
    accused_unit: Mapped[str | None] = mapped_column(sa.ForeignKey("units.code"))
    accused_position: Mapped[str | None] = mapped_column(sa.String(100))
    accused_key: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    disposal: Mapped[str | None] = mapped_column(sa.String(24))
    # 12-digit statistical code of the village (居委会/村委会), when known.
    village_code: Mapped[str | None] = mapped_column(sa.String(12), index=True)
    last_event_hash: Mapped[str | None] = mapped_column(sa.String(64))
    event_count: Mapped[int] = mapped_column(default=0)

    participants: Mapped[list[CaseParticipant]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseParticipant.id", lazy="selectin")


class CaseParticipant(Base):
    """A unit working on a case: exactly one lead (主办), any number of co-handlers (协办)."""

    __tablename__ = "case_participants"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "unit_code", name="uq_case_participants_case_unit"),
        sa.CheckConstraint("role IN ('lead','co')", name="role"),
        sa.CheckConstraint("state IN ('open','submitted')", name="state"),
        sa.CheckConstraint("(state = 'submitted') = (submitted_at IS NOT NULL)", name="submitted_has_time"),
        # One lead per case, enforced by the database.
        sa.Index("uq_case_participants_one_lead", "case_id", unique=True,
                 sqlite_where=sa.text("role = 'lead'"), postgresql_where=sa.text("role = 'lead'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    unit_code: Mapped[str] = mapped_column(sa.ForeignKey("units.code"))
    role: Mapped[str] = mapped_column(sa.String(8))
    state: Mapped[str] = mapped_column(sa.String(16), default="open")
    part: Mapped[str | None] = mapped_column(sa.Text)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    case: Mapped[Case] = relationship(back_populates="participants")


class CaseEvent(Base):
    """Append-only audit trail; each event carries the hash of the one before it."""

    __tablename__ = "case_events"
    __table_args__ = (sa.UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column()
    action: Mapped[str] = mapped_column(sa.String(40))
    from_state: Mapped[str | None] = mapped_column(sa.String(24))
    to_state: Mapped[str | None] = mapped_column(sa.String(24))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str | None] = mapped_column(sa.String(64))
    unit_code: Mapped[str | None] = mapped_column(sa.String(16))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


class CaseNumberCounter(Base):
    """The last serial issued per region and year; one row lock serialises concurrent intake."""

    __tablename__ = "case_number_counters"

    prefix: Mapped[str] = mapped_column(sa.String(4), primary_key=True)
    region: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    status_code: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AccessEvent(Base):
    """Who read which personal field of which case in full."""

    __tablename__ = "access_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    fields: Mapped[str] = mapped_column(sa.String(200))
    purpose: Mapped[str] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
