"""The lead (问题线索) workflow through the HTTP API: every (state, action) pair, the take-over, the
forwarding window, the disposals and the clocks they start and stop.

The pairs come from the LEAD table; the expected targets are written out by hand, so a change to
casework/workflow/definitions.py that moves a transition shows up here as a named pair.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from casework import clock
from casework.workflow.definitions import LEAD
from tests.leads import OWNER, lead_body

SHANGHAI = ZoneInfo("Asia/Shanghai")
PARENT = "D360000"
VIEWER = ("supervisor", "D100000")  # the ministry's discipline group sees every lead, wherever it moves
OPEN = ("received", "registered", "inquiry", "verification", "held")

EXPECTED: dict[tuple[str, str], str] = {
    ("register", "received"): "registered",
    ("forward", "received"): "received",
    ("forward", "registered"): "received",  # the receiving unit registers it afresh
    **{("take_over", s): s for s in OPEN},
    **{("notify_reporter", s): s for s in OPEN + ("investigation", "transferred")},
    ("dispose_inquiry", "registered"): "inquiry",
    ("dispose_verification", "registered"): "verification",
    ("dispose_hold", "registered"): "held",
    ("dispose_close", "registered"): "closed",
    ("dispose_investigation", "registered"): "investigation",
    ("record_answer", "inquiry"): "inquiry",
    ("reactivate", "held"): "registered",
    **{("file_case", s): "investigation" for s in ("inquiry", "verification", "held")},
    **{("conclude", s): "closed" for s in ("inquiry", "verification", "held")},
    **{("transfer_out", s): "transferred" for s in ("inquiry", "verification", "held")},
    ("close", "investigation"): "closed",
    ("close", "transferred"): "closed",
}
OUTCOME = {"reason": "经核实，问题线索已查清"}
PARAMS = {"forward": {"unit": PARENT, "reason": "涉及市管干部"}, "take_over": {"reason": "上级纪检监察组直查直办"},
          "file_case": OUTCOME, "conclude": OUTCOME, "transfer_out": {**OUTCOME, "unit": "360827"}}
ACTOR = {"take_over": ("supervisor", PARENT)}  # everything else: a supervisor of the owning unit
MOVES_TO = {"forward": PARENT, "take_over": PARENT}

# How each state is reached from intake, by the owning unit's supervisor.
PATHS: dict[str, list[tuple[str, dict]]] = {
    "received": [],
    "registered": [("register", {})],
    "inquiry": [("register", {}), ("dispose_inquiry", {})],
    "verification": [("register", {}), ("dispose_verification", {})],
    "held": [("register", {}), ("dispose_hold", {})],
    "investigation": [("register", {}), ("dispose_investigation", {})],
    "transferred": [("register", {}), ("dispose_verification", {}), ("transfer_out", PARAMS["transfer_out"])],
    "closed": [("register", {}), ("dispose_close", {})],
}


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


T0 = local(2024, 3, 4, 10)  # a Monday; March 2024 has no holidays


class Leads:
    """Acts on leads over HTTP as users made on demand (one per role and unit)."""

    def __init__(self, client, make_user):
        self.client, self._make, self._headers = client, make_user, {}

    def headers(self, role: str, unit: str) -> dict:
        if (role, unit) not in self._headers:
            self._headers[(role, unit)] = self._make(role=role, unit=unit)[1]
        return self._headers[(role, unit)]

    def intake(self, **overrides) -> dict:
        r = self.client.post("/api/v1/cases", json=lead_body(**overrides), headers=self.headers("inspector", OWNER))
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    def get(self, lead: dict, as_=VIEWER):
        return self.client.get(f"/api/v1/cases/{lead['id']}", headers=self.headers(*as_))

    def events(self, lead: dict) -> list[dict]:
        return self.client.get(f"/api/v1/cases/{lead['id']}/events", headers=self.headers(*VIEWER)).get_json()["items"]

    def post(self, lead: dict, action: str, as_=("supervisor", OWNER), **params):
        params.setdefault("version", lead["version"])
        return self.client.post(f"/api/v1/cases/{lead['id']}/actions/{action}", json=params,
                                headers=self.headers(*as_))

    def step(self, lead: dict, action: str, as_=("supervisor", OWNER), **params) -> dict:
        r = self.post(lead, action, as_, **params)
        assert r.status_code == 200, (action, lead["status"], r.get_json())
        return r.get_json()

    def bring_to(self, state: str, **overrides) -> dict:
        lead = self.intake(**overrides)
        for action, params in PATHS[state]:
            lead = self.step(lead, action, **params)
        assert lead["status"] == state
        return lead


@pytest.fixture()
def leads(client, make_user):
    return Leads(client, make_user)


def clocks(lead: dict) -> dict[str, dict]:
    return {c["name"]: c for c in lead["clocks"]}


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_expectations_name_real_states_and_actions():
    for action, state in EXPECTED:
        assert action in LEAD.actions and state in LEAD.states, (action, state)
    assert set(PATHS) == set(LEAD.states)


@pytest.mark.parametrize("state,action", [pytest.param(s, a, id=f"{s}-{a}") for s in LEAD.states
                                          for a in LEAD.actions])
def test_state_action_pair(leads, state, action):
    lead = leads.bring_to(state)
    expected = EXPECTED.get((action, state))
    before = leads.events(lead)

    r = leads.post(lead, action, ACTOR.get(action, ("supervisor", OWNER)), **PARAMS.get(action, {}))

    if expected is None:
        assert LEAD.transition_for(state, action) is None, f"the table allows {action} from {state}: add it"
        assert r.status_code == 422, r.get_json()
        assert r.get_json()["allowed_actions"] == LEAD.actions_from(state)
        after = leads.get(lead).get_json()
        assert (after["status"], after["version"]) == (state, lead["version"])
        assert len(leads.events(lead)) == len(before)
        return
    assert LEAD.transition_for(state, action) is not None, f"EXPECTED has {action} from {state}; the table does not"
    assert r.status_code == 200, r.get_json()
    after = r.get_json()
    assert (after["status"], after["version"]) == (expected, lead["version"] + 1)
    assert after["handling_unit"] == MOVES_TO.get(action, OWNER)
    new = leads.events(lead)[len(before):]
    assert (new[0]["action"], new[0]["from_state"], new[0]["to_state"]) == (action, state, expected)


# What the owning supervisor may do after each disposal (the next states a disposal opens).
AFTER_DISPOSAL = {
    "dispose_inquiry": ("inquiry", "inquiry", ["conclude", "file_case", "notify_reporter", "record_answer",
                                               "transfer_out"]),
    "dispose_verification": ("verification", "verification", ["conclude", "file_case", "notify_reporter",
                                                              "transfer_out"]),
    "dispose_hold": ("hold", "held", ["conclude", "file_case", "notify_reporter", "reactivate", "transfer_out"]),
    "dispose_close": ("close", "closed", []),
    "dispose_investigation": ("investigation", "investigation", ["close", "notify_reporter"]),
}


@pytest.mark.parametrize("action", sorted(AFTER_DISPOSAL))
def test_each_disposal_opens_its_next_states(leads, action):
    disposal, state, allowed = AFTER_DISPOSAL[action]
    lead = leads.bring_to("registered")
    assert leads.post(lead, action, ("inspector", OWNER)).status_code == 403  # disposal is a supervisor's call
    lead = leads.step(lead, action, reason="集体研究决定")
    assert (lead["status"], lead["lead"]["disposal"]) == (state, disposal)
    assert lead["allowed_actions"] == allowed
    above = leads.get(lead, ("supervisor", PARENT)).get_json()["allowed_actions"]
    assert above == (["take_over"] if state in OPEN else [])
    event = leads.events(lead)[-1]
    assert (event["action"], event["params"], event["reason"]) == (action, {"disposal": disposal}, "集体研究决定")


@pytest.mark.parametrize("action", ["file_case", "conclude", "transfer_out"])
def test_outcomes_need_a_reason(leads, action):
    lead = leads.bring_to("verification")
    r = leads.post(lead, action)
    assert r.status_code == 422 and "reason" in r.get_json()["errors"]
    assert leads.get(lead).get_json()["version"] == lead["version"]


@pytest.mark.parametrize("role,unit,reason,status", [
    ("supervisor", PARENT, "上级直查直办", 200),
    ("supervisor", "D100000", "驻部纪检监察组直查", 200),  # any ancestor
    ("supervisor", PARENT, None, 422),  # a take-over gives its reason
    ("inspector", PARENT, "上级直查直办", 403),  # a supervisor's decision
    ("supervisor", OWNER, "上级直查直办", 403),  # the owner is not above itself
    ("supervisor", "360800", "上级直查直办", 404),  # civil affairs cannot even see a lead
    ("supervisor", "D360827", "上级直查直办", 404),  # below the owner
    ("supervisor", "D360700", "上级直查直办", 404),  # a sibling
])
def test_take_over(leads, role, unit, reason, status):
    lead = leads.bring_to("registered")
    params = {"reason": reason} if reason else {}
    r = leads.post(lead, "take_over", (role, unit), **params)
    assert r.status_code == status, r.get_json()
    if status != 200:
        after = leads.get(lead).get_json()
        assert (after["handling_unit"], after["version"]) == (OWNER, lead["version"])
        if status == 422:
            assert "reason" in r.get_json()["errors"]
        return
    after = r.get_json()
    assert (after["status"], after["handling_unit"]) == ("registered", unit)
    assert [p["unit"] for p in after["participants"] if p["role"] == "lead"] == [unit]
    event = leads.events(lead)[-1]
    assert (event["action"], event["reason"], event["params"]) == (
        "take_over", reason, {"from_unit": OWNER, "unit": unit})
    # The reporter now belongs to the taking unit's inspectors, and the former owner loses the lead.
    assert after["reporter"]["name"] == "赵某"
    assert leads.get(lead, ("inspector", OWNER)).status_code == 404
    # Its running clock is now the new unit's to meet (a breach supervises the new owner, not the old).
    assert [(c["name"], c["unit"]) for c in after["clocks"]] == [("reporter_notice", unit)]


@pytest.mark.parametrize("target,now,status", [
    (PARENT, local(2024, 3, 11, 17), 200),  # the fifth working day after receipt
    ("D360827", local(2024, 3, 11, 17), 200),  # down to the county's group
    ("D360700", local(2024, 3, 5, 9), 422),  # a sibling is neither up nor down
    ("D100000", local(2024, 3, 5, 9), 422),  # two levels up
    ("360000", local(2024, 3, 5, 9), 422),  # not a discipline unit
    (PARENT, local(2024, 3, 12, 9), 422),  # the sixth working day: the window has closed
])
def test_forward_within_five_working_days(leads, target, now, status):
    with clock.frozen(T0):
        lead = leads.step(leads.intake(), "register")
    with clock.frozen(now):
        r = leads.post(lead, "forward", unit=target, reason="管辖调整")
    assert r.status_code == status, r.get_json()
    after = leads.get(lead).get_json()
    if status == 422:
        assert (after["handling_unit"], after["version"]) == (OWNER, lead["version"])
        assert set(r.get_json()["errors"]) <= {"unit", "action"}
        return
    assert (after["status"], after["handling_unit"]) == ("received", target)
    assert [(c["name"], c["unit"]) for c in after["clocks"]] == [("reporter_notice", target)]
    event = leads.events(lead)[-1]
    assert (event["action"], event["params"]) == ("forward", {"from_unit": OWNER, "unit": target})
    # Only the receiving unit's inspectors see the reporter now, even where the former owner still sees the lead.
    assert leads.get(lead, ("inspector", target)).get_json()["reporter"]["name"] == "赵某"
    old = leads.get(lead, ("inspector", OWNER))
    assert old.status_code == (200 if target == "D360827" else 404)
    if old.status_code == 200:
        assert old.get_json()["reporter"] == {"exists": True, "real_name": True}


def test_forward_needs_a_unit(leads):
    lead = leads.intake()
    r = leads.post(lead, "forward")
    assert r.status_code == 422 and "unit" in r.get_json()["errors"]


# -- clocks ------------------------------------------------------------------------------------------------

def test_reporter_notice_clock_only_for_real_name_reports(leads):
    with clock.frozen(T0):
        named, anonymous = leads.intake(), leads.intake(reporter=None)
    notice = clocks(named)["reporter_notice"]
    # 15 working days after Monday 4 March: Monday 25 March, until 24:00.
    assert (notice["state"], at(notice["due_at"])) == ("running", local(2024, 3, 26))
    assert at(notice["started_at"]) == T0
    assert anonymous["anonymous"] is True and anonymous["clocks"] == []
    assert anonymous["reporter"] == {"exists": False, "real_name": False}
    with clock.frozen(local(2024, 3, 6, 15)):
        told = leads.step(named, "notify_reporter", as_=("inspector", OWNER), note="电话告知已受理")
    notice = clocks(told)["reporter_notice"]
    assert (notice["state"], at(notice["met_at"])) == ("met", local(2024, 3, 6, 15))


def test_inquiry_clocks(leads):
    """函询: the answer clock starts at the disposal; recording the answer stops it and starts the report clock."""
    with clock.frozen(T0):
        lead = leads.step(leads.step(leads.intake(reporter=None), "register"), "dispose_inquiry")
    answer = clocks(lead)["inquiry_answer"]
    assert (answer["state"], at(answer["due_at"])) == ("running", local(2024, 3, 26))  # 15 working days
    with clock.frozen(local(2024, 3, 11, 10)):
        lead = leads.step(lead, "record_answer", as_=("inspector", OWNER), note="被反映人书面回复")
    assert {n: c["state"] for n, c in clocks(lead).items()} == {"inquiry_answer": "met", "inquiry_report": "running"}
    assert at(clocks(lead)["inquiry_answer"]["met_at"]) == local(2024, 3, 11, 10)
    assert at(clocks(lead)["inquiry_report"]["due_at"]) == local(2024, 4, 11)  # 30 calendar days: 10 April
    with clock.frozen(local(2024, 3, 12, 10)):
        lead = leads.step(lead, "file_case", reason="函询说明不实，予以立案")
    assert lead["status"] == "investigation"
    assert {n: c["state"] for n, c in clocks(lead).items()} == {"inquiry_answer": "met", "inquiry_report": "met"}


def test_verification_clock(leads):
    with clock.frozen(T0):
        lead = leads.step(leads.step(leads.intake(reporter=None), "register"), "dispose_verification")
    check = clocks(lead)["verification"]
    # 30 calendar days: Wednesday 3 April, the day before 清明 (4-6 April 2024).
    assert (check["state"], at(check["due_at"])) == ("running", local(2024, 4, 4))
    with clock.frozen(local(2024, 3, 20, 10)):
        lead = leads.step(lead, "conclude", reason="反映问题不属实")
    assert lead["status"] == "closed" and clocks(lead)["verification"]["state"] == "met"


def test_held_lead_is_reactivated(leads):
    lead = leads.step(leads.bring_to("held"), "reactivate", reason="发现新的问题线索")
    assert lead["status"] == "registered" and [c["name"] for c in lead["clocks"]] == ["reporter_notice"]
    assert leads.step(lead, "dispose_inquiry")["status"] == "inquiry"
