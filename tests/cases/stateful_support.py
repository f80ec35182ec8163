"""Pieces of the stateful workflow test that are data or pure functions: the cast, parameter
strategies, and an oracle of how a unit stands to a case written from the unit tree (not from
``casework.cases.access``), so the machine can check the service against an independent reading."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from hypothesis import strategies as st

from casework.units.models import Unit
from casework.workflow.engine import ANCESTOR, CO_HANDLER, DISPATCHER, GRANDPARENT, HANDLER, PARENT, Workflow
from tests.cases.conftest import complaint_body, make_id_number, petition_body

# (name, role, unit): the handling county, its city (a supervisor too: 督办, 延期 approval,
# reopening from above) and province, a sibling county that co-handles, and an inspector who
# may look but never act.
CAST = (
    ("county_clerk", "clerk", "360827"),
    ("county_supervisor", "supervisor", "360827"),
    ("city_clerk", "clerk", "360800"),
    ("city_supervisor", "supervisor", "360800"),
    ("province_clerk", "clerk", "360000"),
    ("sibling_clerk", "clerk", "360825"),
    ("inspector", "inspector", "360827"),
)
# Reads every case (returns can push a case up to the ministry, out of everyone else's sight).
OBSERVER = ("observer", "supervisor", "100000")

# Two people and two categories, so some petitions are duplicates (merge) and some are not.
PEOPLE = (make_id_number(seq="123"), make_id_number(birth="19750505", seq="456"))
CATEGORIES = ("dibao", "tekun")
UNITS = ("360827", "360825", "360800", "360000", "999999", "D360827", "430502")

# Where the sent version stands to the case's: mostly right, sometimes stale/ahead/absent.
VERSION_MODES = ("body",) * 6 + ("if_match", "stale", "ahead", "missing")


@dataclass
class Tracked:
    """What the machine knows of one case it created."""

    id: int
    kind: str
    person: str | None
    category: str
    version: int
    before_suspend: str | None = None
    order: int = 0  # creation order: merge needs the surviving case to be the earlier one
    history: list[str] = field(default_factory=list)


def intake_body(kind: str, person: int, category: str, cross_region: bool) -> dict:
    extra = {"regions": ["360825"]} if cross_region else {}
    if kind == "complaint":
        return complaint_body(category=category, **extra)
    body = petition_body(category=category, **extra)
    body["petitioner"] = dict(body["petitioner"], id_number=PEOPLE[person])
    return body


def chain_of(session, code: str) -> list[str]:
    """Root … ``code`` by walking parent links (independent of the stored unit_path)."""
    chain = []
    while code is not None:
        chain.append(code)
        code = session.scalar(sa.select(Unit.parent_code).where(Unit.code == code))
    return chain[::-1]


def expected_relations(*, actor_unit: str, status: str, chain: list[str], open_co_units: set[str]) -> frozenset[str]:
    """The relations the contract gives the actor's unit (DESIGN §3 and the engine's vocabulary)."""
    rel = set()
    if actor_unit == chain[-1]:
        rel.add(DISPATCHER if status == "registered" else HANDLER)
    if actor_unit in chain[:-1]:
        rel.add(ANCESTOR)
        distance = len(chain) - 1 - chain.index(actor_unit)
        rel |= {1: {PARENT}, 2: {GRANDPARENT}}.get(distance, set())
    if actor_unit in open_co_units:
        rel.add(CO_HANDLER)
    return frozenset(rel)


def clock_problems(workflow: Workflow, status: str, clocks: list[dict]) -> list[str]:
    """What in a case's clock list contradicts its workflow table (nothing, for an empty list)."""
    problems = []
    paused_by = {}  # state -> clocks the transitions into it pause (中止 pauses handling)
    for tr in workflow.transitions:
        if tr.pauses:
            paused_by.setdefault(tr.target, set()).update(tr.pauses)
    # One live clock of a name per case; of a part clock (协办), one per co-handler.
    live = [(c.get("name"), c.get("unit") if c.get("name") in workflow.part_clocks else None)
            for c in clocks if c.get("state") in ("running", "paused")]
    if len(live) != len(set(live)):
        problems.append(f"two live clocks of one name: {live}")
    for c in clocks:
        name, state = c.get("name"), c.get("state")
        if name not in workflow.clocks:
            problems.append(f"{name} is not a clock of a {workflow.kind}")
        if state == "running" and status in workflow.terminal:
            problems.append(f"{name} runs on a {status} case")
        if state == "running" and name in paused_by.get(status, ()):
            problems.append(f"{name} runs while {status}")
        if state == "paused" and status not in paused_by:
            problems.append(f"{name} is paused while {status}")
    return problems


def permitted_actions(workflow: Workflow, status: str, role: str, relations: frozenset[str]) -> set[str]:
    return {tr.action for tr in workflow.transitions if status in tr.sources and tr.permits(role, relations)}


# 复查 is decided one level above the handling unit and 复核 two: that unit owes the answer meanwhile.
ANSWER_LEVELS = {"under_review": 1, "under_re_review": 2}


def refused_by_unit(action: str, *, actor_unit: str, status: str, chain: list[str]) -> bool:
    """督办 must come from above the unit owing the answer, and its reply from that unit (chain: root … handler)."""
    owing = chain[max(0, len(chain) - 1 - ANSWER_LEVELS.get(status, 0))]
    if action == "supervise":
        return actor_unit not in chain[:chain.index(owing)]
    if action == "reply_supervision":
        return actor_unit != owing
    return False


# The actions that move a case along its main path; guided moves favour them so walks get deep.
PROGRESS = frozenset({"assign", "accept", "start", "respond", "evaluate", "close", "request_review", "decide_review",
                      "request_re_review", "decide_re_review", "contact", "handle", "visit_back", "resume", "reopen"})
CIVIL = ("360827", "360825", "360800", "360000")


def weighted_moves(moves: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Progress moves first (hypothesis shrinks towards the front) and three times as likely."""
    progress = [m for m in moves if m[1] in PROGRESS]
    return progress * 3 + [m for m in moves if m[1] not in PROGRESS] or moves


def valid_params(draw, action: str, *, role: str, actor_unit: str, state: dict, chains: dict[str, list[str]],
                 merge_targets: list[int], supervisions: list[int]) -> dict:
    """Parameters a careful caller would send for ``action`` (guards may still refuse)."""
    text = "书面意见"
    if action in ("decline", "return", "suspend", "reopen", "supervise"):
        return {"reason": "依据条例"}
    if action == "assign":
        return draw(st.sampled_from([{}, {"unit": state["handling_unit"]}]))
    if action == "transfer":
        # Within the actor's subtree when there is such a unit (a county has none below it).
        others = [u for u in CIVIL if u != state["handling_unit"]]
        mine = [u for u in others if actor_unit in chains[u]]
        return {"unit": draw(st.sampled_from(mine or others))}
    if action == "respond":
        params = {"outcome": draw(st.sampled_from(("support", "explain", "not_support"))), "text": text}
        if role == "supervisor":
            params["override_reason"] = "协办逾期"
        return params
    if action in ("evaluate", "visit_back"):
        return {"satisfaction": draw(st.sampled_from(("satisfied", "unsatisfied")))}
    if action in ("decide_review", "decide_re_review"):
        return {"decision": draw(st.sampled_from(("uphold", "revise"))), "text": text}
    if action == "merge":
        return {"into": draw(st.sampled_from(merge_targets))} if merge_targets else {}
    if action == "add_co_handler":
        taken = {unit for unit, _, _ in state["participants"]}
        return {"unit": draw(st.sampled_from([u for u in CIVIL if u not in taken] or list(CIVIL))), "part": "协办部分"}
    if action == "request_extension":
        return {"reason": "情况复杂", "days": draw(st.sampled_from((10, 30)))}
    if action == "spin_off_lead":
        return {"title": "反映村干部优亲厚友", "content": "低保评定中村干部为亲属违规办理。"}
    if action == "reply_supervision":
        return {"text": text, **draw(st.sampled_from([{}] + [{"supervision": i} for i in supervisions]))}
    if action == "co_handler_submit":
        return {"text": text}
    return draw(st.sampled_from([{}, {"note": "已办"}]))


# Values at or beyond the edge of what each field may hold, to put in place of a careful one.
ODD = {"into": [0, -1, 2**31, 2**63, 2**64], "supervision": [0, -1, 2**31, 2**63, 2**64], "days": [0, 31, 367],
       "unit": ["999999", "D360827", "430502", "36082"], "reason": ["", " "], "text": ["", " "],
       "satisfaction": ["SATISFIED"], "outcome": ["Support"], "decision": ["reject"], "title": [""], "content": [""]}


def odd_params(draw, params: dict, case_ids: list[int]) -> dict:
    """``params`` with one of its own values pushed to an edge, or with one stray field added."""
    odd = dict(params)
    if odd and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(odd)))
        odd[key] = draw(st.sampled_from(ODD.get(key, [""])))
    else:
        odd.update(random_params(draw, case_ids, min_size=1, max_size=1))
    return odd


def random_params(draw, case_ids: list[int], min_size: int = 0, max_size: int = 4) -> dict:
    """Any mix of fields, some of them wrong in type or value, some unknown to the schema."""
    pool = {
        "reason": ["理由", "", 7], "note": ["备注"], "unit": list(UNITS), "text": ["意见", ""],
        "outcome": ["support", "explain", "not_support", "maybe"], "satisfaction": ["satisfied", "meh"],
        "decision": ["uphold", "revise", "ignore"], "into": [*case_ids, 10**9, 2**64, "1"],
        "override_reason": ["紧急"], "part": ["协办部分"], "days": [5, 0, 400, "x"], "supervision": [1, 2**64],
        "reply_due": ["2000-01-01T00:00:00+08:00", "2999-01-01T00:00:00+08:00", "2030-01-01T00:00:00"],
        "title": ["线索", ""], "content": ["内容"], "bogus": [1],
    }
    keys = draw(st.lists(st.sampled_from(sorted(pool)), min_size=min_size, max_size=max_size, unique=True))
    return {k: draw(st.sampled_from(pool[k])) for k in keys}
