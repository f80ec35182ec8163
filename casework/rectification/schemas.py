from datetime import date

import marshmallow as ma
from marshmallow import validate

from casework.cases.models import CATEGORIES
from casework.common.fields import Digits, LocalDateTime


class RectificationCreateSchema(ma.Schema):
    source_text = ma.fields.String(required=True, validate=validate.Length(min=1, max=5000),
                                   metadata={"description": "the inspection finding (巡视/审计发现问题)"})
    finding_date = ma.fields.Date(required=True)
    task = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))
    measures = ma.fields.String(required=True, validate=validate.Length(min=1, max=5000))
    # end_of_day(deadline) must be a representable datetime (9999-12-31 overflowed, a 500).
    deadline = ma.fields.Date(required=True, validate=validate.Range(max=date(9000, 1, 1)))
    responsible_person = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    responsible_unit = ma.fields.String(required=True, validate=Digits(6))
    category = ma.fields.String(load_default="other", validate=validate.OneOf(CATEGORIES))


class ProgressFormSchema(ma.Schema):
    text = ma.fields.String(required=True, validate=validate.Length(min=1, max=5000))
    date = ma.fields.Date(required=True)
    percent = ma.fields.Integer(required=True, validate=validate.Range(min=0, max=100))


class ProgressSchema(ma.Schema):
    id = ma.fields.Integer()
    case_id = ma.fields.Integer()
    text = ma.fields.String()
    report_date = ma.fields.Date()
    percent = ma.fields.Integer()
    created_at = LocalDateTime()
    files = ma.fields.List(ma.fields.Dict())


class LedgerQuerySchema(ma.Schema):
    unit = ma.fields.String(validate=validate.Length(max=16))
    format = ma.fields.String(load_default="json", validate=validate.OneOf(["json", "xlsx"]))


class LedgerRowSchema(ma.Schema):
    id = ma.fields.Integer()
    number = ma.fields.String()
    source_text = ma.fields.String()
    finding_date = ma.fields.Date()
    task = ma.fields.String()
    measures = ma.fields.String()
    deadline = ma.fields.Date()
    responsible_person = ma.fields.String()
    responsible_unit = ma.fields.String()
    responsible_unit_name = ma.fields.String()
    status = ma.fields.String()
    progress_percent = ma.fields.Integer()
    days_overdue = ma.fields.Integer()
    supervised = ma.fields.Boolean()
    completed_at = LocalDateTime(allow_none=True)


class LedgerSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(LedgerRowSchema))
    total = ma.fields.Integer()
