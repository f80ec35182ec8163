"""Intake over HTTP: ``POST /api/v1/cases`` against the app under gunicorn, at 32 concurrent clients.

The app runs as production does (``CASEWORK_ENV=production``: gunicorn, gthread workers, PostgreSQL and
Redis from the environment, its own secrets) against a sibling database (``<database>_intake``, the datagen
cases), so intake rows never touch the sweep's data. The load generator (``bench/loadgen.py``) is a process
of its own on the same machine. The baseline, run in alternation with the same clients and concurrency, is
one raw psycopg transaction per request inserting a case row and its event row into the same database.
Rows the previous run added (cases beyond the generated ids, baseline rows) are deleted first.
"""
from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bench.harness import BenchResult, Context, Figure

REPO = Path(__file__).resolve().parent.parent
# 2 cores, shared with PostgreSQL and the load generator: 2 processes (one per core) of 4 threads each, the
# shape ``casework serve`` runs in production (casework/server.py). Threads overlap one request's database
# waits with another's Python work; more processes would only contend for the same two cores.
WORKERS, THREADS = 2, 4
CONCURRENCY, WARMUP_S = 32, 3
DURATION_S = int(os.environ.get("BENCH_LOAD_SECONDS", "20"))  # per measurement; shorter for a smoke run
# One clerk per county in each province that has counties (31): 32 clerks registering at once across the
# country, as production sees them. Client i is clerk i % CLERKS. (Four clients per county -- an earlier
# setting -- queue each county's intakes behind its case-number counter row, which one desk never does.)
CLERKS = 32
PASSWORD = "bench-only-password-2026"
THROUGHPUT_TARGET, P99_TARGET_MS = 0.40, 100.0
SCALING_SMALL, GROWTH_TARGET = 100_000, 1.25


# --- data -----------------------------------------------------------------------------------------------------
def intake_db(ctx: Context, scale: int, suffix: str = "intake") -> Context:
    """The sibling database with the datagen cases at ``scale``, without the rows earlier runs added."""
    from bench.datagen import DUE, MARKER_FAMILY, SEED, WARN, marker_for

    sctx = ctx.sibling(suffix)
    with sctx.engine.connect() as conn:
        current = conn.exec_driver_sql("SELECT obj_description('case_clocks'::regclass, 'pg_class')").scalar()
        has_cases = conn.exec_driver_sql("SELECT EXISTS (SELECT 1 FROM cases)").scalar()
    if current == marker_for(scale, ctx.now, DUE, WARN, SEED) and not ctx.regenerate:
        # datagen.ensure would regenerate over the 督办 a reads run's sweep left (on purpose): reuse instead.
        ctx.log(f"{sctx.engine.url.database}: reusing {scale:,} generated cases")
        sctx.data_info[scale] = {"generated": False, "marker": current}
    else:
        if has_cases and (current or "").startswith(MARKER_FAMILY):
            sctx.regenerate = True  # a different shape: replace it
        sctx.ensure_data(scale)
        sctx.regenerate = False
    gone = remove_added_rows(sctx, scale)
    if gone:
        ctx.log(f"  deleted {gone:,} cases left by an earlier run")
    return sctx


def remove_added_rows(sctx: Context, scale: int) -> int:
    """Delete the cases beyond the generated ids (intake's and the baseline's) with everything they own.

    Row by row through the foreign keys this took minutes: every deleted case is looked up, by sequential
    scan, in cases.possible_repeat_of_id and merged_into_id (no index). So the triggers are off for this
    transaction and each owning table is emptied of those rows by its case column instead.
    """
    with sctx.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        owners = conn.exec_driver_sql(
            "SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c JOIN pg_attribute a "
            "ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] WHERE c.contype = 'f' "
            "AND c.confrelid = 'cases'::regclass AND c.conrelid <> 'cases'::regclass").all()
        params = {"n": scale}
        conn.exec_driver_sql("DELETE FROM webhook_deliveries WHERE notification_id IN "
                             "(SELECT id FROM notifications WHERE case_id > %(n)s)", params)
        for table, column in owners:
            conn.exec_driver_sql(f"DELETE FROM {table} WHERE {column} > %(n)s", params)
        gone = conn.exec_driver_sql("DELETE FROM cases WHERE id > %(n)s", params).rowcount
        # Intake's outbox rows carry the real clock; the sweep's (reads) carry the benchmark's fixed now.
        conn.exec_driver_sql("DELETE FROM outbox WHERE created_at > %(now)s", {"now": sctx.now})
    if gone:
        sctx.vacuum("cases", "case_events", "case_clocks", "case_participants", "notifications", "outbox",
                    "case_links", "idempotency_keys")
    return gone


def ensure_user(sctx: Context, username: str, role: str, unit_code: str) -> int:
    """Created once through the service (password policy, argon2 hash), as an administrator would."""
    from casework.auth.models import User
    from casework.auth.service import create_user

    with Session(sctx.engine) as session:
        user = session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            user = create_user(session=session, username=username, password=PASSWORD, role=role,
                               unit_code=unit_code, actor=None)
            session.commit()
        return user.id


def clerks(sctx: Context) -> list[dict]:
    """The first county (by code) of each province (up to CLERKS), with the other counties of its city as neighbours."""
    with sctx.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT DISTINCT ON (split_part(path, '/', 2)) code, name, path, parent_code FROM units "
            "WHERE kind = 'civil_affairs' AND level = 'county' ORDER BY split_part(path, '/', 2), code").all()
        out = []
        for code, name, path, parent in rows[:CLERKS]:
            neighbours = conn.exec_driver_sql(
                "SELECT code FROM units WHERE parent_code = %(p)s AND code <> %(c)s AND kind = 'civil_affairs' "
                "ORDER BY code LIMIT 5", {"p": parent, "c": code}).scalars().all()
            out.append({"county": code, "county_name": name, "unit_path": path, "neighbours": list(neighbours)})
    for clerk in out:
        clerk["username"] = f"bench-clerk-{clerk['county']}"
        clerk["user_id"] = ensure_user(sctx, clerk["username"], "clerk", clerk["county"])
    return out


# --- the server -------------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(sctx: Context) -> dict:
    """Production settings: fresh secrets; the generated petitioners stay readable through key rotation
    (the datagen key is kept as an older decrypt-only key behind a new current one)."""
    from config.settings import BaseConfig

    if not sctx.redis_url:
        raise SystemExit("the HTTP benchmarks need REDIS_URL")
    base = BaseConfig()
    new_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return {**os.environ, "CASEWORK_ENV": "production", "DATABASE_URL": sctx.database_url,
            "REDIS_URL": sctx.redis_url, "SECRET_KEY": secrets.token_urlsafe(32),
            "CASEWORK_PII_KEYS": f"bench:{new_key},{base.PII_KEYS}",
            "CASEWORK_BLIND_INDEX_KEY": os.environ.get("CASEWORK_BLIND_INDEX_KEY") or "bench-blind-index-key-2026",
            "PYTHONPATH": str(REPO)}


class Server:
    """gunicorn with the app on a free port; started, waited for (/readyz), stopped."""

    def __init__(self, sctx: Context, workers: int = WORKERS, threads: int = THREADS) -> None:
        self.sctx, self.workers, self.threads = sctx, workers, threads
        self.port = _free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)
        self.proc: subprocess.Popen | None = None

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{self.port}",
                "--workers", str(self.workers), "--worker-class", "gthread", "--threads", str(self.threads),
                "--timeout", "60", "--keep-alive", "5", "--chdir", str(REPO)]

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(self.command, env=server_env(self.sctx), cwd=REPO, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"gunicorn did not become ready; log: {self.log.name}\n"
                                   + Path(self.log.name).read_text(errors="replace")[-3000:])
            time.sleep(0.3)
        self.sctx.log(f"  gunicorn ready on :{self.port} ({self.workers} workers x {self.threads} threads, "
                      f"{self.sctx.engine.url.database})")
        return self

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # graceful: workers finish their requests
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if exc and exc[0] is None:  # kept when something failed, for the traceback in it
            Path(self.log.name).unlink(missing_ok=True)

    def token(self, username: str) -> str:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/v1/auth/token", method="POST",
                                     data=json.dumps({"username": username, "password": PASSWORD}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)["access_token"]


def loadgen(spec: dict) -> dict:
    """Run bench/loadgen.py in a process of its own and return its summary."""
    with tempfile.TemporaryDirectory(prefix="bench-loadgen-") as tmp:
        spec_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "out.json"
        spec_path.write_text(json.dumps({"warmup_s": WARMUP_S, "duration_s": DURATION_S, **spec}, ensure_ascii=False),
                             encoding="utf-8")
        subprocess.run([sys.executable, "-m", "bench.loadgen", str(spec_path), str(out_path)], cwd=REPO,
                       env={**os.environ, "PYTHONPATH": str(REPO)}, check=True)
        return json.loads(out_path.read_text(encoding="utf-8"))


def conninfo(sctx: Context) -> str:
    """psycopg's conninfo for the baselines, with the app's session settings (casework.db.make_engine: JIT).
    Whether a baseline prepares its statements is the load generator's choice (bench/loadgen.py)."""
    from urllib.parse import quote

    from bench.datagen import _conninfo

    with sctx.engine.connect() as conn:  # an engine of make_engine's, so its sessions are the app's
        jit = conn.exec_driver_sql("SHOW jit").scalar()
    return _conninfo(sctx.database_url) + "?options=" + quote(f"-c jit={jit}")


def count_created(sctx: Context, scale: int, user_ids: list[int]) -> int:
    with sctx.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM cases WHERE id > %(n)s AND created_by = ANY(%(u)s) "
                                    "AND number NOT LIKE 'BL-%%'", {"n": scale, "u": user_ids}).scalar()


def _summary(r: dict) -> str:
    return (f"{r['throughput_per_s']:.0f}/s, p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, "
            f"p99 {r['p99_ms']:.0f} ms, {r['errors_all']} errors (load {r['load_average_1m_after']:.1f})")


# --- the benchmarks -------------------------------------------------------------------------------------------
def run_intake(ctx: Context) -> BenchResult:
    from bench.app_profile import profile_intake

    sctx = intake_db(ctx, ctx.scale)
    desks = clerks(sctx)
    rounds = min(ctx.repeat, 2)
    runs: dict[str, list[dict]] = {"app": [], "baseline": []}
    with Server(sctx) as server:
        specs = [{**d, "token": server.token(d["username"])} for d in desks]
        http = {"workload": "intake", "host": "127.0.0.1", "port": server.port, "concurrency": CONCURRENCY,
                "clerks": specs}
        sql = {"workload": "intake_sql", "conninfo": conninfo(sctx), "concurrency": CONCURRENCY, "clerks": specs}
        for n in range(rounds):  # alternated, so both meet the same machine load
            runs["app"].append(loadgen({**http, "seed": 10 + n}))
            ctx.log(f"  round {n + 1}/{rounds} app:      {_summary(runs['app'][-1])}")
            runs["baseline"].append(loadgen({**sql, "seed": 20 + n}))
            ctx.log(f"  round {n + 1}/{rounds} baseline: {_summary(runs['baseline'][-1])}")
    created = count_created(sctx, ctx.scale, [d["user_id"] for d in desks])
    answered = sum(r["ok_all"] for r in runs["app"])
    prof = profile_intake(sctx, desks[0])
    ctx.log(prof["text"])
    removed = remove_added_rows(sctx, ctx.scale)  # so reads and the next run meet the generated data only
    sctx.engine.dispose()
    app, base = _pooled(runs["app"]), _pooled(runs["baseline"])
    share = app["throughput_per_s"] / base["throughput_per_s"]
    figures = [
        Figure(f"intake throughput, {CONCURRENCY} clients, {rounds}×{DURATION_S} s", app["throughput_per_s"], "req/s",
               baseline=base["throughput_per_s"], baseline_name="psycopg INSERT case + event, same clients",
               target=f"≥ {THROUGHPUT_TARGET:.0%} of baseline", passed=share >= THROUGHPUT_TARGET),
        *[Figure(f"intake latency p{q}", app[f"p{q}_ms"], "ms", baseline=base[f"p{q}_ms"],
                 baseline_name="psycopg INSERT case + event",
                 target=f"< {P99_TARGET_MS:g} ms" if q == 99 else None,
                 passed=app["p99_ms"] < P99_TARGET_MS if q == 99 else None) for q in (50, 95, 99)],
        Figure("intake errors (non-201 or connection errors, warm-up included)", app["errors_all"], "",
               baseline=base["errors_all"], baseline_name="baseline errors", target="= 0",
               passed=app["errors_all"] == 0),
        Figure("cases in the database for the 201 answers", created, "rows", target=f"= {answered:,}",
               passed=created == answered),
    ]
    return BenchResult("intake-http", figures, details={
        "database": sctx.engine.url.database, "gunicorn": {"workers": WORKERS, "threads": THREADS,
                                                           "worker_class": "gthread"},
        "concurrency": CONCURRENCY, "warmup_s": WARMUP_S, "duration_s": DURATION_S, "clerks": desks,
        "runs": runs, "rows_removed_after": removed, "profile": prof})


def _pooled(runs: list[dict]) -> dict:
    from bench.loadgen import pct

    ms = [v for r in runs for v in r["latencies_ms"]]
    return {"throughput_per_s": sum(r["throughput_per_s"] for r in runs) / len(runs),
            "p50_ms": pct(ms, .5), "p95_ms": pct(ms, .95), "p99_ms": pct(ms, .99),
            "errors_all": sum(r["errors_all"] for r in runs)}


def run_scaling(ctx: Context) -> BenchResult:
    """Intake at 100,000 and at --scale cases, alternated under the same load: time should stay flat."""
    if ctx.scale <= SCALING_SMALL:
        raise SystemExit(f"intake-scaling compares {SCALING_SMALL:,} cases with --scale; give a larger --scale")
    sizes = {SCALING_SMALL: intake_db(ctx, SCALING_SMALL, f"intake_s{SCALING_SMALL}"),
             ctx.scale: intake_db(ctx, ctx.scale)}
    rounds = min(ctx.repeat, 2)
    runs: dict[int, list[dict]] = {s: [] for s in sizes}
    with Server(sizes[SCALING_SMALL]) as small, Server(sizes[ctx.scale]) as large:
        specs = {}
        for scale, server in ((SCALING_SMALL, small), (ctx.scale, large)):
            desks = clerks(sizes[scale])
            specs[scale] = {"workload": "intake", "host": "127.0.0.1", "port": server.port,
                            "concurrency": CONCURRENCY,
                            "clerks": [{**d, "token": server.token(d["username"])} for d in desks]}
        for n in range(rounds):
            for scale in sizes:
                runs[scale].append(loadgen({**specs[scale], "seed": 30 + n}))
                ctx.log(f"  round {n + 1}/{rounds} at {scale:,} cases: {_summary(runs[scale][-1])}")
    for s in sizes.values():
        s.engine.dispose()
    pooled = {s: _pooled(r) for s, r in runs.items()}
    small_p, large_p = pooled[SCALING_SMALL], pooled[ctx.scale]
    # With a fixed number of closed-loop clients the mean time per request is clients ÷ throughput, so the
    # throughput ratio is the growth of the mean. The p50 alone is unstable here: the latencies are
    # bimodal (requests that queue behind a region's case-number counter lock and those that do not).
    growth = small_p["throughput_per_s"] / large_p["throughput_per_s"]
    figures = [Figure(f"intake at {s:,} cases: throughput", p["throughput_per_s"], "req/s",
                      note=f"p50 {p['p50_ms']:.0f} ms, p99 {p['p99_ms']:.0f} ms, {p['errors_all']} errors")
               for s, p in pooled.items()]
    figures += [
        Figure(f"intake mean time per request, growth {SCALING_SMALL:,} → {ctx.scale:,} cases", growth, "x",
               target=f"≤ {GROWTH_TARGET:g}× for {ctx.scale / SCALING_SMALL:g}× the rows",
               passed=growth <= GROWTH_TARGET, note="clients ÷ throughput at each size; 1.00× is flat"),
        Figure(f"intake p50 growth {SCALING_SMALL:,} → {ctx.scale:,} cases (context)",
               large_p["p50_ms"] / small_p["p50_ms"], "x", note="bimodal latencies; see the mean above"),
    ]
    return BenchResult("intake-scaling", figures, details={
        "concurrency": CONCURRENCY, "duration_s": DURATION_S, "runs": {str(k): v for k, v in runs.items()}})
