"""Run the benchmarks: ``python -m bench.run [--only NAME[,NAME]] [--scale N] [--scaling]``.

Needs PostgreSQL in DATABASE_URL (SQLite is refused: it is not what production
runs on). The database is migrated, the units loaded and the data generated once
(bench/datagen.py, reused while it matches). Each benchmark writes
bench/results/<name>-<timestamp>.json; a Markdown table of all of them is printed.

To add a benchmark, write ``def run_x(ctx: Context) -> BenchResult`` in a module
of this package and name it in REGISTRY below.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bench.harness import BenchResult, Context, machine_info, markdown_table, prepare

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Bench:
    target: str  # "module:function", imported only when the benchmark runs
    description: str
    default: bool = True  # run without --only
    needs_redis: bool = False


# Order matters: sweep-scaling ends at --scale, so the sweep after it reuses that data.
REGISTRY: dict[str, Bench] = {
    "sweep-scaling": Bench("bench.bench_sweep:run_scaling",
                           "the sweep at 100,000 and --scale cases with the same due rows (--scaling)", default=False),
    "sweep": Bench("bench.bench_sweep:run_sweep",
                   "the SLA sweep at --scale cases against one hand-written breach UPDATE"),
    "linked-report": Bench("bench.bench_linked:run_linked",
                           "linked_report depth 3 over 3,000,000 links (database <name>_links) against the bare walk"),
    "bulletin": Bench("bench.bench_bulletin:run_bulletin",
                      "the ministry's monthly bulletin over --scale cases (database <name>_links) against one GROUP BY"),
    "intake-scaling": Bench("bench.bench_intake:run_scaling",
                            "intake over HTTP at 100,000 and --scale cases (--scaling)", default=False,
                            needs_redis=True),
    "intake-http": Bench("bench.bench_intake:run_intake",
                         "POST /api/v1/cases under gunicorn, 32 clients (database <name>_intake) against "
                         "psycopg INSERTs", needs_redis=True),
    "reads": Bench("bench.bench_reads:run_reads",
                   "GET the overdue list of a province and single cases over HTTP (database <name>_intake) "
                   "against the same SQL", needs_redis=True),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--only", action="append", default=[], metavar="NAME[,NAME]",
                   help=f"run only these benchmarks ({', '.join(REGISTRY)})")
    p.add_argument("--scale", type=int, default=1_000_000, help="open cases to generate (default 1,000,000)")
    p.add_argument("--scaling", action="store_true",
                   help="also run sweep-scaling and intake-scaling (100,000 and --scale cases)")
    p.add_argument("--repeat", type=int, default=5, help="timed runs per figure; the median is reported (default 5)")
    p.add_argument("--regenerate", action="store_true", help="generate the data even if it is already there")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    return p.parse_args(argv)


def select(args: argparse.Namespace) -> list[str]:
    wanted = {n.strip() for item in args.only for n in item.split(",") if n.strip()}
    unknown = wanted - set(REGISTRY)
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; known: {', '.join(REGISTRY)}")
    if args.scaling:
        wanted |= {"sweep-scaling", "intake-scaling"}
    if not args.only:
        wanted |= {name for name, b in REGISTRY.items() if b.default}
    return [name for name in REGISTRY if name in wanted]


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        raise SystemExit("DATABASE_URL is not set: the benchmarks need PostgreSQL, e.g. "
                         "DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/casework_bench")
    if url.startswith("sqlite"):
        raise SystemExit("DATABASE_URL points at SQLite: the benchmarks measure PostgreSQL, which production runs "
                         "on; give them a PostgreSQL database of their own (its cases are replaced)")
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not url.startswith("postgresql+psycopg://"):
        raise SystemExit(f"DATABASE_URL must be a PostgreSQL URL (postgresql+psycopg://...), not {url.split(':')[0]}")
    return url


def connect_redis(url: str | None, required: bool):
    if not url:
        if required:
            raise SystemExit("REDIS_URL is not set and a selected benchmark needs Redis")
        return None
    import redis

    client = redis.Redis.from_url(url)
    client.ping()
    return client


def write_result(res: BenchResult, stamp: str, meta: dict) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{res.name}-{stamp}.json"
    body = {"benchmark": res.name, **meta, "figures": [f.as_dict() for f in res.figures], "details": res.details}
    path.write_text(json.dumps(body, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for name, b in REGISTRY.items():
            print(f"{name:16} {b.description}{'' if b.default else ' [opt-in]'}")
        return 0
    names = select(args)
    url = database_url()
    redis_url = os.environ.get("REDIS_URL") or None
    redis_client = connect_redis(redis_url, required=any(REGISTRY[n].needs_redis for n in names))
    started = time.perf_counter()
    engine = prepare(url)
    ctx = Context(database_url=url, engine=engine, redis_url=redis_url, redis=redis_client, scale=args.scale,
                  repeat=max(1, args.repeat), regenerate=args.regenerate)
    machine = machine_info(engine)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    print(f"machine: {machine['nproc']} cores, {machine['memory_gib']} GiB, PostgreSQL {machine['postgresql']}")
    results: list[BenchResult] = []
    for name in names:
        module, func = REGISTRY[name].target.split(":")
        print(f"== {name} ==")
        res = getattr(importlib.import_module(module), func)(ctx)
        ctx.regenerate = False  # --regenerate means once per run, not once per benchmark
        meta = {"timestamp": stamp, "command": " ".join(["python -m bench.run", *(argv or sys.argv[1:])]),
                "machine": machine, "scale": args.scale, "now": ctx.now.isoformat()}
        print(f"wrote {write_result(res, stamp, meta)}")
        results.append(res)
    print()
    print(markdown_table(results))
    print(f"\n{len(names)} benchmark(s) in {time.perf_counter() - started:.0f} s")
    engine.dispose()
    missed = [f for r in results for f in r.figures if f.passed is False]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
