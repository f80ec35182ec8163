"""吉安市 (360800) in October and November 2026: 60 hand-made cases driven through the real services.

Every case is registered with ``intake`` and moved with ``apply_action`` under ``clock.frozen`` at the
time in the table; lateness comes from the SLA sweep (run at the SWEEPS moments) or from an action
taken after its clock's due time. Nothing is written to the database directly, so the bulletins
built from this world count what the services recorded. test_figures.py counts the expected
figures by hand from this table.

Units: 遂川县 SC=360827, 万安县 WA=360828, 永新县 YX=360830 (three of 吉安's 13 counties; the other
ten have no cases), CITY=360800, discipline unit D=D360800. All times Beijing time, 2026.
Holidays: 10-01..10-07 off, Sat 10-10 worked; otherwise Mon–Fri.
Clocks: petition acceptance 15 calendar days (a last day on a rest day moves to the next working
day), complaint contact 1 working day and handling 7 calendar days, each ending at 24:00.

SWEEPS  10-28 09:00 · 11-01 02:00 · 11-12 09:00 · 11-27 09:00 · 12-01 02:00
BUILDS  October at 11-01 02:00 (after its sweep); November at 12-01 02:00 (after its sweep)
LEGEND  P petition, C complaint; acc = accept (+ start); "closed" = answered satisfied unless UNSAT or never
        evaluated; (Nd) = days from received to closed; SW = sweep; 督办#n = the n-th supervision opened.

 key  handler kind chan.   category       received      what happens (→ final status)
 O01  SC  P  letter  dibao          10-09  acc 10-12, resp+sat+close 10-20 (11d)              person A
 O02  SC  P  visit   dibao          10-12  acc 10-13 → in_progress                           person B
 O03  SC  C  hotline elderly_care   10-14  contact 10-14, closed 10-16 (2d)
 O04  SC  P  letter  tekun          10-15  closed 10-23; city reopens 11-05; closed 11-12 (28d)
 O05  SC  P  online  dibao          10-20  declined 10-22
 O06  SC  C  phone   community      10-26  contact 10-26, closed 10-28 (2d)
 O07  WA  P  letter  dibao          10-09  due 10-26, SW 10-28 breaches (督办#1); acc 10-29 late; closed 11-06 (28d)
 O08  WA  C  hotline elderly_care   10-13  contact 10-13, closed UNSAT 10-15 (2d)
 O09  YX  P  visit   disability     10-16  region WA; WA returns 10-19, city gives YX; acc 10-20, closed 10-27 (11d)
 O10  WA  P  letter  customs        10-22  acc 10-23 → in_progress
 O11  WA  C  online  social_org     10-27  contact 10-27; handling due 11-03, handled 11-05 LATE; closed 11-05 (9d)
 O12  YX  P  letter  dibao          10-08  due 10-23, SW 10-28 breaches (督办#2); acc 11-02 late → in_progress
 O13  YX  P  visit   tekun          10-12  declined 10-14
 O14  YX  C  hotline elderly_care   10-19  contact due 10-20, contacted 10-21 LATE; closed 10-23 (4d)
 O15  YX  P  letter  left_behind    10-21  acc 10-22, resp + UNSAT 10-23; closed after the review window 11-24 (34d)
 O16  YX  P  online  dibao          10-26  acc 10-27, resp 10-28, never evaluated; closed 11-30 (35d)
 O17  SC  P  visit   dibao          10-23  越级: logged by the city clerk → SC; acc 10-26, closed 11-03 (11d)
 O18  SC  C  hotline community      10-31 23:59:59  contact 11-02, closed 11-03 23:59:59 (3d)
 O19  SC  P  letter  elderly_care   10-27  acc 10-28, closed 11-02 (6d)
 O20  WA  C  hotline elderly_care   10-28  contact 10-28, closed 10-30 (2d)
 O21  YX  C  hotline elderly_care   10-29  contact 10-29; handling due 11-05, breached 11-12 (督办#3); closed 11-20 (22d)
 N00  WA  C  phone   elderly_care   11-01 00:00:00  contact 11-02, closed 11-04 00:00 (3d)
 N01  SC  P  letter  dibao          11-02  acc 11-04, closed 11-10 (8d)
 N02  SC  P  visit   tekun          11-03  acc 11-05, closed 11-13 (10d)
 N03  SC  C  hotline elderly_care   11-04  contact 11-04, closed 11-06 (2d)
 N04  SC  C  hotline elderly_care   11-09  contact 11-09, closed UNSAT 11-11 (2d)
 N05  SC  P  online  dibao          11-16  acc 11-17 → in_progress
 N06  SC  P  letter  temporary_aid  11-18  declined 11-19
 N07  SC  P  visit   dibao          11-20  person B again while O02 is open: repeat; acc 11-23 → accepted
 N08  SC  C  phone   community      11-24  contact 11-24 → contacted
 N09  WA  P  letter  dibao          11-02  acc 11-03, closed 11-09 (7d)
 N10  WA  P  visit   dibao          11-05  越级: logged by the city clerk → WA; acc 11-06 → in_progress
 N11  WA  C  hotline elderly_care   11-03  contact 11-03; handling due 11-10, breached 11-12 (督办#4); closed 11-13 (10d)
 N12  YX  P  letter  disability     11-06  region WA; WA returns 11-09, city assigns YX; acc 11-12 → in_progress
 N13  WA  C  online  social_org     11-10  contact due 11-11, breached 11-12 (督办#5); contact 11-12; closed 11-16 (6d)
 N14  WA  P  letter  dibao          11-10  due 11-25, SW 11-27 breaches (督办#6) → assigned, OVERDUE (5 days at build)
 N15  WA  P  phone   customs        11-17  acc 11-18 → in_progress
 N16  WA  C  hotline elderly_care   11-25  contact 11-25 → contacted
 N17  YX  P  letter  dibao          11-02  due 11-17, SW 11-27 breaches (督办#7) → assigned, OVERDUE (13 days)
 N18  YX  P  visit   tekun          11-03  due 11-18, SW 11-27 breaches (督办#8); acc 11-27 10:00 late → in_progress
 N19  YX  C  hotline elderly_care   11-05  contacted 11-09 LATE (due 11-06), handled 11-16 LATE (due 11-12); UNSAT (11d)
 N20  YX  C  hotline community      11-16  contact 11-16, closed 11-18 (2d)
 N21  YX  P  online  left_behind    11-19  declined 11-20
 N22  YX  P  letter  dibao          11-09  acc 11-10; the city's manual 督办#9 11-20; YX replies 11-24 → in_progress
 N23  YX  P  letter  tekun          11-24  nothing yet (due 12-09) → assigned
 N24  YX  C  hotline elderly_care   11-25  contact due 11-26, SW 11-27 breaches (督办#10) → assigned, OVERDUE (4 days)
 N25  CITY P visit   dibao          11-11  group of 5 logged by SC's clerk → the city; acc 11-12, closed 11-20 (9d)
 N26  SC  C  hotline elderly_care   11-10  contact 11-10, closed 11-12 (2d)
 N27  SC  P  letter  dibao          11-11  acc 11-12, closed 11-19 (8d)
 N28  WA  C  hotline dibao          11-17  contact 11-17, closed 11-19 (2d)
 N29  YX  C  hotline elderly_care   11-11  contact due 11-12, contacted 11-13 LATE; closed 11-16 (5d)
 N30  YX  P  visit   dibao          11-16  acc 11-17 → in_progress
 L1   D  lead  accused at SC        10-20  registered 10-21, disposed 予以了结 (close) 10-22
 L5   D  lead  accused at YX        10-28  registered 10-29, disposed 谈话函询 (inquiry) 11-02, answer 11-20
 L2   D  lead  accused at WA        11-03  registered 11-04, disposed 暂存待查 (hold) 11-06
 L3   D  lead  accused at SC        11-09  registered 11-10, disposed 初步核实 (verification) 11-12
 L4   D  lead  accused at YX        11-18  registered 11-19, not disposed
 R1   SC  整改 deadline 11-20       10-15  started 10-16, 100% and submitted 11-10, verified by the city 11-12 (on time)
 R2   WA  整改 deadline 11-25       10-20  started 10-21, nothing more: SW 11-27 breaches (督办#11), OVERDUE (5 days)
 R3   YX  整改 deadline 12-15       11-05  started 11-06 (due in December)
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from casework import clock

BJ = ZoneInfo("Asia/Shanghai")
SC, WA, YX, CITY, D = "360827", "360828", "360830", "360800", "D360800"


def bj(month: int, day: int, hour: int = 10, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=BJ)


@dataclass(frozen=True)
class Step:
    when: datetime
    action: str
    who: str = "h"  # h: the handling unit's clerk (inspector for leads); hs: its supervisor; else role@unit
    params: dict = field(default_factory=dict)


def st(when, action, who="h", **params) -> Step:
    return Step(when, action, who, params)


@dataclass(frozen=True)
class Spec:
    key: str
    unit: str  # the handling unit once every step has run
    kind: str
    channel: str
    category: str
    received: datetime
    final: str
    steps: tuple = ()
    region: str | None = None  # default: the handling unit
    by: str | None = None  # the registering user; default: a clerk of the region
    people: int = 1
    person: str | None = None  # same person → same ID number (repeat detection)
    deadline: date | None = None  # rectification items


def p_closed(acc, resp, done=None, sat="satisfied"):
    steps = [st(acc, "accept"), st(acc, "start"), st(resp, "respond", outcome="support", text="已按政策办理。")]
    if sat:
        steps.append(st(resp, "evaluate", satisfaction=sat))
    return steps + [st(done or resp, "close")]


def c_closed(contact, done, sat="satisfied"):
    return [st(contact, "contact"), st(done, "handle"), st(done, "visit_back", satisfaction=sat), st(done, "close")]


def accepted(acc):
    return [st(acc, "accept"), st(acc, "start")]


def declined(when):
    return [st(when, "decline", reason="已经依法处理，无新的事实和理由")]


def returned(when, to):
    return [st(when, "return", reason="不属于本单位职责"), st(when + timedelta(hours=1), "assign", "clerk@360800", unit=to)]


def P(key, unit, channel, category, received, final, steps=(), **kw):
    return Spec(key, unit, "petition", channel, category, received, final, tuple(steps), **kw)


def C(key, unit, channel, category, received, final, steps=(), **kw):
    return Spec(key, unit, "complaint", channel, category, received, final, tuple(steps), **kw)


def L(key, accused, received, final, *steps):
    return Spec(key, D, "lead", "letter", "dibao", received, final, tuple(steps), region=accused,
                by="inspector@D360800")


def R(key, unit, created, deadline, final, *steps):
    return Spec(key, unit, "rectification", "inspection", "other", created, final, tuple(steps), deadline=deadline,
                by="inspector@D360800")


REOPEN_O04 = [st(bj(11, 5), "reopen", "supervisor@360800", reason="群众反映问题未解决"),
              st(bj(11, 12), "respond", outcome="support", text="重新核查后已解决。"),
              st(bj(11, 12), "evaluate", satisfaction="satisfied"), st(bj(11, 12), "close")]
SUPERVISE_N22 = [st(bj(11, 20), "supervise", "supervisor@360800", reason="群众多次反映，请加快办理"),
                 st(bj(11, 24), "reply_supervision", text="已制定方案，正在办理。")]

SPECS = [
    P("O01", SC, "letter", "dibao", bj(10, 9), "closed", p_closed(bj(10, 12), bj(10, 20)), person="A"),
    P("O02", SC, "visit", "dibao", bj(10, 12), "in_progress", accepted(bj(10, 13)), person="B"),
    C("O03", SC, "hotline", "elderly_care", bj(10, 14), "closed", c_closed(bj(10, 14, 14), bj(10, 16))),
    P("O04", SC, "letter", "tekun", bj(10, 15), "closed", p_closed(bj(10, 16), bj(10, 23)) + REOPEN_O04),
    P("O05", SC, "online", "dibao", bj(10, 20), "not_accepted", declined(bj(10, 22))),
    C("O06", SC, "phone", "community", bj(10, 26), "closed", c_closed(bj(10, 26, 11), bj(10, 28))),
    P("O07", WA, "letter", "dibao", bj(10, 9), "closed", p_closed(bj(10, 29), bj(11, 6))),
    C("O08", WA, "hotline", "elderly_care", bj(10, 13), "closed", c_closed(bj(10, 13, 11), bj(10, 15), "unsatisfied")),
    P("O09", YX, "visit", "disability", bj(10, 16), "closed",
      returned(bj(10, 19), YX) + p_closed(bj(10, 20), bj(10, 27)), region=WA),
    P("O10", WA, "letter", "customs", bj(10, 22), "in_progress", accepted(bj(10, 23))),
    C("O11", WA, "online", "social_org", bj(10, 27), "closed", c_closed(bj(10, 27, 11), bj(11, 5))),
    P("O12", YX, "letter", "dibao", bj(10, 8), "in_progress", accepted(bj(11, 2))),
    P("O13", YX, "visit", "tekun", bj(10, 12), "not_accepted", declined(bj(10, 14))),
    C("O14", YX, "hotline", "elderly_care", bj(10, 19), "closed", c_closed(bj(10, 21), bj(10, 23))),
    P("O15", YX, "letter", "left_behind", bj(10, 21), "closed",
      p_closed(bj(10, 22), bj(10, 23), bj(11, 24), "unsatisfied")),
    P("O16", YX, "online", "dibao", bj(10, 26), "closed", p_closed(bj(10, 27), bj(10, 28), bj(11, 30), None)),
    P("O17", SC, "visit", "dibao", bj(10, 23), "closed", p_closed(bj(10, 26), bj(11, 3)), by="clerk@360800"),
    C("O18", SC, "hotline", "community", bj(10, 31, 23, 59, 59), "closed", c_closed(bj(11, 2), bj(11, 3, 23, 59, 59))),
    P("O19", SC, "letter", "elderly_care", bj(10, 27), "closed", p_closed(bj(10, 28), bj(11, 2))),
    C("O20", WA, "hotline", "elderly_care", bj(10, 28), "closed", c_closed(bj(10, 28, 11), bj(10, 30))),
    C("O21", YX, "hotline", "elderly_care", bj(10, 29), "closed", c_closed(bj(10, 29, 11), bj(11, 20))),
    C("N00", WA, "phone", "elderly_care", bj(11, 1, 0), "closed", c_closed(bj(11, 2), bj(11, 4, 0))),
    P("N01", SC, "letter", "dibao", bj(11, 2), "closed", p_closed(bj(11, 4), bj(11, 10))),
    P("N02", SC, "visit", "tekun", bj(11, 3), "closed", p_closed(bj(11, 5), bj(11, 13))),
    C("N03", SC, "hotline", "elderly_care", bj(11, 4), "closed", c_closed(bj(11, 4, 15), bj(11, 6))),
    C("N04", SC, "hotline", "elderly_care", bj(11, 9), "closed", c_closed(bj(11, 9, 15), bj(11, 11), "unsatisfied")),
    P("N05", SC, "online", "dibao", bj(11, 16), "in_progress", accepted(bj(11, 17))),
    P("N06", SC, "letter", "temporary_aid", bj(11, 18), "not_accepted", declined(bj(11, 19))),
    P("N07", SC, "visit", "dibao", bj(11, 20), "accepted", [st(bj(11, 23), "accept")], person="B"),
    C("N08", SC, "phone", "community", bj(11, 24), "contacted", [st(bj(11, 24, 15), "contact")]),
    P("N09", WA, "letter", "dibao", bj(11, 2), "closed", p_closed(bj(11, 3), bj(11, 9))),
    P("N10", WA, "visit", "dibao", bj(11, 5), "in_progress", accepted(bj(11, 6)), by="clerk@360800"),
    C("N11", WA, "hotline", "elderly_care", bj(11, 3), "closed", c_closed(bj(11, 3, 11), bj(11, 13))),
    P("N12", YX, "letter", "disability", bj(11, 6), "in_progress", returned(bj(11, 9), YX) + accepted(bj(11, 12)),
      region=WA),
    C("N13", WA, "online", "social_org", bj(11, 10), "closed", c_closed(bj(11, 12), bj(11, 16))),
    P("N14", WA, "letter", "dibao", bj(11, 10), "assigned"),
    P("N15", WA, "phone", "customs", bj(11, 17), "in_progress", accepted(bj(11, 18))),
    C("N16", WA, "hotline", "elderly_care", bj(11, 25), "contacted", [st(bj(11, 25, 15), "contact")]),
    P("N17", YX, "letter", "dibao", bj(11, 2), "assigned"),
    P("N18", YX, "visit", "tekun", bj(11, 3), "in_progress", accepted(bj(11, 27))),
    C("N19", YX, "hotline", "elderly_care", bj(11, 5), "closed", c_closed(bj(11, 9), bj(11, 16), "unsatisfied")),
    C("N20", YX, "hotline", "community", bj(11, 16), "closed", c_closed(bj(11, 16, 15), bj(11, 18))),
    P("N21", YX, "online", "left_behind", bj(11, 19), "not_accepted", declined(bj(11, 20))),
    P("N22", YX, "letter", "dibao", bj(11, 9), "in_progress", accepted(bj(11, 10)) + SUPERVISE_N22),
    P("N23", YX, "letter", "tekun", bj(11, 24), "assigned"),
    C("N24", YX, "hotline", "elderly_care", bj(11, 25), "assigned"),
    P("N25", CITY, "visit", "dibao", bj(11, 11), "closed", p_closed(bj(11, 12), bj(11, 20)), region=SC,
      by="clerk@360827", people=5),
    C("N26", SC, "hotline", "elderly_care", bj(11, 10), "closed", c_closed(bj(11, 10, 15), bj(11, 12))),
    P("N27", SC, "letter", "dibao", bj(11, 11), "closed", p_closed(bj(11, 12), bj(11, 19))),
    C("N28", WA, "hotline", "dibao", bj(11, 17), "closed", c_closed(bj(11, 17, 15), bj(11, 19))),
    C("N29", YX, "hotline", "elderly_care", bj(11, 11), "closed", c_closed(bj(11, 13), bj(11, 16))),
    P("N30", YX, "visit", "dibao", bj(11, 16), "in_progress", accepted(bj(11, 17))),
    L("L1", SC, bj(10, 20), "closed", st(bj(10, 21), "register"), st(bj(10, 22), "dispose_close", "hs", reason="反映不实")),
    L("L5", YX, bj(10, 28), "inquiry", st(bj(10, 29), "register"), st(bj(11, 2), "dispose_inquiry", "hs"),
      st(bj(11, 20), "record_answer", note="已书面说明")),
    L("L2", WA, bj(11, 3), "held", st(bj(11, 4), "register"), st(bj(11, 6), "dispose_hold", "hs")),
    L("L3", SC, bj(11, 9), "verification", st(bj(11, 10), "register"), st(bj(11, 12), "dispose_verification", "hs")),
    L("L4", YX, bj(11, 18), "registered", st(bj(11, 19), "register")),
    R("R1", SC, bj(10, 15), date(2026, 11, 20), "verified", st(bj(10, 16), "start"), st(bj(11, 10), "progress"),
      st(bj(11, 10, 11), "submit"), st(bj(11, 12), "verify", "supervisor@360800")),
    R("R2", WA, bj(10, 20), date(2026, 11, 25), "in_progress", st(bj(10, 21), "start")),
    R("R3", YX, bj(11, 5), date(2026, 12, 15), "in_progress", st(bj(11, 6), "start")),
]
SWEEPS = [bj(10, 28, 9), bj(11, 1, 2), bj(11, 12, 9), bj(11, 27, 9), bj(12, 1, 2)]
BUILDS = {"2026-10": (bj(11, 1, 2), date(2026, 10, 1)), "2026-11": (bj(12, 1, 2), date(2026, 11, 1))}
NAMES = ["王芳", "李娜", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴霞"]


@dataclass
class World:
    ids: dict[str, int]  # table key → case id
    numbers: dict[str, str]  # table key → case number
    bulletins: dict[str, int]  # "2026-10" / "2026-11" → bulletin id
    users: dict[str, int]  # "role@unit" → user id
    connection: object = None

    def user(self, who: str):
        from casework.auth.models import User
        from casework.extensions import db

        return db.session.get(User, self.users[who])


class _Driver:
    def __init__(self, session):
        self.session = session
        self.users: dict[str, int] = {}
        self.ids: dict[str, int] = {}
        persons = list(dict.fromkeys(s.person or s.key for s in SPECS))
        self.seq = {p: 100 + i for i, p in enumerate(persons)}

    def user(self, who: str):
        from casework.auth.models import User
        from tests.factories import UserFactory

        if who not in self.users:
            role, unit = who.split("@")
            self.users[who] = UserFactory(role=role, unit_code=unit).id
        return self.session.get(User, self.users[who])

    def actor(self, spec: Spec, who: str):
        from casework.cases.models import Case

        if "@" in who:
            return self.user(who)
        unit = self.session.get(Case, self.ids[spec.key]).handling_unit
        role = "supervisor" if who == "hs" else ("inspector" if spec.kind == "lead" else "clerk")
        return self.user(f"{role}@{unit}")

    def body(self, spec: Spec) -> dict:
        from casework.common.vocab import CATEGORY_NAMES
        from tests.cases.conftest import make_id_number

        seq = self.seq[spec.person or spec.key]
        body = dict(kind=spec.kind, channel=spec.channel, category=spec.category, region=spec.region or spec.unit,
                    title=f"{spec.key}：{CATEGORY_NAMES[spec.category]}问题", content=f"{spec.key} 反映的具体情况。",
                    people_count=spec.people, received_at=spec.received.isoformat())
        name = NAMES[seq % len(NAMES)]
        if spec.kind == "lead":
            body.update(source="public_report", accused={"name": f"{name}某", "unit": spec.region, "position": "科员"})
        elif spec.kind == "petition":
            body["petitioner"] = {"name": name, "id_number": make_id_number(seq=f"{seq:03d}"), "phone": f"138{seq:08d}"}
        else:
            body["petitioner"] = {"name": name, "phone": f"139{seq:08d}"}
        return body

    def register(self, spec: Spec) -> None:
        from casework.cases.intake import intake
        from casework.cases.schemas import CaseCreateSchema
        from casework.rectification.schemas import RectificationCreateSchema
        from casework.rectification.service import create_item

        if spec.kind == "rectification":
            data = RectificationCreateSchema().load(dict(
                source_text=f"巡视发现：{spec.key}", finding_date="2026-10-10", task=f"{spec.key} 整改任务",
                measures="建立台账，逐项整改", deadline=spec.deadline.isoformat(), responsible_person="张主任",
                responsible_unit=spec.unit))
            case = create_item(session=self.session, data=data, actor=self.user(spec.by), now=clock.now())
        else:
            by = spec.by or f"clerk@{spec.region or spec.unit}"
            case = intake(session=self.session, data=CaseCreateSchema().load(self.body(spec)), actor=self.user(by)).case
        self.ids[spec.key] = case.id

    def act(self, spec: Spec, step: Step) -> None:
        from casework.cases.actions import apply_action
        from casework.cases.models import Case
        from casework.cases.schemas import ActionSchema
        from casework.rectification.service import add_progress

        actor, case_id = self.actor(spec, step.who), self.ids[spec.key]
        if step.action == "progress":
            add_progress(session=self.session, case_id=case_id, actor=actor, text="整改完成", report_date=step.when.date(),
                         percent=100, files=[], evidence_dir="", max_bytes=1, now=clock.now())
            return
        apply_action(session=self.session, case_id=case_id, action=step.action, params=ActionSchema().load(step.params),
                     actor=actor, expected_version=self.session.get(Case, case_id).version)

    def sweep(self) -> None:
        from casework.sla.policies import policies_for_app
        from casework.sla.service import run_sweep

        run_sweep(session=self.session, policies=policies_for_app())

    def build(self, start: date) -> int:
        from casework.bulletins.service import request_build
        from workers import jobs

        bulletin, _ = request_build(session=self.session, unit_code=CITY, kind="month", start=start,
                                    actor=self.user("supervisor@360800"), now=clock.now())
        self.session.commit()
        bulletin_id = bulletin.id
        assert jobs.build_bulletin(bulletin_id) == "done"
        return bulletin_id


def build_world(session, connection=None) -> World:
    """Run the table's timeline in time order (intake, actions, sweeps, builds interleaved)."""
    from casework.cases.models import Case

    driver = _Driver(session)
    built: dict[str, int] = {}
    events = []
    for spec in SPECS:
        events.append((spec.received, lambda spec=spec: driver.register(spec)))
        events += [(step.when, lambda spec=spec, step=step: driver.act(spec, step)) for step in spec.steps]
    events += [(when, driver.sweep) for when in SWEEPS]
    for name, (when, start) in BUILDS.items():
        events.append((when, lambda name=name, start=start: built.__setitem__(name, driver.build(start))))
    # A stable sort: at equal times, table order (a case's own steps stay in order; sweeps before builds).
    for when, run in sorted(events, key=lambda e: e[0]):
        with clock.frozen(when.astimezone(timezone.utc)):  # the production clock answers in UTC
            run()
            session.commit()
    for spec in SPECS:
        case = session.get(Case, driver.ids[spec.key])
        assert (case.status, case.handling_unit) == (spec.final, spec.unit), f"{spec.key} ended {case.status} at " \
            f"{case.handling_unit}, the table says {spec.final} at {spec.unit}"
    numbers = {s.key: session.get(Case, driver.ids[s.key]).number for s in SPECS}
    return World(ids=dict(driver.ids), numbers=numbers, bulletins=built, users=dict(driver.users),
                 connection=connection)


@pytest.fixture(scope="module")
def world(app):
    """The world, built once per test module in a transaction that is rolled back afterwards.

    Tests using it must not also use the function-scoped ``session``/``client`` fixtures (they rebind
    db.session to another connection); make changes inside ``scratch(world)``.
    """
    from casework.extensions import db, redis_store

    connection = db.engine.connect()
    outer = connection.begin()
    db.session.remove()
    db.session.configure(bind=connection, join_transaction_mode="create_savepoint")
    ctx = app.app_context()
    ctx.push()
    try:
        redis_store.client.flushdb()
        yield build_world(db.session, connection)
    finally:
        db.session.remove()
        ctx.pop()
        outer.rollback()
        connection.close()
        db.session.configure(bind=db.engine)


@contextlib.contextmanager
def scratch(world: World):
    """Changes made inside are rolled back at the end (a savepoint on the world's connection)."""
    from casework.extensions import db

    db.session.remove()
    nested = world.connection.begin_nested()
    try:
        yield db.session
    finally:
        db.session.remove()
        nested.rollback()
