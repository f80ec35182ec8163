"""The simulation: intake with realistic mixes, rectification items, and staff who are mostly on time.

Everything goes through the real services on a simulated clock, in time order;
one transaction per simulated day, closed by the evening's jobs (the sweep, and
the bulletins when the cron would build them: casework/demo/run.py). The random
generator is seeded, and every time comes from the simulated clock, so the same
seed on a fresh database gives the same numbers.
"""
from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable

from casework import clock
from casework.cases.actions import apply_action
from casework.cases.intake import intake
from casework.cases.models import Case
from casework.cases.validators import id_check_digit
from casework.demo import rectification
from casework.demo.world import COUNTIES
from casework.problem import DomainError
from casework.sla.deadlines import SHANGHAI

KIND_MIX = (("petition", 0.55), ("complaint", 0.43), ("lead", 0.02))
CHANNEL_MIX = {"petition": (("letter", 0.35), ("visit", 0.3), ("online", 0.35)),
               "complaint": (("hotline", 0.7), ("phone", 0.15), ("online", 0.15))}
CATEGORY_MIX = (("dibao", 0.28), ("tekun", 0.08), ("temporary_aid", 0.1), ("disability", 0.07),
                ("unsupported_children", 0.04), ("left_behind", 0.05), ("elderly_care", 0.14), ("social_org", 0.03),
                ("charity", 0.02), ("community", 0.1), ("customs", 0.04), ("place_names", 0.02), ("other", 0.03))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "秀英桂英建华志强海燕红梅明军国平玉兰丽娟文斌小龙春生"
TITLES = {"dibao": "低保资格认定有异议", "tekun": "特困供养金未按时发放", "temporary_aid": "申请临时救助未获答复",
          "disability": "残疾人两项补贴未到位", "unsupported_children": "事实无人抚养儿童认定",
          "left_behind": "留守老人无人照料", "elderly_care": "敬老院服务质量差", "social_org": "社会组织乱收费",
          "charity": "慈善募捐去向不明", "community": "村务公开不及时", "customs": "大操大办未制止",
          "place_names": "村界争议", "other": "其他民政事项"}


def pick(rng: random.Random, mix) -> str:
    r = rng.random()
    acc = 0.0
    for value, weight in mix:
        acc += weight
        if r < acc:
            return value
    return mix[-1][0]


@dataclass(order=True)
class Task:
    at: datetime
    seq: int
    case_id: int = field(compare=False)
    step: int = field(compare=False)


@dataclass
class Seen:
    """What the simulated staff know of a case after its last step: enough to choose the next one, so a
    case is not read back from the database before each step (the services read it themselves)."""
    id: int
    kind: str
    status: str
    version: int
    handling_unit: str
    unit_path: str
    return_count: int
    satisfaction: str | None
    progress: int = 0  # a rectification item's progress_percent

    @classmethod
    def of(cls, case: Case, progress: int = 0) -> Seen:
        return cls(case.id, case.kind, case.status, case.version, case.handling_unit, case.unit_path,
                   case.return_count, case.satisfaction, progress)


@dataclass
class Stats:
    intakes: int = 0
    actions: int = 0
    refused: int = 0
    rectification_items: int = 0
    progress_reports: int = 0
    sweeps: int = 0
    bulletins: int = 0


class Simulation:
    def __init__(self, *, session, users, start: date, days: int, per_day: int, seed: int, evidence_dir: str,
                 progress: Callable[[int], None] | None = None) -> None:
        self.session, self.users, self.start, self.days = session, users, start, days
        self.per_day, self.rng, self.progress = per_day, random.Random(seed), progress or (lambda n: None)
        self.evidence_dir = evidence_dir
        self.queue: list[Task] = []
        self.cases: dict[int, Seen] = {}
        self.seq = 0
        self.people: list[dict] = []
        self.matters: dict[str, str] = {}  # id number → category of the person's last petition or complaint
        self.stats = Stats()

    # -- people and cases ---------------------------------------------------
    def person(self, county: str) -> dict:
        if self.people and self.rng.random() < 0.08:
            return self.rng.choice(self.people)  # a repeat petitioner
        birth = date(1940, 1, 1) + timedelta(days=self.rng.randrange(0, 60 * 365))
        first17 = f"{county}{birth:%Y%m%d}{self.rng.randrange(0, 1000):03d}"
        name = self.rng.choice(SURNAMES) + "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2))))
        person = {"name": name, "id_number": first17 + id_check_digit(first17),
                  "phone": f"13{self.rng.randrange(0, 10)}{self.rng.randrange(0, 10**8):08d}",
                  "address": f"{county}某乡某村"}
        self.people.append(person)
        return person

    def user(self, unit: str, role: str):
        return self.users[(unit, role)]

    def new_case(self, now: datetime) -> None:
        county = self.rng.choice(COUNTIES)
        kind = pick(self.rng, KIND_MIX)
        category = pick(self.rng, CATEGORY_MIX)
        city = county[:4] + "00"
        if kind == "lead":
            actor = self.user("D" + city, "inspector")
            data = {"kind": "lead", "channel": "letter", "category": category, "title": "反映村干部" + TITLES[category],
                    "content": "群众来信反映相关干部在" + TITLES[category] + "中优亲厚友。", "region": county,
                    "source": "public_report", "received_at": now,
                    "accused": {"name": self.person(county)["name"], "unit": county, "position": "村干部"}}
            if self.rng.random() < 0.6:
                p = self.person(county)
                data["reporter"] = {"name": p["name"], "phone": p["phone"]}
        else:
            # 越级: some petitions are logged at the city, the province or the ministry.
            registrar = county
            if kind == "petition" and self.rng.random() < 0.06:
                registrar = self.rng.choice((city, county[:2] + "0000", "100000"))
            actor = self.user(registrar, "clerk") if (registrar, "clerk") in self.users \
                else self.user(registrar, "supervisor")
            person = self.person(county)
            # Someone who comes back mostly comes back about the same matter (重复信访).
            if person["id_number"] in self.matters and self.rng.random() < 0.7:
                category = self.matters[person["id_number"]]
            self.matters[person["id_number"]] = category
            data = {"kind": kind, "channel": pick(self.rng, CHANNEL_MIX[kind]), "category": category,
                    "title": TITLES[category], "content": f"{person['address']}群众反映：{TITLES[category]}。",
                    "region": county, "received_at": now,
                    "people_count": self.rng.choice((5, 6, 8, 12)) if self.rng.random() < 0.04 else 1,
                    "urgency": pick(self.rng, (("normal", 0.85), ("urgent", 0.1), ("complex", 0.05))),
                    "petitioner": person if kind == "petition" else {"name": person["name"],
                                                                    "phone": person["phone"]}}
        try:
            case = intake(session=self.session, data=data, actor=actor, now=now).case
        except DomainError:
            self.stats.refused += 1
            return
        self.stats.intakes += 1
        self.plan(self.saw(case), now, step=0)

    def saw(self, case: Case, progress: int = 0) -> Seen:
        self.cases[case.id] = seen = Seen.of(case, progress)
        return seen

    # -- staff behaviour ------------------------------------------------------
    # How long a unit usually takes for its next step, by kind and state: (min, max) in hours.
    PACE = {("complaint", "assigned"): (1, 5), ("complaint", "contacted"): (20, 120),
            ("complaint", "handled"): (24, 72), ("complaint", "visited_back"): (2, 24),
            ("petition", "assigned"): (24, 240), ("petition", "accepted"): (4, 48),
            ("petition", "in_progress"): (240, 1200), ("petition", "responded"): (24, 200),
            ("lead", "received"): (24, 96), ("lead", "registered"): (48, 240),
            ("rectification", "assigned"): (24, 96), ("rectification", "in_progress"): (96, 360),
            ("rectification", "submitted"): (24, 120)}

    def delay(self, case: Seen) -> timedelta:
        """Most staff keep their deadlines; about one step in ten slips well past them."""
        low, high = self.PACE.get((case.kind, case.status), (24, 96))
        if self.rng.random() < 0.1:
            low, high = high * 2, high * 4
        return timedelta(hours=self.rng.randint(low, high))

    def plan(self, case: Seen, now: datetime, step: int) -> None:
        self.seq += 1
        heapq.heappush(self.queue, Task(now + self.delay(case), self.seq, case.id, step))

    def next_step(self, case: Seen) -> tuple[str, str, dict] | None:
        """The action a well-behaved unit takes next, as (action, actor role, params)."""
        if case.kind == "rectification":
            return rectification.next_step(self, case)
        s, r = case.status, self.rng.random()
        if case.kind == "petition":
            if s == "assigned":
                if case.return_count == 0 and r < 0.03:
                    return "return", "clerk", {"reason": "不属于本单位职责范围"}
                if r < 0.08:
                    return "decline", "clerk", {"reason": "已依法处理，无新的事实和理由"}
                return "accept", "clerk", {}
            if s == "registered":
                return "assign", "clerk", {}
            if s == "accepted":
                return "start", "clerk", {}
            if s == "in_progress":
                return "respond", "clerk", {"outcome": pick(self.rng, (("support", 0.5), ("explain", 0.35),
                                                                     ("not_support", 0.15))),
                                            "text": "经调查核实，已依法依规作出处理。"}
            if s == "responded":
                if case.satisfaction is None:
                    return "evaluate", "clerk", {"satisfaction": "satisfied" if r < 0.85 else "unsatisfied"}
                return ("close", "clerk", {}) if case.satisfaction == "satisfied" else None
            return None
        if case.kind == "complaint":
            steps = {"assigned": ("contact", {}), "contacted": ("handle", {"note": "已现场处理"}),
                     "handled": ("visit_back", {"satisfaction": "satisfied" if r < 0.9 else "unsatisfied"}),
                     "visited_back": ("close", {}), "registered": ("assign", {})}
            if s == "assigned" and case.return_count == 0 and r < 0.03:
                return "return", "clerk", {"reason": "非本单位职责"}
            action = steps.get(s)
            return (action[0], "clerk", action[1]) if action else None
        if case.kind == "lead":
            steps = {"received": ("register", "inspector", {}),
                     "registered": (pick(self.rng, (("dispose_inquiry", 0.4), ("dispose_verification", 0.3),
                                                    ("dispose_hold", 0.1), ("dispose_close", 0.2))), "supervisor",
                                    {"reason": "经集体研究"}),
                     "inquiry": ("conclude", "supervisor", {"reason": "函询说明属实，予以了结"}),
                     "verification": ("file_case", "supervisor", {"reason": "初核属实，予以立案"})}
            return steps.get(s)
        return None

    def run_task(self, task: Task) -> None:
        case = self.cases[task.case_id]
        step = self.next_step(case)
        if step is None:
            return
        action, role, params = step
        unit = rectification.acting_unit(case, action) if case.kind == "rectification" else case.handling_unit
        actor = self.users.get((unit, role)) or self.users.get((unit, "supervisor"))
        if actor is None:
            return
        try:
            if action == "progress":  # a progress report is not a transition: it has its own service
                rectification.report_progress(self, case, actor, params["percent"], task.at)
                self.stats.progress_reports += 1
                case = self.saw(self.session.get(Case, case.id), progress=max(case.progress, params["percent"]))
            else:
                done = apply_action(session=self.session, case_id=case.id, action=action, params=params,
                                    actor=actor, expected_version=case.version, now=task.at)
                self.stats.actions += 1
                # 退回重改 lowers the progress to 90%: the county reports again before it resubmits.
                case = self.saw(done, progress=min(case.progress, 90) if action == "send_back" else case.progress)
        except DomainError:
            self.stats.refused += 1
            if action == "return":  # the window closed: accept instead next time
                case.return_count = max(case.return_count, 1)
        self.plan(case, task.at, task.step + 1)

    @staticmethod
    def local_date(moment: datetime) -> date:
        return moment.astimezone(SHANGHAI).date()

    # -- the days -------------------------------------------------------------
    def advance(self, until: datetime) -> None:
        """Every planned step due by ``until``, in time order, each at its own moment on the clock."""
        while self.queue and self.queue[0].at <= until:
            task = heapq.heappop(self.queue)
            with clock.frozen(task.at):
                self.run_task(task)

    def run(self, *, on_day_end: Callable[[datetime], None]) -> Stats:
        """Day by day: intakes spread over office hours, staff steps interleaved in time order, then the
        evening's jobs (``on_day_end``) and one commit."""
        for day in range(self.days):
            today = self.start + timedelta(days=day)
            morning = datetime.combine(today, time(8, 30), SHANGHAI).astimezone(timezone.utc)
            evening = morning + timedelta(hours=10)
            count = max(0, int(self.rng.gauss(self.per_day, self.per_day * 0.2)))
            if today.weekday() >= 5:
                count //= 3
            # The day's arrivals in time order: intakes spread over office hours, and at 10:30 perhaps a
            # city's rectification finding (sorted by time only, so equal moments keep this order).
            arrivals = [(morning + timedelta(minutes=int(600 * i / max(count, 1))), self.new_case)
                        for i in range(count)]
            arrivals.append((morning + timedelta(hours=2), lambda at, day=today: rectification.maybe_file_item(
                self, at, day)))
            for moment, arrive in sorted(arrivals, key=lambda a: a[0]):
                self.advance(moment)
                with clock.frozen(moment):
                    arrive(moment)
            self.advance(evening)
            on_day_end(evening)
            self.session.commit()
            self.progress(1)
        return self.stats
