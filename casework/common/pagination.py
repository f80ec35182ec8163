"""The list envelope API.md fixes: ``{"items", "total", "page", "page_size"}``."""
from __future__ import annotations

import sqlalchemy as sa

from casework.problem import Invalid


# Far beyond any real list, and far below the 64-bit OFFSET the databases can bind (a larger page was a 500).
MAX_OFFSET = 10**9


def paginate(session, stmt: sa.Select, *, page: int, page_size: int) -> dict:
    if (page - 1) * page_size > MAX_OFFSET:
        raise Invalid("page is beyond any list", errors={"page": [f"(page - 1) * page_size must be <= {MAX_OFFSET}"]})
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(session.scalars(stmt.limit(page_size).offset((page - 1) * page_size)))
    return {"items": items, "total": total, "page": page, "page_size": page_size}
