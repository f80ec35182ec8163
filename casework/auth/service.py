"""Users and tokens."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import jwt
import sqlalchemy as sa

from casework.auth import ratelimit
from casework.auth.jurisdiction import can_see_unit
from casework.auth.models import ROLES, User
from casework.problem import DomainError, Forbidden, Invalid
from casework.security import hash_password, verify_password
from casework.units.service import find_unit

MIN_PASSWORD_LENGTH = 10


class Unauthorized(DomainError):
    status = 401


class TooManyAttempts(DomainError):
    status = 429


def check_password_policy(*, username: str, password: str) -> None:
    """Reject passwords that are short or contain the username."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if username and username.lower() in password.lower():
        problems.append("must not contain the username")
    if problems:
        raise Invalid("the password does not meet the policy", errors={"password": problems})


def create_user(*, session, username: str, password: str, role: str, unit_code: str,
                actor: User | None, fast_hash: bool = False) -> User:
    """Create a user; an admin actor may only create users inside its own subtree."""
    if role not in ROLES:
        raise Invalid(f"unknown role {role}", errors={"role": [f"must be one of {', '.join(ROLES)}"]})
    unit = find_unit(session=session, code=unit_code)
    if unit is None:
        raise Invalid(f"unit {unit_code} does not exist", errors={"unit": [f"unknown unit {unit_code}"]})
    if actor is not None and not can_see_unit(actor, unit):
        raise Forbidden("an admin may only create users in its own subtree", errors={"unit": ["outside your jurisdiction"]})
    check_password_policy(username=username, password=password)
    if session.scalar(sa.select(User.id).where(sa.func.lower(User.username) == username.lower())) is not None:
        raise DomainError("the username is taken", status=409, errors={"username": ["already exists"]})
    user = User(username=username, password_hash=hash_password(password, fast=fast_hash), role=role, unit_code=unit.code)
    session.add(user)
    session.flush()
    return user


def authenticate(*, session, redis, username: str, password: str, addr: str, settings: dict) -> User:
    """The user for these credentials; one generic 401 for every failure, 429 when rate-limited."""
    limits = dict(max_user=settings["LOGIN_MAX_FAILURES_PER_USER"], max_addr=settings["LOGIN_MAX_FAILURES_PER_ADDR"])
    if ratelimit.is_locked(redis, username=username, addr=addr, **limits):
        raise TooManyAttempts("too many failed logins; try again later")
    user = session.scalar(sa.select(User).where(sa.func.lower(User.username) == username.lower()))
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        ratelimit.record_failure(redis, username=username, addr=addr, window=settings["LOGIN_FAILURE_WINDOW_SECONDS"])
        raise Unauthorized("invalid username or password")
    ratelimit.clear(redis, username=username)
    return user


def issue_token(*, user: User, secret: str, ttl_seconds: int, now: datetime | None = None) -> dict:
    """A signed bearer token for ``user``."""
    now = now or datetime.now(timezone.utc)
    claims = {"sub": str(user.id), "ver": user.token_version, "iat": now, "exp": now + timedelta(seconds=ttl_seconds),
              "jti": uuid.uuid4().hex}
    return {"access_token": jwt.encode(claims, secret, algorithm="HS256"), "token_type": "Bearer",
            "expires_in": ttl_seconds}


def user_from_token(*, session, token: str, secret: str) -> User:
    """The active user a token belongs to, or 401."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub", "ver"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the token has expired") from None
    except jwt.PyJWTError:
        raise Unauthorized("the token is not valid") from None
    user = session.get(User, int(claims["sub"]))
    if user is None or not user.is_active or user.token_version != claims["ver"]:
        raise Unauthorized("the token is no longer valid")
    return user


def revoke_tokens(*, session, user: User) -> None:
    """Invalidate every token issued to ``user`` so far."""
    user.token_version += 1
    session.flush()


def issue_api_key(*, session, user_id: int, actor: User) -> str:
    """A new API key for a user in the admin's subtree; the clear key is returned once and never stored."""
    import hashlib
    import secrets

    from casework.problem import NotFound

    user = session.get(User, user_id)
    if user is None or not can_see_unit(actor, user.unit):
        raise NotFound(f"user {user_id} not found")
    key = "cw_" + secrets.token_urlsafe(32)
    user.api_key_hash = hashlib.sha256(key.encode()).hexdigest()
    session.flush()
    return key


def user_for_api_key(*, session, key: str) -> User | None:
    import hashlib

    if not key:
        return None
    user = session.scalar(sa.select(User).where(User.api_key_hash == hashlib.sha256(key.encode()).hexdigest()))
    return user if user is not None and user.is_active else None
