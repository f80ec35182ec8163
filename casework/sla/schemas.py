import marshmallow as ma
from marshmallow import validate
from casework.common.fields import LocalDateTime


class SupervisionQuerySchema(ma.Schema):
    unit = ma.fields.String(validate=validate.Length(max=16))
    open = ma.fields.Boolean()
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class SupervisionSchema(ma.Schema):
    id = ma.fields.Integer()
    case_id = ma.fields.Integer()
    clock_id = ma.fields.Integer(allow_none=True)
    parent_id = ma.fields.Integer(allow_none=True)
    kind = ma.fields.String()
    unit = ma.fields.String(attribute="unit_code")
    level = ma.fields.String()
    target_unit = ma.fields.String()
    reason = ma.fields.String()
    state = ma.fields.String()
    opened_at = LocalDateTime()
    reply_due_at = LocalDateTime(allow_none=True)
    escalate_at = LocalDateTime(allow_none=True)
    escalated_at = LocalDateTime(allow_none=True)
    reply_text = ma.fields.String(allow_none=True)
    replied_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)
    outcome = ma.fields.String(allow_none=True)


class SupervisionPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SupervisionSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    page_size = ma.fields.Integer()


class SupervisionListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SupervisionSchema))
    total = ma.fields.Integer()


class CalendarSchema(ma.Schema):
    year = ma.fields.Integer()
    source = ma.fields.String(metadata={"description": "official_package, fallback or admin"})
    provisional = ma.fields.Boolean()
    holidays = ma.fields.List(ma.fields.Date(), metadata={"description": "weekdays that are days off"})
    workdays = ma.fields.List(ma.fields.Date(), metadata={"description": "weekend days that are worked (调休)"})
    loaded_at = LocalDateTime(allow_none=True)
    recomputed = ma.fields.Integer(metadata={"description": "provisional deadlines recomputed by this load"})


class CalendarLoadSchema(ma.Schema):
    holidays = ma.fields.List(ma.fields.Date(), required=True, validate=validate.Length(max=366))
    workdays = ma.fields.List(ma.fields.Date(), load_default=list, validate=validate.Length(max=366))
