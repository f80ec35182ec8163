"""The `casework demo` benchmark: ~10,000 cases through the real services on the embedded default.

    python -m bench.bench_demo [--cases 10000] [--days 90] [--seed 2020] [--strict] [--profile FILE]

Runs the command a user runs, `casework demo --json`, in a fresh temporary folder with
no configuration (SQLite file and embedded Redis under ./instance): migrations, the unit
tree, the users, the simulated days with their sweeps and bulletins, and the three
bulletins written as xlsx and pdf. Reports wall time and the CPU time of the command
(user + system): the machine may be shared, and CPU time is what a busy neighbour does
not inflate much. The target is 10,000 cases in under 120 s of wall time.

With --profile FILE the same run happens in this process under cProfile instead (slower:
profiling costs about as much again); FILE gets the stats and the top entries are printed.

Not in bench/run.py's registry: that runner measures PostgreSQL only, and this one is
about the zero-setup default.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

CASEWORK = Path(sys.executable).with_name("casework")
TARGET_SECONDS = 120.0
START = date(2026, 8, 3)


def per_day_for(cases: int, days: int, start: date = START) -> int:
    """The --per-day that makes about ``cases`` intakes: weekends take a third of a working day's, and
    each day's count is rounded down (half a case a day on average)."""
    weight = sum(1.0 if (start + timedelta(days=d)).weekday() < 5 else 1 / 3 for d in range(days))
    return max(1, round((cases + days / 2) / weight))


def clean_env() -> dict:
    return {k: v for k, v in os.environ.items()
            if not (k.startswith("CASEWORK_") or k in {"DATABASE_URL", "REDIS_URL", "TEST_DATABASE_URL", "SECRET_KEY"})}


def demo_args(days: int, per_day: int, seed: int) -> list[str]:
    return ["demo", "--days", str(days), "--per-day", str(per_day), "--seed", str(seed),
            "--start", START.isoformat(), "--json", "--out", "out"]


def run_command(folder: Path, args: list[str]) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([str(CASEWORK), *args], cwd=folder, env=clean_env(), capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"casework demo failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return {"wall": wall, "user": after.ru_utime - before.ru_utime, "sys": after.ru_stime - before.ru_stime,
            "result": json.loads(proc.stdout)}


def run_profiled(folder: Path, args: list[str], out: str) -> dict:
    import cProfile
    import pstats

    os.chdir(folder)
    os.environ.clear()
    os.environ.update(clean_env())
    from casework.cli import main

    started, cpu = time.perf_counter(), time.process_time()
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        main(args, standalone_mode=False)
    finally:
        profiler.disable()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    profiler.dump_stats(out)
    pstats.Stats(out).sort_stats("cumulative").print_stats(40)
    return {"wall": wall, "user": cpu, "sys": 0.0, "result": None}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=10_000, help="about how many intakes (default 10,000)")
    p.add_argument("--days", type=int, default=90, help="simulated days (default 90)")
    p.add_argument("--seed", type=int, default=2020)
    p.add_argument("--profile", metavar="FILE", help="run in this process under cProfile and write the stats")
    p.add_argument("--strict", action="store_true", help="exit 1 when the wall time misses the target")
    args = p.parse_args(argv)
    per_day = per_day_for(args.cases, args.days)
    cmd = demo_args(args.days, per_day, args.seed)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        print(f"casework {' '.join(cmd)}  (in {tmp})", flush=True)
        run = run_profiled(Path(tmp), cmd, os.path.abspath(args.profile)) if args.profile else \
            run_command(Path(tmp), cmd)
    cpu = run["user"] + run["sys"]
    print(f"\nload average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores")
    if run["result"] is not None:
        stats, summary = run["result"]["stats"], run["result"]["summary"]
        cases = sum(summary["by_state"].values())
        print(f"cases {cases} (intakes {stats['intakes']}, rectification items {stats['rectification_items']}), "
              f"actions {stats['actions']}, progress reports {stats['progress_reports']}, sweeps {stats['sweeps']}, "
              f"bulletins {stats['bulletins']}")
    ok = run["wall"] < TARGET_SECONDS
    print(f"wall {run['wall']:.1f} s, CPU {cpu:.1f} s (user {run['user']:.1f} + sys {run['sys']:.1f}); "
          f"target < {TARGET_SECONDS:.0f} s wall: {'PASS' if ok else 'MISS'}")
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
