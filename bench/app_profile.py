"""Where a request's time goes: the app in this process (Flask test client, no HTTP server), cProfile over
a run of requests one after another, and every SQL statement timed. Says what limits the HTTP figures;
not itself a figure."""
from __future__ import annotations

import cProfile
import io
import pstats
import random
import time

from bench.harness import Context

REQUESTS = 150


def _app(sctx: Context):
    from casework.app import create_app
    from config.settings import config_for

    settings = config_for("development")  # production checks only refuse the default secrets
    settings.DATABASE_URL, settings.REDIS_URL = sctx.database_url, sctx.redis_url or ""
    return create_app(settings)


def profile_intake(sctx: Context, desk: dict, requests: int = REQUESTS) -> dict:
    """cProfile and per-statement timings of ``requests`` intakes by one clerk."""
    from bench.loadgen import Bodies

    bodies = Bodies(random.Random(99), desk)
    return profile_app(sctx, desk["username"], lambda client, headers: client.post(
        "/api/v1/cases", json=bodies.next(), headers=headers), requests, "intakes")


def profile_gets(sctx: Context, username: str, paths: list[str], requests: int = REQUESTS) -> dict:
    """The same for GETs of ``paths`` in turn."""
    it = iter(paths * (requests // len(paths) + 20))
    return profile_app(sctx, username, lambda client, headers: client.get(next(it), headers=headers), requests,
                       f"GETs of {paths[0].split('?')[0].rsplit('/', 1)[0]}/...")


def profile_app(sctx: Context, username: str, send, requests: int, what: str) -> dict:
    from sqlalchemy import event

    from bench.bench_intake import PASSWORD
    from casework.extensions import db

    app = _app(sctx)
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD}
                        ).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(10):  # warm-up: statement caches, the unit tree, the pool
        send(client, headers)
    stmts: list[tuple[str, float]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_t"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        stmts.append((" ".join(statement.split())[:100], time.perf_counter() - conn.info.pop("bench_t")))

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    prof = cProfile.Profile()
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    prof.enable()
    for _ in range(requests):
        r = send(client, headers)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
    prof.disable()
    wall = time.perf_counter() - started
    event.remove(db.engine, "before_cursor_execute", before)
    event.remove(db.engine, "after_cursor_execute", after)
    db.dispose()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(15)
    by_sql: dict[str, list[float]] = {}
    for sql, sec in stmts:
        by_sql.setdefault(sql, []).append(sec)
    top = sorted(by_sql.items(), key=lambda kv: -sum(kv[1]))[:12]
    db_s = sum(sec for _, sec in stmts)
    per = wall / requests
    lines = [f"  in-process profile: {requests} {what} one after another, {per * 1000:.1f} ms each "
             f"({len(stmts) / requests:.1f} statements, {db_s / requests * 1000:.1f} ms of it waiting on the "
             f"database, {(wall - db_s) / requests * 1000:.1f} ms in Python; cProfile on, so Python is inflated)"]
    lines += [f"  {sum(v) / requests * 1000:6.2f} ms/req {len(v) / requests:4.1f}x  {sql}" for sql, v in top]
    return {"requests": requests, "statuses": statuses, "ms_per_request": per * 1000,
            "statements_per_request": len(stmts) / requests, "db_ms_per_request": db_s / requests * 1000,
            "python_ms_per_request": (wall - db_s) / requests * 1000,
            "statements": [{"sql": s, "ms_per_request": sum(v) / requests * 1000, "per_request": len(v) / requests}
                           for s, v in top],
            "cprofile_tottime": out.getvalue()[-6000:], "text": "\n".join(lines)}
