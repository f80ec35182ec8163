"""The linked-case report at 1,000,000 cases and 3,000,000 links, against the bare graph walk.

The links live in a sibling database (``<database>_links``, its own datagen load), so the
other benchmarks' data is untouched. The graph is sparse and realistic in shape: most
cases sit in small clusters (2–10 cases; every pair linked, 30 % of pairs by a second
type), a tail of cases has no links, and 50 hub cases (a repeat petitioner, a village)
each link to 500 random cases. 3 % of links are dismissed. Loaded with COPY.
"""
from __future__ import annotations

import os
import random
import re
import time

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bench.harness import BenchResult, Context, Figure

LINKS = 3_000_000
HUBS, HUB_FANOUT = 50, 500
SIZES = {3: 20, 4: 20, 5: 15, 6: 12, 7: 10, 8: 8, 9: 6, 10: 5, 12: 4}  # cluster size: weight
SECOND_TYPE = 0.30
DISMISSED = 0.03
STARTS, DEPTH, SEED = 200, 3, 20261128
P95_TARGET_MS = 100.0
LINK_MARKER = f"casework-bench links v1 links={LINKS} hubs={HUBS}x{HUB_FANOUT} seed={SEED}"
SUPERVISOR = "bench-ministry-supervisor"
# The walk as it was before the benchmark (casework/links/graph.py): kept to show the change.
EDGES_CTE_WALK = """
WITH RECURSIVE edges(a, b) AS (
    SELECT low_id, high_id FROM case_links WHERE NOT dismissed
    UNION ALL
    SELECT high_id, low_id FROM case_links WHERE NOT dismissed
), walk(id, depth, path) AS (
    SELECT CAST(:start AS integer), 0, ARRAY[CAST(:start AS integer)]
    UNION ALL
    SELECT e.b, w.depth + 1, w.path || e.b
    FROM walk w JOIN edges e ON e.a = w.id
    WHERE w.depth < :depth AND e.b <> ALL(w.path)
)
SELECT id, MIN(depth) AS depth FROM walk GROUP BY id ORDER BY MIN(depth), id
"""


def _per_case_report(*, session, case_id: int, viewer, depth: int) -> dict:
    """The report as it was before the set-based change (casework/reports/linked.py): kept to show the change.

    One present_case per case (its own clock query, related-case look-ups, allowed actions) and the general
    visible_condition, whose co-handling subquery made PostgreSQL JIT-compile the select.
    """
    from casework.cases.access import get_visible_case, visible_condition
    from casework.cases.models import Case, CaseEvent
    from casework.cases.presenter import present_case
    from casework.links.graph import connected
    from casework.links.models import CaseLink
    from casework.units.models import Unit

    get_visible_case(session=session, case_id=case_id, user=viewer)
    distance = dict(connected(session=session, start_id=case_id, depth=depth))
    ids = list(distance)
    visible = {c.id: c for c in session.scalars(sa.select(Case).where(Case.id.in_(ids), visible_condition(viewer)))}
    names = dict(session.execute(sa.select(Unit.code, Unit.name).where(
        Unit.code.in_({c.handling_unit for c in visible.values()}))).all())
    events = session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id.in_(list(visible)))
                             .order_by(CaseEvent.created_at, CaseEvent.case_id, CaseEvent.seq)).all()
    timeline = [{"case_id": ev.case_id, "number": visible[ev.case_id].number, "seq": ev.seq, "action": ev.action,
                 "at": ev.created_at} for ev in events]
    session.scalars(sa.select(CaseLink).where(CaseLink.low_id.in_(list(visible)),
                                              CaseLink.high_id.in_(list(visible)))).all()
    cases = [{**present_case(session=session, case=visible[cid], viewer=viewer, full_pii=False),
              "handling_unit_name": names.get(visible[cid].handling_unit)}
             for cid in sorted(visible, key=lambda i: (distance[i], i))]
    return {"cases": cases, "timeline": timeline, "total_connected": len(ids)}


def _links(scale: int, rng: random.Random):
    """Yield (low, high, type, auto) rows: clusters until LINKS - hub links, then the hubs."""
    ids = list(range(1, scale + 1))
    rng.shuffle(ids)
    sizes, weights = list(SIZES), list(SIZES.values())
    want, n, pos = LINKS - HUBS * HUB_FANOUT, 0, 0
    while n < want:
        if pos + 12 > len(ids) - HUBS:
            raise ValueError(f"{scale:,} cases are too few for {LINKS:,} links")
        k = rng.choices(sizes, weights)[0]
        members = sorted(ids[pos:pos + k])
        pos += k
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if n >= want:
                    break
                yield a, b, "same_petitioner", True
                n += 1
                if rng.random() < SECOND_TYPE and n < want:
                    yield a, b, "related", False
                    n += 1
    hubs = ids[pos:pos + HUBS]  # unclustered cases: no pair can repeat a cluster's
    hub_set = set(hubs)
    for hub in hubs:
        others = [o for o in rng.sample(ids, HUB_FANOUT + HUBS) if o not in hub_set][:HUB_FANOUT]
        for other in others:
            yield min(hub, other), max(hub, other), "same_village", True


def ensure_links(ctx: Context, scale: int) -> dict:
    import psycopg

    from bench.datagen import _conninfo

    with ctx.engine.connect() as conn:
        current = conn.exec_driver_sql("SELECT obj_description('case_links'::regclass, 'pg_class')").scalar()
        count = conn.exec_driver_sql("SELECT count(*) FROM case_links").scalar()
    marker = f"{LINK_MARKER} scale={scale}"
    if current == marker and not ctx.regenerate:
        ctx.log(f"links: reusing {count:,} links")
        return {"generated": False, "links": count}
    started = time.perf_counter()
    rng = random.Random(SEED)
    now = ctx.now.isoformat()
    with psycopg.connect(_conninfo(ctx.database_url), autocommit=True) as conn:
        cur = conn.cursor()
        cur.execute("SET maintenance_work_mem = '512MB'")
        with conn.transaction():
            cur.execute("TRUNCATE case_links RESTART IDENTITY")
            cur.execute("ALTER TABLE case_links DROP CONSTRAINT uq_case_links_pair_type")
            cur.execute("DROP INDEX ix_case_links_high")
            cur.execute("SET session_replication_role = replica")
            buf, n = [], 0
            with cur.copy("COPY case_links (id, low_id, high_id, type, auto, dismissed, dismissed_at, created_at) "
                          "FROM STDIN") as copy:
                for low, high, type_, auto in _links(scale, rng):
                    n += 1
                    dismissed = rng.random() < DISMISSED
                    buf.append(f"{n}\t{low}\t{high}\t{type_}\t{'t' if auto else 'f'}\t{'t' if dismissed else 'f'}\t"
                               f"{now if dismissed else chr(92) + 'N'}\t{now}\n")
                    if len(buf) >= 100_000:
                        copy.write("".join(buf))
                        buf = []
                copy.write("".join(buf))
            cur.execute("SET session_replication_role = DEFAULT")
            # Rebuilt after COPY; the unique constraint also proves no (low, high, type) repeats.
            cur.execute("ALTER TABLE case_links ADD CONSTRAINT uq_case_links_pair_type "
                        "UNIQUE (low_id, high_id, type)")
            cur.execute("CREATE INDEX ix_case_links_high ON case_links (high_id)")
            cur.execute("SELECT setval(pg_get_serial_sequence('case_links', 'id'), %s)", (n + 1,))
            cur.execute(f"COMMENT ON TABLE case_links IS '{marker}'")
        cur.execute("VACUUM ANALYZE case_links")
    took = time.perf_counter() - started
    ctx.log(f"links: {n:,} links generated in {took:.0f} s")
    return {"generated": True, "links": n, "seconds": round(took, 1)}


def ensure_supervisor(ctx: Context):
    from casework.auth.models import User
    from casework.security import hash_password

    with Session(ctx.engine) as session:
        user = session.scalar(sa.select(User).where(User.username == SUPERVISOR))
        if user is None:
            user = User(username=SUPERVISOR, password_hash=hash_password("bench-only", fast=True), role="supervisor",
                        unit_code="100000", is_active=True)
            session.add(user)
            session.commit()
        return user.id


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def _walk_sql(session, sql: str, start: int) -> int:
    return len(session.execute(sa.text(sql), {"start": start, "depth": DEPTH}).all())


def run_linked(ctx: Context) -> BenchResult:
    from casework.auth.models import User
    from casework.links.graph import _PG, connected
    from casework.reports.linked import PAGE_SIZE, linked_report

    lctx = ctx.sibling("links")
    data = lctx.ensure_data(ctx.scale)
    links = ensure_links(lctx, ctx.scale)
    uid = ensure_supervisor(lctx)
    from casework.security import pii_box
    from config.settings import BaseConfig

    config = BaseConfig()  # the keys datagen encrypted the petitioners with
    pii_box.configure(config.PII_KEYS, index_key=config.BLIND_INDEX_KEY)
    rng = random.Random(SEED + 1)
    starts = [rng.randint(1, ctx.scale) for _ in range(STARTS)]
    walk_ms, report_ms, old_ms, warm_ms, sizes, load = [], [], [], [], [], [os.getloadavg()[0]]
    per_case = []  # (start index, ms) of the per-case report, on every 10th start and every hub start
    with Session(lctx.engine) as session:  # warm-up: plans, pools, the unit tree
        viewer = session.get(User, uid)
        for s in starts[:5]:
            connected(session=session, start_id=s, depth=DEPTH)
            linked_report(session=session, case_id=s, viewer=viewer, depth=DEPTH)
    for i, start in enumerate(starts):
        with Session(lctx.engine) as session:
            session.connection()
            t = time.perf_counter()
            reach = connected(session=session, start_id=start, depth=DEPTH)
            walk_ms.append((time.perf_counter() - t) * 1000)
            sizes.append(len(reach))
            if i % 20 == 0:  # the old edges-CTE walk, on every 20th start (seconds each)
                t = time.perf_counter()
                _walk_sql(session, EDGES_CTE_WALK, start)
                old_ms.append((time.perf_counter() - t) * 1000)
        with Session(lctx.engine) as session:
            viewer = session.get(User, uid)
            t = time.perf_counter()
            report = linked_report(session=session, case_id=start, viewer=viewer, depth=DEPTH)
            report_ms.append((time.perf_counter() - t) * 1000)
            assert report["total_connected"] == len(reach)
        if i % 10 == 0 or len(reach) > 100:  # the report as it was (per-case presenter), same start, same load
            with Session(lctx.engine) as session:
                viewer = session.get(User, uid)
                t = time.perf_counter()
                before = _per_case_report(session=session, case_id=start, viewer=viewer, depth=DEPTH)
                per_case.append((i, (time.perf_counter() - t) * 1000))
                # The same cases: the page is the head of the per-case report's list, the total its length.
                assert [c["id"] for c in before["cases"]][:len(report["cases"])] == [c["id"] for c in report["cases"]]
                assert report["total"] == len(before["cases"])
        with Session(lctx.engine) as session:  # the same report at once again: its pages are now cached
            viewer = session.get(User, uid)
            t = time.perf_counter()
            linked_report(session=session, case_id=start, viewer=viewer, depth=DEPTH)
            warm_ms.append((time.perf_counter() - t) * 1000)
        if i % 50 == 49:
            load.append(os.getloadavg()[0])
            ctx.log(f"  {i + 1}/{STARTS}: report p50 {_pct(report_ms, .5):.1f} ms, walk p50 {_pct(walk_ms, .5):.1f} ms "
                    f"(load {load[-1]:.1f})")
    hub_start = max(zip(sizes, starts))[1]
    whole_ms = []  # the largest component without paging (what xlsx and pdf read)
    for _ in range(3):
        with Session(lctx.engine) as session:
            viewer = session.get(User, uid)
            t = time.perf_counter()
            linked_report(session=session, case_id=hub_start, viewer=viewer, depth=DEPTH, page_size=None)
            whole_ms.append((time.perf_counter() - t) * 1000)
    plans = {}
    with lctx.engine.connect() as conn:
        for name, sql in (("walk", _PG), ("edges_cte_walk", EDGES_CTE_WALK)):
            rows = conn.execute(sa.text("EXPLAIN (ANALYZE, BUFFERS) " + sql), {"start": hub_start, "depth": DEPTH})
            plans[name] = "\n".join(r[0] for r in rows)
    ctx.log("walk plan (largest component among the starts):\n" + plans["walk"])
    uses = {ix: ix in plans["walk"] for ix in ("uq_case_links_pair_type", "ix_case_links_high")}
    lctx.engine.dispose()
    p = {q: (_pct(report_ms, q), _pct(walk_ms, q)) for q in (.5, .95, .99)}
    figures = [Figure(f"linked_report depth {DEPTH}, p{int(q * 100)} of {STARTS} starts", r, "ms", baseline=w,
                      baseline_name="bare graph walk (graph.connected)",
                      note=f"first page, page_size {PAGE_SIZE} (the API default); totals cover the component",
                      target=f"< {P95_TARGET_MS:g} ms" if q == .95 else None,
                      passed=r < P95_TARGET_MS if q == .95 else None) for q, (r, w) in p.items()]
    # The app's connections run with JIT off (casework.db.make_engine); what remains beyond the walk is
    # mostly the first read of the reached case rows, which a second run of the same report shows.
    figures += [Figure(f"the same report run again at once (cached pages), p{int(q * 100)}", _pct(warm_ms, q),
                       "ms", baseline=p[q][0], baseline_name="first run of the report")
                for q in (.5, .95, .99)]
    every10 = [(i, ms) for i, ms in per_case if i % 10 == 0]
    hubs = [(i, ms) for i, ms in per_case if sizes[i] > 100]
    figures += [Figure(f"report before the set-based change (per-case presenter), p{int(q * 100)} of every 10th "
                       "start", _pct([ms for _, ms in every10], q), "ms",
                       baseline=_pct([report_ms[i] for i, _ in every10], q),
                       baseline_name="set-based report, same starts", note=f"{len(every10)} starts")
                for q in (.5, .95)]
    if hubs:
        figures.append(Figure("report before the set-based change, p50 of the starts reaching > 100 cases",
                              _pct([ms for _, ms in hubs], .5), "ms",
                              baseline=_pct([report_ms[i] for i, _ in hubs], .5),
                              baseline_name="set-based report (first page), same starts",
                              note=f"{len(hubs)} starts; the per-case report has every case, the page 50"))
    big = [ms for ms, n in zip(report_ms, sizes) if n > 100]
    figures.append(Figure(f"largest component, all {max(sizes):,} cases in one report (page_size=None, "
                          "as xlsx/pdf read it), median of 3", _pct(whole_ms, .5), "ms"))
    if big:
        figures.append(Figure("linked_report p95 over starts reaching > 100 cases (hub components)", _pct(big, .95),
                              "ms", note=f"{len(big)} of {STARTS} starts; max {max(big):.0f} ms at "
                                         f"{max(sizes):,} cases"))
    figures += [
        Figure("old edges-CTE walk, p50 (before the graph.py change)", _pct(old_ms, .5), "ms",
               baseline=p[.5][1], baseline_name="index walk p50", note=f"{len(old_ms)} of the starts"),
        Figure("cases reached, p50 / p95 / max", _pct(sizes, .5), "rows",
               note=f"p95 {_pct(sizes, .95):,}, max {max(sizes):,}"),
        Figure("walk uses uq_case_links_pair_type (low_id) and ix_case_links_high (EXPLAIN ANALYZE)",
               _plan_ms(plans["walk"]), "ms", baseline=_plan_ms(plans["edges_cte_walk"]),
               baseline_name="old edges-CTE walk, EXPLAIN ANALYZE", target="both indexes",
               passed=all(uses.values())),
    ]
    return BenchResult("linked-report", figures, details={
        "database": lctx.engine.url.database, "data": data, "links": links, "starts": starts,
        "report_ms": report_ms, "report_again_ms": warm_ms, "walk_ms": walk_ms, "edges_cte_walk_ms": old_ms,
        "per_case_report_ms": per_case, "whole_component_ms": whole_ms, "reached": sizes,
        "load_average_1m": load, "explain_start": hub_start, "plans": plans, "indexes_used": uses})


def _plan_ms(plan: str) -> float:
    m = re.search(r"Execution Time: ([\d.]+) ms", plan or "")
    return float(m.group(1)) if m else 0.0
