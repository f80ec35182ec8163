import marshmallow as ma
from marshmallow import validate

from casework.auth.models import ROLES
from casework.common.fields import LocalDateTime


class TokenRequestSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = ma.fields.String(required=True, validate=validate.Length(min=1, max=1024), load_only=True)


class TokenSchema(ma.Schema):
    access_token = ma.fields.String()
    token_type = ma.fields.String()
    expires_in = ma.fields.Integer()


class UserCreateSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=[validate.Length(min=3, max=64),
                                                          validate.Regexp(r"^[A-Za-z0-9_.\-]+$", error="letters, digits, _ . - only")])
    password = ma.fields.String(required=True, validate=validate.Length(max=1024), load_only=True)
    role = ma.fields.String(required=True, validate=validate.OneOf(ROLES))
    unit = ma.fields.String(required=True, validate=validate.Length(min=1, max=16))


class UserSchema(ma.Schema):
    id = ma.fields.Integer()
    username = ma.fields.String()
    role = ma.fields.String()
    unit = ma.fields.String(attribute="unit_code")
    is_active = ma.fields.Boolean()
    created_at = LocalDateTime()


class ApiKeySchema(ma.Schema):
    user_id = ma.fields.Integer()
    api_key = ma.fields.String()
