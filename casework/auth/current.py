"""The caller of the current request."""
from __future__ import annotations

import copy
import functools

from flask import current_app, g, request

from casework.auth.models import User
from casework.auth.service import Unauthorized, user_from_token
from casework.extensions import db
from casework.problem import Forbidden


def current_user() -> User:
    user = g.get("user")
    if user is None:
        raise Unauthorized("authentication required")
    return user


def _load_user() -> User:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer token is required", extra={})
    return user_from_token(session=db.session, token=token.strip(), secret=current_app.config["SECRET_KEY"])


def auth_required(*roles: str):
    """Require a valid token; with ``roles``, require one of them (403 otherwise)."""

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            user = _load_user()
            g.user = user
            if roles and user.role not in roles:
                raise Forbidden(f"this action needs the role {' or '.join(roles)}")
            return fn(*args, **kwargs)

        # Document what this decorator answers (flask-smorest reads _apidoc; copied, as wraps shares the dict).
        wrapper._apidoc = copy.deepcopy(getattr(fn, "_apidoc", {}))
        responses = wrapper._apidoc.setdefault("response", {}).setdefault("responses", {})
        responses.setdefault(401, []).append("UNAUTHORIZED")
        if roles:
            responses.setdefault(403, []).append("FORBIDDEN")
        return wrapper

    return decorator
