"""The list envelope API.md fixes: ``{"items", "total", "page", "page_size"}``."""
from __future__ import annotations

import sqlalchemy as sa


def paginate(session, stmt: sa.Select, *, page: int, page_size: int) -> dict:
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(session.scalars(stmt.limit(page_size).offset((page - 1) * page_size)))
    return {"items": items, "total": total, "page": page, "page_size": page_size}
