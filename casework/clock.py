"""The time source. Services default to ``now()``; tests and the demo travel in time with ``frozen``.

One injectable clock instead of sleeps: deadline, sweep and escalation tests
move time forward explicitly.
"""
from __future__ import annotations

import contextlib
import threading
from datetime import datetime, timezone

_override: dict[str, datetime | None] = {"now": None}
_lock = threading.Lock()


def now() -> datetime:
    value = _override["now"]
    return value if value is not None else datetime.now(timezone.utc)


def set_now(value: datetime | None) -> None:
    """Pin the clock (None releases it)."""
    if value is not None and value.tzinfo is None:
        raise ValueError("the clock needs an aware datetime")
    with _lock:
        _override["now"] = value


@contextlib.contextmanager
def frozen(value: datetime):
    previous = _override["now"]
    set_now(value)
    try:
        yield
    finally:
        set_now(previous)
