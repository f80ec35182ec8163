import marshmallow as ma
from marshmallow import validate

from casework.units.models import KINDS, LEVELS


class UnitQuerySchema(ma.Schema):
    level = ma.fields.String(validate=validate.OneOf(LEVELS))
    parent = ma.fields.String(validate=validate.Length(max=16))
    kind = ma.fields.String(load_default="civil_affairs", validate=validate.OneOf(KINDS))
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class UnitBriefSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    level = ma.fields.String()
    kind = ma.fields.String()
    parent = ma.fields.String(attribute="parent_code", allow_none=True)


class UnitDetailSchema(UnitBriefSchema):
    division_code = ma.fields.String()
    children = ma.fields.List(ma.fields.Nested(UnitBriefSchema))
    ancestors = ma.fields.List(ma.fields.Nested(UnitBriefSchema), metadata={"description": "parent first, root last"})


class UnitPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(UnitBriefSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    page_size = ma.fields.Integer()
