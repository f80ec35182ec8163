"""What every benchmark shares: the run context, figures with targets, timing, machine facts, the table."""
from __future__ import annotations

import dataclasses
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import sqlalchemy as sa

# The benchmark's "now": 00:05 in Shanghai on 16 June 2026, five minutes after the
# calendar-day deadlines of 15 June ran out. Fixed, so generated data can be reused.
BENCH_NOW = datetime(2026, 6, 15, 16, 5, tzinfo=timezone.utc)


@dataclass
class Figure:
    """One measured number; with a baseline it has a ratio, with a target a PASS or MISS."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str | None = None
    target: str | None = None
    passed: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


@dataclass
class BenchResult:
    name: str
    figures: list[Figure]
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """Handed to every benchmark function: the database, Redis, the scale and the data helper."""

    database_url: str
    engine: sa.engine.Engine
    redis_url: str | None
    scale: int
    repeat: int
    regenerate: bool
    now: datetime = BENCH_NOW
    redis: Any = None
    log: Callable[[str], None] = print
    data_info: dict[int, dict] = field(default_factory=dict)

    def ensure_data(self, scale: int | None = None) -> dict:
        """Open cases and running clocks at ``scale``, generated once and reused while they match."""
        from bench.datagen import ensure

        scale = scale or self.scale
        info = ensure(self.engine, scale=scale, now=self.now, regenerate=self.regenerate, log=self.log)
        self.data_info[scale] = info
        return info

    def sibling(self, suffix: str) -> Context:
        """The same run against a database of its own beside this one (created, migrated and loaded with units),
        so two data sets can be measured in alternation under the same machine load."""
        url = sa.engine.make_url(self.database_url)
        name = f"{url.database}_{suffix}"
        admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %(n)s", {"n": name}).scalar():
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        sibling_url = url.set(database=name).render_as_string(hide_password=False)
        return dataclasses.replace(self, database_url=sibling_url, engine=prepare(sibling_url), data_info={})

    def autocommit(self):
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def vacuum(self, *tables: str) -> float:
        """Clear what rolled-back runs left behind, so every repetition starts from the same state."""
        started = time.perf_counter()
        with self.autocommit() as conn:
            conn.exec_driver_sql("VACUUM " + ", ".join(tables))
        return time.perf_counter() - started


def prepare(url: str) -> sa.engine.Engine:
    """Migrate, load the unit tree, and hand back an engine."""
    import casework.models  # noqa: F401  -- every mapper, so the sweep's ORM statements resolve
    from sqlalchemy.orm import Session

    from casework.db import make_engine
    from casework.migrate import upgrade
    from casework.units.loader import load_units

    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        load_units(session=session)
        session.commit()
    # The upsert rewrites every unit row; without fresh statistics the planner takes the unit tree for
    # empty and joins it by sequential scan.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE units")
    return engine


def median(values: list[float]) -> float:
    return statistics.median(values)


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "rows":
        return f"{value:,.0f}"
    if unit == "ms":
        return f"{value:.0f} ms"
    if unit == "x":
        return f"{value:.2f}×"
    return f"{value:g} {unit}".strip()


def markdown_table(results: list[BenchResult]) -> str:
    lines = ["| benchmark | figure | value | baseline | ratio | target | result |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for res in results:
        for f in res.figures:
            base = "—" if f.baseline is None else f"{fmt_value(f.baseline, f.unit)} ({f.baseline_name})"
            ratio = "—" if f.ratio is None else f"{f.ratio:.2f}×"
            verdict = "—" if f.passed is None else ("PASS" if f.passed else "MISS")
            note = f" — {f.note}" if f.note else ""
            lines.append(f"| {res.name} | {f.name}{note} | {fmt_value(f.value, f.unit)} | {base} | {ratio} | "
                         f"{f.target or '—'} | {verdict} |")
    return "\n".join(lines)


def machine_info(engine: sa.engine.Engine) -> dict:
    mem_kb = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            mem_kb = int(next(line for line in fh if line.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration):
        pass
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    settings = ("shared_buffers", "work_mem", "maintenance_work_mem", "effective_cache_size", "random_page_cost",
                "synchronous_commit", "max_wal_size", "jit")
    with engine.connect() as conn:
        version = conn.exec_driver_sql("SHOW server_version").scalar()
        pg = {name: conn.exec_driver_sql(f"SHOW {name}").scalar() for name in settings}
    return {"nproc": len(os.sched_getaffinity(0)), "memory_gib": round(mem_kb / 1024 / 1024, 1), "cpu": cpu,
            "postgresql": version, "postgresql_settings": pg, "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
