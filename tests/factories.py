"""factory_boy factories bound to the scoped session."""
from __future__ import annotations

import factory
from flask import current_app

from casework.auth.models import User
from casework.auth.service import issue_token
from casework.extensions import db
from casework.security import hash_password

DEFAULT_PASSWORD = "correct-horse-battery"
_FAST_HASH = hash_password(DEFAULT_PASSWORD, fast=True)


class UserFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        model = User
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"

    username = factory.Sequence(lambda n: f"user{n:05d}")
    password_hash = _FAST_HASH
    role = "clerk"
    unit_code = "360827"
    is_active = True
    token_version = 1


def auth_headers(user: User) -> dict[str, str]:
    token = issue_token(user=user, secret=current_app.config["SECRET_KEY"], ttl_seconds=3600)["access_token"]
    return {"Authorization": f"Bearer {token}"}
