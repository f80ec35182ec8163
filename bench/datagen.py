"""Bulk data for the benchmarks: open petitions with their clocks, loaded with PostgreSQL COPY.

Shape at scale N (the benchmark's ``now`` is 00:05 in Shanghai, just after the
calendar-day deadlines of the day before ran out):

* N open petitions at real county units, numbered XF-<county>-<year>-<serial>,
  with encrypted petitioners (a pool re-used across cases, as repeat petitioners
  are) and a lead participant each; ~25 % ``assigned`` (acceptance clock
  running), ~75 % ``in_progress`` (handling clock running, 10 % of them with an
  approved 30-day extension, and their acceptance clock already met);
* one running clock per case, due at the end of a day spread over the next three
  months, warned already where its warning time has passed;
* ``due`` of them (10,000) ran out at the end of yesterday (due_at < now) and
  ``warn`` (5,000) reach their warning time at that same instant: deadlines are
  counted in calendar days, so those clocks share one due or warn timestamp.

Generation is one transaction: TRUNCATE, drop the secondary indexes, COPY ... FREEZE,
rebuild the indexes, then VACUUM ANALYZE. Foreign-key triggers are skipped during
COPY (session_replication_role=replica) and the keys are checked afterwards with
anti-joins instead. The data is marked with a table comment and reused while the
marker matches, so repeated benchmark runs skip generation.
"""
from __future__ import annotations

import random
import time
from datetime import date, datetime, timedelta, timezone
from typing import Callable

import psycopg
import sqlalchemy as sa

MARKER_FAMILY = "casework-bench datagen"
MARKER = f"{MARKER_FAMILY} v2"  # bump when the shape of the data changes
DUE, WARN, SEED = 10_000, 5_000, 20260615
CHUNK = 50_000
NULL = "\\N"  # COPY text format
PERSONS = 20_000
TABLES = ("cases", "case_clocks", "case_participants")
# Everything a case can own, plus the sweep's outputs, is emptied before a load.
TRUNCATE = ("cases", "case_clocks", "case_participants", "case_events", "supervisions", "notifications",
            "webhook_deliveries", "outbox", "case_number_counters", "idempotency_keys", "access_events")

CASE_COLUMNS = (
    "id", "number", "kind", "status", "channel", "category", "urgency", "title", "content", "region", "regions",
    "handling_unit", "unit_path", "registering_unit", "route_rule", "route_reason", "people_count", "received_at",
    "created_at", "updated_at", "version", "anonymous", "petitioner_name", "petitioner_id_number",
    "petitioner_phone", "petitioner_address", "pii_key_id", "person_index", "assigned_at", "return_count",
    "returns_blocked", "is_final", "overdue", "supervised", "event_count", "decided_at")
CLOCK_COLUMNS = ("id", "case_id", "name", "policy", "unit_code", "case_path", "state", "started_at", "base_due_at",
                 "due_at", "warn_at", "provisional", "paused_seconds", "pauses", "extended_days", "extension_state",
                 "warned_at", "met_at")
PARTICIPANT_COLUMNS = ("id", "case_id", "unit_code", "role", "state", "added_at")

CHANNELS = (("letter", 35), ("visit", 20), ("online", 35), ("phone", 10))
# (category, weight, titles): 低保 and 特困 dominate a civil-affairs petition office's load.
CATEGORIES = (
    ("dibao", 30, ("低保待遇申请未获答复", "低保资格被取消有异议", "低保金发放不及时")),
    ("tekun", 12, ("特困供养申请无人受理", "特困人员供养标准过低")),
    ("temporary_aid", 10, ("临时救助申请被拒", "大病临时救助未到位")),
    ("disability", 8, ("残疾人两项补贴未发放", "重度残疾护理补贴停发")),
    ("unsupported_children", 4, ("事实无人抚养儿童补助未落实",)),
    ("left_behind", 4, ("留守儿童关爱服务不到位",)),
    ("elderly_care", 12, ("养老机构收费不合理", "高龄津贴未按时发放", "居家养老服务投诉")),
    ("social_org", 3, ("社会组织登记办理拖延",)),
    ("charity", 2, ("慈善募捐资金去向不明",)),
    ("community", 6, ("村委会选举程序有异议", "社区服务站办事推诿")),
    ("customs", 4, ("殡葬服务收费过高", "婚姻登记办理受阻")),
    ("place_names", 1, ("地名标志设置错误",)),
    ("other", 4, ("其他民政事项咨询未答复",)),
)
CONTENTS = ("本人于今年{m}月向{county}民政部门提出申请，材料齐全，至今未获书面答复，请求依法处理并告知结果。",
            "{county}有关部门对我家的情况核查不实，多次反映无果，恳请上级民政部门督促办理。",
            "家中老人长期患病，生活困难，已向{county}提交申请两个多月，经办人员答复不一，请求调查。",
            "对{county}作出的决定不服，认为认定事实错误，请求重新核查并依法作出处理。")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰文辉春梅海燕金凤德福永"


def _end_of_day(day: date) -> str:
    # 23:59:59 in Shanghai (UTC+8, no daylight saving) is 15:59:59 UTC on the same date.
    return f"{day.isoformat()} 15:59:59+00"


def _conninfo(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def marker_for(scale: int, now: datetime, due: int, warn: int, seed: int) -> str:
    return f"{MARKER} scale={scale} due={due} warn={warn} now={now.isoformat()} seed={seed}"


class RefusedError(RuntimeError):
    """The database holds data this generator did not make; it will not truncate it."""


def ensure(engine: sa.engine.Engine, *, scale: int, now: datetime, due: int = DUE, warn: int = WARN,
           seed: int = SEED, regenerate: bool = False, log: Callable[[str], None] = print) -> dict:
    """Generate the data set unless the database already holds exactly this one; returns what was done."""
    marker = marker_for(scale, now, due, warn, seed)
    with engine.connect() as conn:
        current = conn.exec_driver_sql("SELECT obj_description('case_clocks'::regclass, 'pg_class')").scalar()
        has_cases = conn.exec_driver_sql("SELECT EXISTS (SELECT 1 FROM cases)").scalar()
        leftovers = conn.exec_driver_sql("SELECT EXISTS (SELECT 1 FROM supervisions) OR "
                                         "EXISTS (SELECT 1 FROM notifications)").scalar()
    if current == marker and not regenerate and not leftovers:
        log(f"datagen: reusing {scale:,} cases ({marker})")
        return {"generated": False, "marker": marker, "scale": scale, "due": due, "warn": warn}
    if has_cases and not (current or "").startswith(MARKER_FAMILY):
        raise RefusedError("the database holds cases that bench/datagen did not generate; "
                           "run the benchmarks against an empty database of their own")
    info = generate(engine.url.render_as_string(hide_password=False), scale=scale, now=now, due=due, warn=warn,
                    seed=seed, log=log)
    return {"generated": True, "marker": marker, **info}


def generate(url: str, *, scale: int, now: datetime, due: int = DUE, warn: int = WARN, seed: int = SEED,
             log: Callable[[str], None] = print) -> dict:
    if due + warn > scale:
        raise ValueError(f"scale {scale} is smaller than due + warn ({due + warn})")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with psycopg.connect(_conninfo(url), autocommit=True) as conn:
        cur = conn.cursor()
        try:  # Needs superuser; without it COPY still works, only slower (one FK check per row).
            cur.execute("SET session_replication_role = replica")
            fk_skipped = True
        except psycopg.errors.InsufficientPrivilege:
            fk_skipped = False
        cur.execute("SET maintenance_work_mem = '1GB'")
        counties = cur.execute("SELECT code, name, path FROM units WHERE kind = 'civil_affairs' "
                               "AND level = 'county' ORDER BY code").fetchall()
        if not counties:
            raise RuntimeError("no county units: load the units first (casework.units.loader.load_units)")
        with conn.transaction():
            cur.execute(f"TRUNCATE {', '.join(TRUNCATE)} RESTART IDENTITY CASCADE")
            indexes = _drop_secondary_indexes(cur)
            mark = time.perf_counter()
            counters = _copy_rows(cur, scale=scale, now=now, due=due, warn=warn, seed=seed, counties=counties,
                                  log=log)
            timings["copy_s"] = time.perf_counter() - mark
            mark = time.perf_counter()
            for name, definition in indexes:
                cur.execute(definition)
            timings["indexes_s"] = time.perf_counter() - mark
            with cur.copy("COPY case_number_counters (prefix, region, year, last) FROM STDIN") as copy:
                for (region, year), last in counters.items():
                    copy.write_row(("XF", region, year, last))
            for table in TABLES:
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
            cur.execute(f"COMMENT ON TABLE case_clocks IS '{marker_for(scale, now, due, warn, seed)}'")
        cur.execute("SET session_replication_role = DEFAULT")
        mark = time.perf_counter()
        _check_foreign_keys(cur)
        timings["fk_check_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        cur.execute(f"VACUUM (ANALYZE) {', '.join(TABLES)}, case_number_counters")
        timings["vacuum_analyze_s"] = time.perf_counter() - mark
        clocks = cur.execute("SELECT count(*) FROM case_clocks").fetchone()[0]
    timings["total_s"] = time.perf_counter() - started
    log(f"datagen: {scale:,} cases, {clocks:,} clocks in {timings['total_s']:.1f} s "
        f"(COPY {timings['copy_s']:.1f} s, indexes {timings['indexes_s']:.1f} s, "
        f"VACUUM ANALYZE {timings['vacuum_analyze_s']:.1f} s)")
    return {"scale": scale, "clocks": clocks, "due": due, "warn": warn, "fk_triggers_skipped": fk_skipped,
            "rebuilt_indexes": [name for name, _ in indexes], **{k: round(v, 2) for k, v in timings.items()}}


def _drop_secondary_indexes(cur) -> list[tuple[str, str]]:
    """Drop the indexes that back no constraint (rebuilt after COPY, far faster than row by row)."""
    rows = cur.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(%s::regclass[]) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)", (list(TABLES),)).fetchall()
    for name, _ in rows:
        cur.execute(f"DROP INDEX {name}")
    return rows


def _check_foreign_keys(cur) -> None:
    """The references COPY did not check: every case's units, every clock's case and unit."""
    checks = {
        "cases.handling_unit": "SELECT count(*) FROM cases c LEFT JOIN units u ON u.code = c.handling_unit "
                               "WHERE u.code IS NULL",
        "case_clocks.case_id": "SELECT count(*) FROM case_clocks k LEFT JOIN cases c ON c.id = k.case_id "
                               "WHERE c.id IS NULL",
        "case_clocks.unit_code": "SELECT count(*) FROM case_clocks k LEFT JOIN units u ON u.code = k.unit_code "
                                 "WHERE u.code IS NULL",
        "case_participants.case_id": "SELECT count(*) FROM case_participants p LEFT JOIN cases c "
                                     "ON c.id = p.case_id WHERE c.id IS NULL",
    }
    for name, sql in checks.items():
        broken = cur.execute(sql).fetchone()[0]
        if broken:
            raise RuntimeError(f"datagen produced {broken} rows with a dangling {name}")


def _persons(rng: random.Random, counties) -> list[str]:
    """Encrypted petitioner columns (name, id number, phone, address, key id, blind index), tab-joined."""
    from casework.cases.pii import person_index
    from casework.cases.validators import id_check_digit
    from casework.security import pii_box
    from config.settings import BaseConfig

    config = BaseConfig()  # the keys the application would use in this environment
    pii_box.configure(config.PII_KEYS, index_key=config.BLIND_INDEX_KEY)
    out = []
    for n in range(PERSONS):
        code, county, _ = counties[rng.randrange(len(counties))]
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 60))
        first17 = f"{code}{birth:%Y%m%d}{n % 1000:03d}"
        id_number = first17 + id_check_digit(first17)
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
        address = f"{county}第{rng.randrange(1, 30)}村{rng.randrange(1, 200)}号"
        fields = [pii_box.encrypt(v) for v in (name, id_number, phone, address)]
        out.append("\t".join([*fields, pii_box.current_key_id, person_index(id_number)]))
    return out


def _copy_rows(cur, *, scale, now, due, warn, seed, counties, log) -> dict[tuple[str, int], int]:
    rng = random.Random(seed)
    today = (now - timedelta(hours=16)).date()  # the Shanghai date whose end has just passed
    day_cache: dict[int, str] = {}

    def day(offset: int) -> str:
        text = day_cache.get(offset)
        if text is None:
            text = day_cache[offset] = (today + timedelta(days=offset)).isoformat()
        return text

    minutes = [f"{m // 60:02d}:{m % 60:02d}:00+00" for m in range(24 * 60)]
    # Case load per county is uneven: a log-normal weight per county.
    weights = [rng.lognormvariate(0, 1) for _ in counties]
    county_of = rng.choices(range(len(counties)), weights=weights, k=scale)
    county_frag = [f'{code}\t["{code}"]\t{code}\t{path}\t{code}\tterritorial\t属地管理：由{name}办理'
                   for code, name, path in counties]
    titles = [(cat, t) for cat, _, ts in CATEGORIES for t in ts]
    title_w = [w / len(ts) for _, w, ts in CATEGORIES for _ in ts]
    title_of = rng.choices(range(len(titles)), weights=title_w, k=scale)
    channel_of = rng.choices([c for c, _ in CHANNELS], weights=[w for _, w in CHANNELS], k=scale)
    persons = _persons(rng, counties)
    person_of = [rng.randrange(PERSONS) for _ in range(scale)]
    special = rng.sample(range(scale), due + warn)
    flag = bytearray(scale)  # 1: due at the end of yesterday, 2: warning due at that same instant
    for i in special[:due]:
        flag[i] = 1
    for i in special[due:]:
        flag[i] = 2
    serials: dict[tuple[str, int], int] = {}
    clock_chunks: list[str] = []
    part_chunks: list[str] = []
    case_buf: list[str] = []
    clock_buf: list[str] = []
    part_buf: list[str] = []
    clock_id = 0
    mark = time.perf_counter()
    with cur.copy(f"COPY cases ({', '.join(CASE_COLUMNS)}) FROM STDIN WITH (FREEZE)") as copy:
        for i in range(scale):
            case_id = i + 1
            county = county_of[i]
            code, county_name, path = counties[county]
            handling = rng.random() < 0.75
            extended = handling and rng.random() < 0.10
            span = (60 + (30 if extended else 0)) if handling else 15
            warn_days = 10 if handling else 3
            if flag[i] == 1:
                due_day = 0
            elif flag[i] == 2:
                due_day = warn_days
            else:
                due_day = rng.randint(1, span)
                if due_day == warn_days:  # keep exactly ``warn`` clocks warning at this instant
                    due_day += 1
            start_day = due_day - span
            start = f"{day(start_day)} {minutes[rng.randrange(60, 570)]}"  # office hours in Shanghai
            if handling:
                recv_day = start_day - rng.randint(1, 10)
                received = f"{day(recv_day)} {minutes[rng.randrange(60, 570)]}"
            else:
                recv_day, received = start_day, start
            year = int(day(recv_day)[:4])
            key = (code, year)
            serial = serials[key] = serials.get(key, 0) + 1
            category, title = titles[title_of[i]]
            content = CONTENTS[i % len(CONTENTS)].format(m=int(day(recv_day)[5:7]), county=county_name)
            people = 1 if rng.random() < 0.97 else rng.randint(2, 4)
            status, decided = ("in_progress", start) if handling else ("assigned", NULL)
            case_buf.append(
                f"{case_id}\tXF-{code}-{year}-{serial:06d}\tpetition\t{status}\t{channel_of[i]}\t{category}\tnormal\t"
                f"{title}\t{content}\t{county_frag[county]}\t{people}\t{received}\t{received}\t{start}\t1\tf\t"
                f"{persons[person_of[i]]}\t{received}\t0\tf\tf\tf\tf\t0\t{decided}\n")
            due_at = _end_of_day(today + timedelta(days=due_day))
            warn_at = _end_of_day(today + timedelta(days=due_day - warn_days))
            warned_at = warn_at if due_day - warn_days < 0 else NULL  # warned by an earlier sweep
            if handling:
                # The acceptance clock that ran before: met when the case was accepted.
                clock_id += 1
                acc_due = _end_of_day(today + timedelta(days=recv_day + 15))
                acc_warn = _end_of_day(today + timedelta(days=recv_day + 12))
                clock_buf.append(f"{clock_id}\t{case_id}\tacceptance\tpetition.acceptance\t{code}\t{path}\t"
                                 f"met\t{received}\t{acc_due}\t{acc_due}\t{acc_warn}\tf\t0\t[]\t0\t{NULL}\t{NULL}\t"
                                 f"{start}\n")
            clock_id += 1
            name = "handling" if handling else "acceptance"
            clock_buf.append(f"{clock_id}\t{case_id}\t{name}\tpetition.{name}\t{code}\t{path}\trunning\t{start}\t"
                             f"{due_at}\t{due_at}\t{warn_at}\tf\t0\t[]\t{30 if extended else 0}\t"
                             f"{'approved' if extended else NULL}\t{warned_at}\t{NULL}\n")
            part_buf.append(f"{case_id}\t{case_id}\t{code}\tlead\topen\t{received}\n")
            if len(case_buf) >= CHUNK:
                copy.write("".join(case_buf))
                clock_chunks.append("".join(clock_buf))
                part_chunks.append("".join(part_buf))
                case_buf, clock_buf, part_buf = [], [], []
                if case_id % (CHUNK * 4) == 0:
                    log(f"datagen: {case_id:,} cases written ({time.perf_counter() - mark:.0f} s)")
        copy.write("".join(case_buf))
    clock_chunks.append("".join(clock_buf))
    part_chunks.append("".join(part_buf))
    for table, columns, chunks in (("case_clocks", CLOCK_COLUMNS, clock_chunks),
                                   ("case_participants", PARTICIPANT_COLUMNS, part_chunks)):
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FREEZE)") as copy:
            for chunk in chunks:
                copy.write(chunk)
    log(f"datagen: COPY done in {time.perf_counter() - mark:.1f} s")
    return serials
