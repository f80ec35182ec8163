"""复查 and 复核 are decided above the handling unit, so their deadlines and 督办 belong there.

A petition handled at 遂川县 (360827, under 吉安市 360800, 江西省 360000, the ministry
100000): under review the city owes the answer, under re-review the province. A
missed review deadline is supervised from the province, not by the city of itself;
a missed re-review from the ministry. The reply comes from the unit that owes the
answer, and a manual 督办 from above it.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from casework import clock
from casework.notifications.models import Notification
from casework.sla.models import Supervision
from casework.workflow.definitions import PETITION
from casework.workflow.engine import ANCESTOR, PARENT
from tests.cases.drive import Driver
from tests.leads import OWNER, lead_body
from tests.sla.test_clock_integration import clock_of
from tests.sla.test_escalation import sweep_at  # noqa: F401 (fixture)

COUNTY, CITY, PROVINCE, MINISTRY = "360827", "360800", "360000", "100000"


@pytest.fixture()
def drive(client, make_user):
    return Driver(client, lambda role, unit: make_user(role=role, unit=unit)[1])


def auto_supervisions(session, case_id: int) -> list[tuple[str, str, str]]:
    rows = session.execute(sa.select(Supervision.unit_code, Supervision.target_unit, Supervision.level)
                           .where(Supervision.case_id == case_id, Supervision.kind == "auto")
                           .order_by(Supervision.id))
    return [tuple(r) for r in rows]


@pytest.mark.parametrize("state, clock_name, owner, supervisor, level", [
    ("under_review", "review", CITY, PROVINCE, "province"),
    ("under_re_review", "re_review", PROVINCE, MINISTRY, "ministry"),
])
def test_a_missed_review_is_supervised_above_the_reviewing_unit(drive, session, sweep_at,  # noqa: F811
                                                                 state, clock_name, owner, supervisor, level):
    case = drive.bring_to("petition", state, region=COUNTY)
    review = clock_of(case, clock_name)
    assert review["unit"] == owner  # the review's deadline is the reviewing unit's

    result = sweep_at(clock.now() + timedelta(days=40))

    assert result["breached"] == 1 and result["supervisions_opened"] == 1
    assert auto_supervisions(session, case["id"]) == [(supervisor, owner, level)]
    breach = session.scalar(sa.select(Notification.unit_code).where(Notification.case_id == case["id"],
                                                                    Notification.kind == "breach"))
    assert breach == owner


def test_the_reviewing_unit_replies_and_only_a_unit_above_it_supervises(drive):
    case = drive.bring_to("petition", "under_review", region=COUNTY)
    params = {"reason": "复查逾期未结", "reply_due": (clock.now() + timedelta(days=5)).isoformat()}

    # The city decides the review: it may not supervise itself, and the county no longer owes the answer.
    refused = drive.post(case, "supervise", relation="parent", role="supervisor", **params)
    assert refused.status_code == 403, refused.get_json()
    assert "360800" in refused.get_json()["detail"]
    city_view = drive.client.get(f"/api/v1/cases/{case['id']}",
                                 headers=drive.actor(case, "parent", "supervisor")).get_json()
    assert "supervise" not in city_view["allowed_actions"]

    case = drive.step(case, "supervise", "grandparent", "supervisor", **params)
    assert case["supervised"] is True
    [sup] = [s for s in drive.client.get("/api/v1/supervisions?open=true",
                                         headers=drive.actor(case, "grandparent", "supervisor")).get_json()["items"]
             if s["case_id"] == case["id"]]
    assert (sup["unit"], sup["target_unit"]) == (PROVINCE, CITY)

    county = drive.client.get(f"/api/v1/cases/{case['id']}", headers=drive.actor(case, "handler")).get_json()
    assert "reply_supervision" not in county["allowed_actions"]
    r = drive.post(case, "reply_supervision", relation="handler", text="县里已报送材料")
    assert r.status_code == 403, r.get_json()

    city = drive.client.get(f"/api/v1/cases/{case['id']}", headers=drive.actor(case, "parent")).get_json()
    assert "reply_supervision" in city["allowed_actions"]
    replied = drive.step(case, "reply_supervision", "parent", text="复查意见将于本周作出")
    assert replied["version"] == case["version"] + 1


@pytest.mark.parametrize("state, levels", [
    ("assigned", 0), ("in_progress", 0), ("responded", 0), ("under_review", 1), ("reviewed", 0),
    ("under_re_review", 2),
])
def test_the_answering_unit_is_read_off_the_table(state, levels):
    assert PETITION.answering_levels(state) == levels


def test_a_clock_owner_must_name_a_clock_and_a_level():
    for owners in ({"nonexistent": PARENT}, {"review": ANCESTOR}):
        with pytest.raises(ValueError, match="clock owner"):
            replace(PETITION, clock_owners=owners)


def test_a_manual_supervision_ends_with_the_stage_it_urged(drive, session):
    """The county responds without replying: the city's 督办 closes, and under review nothing waits on a
    reply the county can no longer give, nor may the reviewing city answer what was asked of the county."""
    case = drive.bring_to("petition", "in_progress", region=COUNTY)
    params = {"reason": "请加快办理", "reply_due": (clock.now() + timedelta(days=5)).isoformat()}
    case = drive.step(case, "supervise", "parent", "supervisor", **params)
    assert case["awaiting_reply"] is True
    case = drive.step(case, "respond", outcome="support", text="经核实，符合低保条件，已纳入。")
    assert (case["supervised"], case["awaiting_reply"]) == (False, False)
    [sup] = session.scalars(sa.select(Supervision).where(Supervision.case_id == case["id"])).all()
    session.refresh(sup)
    assert (sup.state, sup.outcome, sup.replied_at) == ("closed", "handled: respond", None)

    case = drive.step(case, "request_review", "parent", reason="对处理意见不服")
    city = drive.client.get(f"/api/v1/cases/{case['id']}", headers=drive.actor(case, "parent")).get_json()
    assert city["awaiting_reply"] is False and "reply_supervision" not in city["allowed_actions"]


def test_a_lead_supervision_waits_on_no_reply(client, session, make_user, sweep_at):  # noqa: F811
    """A missed lead deadline opens a 督办 that records it; leads have no reply action, so none is awaited."""
    _, inspector = make_user(role="inspector", unit=OWNER)
    r = client.post("/api/v1/cases", json=lead_body(), headers=inspector)
    assert r.status_code == 201, r.get_json()
    lead = r.get_json()
    assert [c["name"] for c in lead["clocks"]] == ["reporter_notice"]
    assert sweep_at(clock.now() + timedelta(days=40))["supervisions_opened"] == 1
    seen = client.get(f"/api/v1/cases/{lead['id']}", headers=inspector).get_json()
    assert (seen["supervised"], seen["awaiting_reply"]) == (True, False)
    listed = client.get("/api/v1/cases?awaiting_reply=true", headers=inspector).get_json()["items"]
    assert lead["id"] not in [c["id"] for c in listed]


@pytest.mark.parametrize("region, state, request_action, relation", [
    (MINISTRY, "responded", "request_review", "handler"),  # 复查 would go above the ministry
    (PROVINCE, "reviewed", "request_re_review", "parent"),  # 复核 would go above the ministry
])
def test_a_review_no_unit_in_the_tree_decides_is_refused_and_not_offered(drive, region, state, request_action,
                                                                          relation):
    case = drive.bring_to("petition", state, region=region)
    assert case["handling_unit"] == region
    view = drive.client.get(f"/api/v1/cases/{case['id']}", headers=drive.actor(case, relation)).get_json()
    assert request_action not in view["allowed_actions"]

    refused = drive.post(case, request_action, relation=relation, reason="不服")
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["errors"]["action"] and "no unit there" in refused.get_json()["detail"]
    after = drive.get(case)
    assert (after["status"], after["version"]) == (state, case["version"])
    started = {"request_review": "review", "request_re_review": "re_review"}[request_action]
    assert not [c for c in after["clocks"] if c["name"] == started]


def test_a_province_handled_case_is_reviewed_by_the_ministry(drive):
    case = drive.bring_to("petition", "under_review", region=PROVINCE)
    assert clock_of(case, "review")["unit"] == MINISTRY
    case = drive.step(case, "decide_review", "parent", decision="uphold", text="维持原处理意见")
    assert case["status"] == "reviewed"
