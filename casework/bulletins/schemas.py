import marshmallow as ma
from marshmallow import validate

from casework.bulletins.periods import KINDS
from casework.common.fields import Digits, LocalDateTime


class BulletinRequestSchema(ma.Schema):
    unit = ma.fields.String(required=True, validate=Digits(6))
    period = ma.fields.String(required=True, validate=validate.OneOf(KINDS))
    start = ma.fields.Date(required=True, metadata={"description": "first day: a Monday, or the 1st of a month"})


class BulletinQuerySchema(ma.Schema):
    unit = ma.fields.String(validate=validate.Length(max=16))
    period = ma.fields.String(validate=validate.OneOf(KINDS))
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class BulletinBriefSchema(ma.Schema):
    id = ma.fields.Integer()
    unit = ma.fields.String(attribute="unit_code")
    period = ma.fields.String()
    start = ma.fields.Date(attribute="period_start")
    end = ma.fields.Date(attribute="period_end")
    version = ma.fields.Integer()
    state = ma.fields.String()
    job_id = ma.fields.String()
    requested_at = LocalDateTime()
    built_at = LocalDateTime(allow_none=True)
    error = ma.fields.String(allow_none=True)


class BulletinSchema(BulletinBriefSchema):
    figures = ma.fields.Dict(allow_none=True)


class BulletinPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(BulletinBriefSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    page_size = ma.fields.Integer()
