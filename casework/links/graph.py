"""The graph walk over non-dismissed links: one recursive query with a cycle guard."""
from __future__ import annotations

import sqlalchemy as sa

# Each link is an undirected edge; the walk follows it both ways. The path column is the
# cycle guard: a node already on the path is not entered again, so cycles end.
# On PostgreSQL each step reads the links of the current node through two index-friendly
# branches (low_id = w.id on uq_case_links_pair_type, high_id = w.id on ix_case_links_high).
# A UNION ALL "edges" CTE over the whole table, as SQLite uses below, made PostgreSQL scan
# every link at every depth: about 6 s per walk at 3,000,000 links (docs/performance.md).
_PG = """
WITH RECURSIVE walk(id, depth, path) AS (
    SELECT CAST(:start AS integer), 0, ARRAY[CAST(:start AS integer)]
    UNION ALL
    SELECT n.id, w.depth + 1, w.path || n.id
    FROM walk w CROSS JOIN LATERAL (
        SELECT l.high_id AS id FROM case_links l WHERE l.low_id = w.id AND NOT l.dismissed
        UNION ALL
        SELECT l.low_id FROM case_links l WHERE l.high_id = w.id AND NOT l.dismissed
    ) n
    WHERE w.depth < :depth AND n.id <> ALL(w.path)
)
SELECT id, MIN(depth) AS depth FROM walk GROUP BY id ORDER BY MIN(depth), id
"""

_SQLITE = """
WITH RECURSIVE edges(a, b) AS (
    SELECT low_id, high_id FROM case_links WHERE NOT dismissed
    UNION ALL
    SELECT high_id, low_id FROM case_links WHERE NOT dismissed
), walk(id, depth, path) AS (
    SELECT :start, 0, ',' || :start || ','
    UNION ALL
    SELECT e.b, w.depth + 1, w.path || e.b || ','
    FROM walk w JOIN edges e ON e.a = w.id
    WHERE w.depth < :depth AND instr(w.path, ',' || e.b || ',') = 0
)
SELECT id, MIN(depth) AS depth FROM walk GROUP BY id ORDER BY MIN(depth), id
"""

MAX_DEPTH = 6


def connected(*, session, start_id: int, depth: int) -> list[tuple[int, int]]:
    """(case id, distance) for every case reachable from ``start_id`` within ``depth`` links, itself included."""
    sql = _PG if session.get_bind().dialect.name == "postgresql" else _SQLITE
    rows = session.execute(sa.text(sql), {"start": start_id, "depth": min(depth, MAX_DEPTH)}).all()
    return [(int(r[0]), int(r[1])) for r in rows]
