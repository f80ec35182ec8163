"""Input and output schemas of the cases API (separate, as flask-smorest recommends)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import marshmallow as ma
from marshmallow import validate

from casework import clock
from casework.cases.access import MAX_ID
from casework.cases.fields import IdNumberField, MobileField, PersonNameField
from casework.cases.models import CATEGORIES, CHANNELS, INTAKE_KINDS, KINDS, LEAD_SOURCES, OUTCOMES, URGENCIES
from casework.common.fields import Digits, LocalDateTime, Text

# Clocks on different machines drift; a received_at a little ahead of ours is not "the future".
FUTURE_TOLERANCE = timedelta(minutes=5)
DIVISION = Digits(6, error="must be a 6-digit division code")
# Datetimes the database can store and compare: year 1 at +08:00 lies before datetime.min in UTC (was a 500).
STORABLE = validate.Range(min=datetime(1900, 1, 1, tzinfo=timezone.utc), max=datetime(9000, 1, 1, tzinfo=timezone.utc),
                          error="must be between {min} and {max}")
# The petitioner's fields are stored encrypted (base64 of up to 4 UTF-8 bytes a character, plus nonce, tag and key
# id); 300 characters stay inside the 2000-character column whatever the script (500 could overflow it, a 500).
ADDRESS_MAX = 300


class PetitionerSchema(ma.Schema):
    name = PersonNameField(required=True)
    id_number = IdNumberField()
    phone = MobileField()
    address = ma.fields.String(validate=validate.Length(min=1, max=ADDRESS_MAX))


class AccusedSchema(ma.Schema):
    name = PersonNameField(required=True)
    unit = ma.fields.String(validate=Digits(6, error="must be a 6-digit unit code"),
                            metadata={"description": "the official's civil-affairs unit"})
    position = ma.fields.String(validate=validate.Length(min=1, max=100))


class ReporterSchema(ma.Schema):
    name = PersonNameField()
    id_number = IdNumberField()
    phone = MobileField()
    address = ma.fields.String(validate=validate.Length(min=1, max=500))


class CaseCreateSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=validate.OneOf(INTAKE_KINDS))
    channel = ma.fields.String(required=True, validate=validate.OneOf(CHANNELS))
    category = ma.fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    content = ma.fields.String(required=True, validate=validate.Length(min=1, max=20_000))
    region = ma.fields.String(required=True, validate=DIVISION)
    regions = ma.fields.List(ma.fields.String(validate=DIVISION), validate=validate.Length(max=20),
                             metadata={"description": "further regions a cross-region case concerns"})
    people_count = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000), strict=True)
    urgency = ma.fields.String(load_default="normal", validate=validate.OneOf(URGENCIES))
    received_at = LocalDateTime(validate=STORABLE,
                                          metadata={"description": "when the letter, visit or call reached the unit"})
    anonymous = ma.fields.Boolean(load_default=False)
    petitioner = ma.fields.Nested(PetitionerSchema)
    village_code = ma.fields.String(validate=Digits(12, error="must be a 12-digit village code"))
    source = ma.fields.String(validate=validate.OneOf(LEAD_SOURCES), metadata={"description": "leads only"})
    accused = ma.fields.Nested(AccusedSchema, metadata={"description": "leads only: the official concerned"})
    reporter = ma.fields.Nested(ReporterSchema, metadata={"description": "leads only: omit for an anonymous report"})

    @ma.validates("title")
    def _title_not_blank(self, value, **_):
        if not value.strip():
            raise ma.ValidationError("must not be blank")

    @ma.validates("content")
    def _content_not_blank(self, value, **_):
        if not value.strip():
            raise ma.ValidationError("must not be blank")

    @ma.validates("received_at")
    def _not_future(self, value, **_):
        # The injectable clock, so a frozen "now" (tests, the demo) is honoured.
        if value > clock.now() + FUTURE_TOLERANCE:
            raise ma.ValidationError("must not be in the future")

    @ma.validates_schema
    def _petitioner_rules(self, data, **_):
        if data.get("kind") == "lead":
            self._lead_rules(data)
            return
        stray = {f: ["only for leads"] for f in ("source", "accused", "reporter") if f in data}
        if stray:
            raise ma.ValidationError(stray)
        petitioner = data.get("petitioner")
        if data.get("anonymous"):
            if data.get("kind") != "complaint":
                raise ma.ValidationError("only complaints may be anonymous", "anonymous")
            if petitioner:
                raise ma.ValidationError("an anonymous case carries no petitioner", "petitioner")
            return
        if not petitioner:
            raise ma.ValidationError("required unless the complaint is anonymous", "petitioner")
        if data.get("kind") == "petition":
            missing = {f: ["required for a petition"] for f in ("id_number", "phone") if not petitioner.get(f)}
            if missing:
                raise ma.ValidationError({"petitioner": missing})


    @staticmethod
    def _lead_rules(data):
        if "petitioner" in data:
            raise ma.ValidationError("a lead has a reporter, not a petitioner", "petitioner")
        if not data.get("source"):
            raise ma.ValidationError("required for a lead", "source")
        reporter = data.get("reporter")
        if reporter and not (reporter.get("name") and reporter.get("phone")):
            raise ma.ValidationError({"reporter": {"name": ["a real-name reporter gives name and phone"]}})


class CaseListQuerySchema(ma.Schema):
    kind = ma.fields.String(validate=validate.OneOf(KINDS))
    status = ma.fields.String(validate=validate.Length(max=24))
    category = ma.fields.String(validate=validate.OneOf(CATEGORIES))
    unit = ma.fields.String(validate=validate.Length(max=16))
    region = ma.fields.String(validate=DIVISION)
    overdue = ma.fields.Boolean()
    supervised = ma.fields.Boolean()
    awaiting_reply = ma.fields.Boolean(metadata={"description": "an open 督办 not yet answered (待回复督办)"})
    received_from = LocalDateTime(validate=STORABLE)
    received_to = LocalDateTime(validate=STORABLE)
    q = ma.fields.String(validate=validate.Length(min=1, max=100))
    sort = ma.fields.String(load_default="-received_at",
                            validate=validate.OneOf(["received_at", "-received_at"]))
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ActionSchema(ma.Schema):
    """Parameters of a transition; each action reads the ones it needs."""

    version = ma.fields.Integer(strict=True, metadata={"description": "the case version (or If-Match)"})
    reason = ma.fields.String(validate=Text(2000))
    note = ma.fields.String(validate=Text(2000))
    unit = ma.fields.String(validate=validate.Length(min=1, max=16))
    outcome = ma.fields.String(validate=validate.OneOf(OUTCOMES))
    text = ma.fields.String(validate=Text(20_000))
    satisfaction = ma.fields.String(validate=validate.OneOf(["satisfied", "unsatisfied"]))
    decision = ma.fields.String(validate=validate.OneOf(["uphold", "revise"]))
    into = ma.fields.Integer(strict=True)
    override_reason = ma.fields.String(validate=Text(2000))
    part = ma.fields.String(validate=Text(2000))
    notice_channel = ma.fields.String(validate=validate.OneOf(["letter", "sms", "in_person", "online"]))
    days = ma.fields.Integer(strict=True, validate=validate.Range(min=1, max=366))
    # An id the database can bind: SQLite cannot take an integer above 2**63 (was a 500).
    supervision = ma.fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID))
    title = ma.fields.String(validate=Text(200))
    content = ma.fields.String(validate=Text(20_000))
    accused = ma.fields.Nested(AccusedSchema)
    reply_due = LocalDateTime(validate=STORABLE)


class RouteSchema(ma.Schema):
    rule = ma.fields.String()
    reason = ma.fields.String()


class ParticipantSchema(ma.Schema):
    unit = ma.fields.String(attribute="unit_code")
    role = ma.fields.String()
    state = ma.fields.String()
    part = ma.fields.String(allow_none=True)
    submitted_at = LocalDateTime(allow_none=True)


class PetitionerOutSchema(ma.Schema):
    name = ma.fields.String(allow_none=True)
    id_number = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    address = ma.fields.String(allow_none=True)


class CaseRefSchema(ma.Schema):
    id = ma.fields.Integer()
    number = ma.fields.String()


class ClockSchema(ma.Schema):
    name = ma.fields.String()
    policy = ma.fields.String()
    state = ma.fields.String()
    started_at = LocalDateTime(allow_none=True)
    due_at = LocalDateTime(allow_none=True)
    warn_at = LocalDateTime(allow_none=True)
    met_at = LocalDateTime(allow_none=True)
    breached_at = LocalDateTime(allow_none=True)
    provisional = ma.fields.Boolean()
    paused_at = LocalDateTime(allow_none=True)
    extended_days = ma.fields.Integer()
    unit = ma.fields.String()


class CaseSchema(ma.Schema):
    id = ma.fields.Integer()
    number = ma.fields.String()
    kind = ma.fields.String()
    status = ma.fields.String()
    channel = ma.fields.String()
    category = ma.fields.String()
    title = ma.fields.String()
    content = ma.fields.String()
    region = ma.fields.String()
    regions = ma.fields.List(ma.fields.String())
    handling_unit = ma.fields.String()
    registering_unit = ma.fields.String()
    route = ma.fields.Nested(RouteSchema)
    participants = ma.fields.List(ma.fields.Nested(ParticipantSchema))
    anonymous = ma.fields.Boolean()
    petitioner = ma.fields.Nested(PetitionerOutSchema, allow_none=True)
    people_count = ma.fields.Integer()
    urgency = ma.fields.String()
    received_at = LocalDateTime()
    created_at = LocalDateTime()
    updated_at = LocalDateTime()
    version = ma.fields.Integer()
    outcome = ma.fields.String(allow_none=True)
    satisfaction = ma.fields.String(allow_none=True)
    return_count = ma.fields.Integer()
    is_final = ma.fields.Boolean()
    merged_into = ma.fields.Nested(CaseRefSchema, allow_none=True)
    possible_repeat_of = ma.fields.Nested(CaseRefSchema, allow_none=True)
    clocks = ma.fields.List(ma.fields.Nested(ClockSchema))
    village_code = ma.fields.String(allow_none=True)
    lead = ma.fields.Dict(allow_none=True, metadata={"description": "leads: source, disposal, accused"})
    reporter = ma.fields.Dict(allow_none=True,
                              metadata={"description": "leads: full only for the owning unit's inspectors"})
    overdue = ma.fields.Boolean()
    supervised = ma.fields.Boolean()
    awaiting_reply = ma.fields.Boolean(metadata={"description": "an open 督办 waits for the answer"})
    allowed_actions = ma.fields.List(ma.fields.String())


class CasePageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CaseSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    page_size = ma.fields.Integer()


class EventSchema(ma.Schema):
    id = ma.fields.Integer()
    seq = ma.fields.Integer()
    action = ma.fields.String()
    from_state = ma.fields.String(allow_none=True)
    to_state = ma.fields.String(allow_none=True)
    actor = ma.fields.String(attribute="actor_name", allow_none=True)
    actor_id = ma.fields.Integer(allow_none=True)
    unit = ma.fields.String(attribute="unit_code", allow_none=True)
    reason = ma.fields.String(allow_none=True)
    params = ma.fields.Dict()
    created_at = LocalDateTime()
    hash = ma.fields.String()
    prev_hash = ma.fields.String(allow_none=True)


class EventListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(EventSchema))
    total = ma.fields.Integer()
