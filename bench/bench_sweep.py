"""The SLA sweep at scale, against one hand-written SQL UPDATE of the same rows.

The baseline writes every row the sweep writes (clocks, cases, 督办, notifications) in
one statement; the UPDATE of the due clocks alone is measured beside them as context.
Every run happens inside a transaction that is rolled back, and the touched tables
are vacuumed before each run, so the sweep and the baselines each start from the
same state: N open cases of which ``due`` clocks ran out and ``warn`` reach their
warning time. Wall time excludes the COMMIT (there is none); it includes every
statement of the sweep and the ORM work between them.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from bench.harness import BenchResult, Context, Figure, median

REPO = Path(__file__).resolve().parent.parent
VACUUMED = ("case_clocks", "cases", "supervisions", "notifications", "outbox")
# The target's baseline: one hand-written SQL UPDATE writing the same rows the sweep writes (warn, breach,
# flag the cases, open the 督办, the three notifications), every other write a data-modifying WITH of that
# UPDATE. Case numbers are read by primary key, one scalar subquery per row: joined instead, the CTEs'
# guessed row counts (~300,000) lead the planner to hash all 1,000,000 cases, once per notice. Left out: petitioners' windows (none in the generated data), re-escalation
# and closing (nothing to do in this data) and the 50 delivery-job rows. Its counts are checked equal to the
# sweep's after each run, outside the timing.
SAME_ROWS_UPDATE_SQL = """
WITH warned AS (
  UPDATE case_clocks SET warned_at = %(now)s
  WHERE state = 'running' AND warned_at IS NULL AND warn_at <= %(now)s AND due_at > %(now)s
  RETURNING id, case_id, unit_code, name),
ran_out AS (
  UPDATE case_clocks SET state = 'breached', breached_at = %(now)s WHERE state = 'running' AND due_at <= %(now)s
  RETURNING id, case_id, unit_code, case_path, name),
sups AS (
  INSERT INTO supervisions (case_id, clock_id, kind, unit_code, unit_path, case_path, level, target_unit, reason,
                            state, opened_at, escalate_at)
  SELECT r.case_id, r.id, 'auto', coalesce(p.code, h.code), coalesce(p.path, h.path), r.case_path,
         coalesce(p.level, h.level), r.unit_code, '超期：' || r.name || ' 未在期限内办理', 'open', %(now)s,
         %(now)s + interval '7 days'
  FROM ran_out r JOIN units h ON h.code = r.unit_code LEFT JOIN units p ON p.code = h.parent_code
  RETURNING id, case_id, unit_code, reason),
n_warn AS (
  INSERT INTO notifications (unit_code, kind, case_id, title, dedup_key, created_at, payload)
  SELECT w.unit_code, 'warning', w.case_id, '预警：' || (SELECT number FROM cases WHERE id = w.case_id) || ' ' || w.name
         || ' 即将到期', 'warn:' || w.id, %(now)s, '{}' FROM warned w),
n_breach AS (
  INSERT INTO notifications (unit_code, kind, case_id, title, dedup_key, created_at, payload)
  SELECT r.unit_code, 'breach', r.case_id, '超期：' || (SELECT number FROM cases WHERE id = r.case_id) || ' ' || r.name,
         'breach:' || r.id, %(now)s, '{}' FROM ran_out r),
n_sup AS (
  INSERT INTO notifications (unit_code, kind, case_id, supervision_id, title, dedup_key, created_at, payload)
  SELECT s.unit_code, 'supervision', s.case_id, s.id, '督办：' || (SELECT number FROM cases WHERE id = s.case_id) || ' '
         || s.reason, 'supervision:' || s.id, %(now)s, '{}' FROM sups s)
UPDATE cases c SET overdue = true, supervised = true, awaiting_reply = true,
  first_response_late = c.first_response_late OR r.first, handling_late = c.handling_late OR r.handling
FROM (SELECT case_id, bool_or(name IN ('acceptance', 'contact')) AS first,
             bool_or(name IN ('handling', 'rectification')) AS handling FROM ran_out GROUP BY case_id) r
WHERE c.id = r.case_id
"""
# What the hand-written UPDATE wrote, read after it (untimed) by the timestamp it stamped on every row.
SAME_ROWS_COUNTS_SQL = """
SELECT (SELECT count(*) FROM case_clocks WHERE warned_at = %(now)s AND state = 'running'),
       (SELECT count(*) FROM case_clocks WHERE breached_at = %(now)s AND state = 'breached'),
       (SELECT count(*) FROM supervisions WHERE opened_at = %(now)s),
       (SELECT count(*) FROM notifications WHERE created_at = %(now)s)
"""
# Context, not the target's baseline: the breach UPDATE of the due clocks alone, one of the sweep's writes.
CLOCKS_ONLY_SQL = ("UPDATE case_clocks SET state = 'breached', breached_at = %(now)s "
                   "WHERE state = 'running' AND due_at <= %(now)s")
DUE_INDEX = "ix_case_clocks_due_running"
CHECK_TAG = "/* bench check */"  # the profile leaves out the benchmark's own check query
SWEEP_TARGET_S = 2.0
RATIO_TARGET = 3.0
SCALING_SMALL = 100_000
GROWTH_TARGET = 1.5


def _policies():
    from casework.sla.policies import load_policies

    return load_policies(REPO / "config" / "sla.yaml")


def time_sweep(ctx: Context, policies, after=None) -> tuple[float, dict]:
    """One sweep, rolled back; ``after(session)`` may look at its effects first (outside the timing)."""
    from casework import clock
    from casework.sla.sweep import sweep

    with Session(ctx.engine) as session, clock.frozen(ctx.now):
        session.connection()  # BEGIN and the pool checkout stay outside the timed region
        started = time.perf_counter()
        result = sweep(session=session, now=ctx.now, policies=policies)
        elapsed = time.perf_counter() - started
        out = result.as_dict()
        if after is not None:
            out["after"] = after(session)
        session.rollback()
    return elapsed, out


def due_by_name(ctx: Context) -> dict[str, int]:
    with ctx.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT name, count(*) FROM case_clocks WHERE state = 'running' "
                                    "AND due_at <= %(now)s GROUP BY name", {"now": ctx.now}).all()
    return {name: n for name, n in rows}


def case_flags(session) -> dict[str, int]:
    """How many cases the sweep marked: checked against the due clocks, so a faster sweep is not a wrong one."""
    row = session.connection().exec_driver_sql(
        f"{CHECK_TAG} SELECT count(*) FILTER (WHERE overdue AND supervised), "
        "count(*) FILTER (WHERE first_response_late), count(*) FILTER (WHERE handling_late), "
        "(SELECT count(*) FROM outbox WHERE state = 'pending') FROM cases").one()
    return {"overdue_and_supervised": row[0], "first_response_late": row[1], "handling_late": row[2],
            "outbox_pending": row[3]}


def time_clocks_only(ctx: Context) -> tuple[float, int]:
    """The breach UPDATE of the due clocks alone, rolled back."""
    with ctx.engine.connect() as conn:
        tx = conn.begin()
        started = time.perf_counter()
        rows = conn.exec_driver_sql(CLOCKS_ONLY_SQL, {"now": ctx.now}).rowcount
        elapsed = time.perf_counter() - started
        tx.rollback()
    return elapsed, rows


def time_same_rows(ctx: Context) -> tuple[float, dict]:
    """The hand-written UPDATE of the same rows, rolled back; its counts are read before the rollback."""
    with ctx.engine.connect() as conn:
        tx = conn.begin()
        started = time.perf_counter()
        cases = conn.exec_driver_sql(SAME_ROWS_UPDATE_SQL, {"now": ctx.now}).rowcount
        elapsed = time.perf_counter() - started
        counts = conn.exec_driver_sql(SAME_ROWS_COUNTS_SQL, {"now": ctx.now}).one()
        tx.rollback()
    return elapsed, dict(zip(("warned", "breached", "supervisions", "notifications"), counts), cases=cases)


def measure(ctx: Context, policies, repeat: int) -> dict:
    """Warm each up once, then alternate sweep, same-rows UPDATE and clocks-only UPDATE, each from a vacuumed state."""
    runners = {"sweep": lambda: time_sweep(ctx, policies), "same_rows": lambda: time_same_rows(ctx),
               "clocks_only": lambda: time_clocks_only(ctx)}
    for run in runners.values():
        ctx.vacuum(*VACUUMED)
        run()
    times: dict[str, list[float]] = {name: [] for name in runners}
    outputs: dict[str, object] = {}
    vacuums = []
    # Other work on the machine skews the figures: the load average is recorded beside them.
    load = [os.getloadavg()[0]]
    for n in range(repeat):
        for name, run in runners.items():
            vacuums.append(ctx.vacuum(*VACUUMED))
            seconds, outputs[name] = run()
            times[name].append(seconds)
        load.append(os.getloadavg()[0])
        ctx.log(f"  run {n + 1}/{repeat}: " + ", ".join(f"{name} {t[-1] * 1000:.0f} ms" for name, t in times.items())
                + f" (load average {load[-1]:.1f})")
    return {"load_average_1m": load, "vacuum_s": [round(v, 2) for v in vacuums],
            **{f"{name}_s": t for name, t in times.items()},
            **{f"{name}_median_s": median(t) for name, t in times.items()},
            "result": outputs["sweep"], "same_rows": outputs["same_rows"], "clocks_only_rows": outputs["clocks_only"]}


class StatementProfile:
    """Times each statement the sweep sends; with ``explain`` also EXPLAIN (ANALYZE, BUFFERS)s it first,
    inside a savepoint rolled back at once, so the plan is taken on exactly the state the statement meets."""

    def __init__(self, engine, explain: bool) -> None:
        self.engine, self.explain, self.records = engine, explain, []

    def __enter__(self) -> StatementProfile:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.startswith(CHECK_TAG):
            return
        plan = None
        if self.explain and not executemany and re.match(r"\s*(UPDATE|INSERT|SELECT|DELETE|WITH)\b", statement):
            with cursor.connection.cursor() as cur:
                cur.execute("SAVEPOINT bench_explain")
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                plan = "\n".join(row[0] for row in cur.fetchall())
                cur.execute("ROLLBACK TO SAVEPOINT bench_explain")
                cur.execute("RELEASE SAVEPOINT bench_explain")
        conn.info["bench_statement"] = (time.perf_counter(), plan)

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.startswith(CHECK_TAG):
            return
        started, plan = conn.info.pop("bench_statement")
        rows = len(parameters) if executemany else cursor.rowcount
        self.records.append({"sql": " ".join(statement.split()), "seconds": time.perf_counter() - started,
                             "rows": rows, "executemany": executemany, "plan": plan})


def profile(ctx: Context, policies, explain: bool) -> tuple[float, list[dict], dict]:
    ctx.vacuum(*VACUUMED)
    with StatementProfile(ctx.engine, explain) as prof:
        seconds, result = time_sweep(ctx, policies, after=case_flags)
    return seconds, prof.records, result["after"]


def explain_clocks_only(ctx: Context) -> str:
    with ctx.engine.connect() as conn:
        tx = conn.begin()
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + CLOCKS_ONLY_SQL,
                                                            {"now": ctx.now}))
        tx.rollback()
    return plan


def _breach_plan(records: list[dict]) -> str | None:
    for rec in records:
        sql = rec["sql"]
        if sql.startswith("UPDATE case_clocks SET state=") and "breached_at=" in sql and rec["plan"]:
            return rec["plan"]
    return None


def _plan_time_ms(plan: str) -> float | None:
    match = re.search(r"Execution Time: ([\d.]+) ms", plan or "")
    return float(match.group(1)) if match else None


def statement_table(records: list[dict], total: float, limit: int = 12) -> str:
    spent = sum(r["seconds"] for r in records)
    lines = [f"  {len(records)} statements, {spent * 1000:.0f} ms in the database driver, "
             f"{(total - spent) * 1000:.0f} ms in Python between them; slowest:"]
    for rec in sorted(records, key=lambda r: -r["seconds"])[:limit]:
        lines.append(f"  {rec['seconds'] * 1000:8.1f} ms {rec['rows']:>7} rows  {rec['sql'][:110]}")
    return "\n".join(lines)


def run_sweep(ctx: Context) -> BenchResult:
    data = ctx.ensure_data(ctx.scale)
    policies = _policies()
    ctx.log(f"sweep: {ctx.scale:,} cases, {ctx.repeat} runs each of the sweep, the hand-written UPDATE of the "
            "same rows and the UPDATE of the due clocks alone")
    due = due_by_name(ctx)
    m = measure(ctx, policies, ctx.repeat)
    timed_total, timed_records, flags = profile(ctx, policies, explain=False)
    ctx.log(statement_table(timed_records, timed_total))
    _, explained, _ = profile(ctx, policies, explain=True)
    breach_plan = _breach_plan(explained) or ""
    clocks_plan = explain_clocks_only(ctx)
    uses_index = f"Index Scan using {DUE_INDEX}" in breach_plan or f"Bitmap Index Scan on {DUE_INDEX}" in breach_plan
    ctx.log("breach UPDATE plan (inside the sweep, rolled back):\n" + breach_plan)
    sweep_s, same_s, clocks_s = m["sweep_median_s"], m["same_rows_median_s"], m["clocks_only_median_s"]
    result, same = m["result"], m["same_rows"]
    first_late = due.get("acceptance", 0) + due.get("contact", 0)
    handling_late = due.get("handling", 0) + due.get("rectification", 0)
    due, warn = data["due"], data["warn"]
    ratio = sweep_s / same_s
    same_rows_agree = (same["warned"], same["breached"], same["cases"], same["supervisions"],
                       same["notifications"]) == (result["warned"], result["breached"], flags["overdue_and_supervised"],
                                                  result["supervisions_opened"], result["notifications"])
    # The bench database holds no other pending outbox rows, so those pending are the sweep's delivery jobs.
    written = (result["windows_closed"] + result["warned"] + result["breached"] + flags["overdue_and_supervised"]
               + result["supervisions_opened"] + result["escalated"] + result["supervisions_closed"]
               + result["notifications"] + flags["outbox_pending"])
    same_name = "one hand-written UPDATE of the same rows"
    figures = [
        Figure(f"sweep wall time, median of {ctx.repeat}", sweep_s, "s", baseline=same_s, baseline_name=same_name,
               target=f"< {SWEEP_TARGET_S:g} s", passed=sweep_s < SWEEP_TARGET_S),
        Figure("sweep ÷ the hand-written UPDATE of the same rows", ratio, "x", target=f"≤ {RATIO_TARGET:g}×",
               passed=ratio <= RATIO_TARGET),
        Figure(f"hand-written UPDATE of the same rows, median of {ctx.repeat}", same_s, "s",
               note="UPDATE cases with the clock, 督办 and notification writes as data-modifying WITHs"),
        Figure("rows the hand-written UPDATE wrote (warned, breached, cases, 督办, notifications)",
               sum(same.values()), "rows", target="each count = the sweep's", passed=same_rows_agree),
        Figure("rows written by the sweep (clocks, cases, 督办, notifications, outbox delivery jobs)", written, "rows"),
        Figure("sweep, against the UPDATE of the 10,000 due clocks alone", sweep_s, "s", baseline=clocks_s,
               baseline_name="one breach UPDATE of case_clocks",
               note=f"context: one of the sweep's writes, {m['clocks_only_rows']:,} of its {written:,} rows"),
        Figure(f"breach UPDATE in the sweep (EXPLAIN ANALYZE), uses {DUE_INDEX}", _plan_time_ms(breach_plan) or 0,
               "ms", baseline=_plan_time_ms(clocks_plan), baseline_name="hand-written, EXPLAIN ANALYZE",
               target="index scan on the partial index", passed=uses_index),
        Figure("clocks breached", result["breached"], "rows", target=f"= {due:,}", passed=result["breached"] == due),
        Figure("clocks warned", result["warned"], "rows", target=f"= {warn:,}", passed=result["warned"] == warn),
        Figure("督办 opened", result["supervisions_opened"], "rows", target=f"= {due:,}",
               passed=result["supervisions_opened"] == due),
        Figure("notifications written", result["notifications"], "rows", target=f"= {2 * due + warn:,}",
               passed=result["notifications"] == 2 * due + warn),
        Figure("cases marked overdue and supervised", flags["overdue_and_supervised"], "rows", target=f"= {due:,}",
               passed=flags["overdue_and_supervised"] == due),
        Figure("cases marked first_response_late", flags["first_response_late"], "rows",
               target=f"= {first_late:,} (acceptance clocks due)", passed=flags["first_response_late"] == first_late),
        Figure("cases marked handling_late", flags["handling_late"], "rows",
               target=f"= {handling_late:,} (handling clocks due)", passed=flags["handling_late"] == handling_late),
    ]
    return BenchResult("sweep", figures, details={
        "scale": ctx.scale, "data": data, **m, "statements": timed_records, "case_flags": flags,
        "rows_written": written, "profiled_sweep_s": timed_total,
        "explained_statements": [{"sql": r["sql"], "plan": r["plan"]} for r in explained],
        "breach_update_plan": breach_plan, "clocks_only_plan": clocks_plan})


def run_scaling(ctx: Context) -> BenchResult:
    """The same 10,000 due clocks among 100,000 and among --scale cases: the time should follow the due rows.

    The small data set lives in a sibling database, so both are measured in alternation, under the same
    machine load, rather than one after the other.
    """
    policies = _policies()
    repeat = min(ctx.repeat, 3)
    small = SCALING_SMALL
    if ctx.scale <= small:
        raise SystemExit(f"sweep-scaling compares {small:,} cases with --scale; give a larger --scale")
    ctxs = {small: ctx.sibling(f"s{small}"), ctx.scale: ctx}
    for scale, c in ctxs.items():
        c.ensure_data(scale)
    for c in ctxs.values():  # warm-up
        c.vacuum(*VACUUMED)
        time_sweep(c, policies)
        time_clocks_only(c)
    runs: dict[int, dict[str, list]] = {s: {"sweep_s": [], "baseline_s": [], "load_average_1m": []} for s in ctxs}
    for n in range(repeat):
        for scale, c in ctxs.items():
            c.vacuum(*VACUUMED)
            runs[scale]["sweep_s"].append(time_sweep(c, policies)[0])
            c.vacuum(*VACUUMED)
            runs[scale]["baseline_s"].append(time_clocks_only(c)[0])
            runs[scale]["load_average_1m"].append(os.getloadavg()[0])
            ctx.log(f"  run {n + 1}/{repeat} at {scale:,} cases: sweep {runs[scale]['sweep_s'][-1] * 1000:.0f} ms, "
                    f"baseline {runs[scale]['baseline_s'][-1] * 1000:.0f} ms (load average "
                    f"{runs[scale]['load_average_1m'][-1]:.1f})")
    per_scale = {}
    for scale, c in ctxs.items():
        total, records, _ = profile(c, policies, explain=False)
        ctx.log(f"  at {scale:,} cases:\n" + statement_table(records, total, limit=6))
        per_scale[scale] = {**runs[scale], "sweep_median_s": median(runs[scale]["sweep_s"]),
                            "baseline_median_s": median(runs[scale]["baseline_s"]), "statements": records,
                            "database": c.engine.url.database}
    ctxs[small].engine.dispose()
    large = ctx.scale
    growth = per_scale[large]["sweep_median_s"] / per_scale[small]["sweep_median_s"]
    base_growth = per_scale[large]["baseline_median_s"] / per_scale[small]["baseline_median_s"]
    figures = [Figure(f"sweep at {scale:,} cases, median of {repeat}", m["sweep_median_s"], "s",
                      baseline=m["baseline_median_s"], baseline_name="breach UPDATE of the due clocks, same data")
               for scale, m in per_scale.items()]
    figures += [
        Figure(f"sweep growth {small:,} → {large:,} cases (same due rows)", growth, "x",
               target=f"≤ {GROWTH_TARGET:g}× for {large / small:g}× the rows", passed=growth <= GROWTH_TARGET),
        Figure(f"hand-written UPDATE growth {small:,} → {large:,} cases", base_growth, "x",
               note="context: the same due rows in a bigger, less cached table"),
    ]
    return BenchResult("sweep-scaling", figures, details={str(k): v for k, v in per_scale.items()})
