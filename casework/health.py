"""Liveness and readiness."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify

from casework.extensions import db, redis_store

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks: dict[str, str] = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; the name of the part is what matters
        db.session.rollback()
        checks["database"] = f"down: {type(exc).__name__}"
    try:
        redis_store.client.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"down: {type(exc).__name__}"
    down = sorted(k for k, v in checks.items() if v != "ok")
    extra = {}
    if checks["database"] == "ok":
        from casework.outbox.service import backlog

        extra["outbox_backlog"] = backlog(session=db.session)
    if down:
        from casework.problem import problem_response

        return problem_response(503, f"not ready: {', '.join(down)} down", extra={"checks": checks, **extra})
    return jsonify(status="ready", checks=checks, **extra)
