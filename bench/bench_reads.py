"""Case reads over HTTP at --scale cases: a province's overdue list and single cases, against the same SQL.

The same sibling database and gunicorn set-up as intake (``<database>_intake``, bench/bench_intake.py). The
generated cases are not overdue until a sweep says so: the first run sweeps once at the benchmark's ``now``
and commits (the 10,000 due clocks breach, their cases turn overdue and supervised), as production's
scheduler would have. The reader is a ministry supervisor narrowing to the province with the most overdue
cases (``unit=<province>&overdue=true``, pages 1 and 2 of 50). Single cases are random ids.

Baselines, run in alternation at the same concurrency: the exact SQL the list sends (its count and its
page, compiled from ``casework.cases.service.list_cases``) by raw psycopg, and for a single case the
primary-key SELECT of the case with its clocks and participants.
"""
from __future__ import annotations

import os
import random
import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bench.bench_intake import (DURATION_S, Server, _pooled, _summary, conninfo, ensure_user, intake_db, loadgen)
from bench.harness import BenchResult, Context, Figure

# A few supervisors' screens at once: latency, not saturation, is the question. Two cores serve four
# closed-loop clients without a queue of more than one request each (8 measured p99s of mostly queueing).
CONCURRENCY = int(os.environ.get("BENCH_READ_CLIENTS", "4"))
P99_TARGET_MS = 50.0
SUPERVISOR = "bench-ministry-supervisor"
DETAIL_IDS, SEED = 5_000, 20260616
DETAIL_SQL = [("SELECT * FROM cases WHERE id = %(id)s", None),
              ("SELECT * FROM case_clocks WHERE case_id = %(id)s ORDER BY id", None),
              ("SELECT * FROM case_participants WHERE case_id = %(id)s ORDER BY id", None)]


def ensure_overdue(ctx: Context, sctx: Context) -> dict:
    """Sweep once at the benchmark's now and commit, unless a sweep already did."""
    from bench.bench_sweep import _policies
    from casework import clock
    from casework.sla.sweep import sweep

    with sctx.engine.connect() as conn:
        overdue = conn.exec_driver_sql("SELECT count(*) FROM cases WHERE overdue").scalar()
    if overdue:
        return {"swept_now": False, "overdue": overdue}
    with Session(sctx.engine) as session, clock.frozen(ctx.now):
        result = sweep(session=session, now=ctx.now, policies=_policies()).as_dict()
        session.commit()
    with sctx.autocommit() as conn:
        conn.exec_driver_sql("VACUUM ANALYZE cases, case_clocks, supervisions, notifications, outbox")
        overdue = conn.exec_driver_sql("SELECT count(*) FROM cases WHERE overdue").scalar()
    ctx.log(f"  swept once and committed: {overdue:,} cases overdue")
    return {"swept_now": True, "overdue": overdue, "sweep": result}


def busiest_province(sctx: Context) -> tuple[str, int, int]:
    """The province with the most overdue cases: (code, overdue cases, all its cases)."""
    with sctx.engine.connect() as conn:
        code, n = conn.exec_driver_sql(
            "SELECT split_part(unit_path, '/', 2), count(*) FROM cases WHERE overdue GROUP BY 1 "
            "ORDER BY 2 DESC, 1 LIMIT 1").one()
        total = conn.exec_driver_sql("SELECT count(*) FROM cases WHERE unit_path LIKE %(p)s",
                                     {"p": f"100000/{code}/%"}).scalar()
    return code, n, total


def list_sql(sctx: Context, uid: int, province: str, page: int) -> list[tuple[str, dict]]:
    """The count and page statements the list endpoint sends, compiled from the service itself."""
    from casework.auth.models import User
    from casework.cases.service import list_cases

    with Session(sctx.engine) as session:
        viewer = session.get(User, uid)
        stmt = list_cases(session=session, viewer=viewer, filters={"unit": province, "overdue": True,
                                                                   "sort": "-received_at"})
        out = []
        for s in (sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()),
                  stmt.limit(50).offset((page - 1) * 50)):
            compiled = s.compile(dialect=session.get_bind().dialect)
            out.append((str(compiled), dict(compiled.params)))
    return out


def explain(sctx: Context, sql: str, params: dict, setup: tuple[str, ...] = ()) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) after ``setup`` statements, in a transaction rolled back (so an experiment's
    index or setting never outlives it)."""
    import psycopg

    with psycopg.connect(conninfo(sctx)) as conn:
        for statement in setup:
            conn.execute(statement)
        rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
        conn.rollback()
    return "\n".join(r[0] for r in rows)


# Experiments on the list's plan, each in a transaction rolled back: what the app ran before JIT was turned off
# on its connections and without the partial index that finds the overdue cases (migrations 0010, then 0012).
EXPERIMENTS = {
    "JIT on (the server default)": ("SET LOCAL jit = on",),
    "without ix_case_clocks_overdue_path": ("DROP INDEX IF EXISTS ix_case_clocks_overdue_path",),
    "both": ("SET LOCAL jit = on", "DROP INDEX IF EXISTS ix_case_clocks_overdue_path"),
}


def _plan_ms(plan: str) -> float:
    m = re.search(r"Execution Time: ([\d.]+) ms", plan)
    return float(m.group(1)) if m else 0.0


def _jit_ms(plan: str) -> float:
    m = re.search(r"Timing: .*Total ([\d.]+) ms", plan)
    return float(m.group(1)) if m else 0.0


def run_reads(ctx: Context) -> BenchResult:
    from bench.app_profile import profile_gets

    sctx = intake_db(ctx, ctx.scale)
    swept = ensure_overdue(ctx, sctx)
    uid = ensure_user(sctx, SUPERVISOR, "supervisor", "100000")
    province, overdue_n, province_n = busiest_province(sctx)
    ctx.log(f"  province {province}: {overdue_n:,} overdue of {province_n:,} cases")
    list_paths = [f"/api/v1/cases?unit={province}&overdue=true&page={p}" for p in (1, 2)]
    list_work = [list_sql(sctx, uid, province, p) for p in (1, 2)]
    explain(sctx, *list_work[0][1])  # the first read of a cold table is not what a dashboard meets
    plans = {name: explain(sctx, *list_work[0][i]) for i, name in enumerate(("count", "page"))}
    for name, plan in plans.items():
        ctx.log(f"  EXPLAIN ANALYZE of the list's {name} query:\n" + plan)
    experiments = {f"{exp}_{name}": explain(sctx, *list_work[0][i], setup=setup)
                   for exp, setup in EXPERIMENTS.items() for i, name in enumerate(("count", "page"))}
    ctx.log("  experiment, JIT on and without the partial index (as before), page query:\n"
            + experiments["both_page"])
    rng = random.Random(SEED)
    ids = [rng.randint(1, ctx.scale) for _ in range(DETAIL_IDS)]
    detail_work = [[(sql, {"id": i}) for sql, _ in DETAIL_SQL] for i in ids]
    rounds = min(ctx.repeat, 2)
    runs: dict[str, list[dict]] = {k: [] for k in ("list", "list_sql", "detail", "detail_sql")}
    with Server(sctx) as server:
        token = server.token(SUPERVISOR)
        http = {"workload": "get", "host": "127.0.0.1", "port": server.port, "concurrency": CONCURRENCY,
                "token": token}
        sql = {"workload": "read_sql", "conninfo": conninfo(sctx), "concurrency": CONCURRENCY}
        for n in range(rounds):
            for name, spec in (("list", {**http, "paths": list_paths}), ("list_sql", {**sql, "statements": list_work}),
                               ("detail", {**http, "paths": [f"/api/v1/cases/{i}" for i in ids]}),
                               ("detail_sql", {**sql, "statements": detail_work})):
                runs[name].append(loadgen({**spec, "seed": 40 + n}))
                ctx.log(f"  round {n + 1}/{rounds} {name:10}: {_summary(runs[name][-1])}")
    profiles = {"list": profile_gets(sctx, SUPERVISOR, list_paths, requests=10),
                "detail": profile_gets(sctx, SUPERVISOR, [f"/api/v1/cases/{i}" for i in ids[:200]], requests=150)}
    for p in profiles.values():
        ctx.log(p["text"])
    sctx.engine.dispose()
    pooled = {k: _pooled(v) for k, v in runs.items()}
    figures = []
    for name, label, base_label in (
            ("list", f"GET /cases?unit={province}&overdue=true", "the same count + page SQL, psycopg"),
            ("detail", "GET /cases/{id}", "PK SELECT of case, clocks, participants, psycopg")):
        app, base = pooled[name], pooled[f"{name}_sql"]
        figures += [Figure(f"{label} p{q}, {CONCURRENCY} clients", app[f"p{q}_ms"], "ms", baseline=base[f"p{q}_ms"],
                           baseline_name=base_label, target=f"< {P99_TARGET_MS:g} ms" if q == 99 else None,
                           passed=app["p99_ms"] < P99_TARGET_MS if q == 99 else None) for q in (50, 95, 99)]
        figures += [Figure(f"{label} throughput", app["throughput_per_s"], "req/s",
                           baseline=base["throughput_per_s"], baseline_name=base_label),
                    Figure(f"{label} errors", app["errors_all"], "", target="= 0", passed=app["errors_all"] == 0)]
    jit_ms = {name: _jit_ms(plan) for name, plan in plans.items()}
    both_ms = _plan_ms(plans["count"]) + _plan_ms(plans["page"])
    figures.append(Figure("list count + page queries, EXPLAIN ANALYZE", both_ms, "ms",
                          note=f"{overdue_n:,} overdue of {province_n:,} cases in {province}; "
                               f"{sum(jit_ms.values()):.0f} ms of JIT compilation, summed over parallel workers"))
    for exp in EXPERIMENTS:
        figures.append(Figure(f"experiment: list count + page, {exp} (rolled back)",
                              _plan_ms(experiments[f"{exp}_count"]) + _plan_ms(experiments[f"{exp}_page"]), "ms",
                              baseline=both_ms,
                              baseline_name="as the app runs them", note="not what the app runs"))
    return BenchResult("reads", figures, details={
        "database": sctx.engine.url.database, "concurrency": CONCURRENCY, "duration_s": DURATION_S,
        "province": province, "province_overdue": overdue_n, "province_cases": province_n, "swept": swept,
        "list_sql": list_work[0], "plans": plans, "experiment_plans": experiments, "runs": runs, "profiles": profiles})
