"""Job functions. Jobs take ids, open their own session, commit once, and are idempotent."""
from __future__ import annotations

import functools
from datetime import datetime, timezone

from flask import current_app, has_app_context

from casework.extensions import db, redis_store

_app = None


def _ensure_app():
    global _app
    if has_app_context():
        return None
    if _app is None:
        from casework.app import create_app

        _app = create_app()
    return _app.app_context()


def casework_job(fn):
    """The job wrapper: the one place a job's work is committed or rolled back."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        ctx = _ensure_app()
        if ctx is not None:
            ctx.push()
        try:
            result = fn(*args, **kwargs)
            db.session.commit()
            return result
        except BaseException:
            db.session.rollback()
            raise
        finally:
            db.session.remove()
            if ctx is not None:
                ctx.pop()

    return wrapper


@casework_job
def heartbeat() -> str:
    """Record that the scheduler and a worker are alive (readiness can show the time)."""
    stamp = datetime.now(timezone.utc).isoformat()
    redis_store.client.set("casework:heartbeat", stamp, ex=3600)
    current_app.logger.debug("heartbeat %s", stamp)
    return stamp
