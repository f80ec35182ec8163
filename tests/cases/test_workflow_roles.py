"""Who may perform each action, and the version protocol of every write.

The transition table says which role and which unit relation may act; the
answer distinguishes "you cannot see this case" (404, its existence is not
revealed) from "you see it but may not do this" (403).
"""
from __future__ import annotations

import pytest

from tests.cases.drive import CO_UNIT, Driver


@pytest.fixture()
def drive(client, make_user):
    return Driver(client, lambda role, unit: make_user(role=role, unit=unit)[1])


# Facts some rows need before the action (beyond the state the drive reaches).
def _with_co_handler(drive, case):
    return drive.step(case, "add_co_handler", unit=CO_UNIT)


def _satisfied(drive, case):
    return drive.step(case, "evaluate", satisfaction="satisfied")


def _supervised(drive, case):
    return drive.step(case, "supervise", "parent", "supervisor", reason="请加快办理")


def _extension_requested(drive, case):
    return drive.step(case, "request_extension", reason="需实地核查", days=20)


PARAMS = {
    "reopen": {"reason": "处理意见认定事实不清"},
    "decide_review": {"decision": "uphold", "text": "维持"},
    "decide_re_review": {"decision": "uphold", "text": "维持"},
    "request_review": {"reason": "不服"},
    "request_re_review": {"reason": "不服"},
    "co_handler_submit": {"text": "已核实"},
    "add_co_handler": {"unit": "360821"},
    "suspend": {"reason": "等待鉴定"},
    "assign": {"unit": "360827"},
    "decline": {"reason": "不属于信访事项"},
    "visit_back": {"satisfaction": "satisfied"},
    "supervise": {"reason": "群众反映强烈"},
    "reply_supervision": {"text": "正在办理"},
    "deny_extension": {"reason": "理由不充分"},
}

# (kind, state, action, role, relation to the case, expected status, preparation)
# A petition is handled by 遂川县 360827 (parent 吉安市 360800, grandparent 江西 360000),
# except in "registered", where the return has put it at 360800 for re-assignment.
ROWS = [
    # accept: staff of the handling unit only
    ("petition", "assigned", "accept", "clerk", "handler", 200, None),
    ("petition", "assigned", "accept", "supervisor", "handler", 200, None),
    ("petition", "assigned", "accept", "inspector", "handler", 403, None),
    ("petition", "assigned", "accept", "admin", "ministry", 403, None),
    ("petition", "assigned", "accept", "clerk", "parent", 403, None),  # the city sees it but does not handle it
    ("petition", "assigned", "accept", "supervisor", "parent", 403, None),
    ("petition", "assigned", "accept", "clerk", "sibling", 404, None),  # 永丰县 cannot see a 遂川县 case
    ("petition", "assigned", "decline", "inspector", "handler", 403, None),
    ("petition", "accepted", "suspend", "clerk", "parent", 403, None),
    ("petition", "accepted", "add_co_handler", "clerk", "parent", 403, None),
    ("petition", "assigned", "merge", "clerk", "parent", 403, None),
    # assign: whoever holds the case for routing
    ("petition", "registered", "assign", "clerk", "handler", 200, None),
    ("petition", "registered", "assign", "clerk", "360827", 404, None),  # it returned the case; no longer its own
    ("petition", "registered", "assign", "clerk", "parent", 403, None),
    # review and re-review: one and two levels up
    ("petition", "responded", "request_review", "clerk", "handler", 200, None),
    ("petition", "responded", "request_review", "clerk", "parent", 200, None),
    ("petition", "responded", "request_review", "clerk", "grandparent", 403, None),
    ("petition", "under_review", "decide_review", "clerk", "handler", 403, None),  # not its own review
    ("petition", "under_review", "decide_review", "clerk", "parent", 200, None),
    ("petition", "under_review", "decide_review", "supervisor", "parent", 200, None),
    ("petition", "under_review", "decide_review", "inspector", "parent", 403, None),
    ("petition", "under_review", "decide_review", "clerk", "grandparent", 403, None),
    ("petition", "reviewed", "request_re_review", "clerk", "handler", 403, None),
    ("petition", "reviewed", "request_re_review", "clerk", "parent", 200, None),
    ("petition", "reviewed", "request_re_review", "clerk", "grandparent", 200, None),
    ("petition", "under_re_review", "decide_re_review", "clerk", "parent", 403, None),
    ("petition", "under_re_review", "decide_re_review", "clerk", "grandparent", 200, None),
    ("petition", "under_re_review", "decide_re_review", "supervisor", "ministry", 403, None),  # above grandparent
    # close: the handling unit or the one above it
    ("petition", "responded", "close", "clerk", "parent", 200, _satisfied),
    ("petition", "responded", "close", "clerk", "grandparent", 403, _satisfied),
    # reopen (重办): supervisors of the handling unit or any unit above
    ("petition", "closed", "reopen", "clerk", "handler", 403, None),
    ("petition", "closed", "reopen", "supervisor", "handler", 200, None),
    ("petition", "closed", "reopen", "supervisor", "parent", 200, None),
    ("petition", "closed", "reopen", "supervisor", "ministry", 200, None),
    ("petition", "closed", "reopen", "supervisor", "sibling", 404, None),
    ("petition", "not_accepted", "reopen", "clerk", "parent", 403, None),
    ("petition", "merged", "reopen", "admin", "ministry", 403, None),
    # co-handling: only the co-handler submits its part
    ("petition", "in_progress", "co_handler_submit", "clerk", "co_handler", 200, _with_co_handler),
    ("petition", "in_progress", "co_handler_submit", "clerk", "handler", 403, _with_co_handler),
    ("petition", "in_progress", "co_handler_submit", "inspector", "co_handler", 403, _with_co_handler),
    ("petition", "in_progress", "co_handler_submit", "clerk", "co_handler", 404, None),  # 永丰县 not involved
    # 督办 by a supervisor of any unit above; the reply and 延期 requests from the handling unit;
    # the extension decided by a supervisor one level up
    ("petition", "in_progress", "supervise", "supervisor", "parent", 200, None),
    ("petition", "in_progress", "supervise", "supervisor", "ministry", 200, None),
    ("petition", "in_progress", "supervise", "clerk", "parent", 403, None),
    ("petition", "in_progress", "supervise", "supervisor", "handler", 403, None),  # not over itself
    ("petition", "in_progress", "reply_supervision", "clerk", "handler", 200, _supervised),
    ("petition", "in_progress", "reply_supervision", "clerk", "parent", 403, _supervised),
    ("petition", "in_progress", "approve_extension", "supervisor", "parent", 200, _extension_requested),
    ("petition", "in_progress", "approve_extension", "clerk", "parent", 403, _extension_requested),
    ("petition", "in_progress", "approve_extension", "supervisor", "handler", 403, _extension_requested),
    ("petition", "in_progress", "deny_extension", "supervisor", "grandparent", 403, _extension_requested),
    # complaints
    ("complaint", "assigned", "contact", "clerk", "handler", 200, None),
    ("complaint", "assigned", "contact", "clerk", "parent", 403, None),
    ("complaint", "assigned", "contact", "inspector", "handler", 403, None),
    ("complaint", "assigned", "contact", "clerk", "sibling", 404, None),
    ("complaint", "visited_back", "close", "clerk", "parent", 403, None),
    ("complaint", "closed", "reopen", "clerk", "handler", 403, None),
    ("complaint", "closed", "reopen", "supervisor", "handler", 200, None),
    ("complaint", "closed", "reopen", "supervisor", "parent", 200, None),
]


def _id(row):
    kind, state, action, role, relation, status, _ = row
    return f"{kind}-{state}-{action}-{role}@{relation}-{status}"


@pytest.mark.parametrize("kind,state,action,role,relation,status,prepare", ROWS, ids=[_id(r) for r in ROWS])
def test_who_may_act(drive, kind, state, action, role, relation, status, prepare):
    case = drive.bring_to(kind, state)
    if prepare:
        case = prepare(drive, case)
    if relation == "co_handler" and prepare is None:
        relation = CO_UNIT  # a unit that would be the co-handler, but was never added
    before = len(drive.events(case))

    r = drive.post(case, action, relation=relation, role=role, **PARAMS.get(action, {}))

    assert r.status_code == status, r.get_json()
    after = drive.get(case)
    if status == 200:
        assert r.get_json()["version"] == after["version"] == case["version"] + 1
    else:
        assert r.mimetype == "application/problem+json"
        assert (after["version"], after["status"]) == (case["version"], case["status"])
        assert len(drive.events(case)) == before
        # 404 says nothing about the case, in particular not what could be done with it
        if status == 404:
            assert "allowed_actions" not in r.get_json()


def test_allowed_actions_follow_the_viewer(drive):
    """The case answer lists what this viewer may do now: the handler, its parent, a supervisor differ."""
    case = drive.bring_to("petition", "under_review")
    as_handler = drive.client.get(f"/api/v1/cases/{case['id']}", headers=drive.actor(case, "handler")).get_json()
    as_parent = drive.client.get(f"/api/v1/cases/{case['id']}", headers=drive.actor(case, "parent")).get_json()
    assert "decide_review" not in as_handler["allowed_actions"]
    assert "decide_review" in as_parent["allowed_actions"]


# -- the version protocol ------------------------------------------------------

def _action_url(case, action="accept"):
    return f"/api/v1/cases/{case['id']}/actions/{action}"


def test_stale_version_is_409_with_the_current_version(drive):
    case = drive.bring_to("petition", "assigned")
    r = drive.post(case, "accept", version=case["version"] - 1)
    assert r.status_code == 409 and r.mimetype == "application/problem+json"
    body = r.get_json()
    assert body["current_version"] == case["version"] and "version" in body["errors"]
    assert drive.get(case)["status"] == "assigned"
    # a future version is as wrong as a past one
    assert drive.post(case, "accept", version=case["version"] + 1).status_code == 409


def test_missing_version_is_422_naming_version(drive):
    case = drive.bring_to("petition", "assigned")
    r = drive.client.post(_action_url(case), json={}, headers=drive.actor(case, "handler"))
    assert r.status_code == 422 and "version" in r.get_json()["errors"]
    assert drive.get(case)["version"] == case["version"]


@pytest.mark.parametrize("version", ["3", True, 1.5, None])
def test_version_must_be_an_integer(drive, version):
    case = drive.bring_to("petition", "assigned")
    r = drive.client.post(_action_url(case), json={"version": version}, headers=drive.actor(case, "handler"))
    assert r.status_code == 422 and "version" in r.get_json()["errors"]


@pytest.mark.parametrize("template", ["{v}", '"{v}"', 'W/"{v}"'])
def test_if_match_carries_the_version(drive, template):
    case = drive.bring_to("petition", "assigned")
    headers = dict(drive.actor(case, "handler"), **{"If-Match": template.format(v=case["version"])})
    r = drive.client.post(_action_url(case), json={}, headers=headers)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "accepted" and r.get_json()["version"] == case["version"] + 1


def test_if_match_stale_or_garbled(drive):
    case = drive.bring_to("petition", "accepted")
    handler = drive.actor(case, "handler")
    stale = drive.client.post(_action_url(case, "start"), json={}, headers=dict(handler, **{"If-Match": '"1"'}))
    assert case["version"] == 2 and stale.status_code == 409
    assert stale.get_json()["current_version"] == case["version"]
    garbled = drive.client.post(_action_url(case, "start"), json={}, headers=dict(handler, **{"If-Match": "*"}))
    assert garbled.status_code == 422 and "If-Match" in garbled.get_json()["errors"]
    assert drive.get(case)["version"] == case["version"]


@pytest.mark.parametrize("kind,action", [("petition", "explode"), ("petition", "contact"),
                                         ("complaint", "accept"), ("complaint", "decide_review")])
def test_unknown_action_is_422(drive, kind, action):
    """An action the case's workflow does not have (including the other kind's actions)."""
    case = drive.bring_to(kind, "assigned")
    r = drive.post(case, action)
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    body = r.get_json()
    assert "action" in body["errors"]
    # what this viewer could do instead
    assert "return" in body["allowed_actions"] and action not in body["allowed_actions"]
    assert drive.get(case)["version"] == case["version"]


def test_unknown_action_on_an_invisible_case_is_404(drive):
    """Existence is not revealed, even by the answer to a nonsense action."""
    case = drive.bring_to("petition", "assigned")
    assert drive.post(case, "explode", relation="sibling").status_code == 404


@pytest.mark.parametrize("field,value", [("reason", "   "), ("reason", "\n\t"), ("note", " "), ("reason", "")])
def test_blank_free_text_is_422_naming_the_field(drive, field, value):
    case = drive.bring_to("petition", "assigned")
    r = drive.post(case, "not_accept", **{field: value})
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert field in r.get_json()["errors"]
    assert drive.get(case)["version"] == case["version"]
