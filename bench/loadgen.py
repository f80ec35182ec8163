"""A closed-loop load generator, run as a process of its own: ``python -m bench.loadgen SPEC.json OUT.json``.

``concurrency`` client threads each send their next request as soon as the last one was answered
(HTTP/1.1 keep-alive over ``http.client``, or one psycopg connection per client). Requests that start
in the first ``warmup_s`` seconds are not counted; the window then lasts ``duration_s`` seconds.
A separate process, so the client's work is not charged to the server's or the benchmark's interpreter
(all three share the machine's cores, as a load generator on the same machine does).

Workloads (``spec["workload"]``):

* ``intake``: POST /api/v1/cases with varied, valid petitions and complaints (bodies below);
* ``get``: GET of ``spec["paths"]``, each client starting at its own offset;
* ``intake_sql``: the baseline: a transaction inserting one case row and one event row;
* ``read_sql``: the baseline for reads: ``spec["statements"]`` run in one transaction per item.
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import random
import sys
import threading
import time
from datetime import date, timedelta

from bench.datagen import CATEGORIES, CONTENTS, GIVEN, SURNAMES

PETITION_CHANNELS = (("letter", 35), ("visit", 20), ("online", 35), ("phone", 10))
COMPLAINT_CHANNELS = (("hotline", 60), ("online", 30), ("phone", 10))
PHONE_PREFIXES = ("38", "39", "50", "58", "86", "89", "35", "37")  # valid mobile prefixes (validators)
TITLES = [(cat, t) for cat, _, ts in CATEGORIES for t in ts]
TITLE_WEIGHTS = [w / len(ts) for _, w, ts in CATEGORIES for _ in ts]
DETAILS = ("经办人员称材料不全，但未一次性告知需补充的材料。", "多次电话询问无人答复。",
           "家中有一名重度残疾人需要照顾，收入微薄。", "村委会公示名单与实际情况不符。",
           "申请时提交了医院诊断证明和收入证明。", "")


def _check_digit(first17: str) -> str:
    from casework.cases.validators import id_check_digit

    return id_check_digit(first17)


class Bodies:
    """Petitions (80 %) and complaints (20 %) for one clerk's county: varied categories, channels,
    contents and urgency; 5 % cross-region, 3 % group petitions, 10 % of complaints anonymous, and 30 %
    from a petitioner the client saw before (repeat petitions are common, and exercise repeat detection)."""

    def __init__(self, rng: random.Random, clerk: dict) -> None:
        self.rng, self.clerk, self.seen, self.n = rng, clerk, [], 0

    def person(self, with_id: bool) -> dict:
        rng = self.rng
        known = [p for p in self.seen if "id_number" in p or not with_id]
        if known and rng.random() < 0.30:
            return dict(rng.choice(known))
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65))
        first17 = f"{self.clerk['county']}{birth:%Y%m%d}{rng.randrange(1000):03d}"
        person = {"name": rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))),
                  "phone": f"1{rng.choice(PHONE_PREFIXES)}{rng.randrange(10**8):08d}",
                  "address": f"{self.clerk['county_name']}第{rng.randrange(1, 30)}村{rng.randrange(1, 200)}号"}
        if with_id:
            person["id_number"] = first17 + _check_digit(first17)
        self.seen = (self.seen + [person])[-50:]
        return person

    def next(self) -> dict:
        rng = self.rng
        self.n += 1
        category, title = TITLES[rng.choices(range(len(TITLES)), TITLE_WEIGHTS)[0]]
        kind = "complaint" if rng.random() < 0.20 else "petition"
        channels = COMPLAINT_CHANNELS if kind == "complaint" else PETITION_CHANNELS
        content = (CONTENTS[rng.randrange(len(CONTENTS))].format(m=rng.randint(1, 12), county=self.clerk["county_name"])
                   + rng.choice(DETAILS))
        body = {"kind": kind, "channel": rng.choices([c for c, _ in channels], [w for _, w in channels])[0],
                "category": category, "title": title, "content": content, "region": self.clerk["county"],
                "urgency": rng.choices(("normal", "urgent", "complex"), (90, 5, 5))[0]}
        if rng.random() < 0.05 and self.clerk.get("neighbours"):
            body["regions"] = [rng.choice(self.clerk["neighbours"])]
        if kind == "petition":
            body["people_count"] = rng.randint(5, 30) if rng.random() < 0.03 else 1
            body["petitioner"] = self.person(with_id=True)
        elif rng.random() < 0.10:
            body["anonymous"] = True
        else:
            body["petitioner"] = self.person(with_id=rng.random() < 0.5)
        return body


class Client(threading.Thread):
    def __init__(self, index: int, spec: dict, start_at: float) -> None:
        super().__init__(daemon=True)
        self.index, self.spec, self.start_at = index, spec, start_at
        self.rng = random.Random(spec.get("seed", 1) * 1000 + index)
        self.samples: list[tuple[float, float, bool]] = []  # (start, seconds, ok)
        self.statuses: dict[str, int] = {}
        self.errors: list[str] = []
        self.window_end = start_at + spec["warmup_s"] + spec["duration_s"]

    def record(self, started: float, ok: bool, status: str, error: str | None = None) -> None:
        self.samples.append((started, time.perf_counter() - started, ok))
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if error and len(self.errors) < 5:
            self.errors.append(error[:300])

    def run(self) -> None:
        while time.perf_counter() < self.start_at:
            time.sleep(0.001)
        {"intake": self.http_loop, "get": self.http_loop, "intake_sql": self.sql_loop,
         "read_sql": self.sql_loop}[self.spec["workload"]]()

    # --- HTTP -----------------------------------------------------------------------------------------------
    def http_loop(self) -> None:
        spec = self.spec
        conn = http.client.HTTPConnection(spec["host"], spec["port"], timeout=60)
        if spec["workload"] == "intake":
            clerk = spec["clerks"][self.index % len(spec["clerks"])]
            bodies = Bodies(self.rng, clerk)
            headers = {"Authorization": f"Bearer {clerk['token']}", "Content-Type": "application/json"}
            want = 201
        else:
            headers = {"Authorization": f"Bearer {spec['token']}"}
            paths = spec["paths"]
            pos = self.index * len(paths) // spec["concurrency"]
            want = 200
        while time.perf_counter() < self.window_end:
            if spec["workload"] == "intake":
                method, path, payload = "POST", "/api/v1/cases", json.dumps(bodies.next(), ensure_ascii=False).encode()
            else:
                method, path, payload = "GET", paths[pos % len(paths)], None
                pos += 1
            started = time.perf_counter()
            try:
                conn.request(method, path, body=payload, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                ok = resp.status == want
                self.record(started, ok, str(resp.status), None if ok else f"{resp.status} {data[:200]!r}")
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                self.record(started, False, type(exc).__name__, repr(exc))
                conn.close()
                conn = http.client.HTTPConnection(spec["host"], spec["port"], timeout=60)
        conn.close()

    # --- SQL baselines ----------------------------------------------------------------------------------------
    def sql_loop(self) -> None:
        import psycopg

        spec = self.spec
        # The read baselines send the app's own SQL, and like the app never prepare it (a prepared list query
        # goes to a generic plan that cannot use its LIKE prefix: casework.db.make_engine). The intake baseline
        # keeps psycopg's default, which prepares its two INSERTs: the stronger baseline.
        threshold = 5 if spec["workload"] == "intake_sql" else None
        conn = psycopg.connect(spec["conninfo"], prepare_threshold=threshold)
        cur = conn.cursor()
        n = 0
        if spec["workload"] == "intake_sql":
            clerk = spec["clerks"][self.index % len(spec["clerks"])]
            bodies = Bodies(self.rng, clerk)
        else:
            items = spec["statements"]
            pos = self.index * len(items) // spec["concurrency"]
        while time.perf_counter() < self.window_end:
            n += 1
            if spec["workload"] == "intake_sql":
                work = _baseline_rows(self.rng, bodies.next(), clerk, f"BL-{os.getpid()}-{self.index}-{n}")
            else:
                work = items[pos % len(items)]
                pos += 1
            started = time.perf_counter()
            try:
                if spec["workload"] == "intake_sql":
                    cur.execute(INSERT_CASE, work[0])
                    case_id = cur.fetchone()[0]
                    cur.execute(INSERT_EVENT, {**work[1], "case_id": case_id})
                else:
                    for sql, params in work:
                        cur.execute(sql, params)
                        cur.fetchall()
                conn.commit()
                self.record(started, True, "ok")
            except psycopg.Error as exc:
                conn.rollback()
                self.record(started, False, type(exc).__name__, repr(exc))
        conn.close()


INSERT_CASE = """
INSERT INTO cases (number, kind, status, channel, category, urgency, title, content, region, regions, handling_unit,
    unit_path, registering_unit, route_rule, route_reason, people_count, received_at, created_at, updated_at,
    created_by, version, anonymous, petitioner_name, petitioner_id_number, petitioner_phone, petitioner_address,
    pii_key_id, person_index, assigned_at, return_count, returns_blocked, is_final, overdue, supervised,
    event_count, last_event_hash)
VALUES (%(number)s, %(kind)s, 'assigned', %(channel)s, %(category)s, %(urgency)s, %(title)s, %(content)s,
    %(region)s, %(regions)s, %(region)s, %(unit_path)s, %(region)s, 'territorial', %(reason)s, %(people)s, now(),
    now(), now(), %(user_id)s, 1, %(anonymous)s, %(name)s, %(id_number)s, %(phone)s, %(address)s, 'bench',
    %(person_index)s, now(), 0, false, false, false, false, 1, %(hash)s)
RETURNING id"""
INSERT_EVENT = """
INSERT INTO case_events (case_id, seq, action, from_state, to_state, actor_id, actor_name, unit_code, params,
    created_at, prev_hash, hash)
VALUES (%(case_id)s, 1, 'register', NULL, 'registered', %(user_id)s, %(username)s, %(region)s, %(params)s, now(),
    NULL, %(hash)s)"""


def _opaque(rng: random.Random, text: str | None) -> str | None:
    """Stands in for a ciphertext of the same length (the baseline does none of the application's work)."""
    if text is None:
        return None
    return "bench$" + base64.urlsafe_b64encode(rng.randbytes(28 + len(text.encode()))).decode()


def _baseline_rows(rng: random.Random, body: dict, clerk: dict, number: str) -> tuple[dict, dict]:
    person = body.get("petitioner") or {}
    digest = rng.randbytes(32).hex()
    regions = [body["region"], *body.get("regions", [])]
    case = {"number": number, "kind": body["kind"], "channel": body["channel"], "category": body["category"],
            "urgency": body["urgency"], "title": body["title"], "content": body["content"], "region": body["region"],
            "regions": json.dumps(regions), "unit_path": clerk["unit_path"], "reason": "属地管理",
            "people": body.get("people_count", 1), "user_id": clerk["user_id"],
            "anonymous": bool(body.get("anonymous")), "name": _opaque(rng, person.get("name")),
            "id_number": _opaque(rng, person.get("id_number")), "phone": _opaque(rng, person.get("phone")),
            "address": _opaque(rng, person.get("address")),
            "person_index": rng.randbytes(32).hex() if person.get("id_number") else None, "hash": digest}
    event = {"user_id": clerk["user_id"], "username": clerk["username"], "region": body["region"], "hash": digest,
             "params": json.dumps({"number": number, "channel": body["channel"], "category": body["category"],
                                   "regions": regions}, ensure_ascii=False)}
    return case, event


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))] if s else float("nan")


def run(spec: dict) -> dict:
    start_at = time.perf_counter() + 0.5
    clients = [Client(i, spec, start_at) for i in range(spec["concurrency"])]
    for c in clients:
        c.start()
    for c in clients:
        c.join()
    lo, hi = start_at + spec["warmup_s"], start_at + spec["warmup_s"] + spec["duration_s"]
    counted = [s for c in clients for s in c.samples if lo <= s[0] and s[0] + s[1] <= hi]
    ok_ms = [s[1] * 1000 for s in counted if s[2]]
    statuses: dict[str, int] = {}
    for c in clients:
        for k, v in c.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
    return {"workload": spec["workload"], "concurrency": spec["concurrency"], "duration_s": spec["duration_s"],
            "warmup_s": spec["warmup_s"], "requests": len(counted), "ok": len(ok_ms),
            "errors": len(counted) - len(ok_ms), "errors_all": sum(1 for c in clients for s in c.samples if not s[2]),
            "ok_all": sum(1 for c in clients for s in c.samples if s[2]),
            "throughput_per_s": len(ok_ms) / spec["duration_s"],
            "p50_ms": pct(ok_ms, .50), "p95_ms": pct(ok_ms, .95), "p99_ms": pct(ok_ms, .99),
            "max_ms": max(ok_ms, default=float("nan")), "statuses": statuses,
            "error_samples": [e for c in clients for e in c.errors][:10],
            "load_average_1m_after": os.getloadavg()[0], "latencies_ms": [round(v, 2) for v in ok_ms]}


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as fh:
        result = run(json.load(fh))
    with open(sys.argv[2], "w", encoding="utf-8") as fh:
        json.dump(result, fh, ensure_ascii=False)
