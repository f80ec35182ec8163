"""Every (state, action) pair of both workflows, through the HTTP API.

The pairs come from the workflow tables (a new state or action is covered
without touching this file), but the expected outcome is written out by hand
below: if someone changes a transition in casework/workflow/definitions.py,
this table disagrees and the test says which pair moved.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from casework.cases.calendar_source import current_calendar
from casework.cases.models import Case
from casework.db import utcnow
from casework.sla.deadlines import count_workdays_between
from casework.workflow.definitions import COMPLAINT, PETITION, WORKFLOWS
from tests.cases.conftest import make_id_number
from tests.cases.drive import CO_UNIT, PATHS, Driver

SHANGHAI = ZoneInfo("Asia/Shanghai")

# (action, from state) -> the state the case must be in afterwards. Everything
# not listed must be refused with 422. Hand-written on purpose (see above).
EXPECTED: dict[str, dict[tuple[str, str], str]] = {
    "petition": {
        ("assign", "registered"): "assigned",
        ("accept", "assigned"): "accepted",
        ("decline", "assigned"): "not_accepted",
        ("return", "assigned"): "registered",
        ("transfer", "assigned"): "assigned",
        ("transfer", "accepted"): "assigned",
        ("start", "accepted"): "in_progress",
        ("respond", "in_progress"): "responded",
        ("evaluate", "responded"): "responded",
        ("close", "responded"): "closed",
        ("close", "reviewed"): "closed",
        ("request_review", "responded"): "under_review",
        ("decide_review", "under_review"): "reviewed",
        ("request_re_review", "reviewed"): "under_re_review",
        ("decide_re_review", "under_re_review"): "closed",
        ("merge", "registered"): "merged",
        ("merge", "assigned"): "merged",
        ("merge", "accepted"): "merged",
        ("merge", "in_progress"): "merged",
        ("suspend", "accepted"): "suspended",
        ("suspend", "in_progress"): "suspended",
        ("resume", "suspended"): "in_progress",  # the drive suspends from in_progress
        ("reopen", "closed"): "in_progress",
        ("reopen", "not_accepted"): "assigned",
        ("reopen", "merged"): "assigned",
        ("add_co_handler", "accepted"): "accepted",
        ("add_co_handler", "in_progress"): "in_progress",
        ("co_handler_submit", "accepted"): "accepted",
        ("co_handler_submit", "in_progress"): "in_progress",
        # 移交问题线索: the petition goes on, a linked lead is made
        **{("spin_off_lead", state): state for state in ("assigned", "accepted", "in_progress")},
        # 督办 while a unit still owes an answer; 延期 while the handling clock runs
        **{(action, state): state for action in ("supervise", "reply_supervision")
           for state in ("assigned", "accepted", "in_progress", "suspended", "under_review", "under_re_review")},
        **{(action, state): state for action in ("request_extension", "approve_extension", "deny_extension")
           for state in ("accepted", "in_progress")},
    },
    "complaint": {
        ("assign", "registered"): "assigned",
        ("contact", "assigned"): "contacted",
        ("handle", "contacted"): "handled",
        ("visit_back", "handled"): "visited_back",
        ("close", "visited_back"): "closed",
        ("return", "assigned"): "registered",
        ("transfer", "assigned"): "assigned",
        ("transfer", "contacted"): "assigned",
        ("reopen", "closed"): "assigned",
        **{(action, state): state for action in ("supervise", "reply_supervision")
           for state in ("assigned", "contacted", "handled")},
        **{(action, "contacted"): "contacted" for action in ("request_extension", "approve_extension",
                                                             "deny_extension")},
    },
}

# Who performs each action when it is allowed: (role, relation to the case).
ACTOR = {
    "assign": ("clerk", "dispatcher"),
    "request_review": ("clerk", "parent"),
    "decide_review": ("clerk", "parent"),
    "request_re_review": ("clerk", "grandparent"),
    "decide_re_review": ("clerk", "grandparent"),
    "reopen": ("supervisor", "handler"),
    "co_handler_submit": ("clerk", "co_handler"),
    "supervise": ("supervisor", "parent"),
    "approve_extension": ("supervisor", "parent"),
    "deny_extension": ("supervisor", "parent"),
}
# Under review the answer is owed one level up (复查) or two (复核): the 督办 comes from above that unit
# and the reply from it.
REVIEW_ACTOR = {
    ("supervise", "under_review"): ("supervisor", "grandparent"),
    ("supervise", "under_re_review"): ("supervisor", "ministry"),
    ("reply_supervision", "under_review"): ("clerk", "parent"),
    ("reply_supervision", "under_re_review"): ("clerk", "grandparent"),
}


def actor_for(action: str, state: str) -> tuple[str, str]:
    return REVIEW_ACTOR.get((action, state)) or ACTOR.get(action, ("clerk", "handler"))

# Valid parameters of each action (``merge`` gets ``into`` at run time).
PARAMS = {
    "assign": {"unit": "360827"},
    "decline": {"reason": "信访事项已经受理，仍在办理期限内"},
    "return": {"reason": "不属于本单位职责"},
    "transfer": {"unit": "360827"},
    "respond": {"outcome": "explain", "text": "已向信访人解释政策"},
    "evaluate": {"satisfaction": "satisfied"},
    "visit_back": {"satisfaction": "satisfied"},
    "request_review": {"reason": "不服处理意见"},
    "decide_review": {"decision": "uphold", "text": "维持原处理意见"},
    "request_re_review": {"reason": "不服复查意见"},
    "decide_re_review": {"decision": "revise", "text": "撤销复查意见，重新处理"},
    "suspend": {"reason": "须以相关案件审理结果为依据"},
    "reopen": {"reason": "处理意见认定事实不清"},
    "add_co_handler": {"unit": CO_UNIT, "part": "核实户籍"},
    "co_handler_submit": {"text": "经核实，户籍在本县"},
    "supervise": {"reason": "群众反映强烈，请加快办理"},
    "reply_supervision": {"text": "已加快办理，预计下周答复"},
    "request_extension": {"reason": "情况复杂，需实地核查", "days": 30},
    "deny_extension": {"reason": "理由不充分"},
    "spin_off_lead": {"title": "反映村干部截留低保金", "content": "信访人反映村干部截留其低保金。"},
}


def _backdate(session, case, **columns_days_ago):
    session.execute(sa.update(Case).where(Case.id == case["id"]).values(
        **{col: utcnow() - timedelta(days=days) for col, days in columns_days_ago.items()}))
    session.commit()


def _prepare(drive, session, kind, action, state, case):
    """Facts an allowed action needs beyond its parameters (its guards)."""
    if (kind, action, state) == ("petition", "close", "responded"):
        return drive.step(case, "evaluate", satisfaction="satisfied")  # 办结 when satisfied
    if (kind, action, state) == ("petition", "close", "reviewed"):
        _backdate(session, case, reviewed_at=45)  # 办结 when the re-review window has passed
        return drive.get(case)
    if action == "co_handler_submit":
        return drive.step(case, "add_co_handler", unit=CO_UNIT)
    if action == "reply_supervision":
        role, relation = actor_for("supervise", state)
        return drive.step(case, "supervise", relation, role, **PARAMS["supervise"])
    if action in ("approve_extension", "deny_extension"):
        return drive.step(case, "request_extension", **PARAMS["request_extension"])
    return case


def _pairs(workflow):
    return [pytest.param(workflow.kind, state, action, id=f"{workflow.kind}-{state}-{action}")
            for state in workflow.states for action in workflow.actions]


@pytest.fixture()
def drive(client, make_user):
    return Driver(client, lambda role, unit: make_user(role=role, unit=unit)[1])


def test_expectations_match_the_tables():
    """The hand-written table names only real states and actions, and every state has a drive."""
    for kind, expected in EXPECTED.items():
        wf = WORKFLOWS[kind]
        for action, state in expected:
            assert action in wf.actions and state in wf.states, (kind, action, state)
        assert set(PATHS[kind]) == set(wf.states), kind


@pytest.mark.parametrize("kind,state,action", _pairs(PETITION) + _pairs(COMPLAINT))
def test_state_action_pair(drive, session, kind, state, action):
    wf = WORKFLOWS[kind]
    # transfer needs a handling unit with another unit in its scope: a city, so cases start there.
    region = "360800" if action == "transfer" else "360827"
    earlier = drive.intake(kind, region=region) if action == "merge" else None
    case = drive.bring_to(kind, state, region=region)
    expected = EXPECTED[kind].get((action, state))
    role, relation = actor_for(action, state)
    params = dict(PARAMS.get(action, {}))
    if earlier:
        params["into"] = earlier["id"]
    if expected is not None:
        case = _prepare(drive, session, kind, action, state, case)
    elif relation == "co_handler":
        relation = "handler"  # no co-handling part outside the allowed states; the state is refused first anyway
    before_events = drive.events(case)

    r = drive.post(case, action, relation=relation, role=role, **params)

    if expected is None:
        if wf.transition_for(state, action) is not None:
            pytest.fail(f"the {kind} table allows {action} from {state}: add its expected target to EXPECTED")
        assert r.status_code == 422, r.get_json()
        assert r.mimetype == "application/problem+json"
        body = r.get_json()
        assert body["allowed_actions"] == wf.actions_from(state)
        assert "action" in body["errors"]
        after = drive.get(case)
        assert (after["status"], after["version"]) == (state, case["version"])
        assert len(drive.events(case)) == len(before_events)
        return
    if wf.transition_for(state, action) is None:
        pytest.fail(f"EXPECTED says {action} moves a {kind} from {state}, but the table has no such transition")
    assert r.status_code == 200, r.get_json()
    after = r.get_json()
    assert after["status"] == expected
    assert after["version"] == case["version"] + 1
    assert drive.get(case)["version"] == after["version"]  # committed, not only answered
    new = drive.events(case)[len(before_events):]
    assert (new[0]["action"], new[0]["from_state"], new[0]["to_state"]) == (action, state, expected)


def test_resume_returns_to_the_state_before_suspension(drive):
    """PRIOR: a case suspended right after acceptance resumes as accepted, not in_progress."""
    case = drive.step(drive.bring_to("petition", "accepted"), "suspend", reason="等待司法鉴定")
    resumed = drive.step(case, "resume")
    assert resumed["status"] == "accepted"
    # and the clock of that state goes on: it can be started as usual
    assert drive.step(resumed, "start")["status"] == "in_progress"


# -- guards: what the table allows, the data may still refuse -------------------

def _earliest_day_with_workdays(session, workdays: int) -> datetime:
    """10:00 Shanghai on the earliest day from which exactly ``workdays`` working days have passed until today."""
    cal = current_calendar(session)
    today = utcnow().astimezone(SHANGHAI).date()
    days = [today - timedelta(days=k) for k in range(1, 60)]
    day = [d for d in days if count_workdays_between(d, today, cal) == workdays][-1]
    return datetime.combine(day, time(10), SHANGHAI)


@pytest.mark.parametrize("workdays,status", [(5, 200), (6, 422)])
def test_return_only_within_five_working_days(drive, session, workdays, status):
    case = drive.bring_to("petition", "assigned")
    session.execute(sa.update(Case).where(Case.id == case["id"]).values(
        assigned_at=_earliest_day_with_workdays(session, workdays)))
    session.commit()
    r = drive.post(case, "return", reason="不属于本单位职责")
    assert r.status_code == status, r.get_json()
    after = drive.get(case)
    assert after["status"] == ("registered" if status == 200 else "assigned")
    if status == 422:
        assert "action" in r.get_json()["errors"] and after["version"] == case["version"]


def test_third_return_flags_and_blocks_the_fourth(drive):
    case = drive.bring_to("petition", "assigned")
    for n in (1, 2, 3):
        case = drive.step(case, "return", reason=f"第{n}次退回")
        assert case["return_count"] == n and case["handling_unit"] == "360800"
        case = drive.step(case, "assign", unit="360827")  # the city sends it back down
    flags = [e for e in drive.events(case) if e["action"] == "flag_returns"]
    assert len(flags) == 1 and flags[0]["params"] == {"supervisor_unit": "360800", "returns": 3}
    assert "return" not in drive.client.get(f"/api/v1/cases/{case['id']}",
                                            headers=drive.actor(case, "handler")).get_json()["allowed_actions"]
    before = len(drive.events(case))
    r = drive.post(case, "return", reason="第4次退回")
    assert r.status_code == 422 and "action" in r.get_json()["errors"]
    assert drive.get(case)["version"] == case["version"] and len(drive.events(case)) == before


RESPOND = {"outcome": "support", "text": "予以支持"}


@pytest.mark.parametrize("role,override,status", [
    ("clerk", None, 422),
    ("clerk", "信访人病重，不能再等", 422),  # only a supervisor may override
    ("supervisor", None, 422),
    ("supervisor", "信访人病重，不能再等", 200),
])
def test_respond_waits_for_open_co_handler_parts(drive, role, override, status):
    case = drive.step(drive.bring_to("petition", "in_progress"), "add_co_handler", unit=CO_UNIT)
    params = dict(RESPOND, override_reason=override) if override else RESPOND
    r = drive.post(case, "respond", role=role, **params)
    assert r.status_code == status, r.get_json()
    if status == 422:
        assert "override_reason" in r.get_json()["errors"]
        assert drive.get(case)["status"] == "in_progress"
    else:
        event = drive.events(case)[-1]
        assert event["params"]["override_reason"] == override and event["params"]["open_parts"] == [CO_UNIT]


def test_respond_after_the_co_handler_submitted(drive):
    case = drive.step(drive.bring_to("petition", "in_progress"), "add_co_handler", unit=CO_UNIT)
    case = drive.step(case, "co_handler_submit", "co_handler", text="已核实")
    assert [p["state"] for p in case["participants"] if p["role"] == "co"] == ["submitted"]
    assert drive.step(case, "respond", **RESPOND)["status"] == "responded"


def test_a_final_case_cannot_be_reopened(drive):
    case = drive.step(drive.bring_to("petition", "under_re_review"), "decide_re_review", "grandparent",
                      decision="uphold", text="维持，终结")
    assert case["status"] == "closed" and case["is_final"]
    for relation in ("handler", "parent"):
        seen = drive.client.get(f"/api/v1/cases/{case['id']}", headers=drive.actor(case, relation, "supervisor"))
        assert "reopen" not in seen.get_json()["allowed_actions"]
        r = drive.post(case, "reopen", relation=relation, role="supervisor", reason="重办")
        assert r.status_code == 422 and "action" in r.get_json()["errors"]
    assert drive.get(case)["version"] == case["version"]


# (state, action, relation, timestamp moved back, days, expected): the 30-day windows.
WINDOWS = [
    ("responded", "request_review", "parent", "responded_at", 20, 200),
    ("responded", "request_review", "parent", "responded_at", 45, 422),
    ("reviewed", "request_re_review", "grandparent", "reviewed_at", 20, 200),
    ("reviewed", "request_re_review", "grandparent", "reviewed_at", 45, 422),
    ("responded", "close", "handler", "responded_at", 20, 422),  # not satisfied and may still ask for review
    ("responded", "close", "handler", "responded_at", 45, 200),
    ("reviewed", "close", "handler", "reviewed_at", 20, 422),
]


@pytest.mark.parametrize("state,action,relation,column,days,status", WINDOWS)
def test_thirty_day_windows(drive, session, state, action, relation, column, days, status):
    case = drive.bring_to("petition", state)
    _backdate(session, case, **{column: days})
    r = drive.post(case, action, relation=relation, reason="不服")
    assert r.status_code == status, r.get_json()
    if status == 422:
        assert "action" in r.get_json()["errors"] and drive.get(case)["version"] == case["version"]


def test_close_of_an_unsatisfied_petitioner_waits_for_the_window(drive):
    case = drive.step(drive.bring_to("petition", "responded"), "evaluate", satisfaction="unsatisfied")
    assert drive.post(case, "close").status_code == 422


def test_satisfaction_given_before_a_review_does_not_close_the_reviewed_case(drive):
    """Asking for review withdraws an earlier "satisfied": it must not cut off the 30 days for re-review."""
    case = drive.step(drive.bring_to("petition", "responded"), "evaluate", satisfaction="satisfied")
    case = drive.step(case, "request_review", "parent", reason="重新考虑后不服")
    assert case["satisfaction"] is None
    case = drive.step(case, "decide_review", "parent", decision="uphold", text="维持")
    r = drive.post(case, "close")
    assert r.status_code == 422, r.get_json()
    assert drive.step(case, "request_re_review", "grandparent", reason="不服")["status"] == "under_re_review"


def _other_person():
    return {"name": "王五", "id_number": make_id_number(seq="456"), "phone": "13700000000"}


# How the case to merge into is made wrong; each must be refused naming ``into``.
MERGE_TARGETS = {
    "other_person": lambda drive, case: drive.intake(petitioner=_other_person())["id"],
    "other_category": lambda drive, case: drive.intake(category="tekun")["id"],
    "later_case": lambda drive, case: drive.intake()["id"],
    "closed_case": lambda drive, case: drive.bring_to("petition", "not_accepted")["id"],
    "itself": lambda drive, case: case["id"],
    "invisible": lambda drive, case: drive.intake(region="360825")["id"],  # 永丰县: outside 遂川县's scope
    "missing": lambda drive, case: 987654,
}


@pytest.mark.parametrize("target", MERGE_TARGETS)
def test_merge_refuses_a_wrong_target(drive, target):
    earlier_first = target in ("other_person", "other_category", "closed_case", "invisible")
    into = MERGE_TARGETS[target](drive, None) if earlier_first else None
    case = drive.bring_to("petition", "accepted")
    into = into if earlier_first else MERGE_TARGETS[target](drive, case)
    r = drive.post(case, "merge", into=into)
    assert r.status_code == 422, r.get_json()
    assert "into" in r.get_json()["errors"]
    after = drive.get(case)
    assert (after["status"], after["version"], after["merged_into"]) == ("accepted", case["version"], None)


def test_merge_links_the_surviving_case_and_reopen_unlinks(drive):
    case = drive.bring_to("petition", "merged")
    survivor = drive.get(case["merged_into"]["id"])
    assert survivor["status"] == "assigned" and survivor["number"] == case["merged_into"]["number"]
    assert drive.events(case)[-1]["params"]["into"] == survivor["id"]
    reopened = drive.step(case, "reopen", role="supervisor", reason="并非重复信访")
    assert reopened["status"] == "assigned" and reopened["merged_into"] is None
