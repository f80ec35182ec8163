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


class UserListQuerySchema(ma.Schema):
    unit = ma.fields.String(validate=validate.Length(min=1, max=16),
                            metadata={"description": "only accounts in this unit's subtree"})
    role = ma.fields.String(validate=validate.OneOf(ROLES))
    is_active = ma.fields.Boolean()
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class UserPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(UserSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    page_size = ma.fields.Integer()


class UserUpdateSchema(ma.Schema):
    """An admin's change to an account: disable or re-enable it, or reset its password."""

    is_active = ma.fields.Boolean(truthy={True}, falsy={False})  # JSON true or false, not "no" or 0
    password = ma.fields.String(validate=validate.Length(min=1, max=1024), load_only=True)

    @ma.validates_schema
    def _asks_for_a_change(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("give is_active or password", field_name="is_active")


class PasswordChangeSchema(ma.Schema):
    current_password = ma.fields.String(required=True, validate=validate.Length(min=1, max=1024), load_only=True)
    new_password = ma.fields.String(required=True, validate=validate.Length(min=1, max=1024), load_only=True)
