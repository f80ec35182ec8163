"""Users and tokens."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import jwt
import sqlalchemy as sa

from casework.auth import ratelimit
from casework.auth.jurisdiction import can_see_unit, scope_path
from casework.auth.models import ROLES, User
from casework.problem import DomainError, Forbidden, Invalid, NotFound
from casework.security import hash_password, verify_password
from casework.units.models import Unit
from casework.units.service import find_unit

MIN_PASSWORD_LENGTH = 10


class Unauthorized(DomainError):
    status = 401


class TooManyAttempts(DomainError):
    status = 429


def check_password_policy(*, username: str, password: str, field: str = "password") -> None:
    """Reject passwords that are short or contain the username."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if username and username.lower() in password.lower():
        problems.append("must not contain the username")
    if problems:
        raise Invalid("the password does not meet the policy", errors={field: problems})


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


def list_users(*, session, actor: User, filters: dict) -> sa.Select:
    """The accounts in ``actor``'s subtree, optionally narrowed by unit subtree, role and active state."""
    stmt = (sa.select(User).join(Unit, Unit.code == User.unit_code)
            .where(Unit.path.startswith(scope_path(actor), autoescape=True)))
    if filters.get("unit"):
        unit = find_unit(session=session, code=filters["unit"])
        stmt = stmt.where(Unit.path.startswith(unit.path, autoescape=True) if unit else sa.false())
    if filters.get("role"):
        stmt = stmt.where(User.role == filters["role"])
    if filters.get("is_active") is not None:
        stmt = stmt.where(User.is_active.is_(filters["is_active"]))
    return stmt.order_by(User.id)


def _managed_user(*, session, user_id: int, actor: User) -> User:
    user = session.get(User, user_id)
    if user is None or not can_see_unit(actor, user.unit):
        raise NotFound(f"user {user_id} not found")  # outside the subtree: not revealed to exist
    return user


def update_user(*, session, user_id: int, actor: User, changes: dict, fast_hash: bool = False) -> User:
    """Disable or re-enable an account, or set a new password for it; either revokes every token it holds."""
    user = _managed_user(session=session, user_id=user_id, actor=actor)
    if "is_active" in changes and changes["is_active"] is False and user.id == actor.id:
        raise Invalid("an admin cannot disable its own account", errors={"is_active": ["not for your own account"]})
    if "password" in changes:
        check_password_policy(username=user.username, password=changes["password"])
        user.password_hash = hash_password(changes["password"], fast=fast_hash)
    if "is_active" in changes:
        user.is_active = changes["is_active"]
    revoke_tokens(session=session, user=user)  # a reset password or a disabled account: old tokens end now
    return user


def change_own_password(*, session, redis, user: User, current: str, new: str, addr: str, settings: dict,
                        fast_hash: bool = False) -> None:
    """The caller's new password, after the current one; every token it holds is revoked."""
    limits = dict(max_user=settings["LOGIN_MAX_FAILURES_PER_USER"], max_addr=settings["LOGIN_MAX_FAILURES_PER_ADDR"])
    if ratelimit.is_locked(redis, username=user.username, addr=addr, **limits):
        raise TooManyAttempts("too many failed attempts; try again later")
    if not verify_password(user.password_hash, current):
        # A stolen token must not become a way to guess the password: failures count as failed logins.
        ratelimit.record_failure(redis, username=user.username, addr=addr,
                                 window=settings["LOGIN_FAILURE_WINDOW_SECONDS"])
        raise Invalid("the current password is wrong", errors={"current_password": ["does not match"]})
    if new == current:
        raise Invalid("the new password is the current one", errors={"new_password": ["must differ from the current"]})
    check_password_policy(username=user.username, password=new, field="new_password")
    user.password_hash = hash_password(new, fast=fast_hash)
    revoke_tokens(session=session, user=user)


def issue_api_key(*, session, user_id: int, actor: User) -> str:
    """A new API key for a user in the admin's subtree; the clear key is returned once and never stored."""
    import hashlib
    import secrets

    user = _managed_user(session=session, user_id=user_id, actor=actor)
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
