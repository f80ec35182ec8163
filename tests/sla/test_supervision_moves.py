"""Open 督办 follow a case that moves: they press the unit that holds it now.

A petition handled at 吉安市 (360800) misses its acceptance deadline: the sweep opens a 督办 at
江西省 (360000). The city then transfers it to 遂川县 (360827): the province is still above the case,
so its 督办 now presses the county. A lead of 吉安市's discipline unit (D360800), supervised by the
province's (D360000), is taken over by the province: a 督办 cannot press the unit that issued it,
so it closes and opens again one level higher.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from casework import clock
from casework.notifications.models import Notification
from casework.sla.models import Supervision
from casework.units.models import Unit
from tests.cases.drive import Driver
from tests.leads.test_lead_workflow import Leads
from tests.sla.test_escalation import sweep_at  # noqa: F401 (fixture)

CITY, COUNTY, PROVINCE, MINISTRY = "360800", "360827", "360000", "100000"


@pytest.fixture()
def drive(client, make_user):
    return Driver(client, lambda role, unit: make_user(role=role, unit=unit)[1])


def rows(session, case_id: int) -> list[tuple]:
    session.expire_all()
    return [tuple(r) for r in session.execute(
        sa.select(Supervision.unit_code, Supervision.target_unit, Supervision.state, Supervision.outcome,
                  Supervision.parent_id.is_not(None)).where(Supervision.case_id == case_id).order_by(Supervision.id))]


def test_a_transferred_case_keeps_its_supervision_pressing_the_new_unit(drive, session, sweep_at):  # noqa: F811
    case = drive.intake("petition", region=CITY)
    assert case["handling_unit"] == CITY
    sweep_at(clock.now() + timedelta(days=20))
    assert rows(session, case["id"]) == [(PROVINCE, CITY, "open", None, False)]

    case = drive.step(drive.get(case), "transfer", unit=COUNTY)

    assert rows(session, case["id"]) == [(PROVINCE, COUNTY, "open", None, False)]
    told = session.scalars(sa.select(Notification.unit_code).where(
        Notification.case_id == case["id"], Notification.kind == "supervision")).all()
    assert COUNTY in told
    # The county owes the answer and replies; the city no longer can.
    assert drive.post(case, "reply_supervision", relation=CITY, text="已转遂川县").status_code == 403
    case = drive.step(case, "reply_supervision", text="正在办理，本周内受理")
    assert case["awaiting_reply"] is False


def test_an_unanswered_supervision_escalates_along_the_new_units_chain(drive, session, sweep_at):  # noqa: F811
    case = drive.intake("petition", region=CITY)
    sweep_at(clock.now() + timedelta(days=20))
    drive.step(drive.get(case), "transfer", unit=COUNTY)

    sweep_at(clock.now() + timedelta(days=40))

    assert rows(session, case["id"]) == [(PROVINCE, COUNTY, "open", None, False),
                                         (MINISTRY, COUNTY, "open", None, True)]


def test_a_lead_taken_over_by_its_supervisor_is_supervised_from_above_it(client, make_user, session,
                                                                         sweep_at):  # noqa: F811
    leads = Leads(client, make_user)
    lead = leads.intake()
    sweep_at(clock.now() + timedelta(days=40))
    [(supervisor, target, state, _, _)] = rows(session, lead["id"])
    assert (target, state) == ("D360800", "open")
    above = session.scalar(sa.select(Unit.parent_code).where(Unit.code == supervisor))

    lead = leads.step(leads.get(lead).get_json(), "take_over", as_=("supervisor", supervisor), reason="直查直办")

    assert lead["handling_unit"] == supervisor
    assert rows(session, lead["id"]) == [(supervisor, "D360800", "closed", f"moved: take_over to {supervisor}", False),
                                         (above, supervisor, "open", None, True)]
    assert lead["supervised"] is True
    assert session.scalar(sa.select(Notification.id).where(Notification.case_id == lead["id"],
                                                           Notification.unit_code == above,
                                                           Notification.kind == "supervision")) is not None


def test_a_return_ends_a_manual_supervision_without_passing_it_on(drive, session):
    case = drive.intake("petition", region=COUNTY)
    case = drive.step(case, "supervise", "parent", "supervisor", reason="尽快受理")
    case = drive.step(case, "return", reason="不属于本县管辖")

    assert case["handling_unit"] == CITY and case["supervised"] is False
    assert rows(session, case["id"]) == [(CITY, COUNTY, "closed", "handled: return", False)]
    moved = session.scalar(sa.select(Notification.id).where(Notification.case_id == case["id"],
                                                            Notification.dedup_key.like("supervision-moved:%")))
    assert moved is None


def test_a_passed_on_supervision_asks_the_new_unit_for_its_own_answer(drive, session, sweep_at):  # noqa: F811
    case = drive.intake("petition", region=CITY)
    sweep_at(clock.now() + timedelta(days=20))
    case = drive.step(drive.get(case), "reply_supervision", text="拟转遂川县办理")
    assert case["awaiting_reply"] is False

    case = drive.step(case, "transfer", unit=COUNTY)

    county_view = drive.client.get(f"/api/v1/cases/{case['id']}", headers=drive.actor(case, "handler")).get_json()
    assert case["awaiting_reply"] is True and "reply_supervision" in county_view["allowed_actions"]
    [sup] = session.scalars(sa.select(Supervision).where(Supervision.case_id == case["id"])).all()
    assert (sup.target_unit, sup.replied_at, sup.reply_text) == (COUNTY, None, None)
    assert sup.escalate_at > clock.now() + timedelta(days=5)  # 5 working days from the move, at least
    case = drive.step(case, "reply_supervision", text="已受理，正在办理")
    assert case["awaiting_reply"] is False


def test_a_unit_the_case_comes_back_to_is_told_again(drive, session, sweep_at):  # noqa: F811
    case = drive.intake("petition", region=CITY)
    sweep_at(clock.now() + timedelta(days=20))
    case = drive.step(drive.get(case), "transfer", unit=COUNTY)
    case = drive.step(case, "return", reason="不属于本县管辖")
    case = drive.step(case, "assign", "dispatcher", unit=COUNTY)

    assert case["handling_unit"] == COUNTY
    told = session.scalars(sa.select(Notification.unit_code).where(
        Notification.case_id == case["id"], Notification.dedup_key.like("supervision-moved:%"))
        .order_by(Notification.id)).all()
    assert told == [COUNTY, CITY, COUNTY]


def test_a_transfer_ends_the_co_handling_parts_and_the_new_unit_restarts_them(drive, session, sweep_at):  # noqa: F811
    case = drive.intake("petition", region=CITY)
    case = drive.step(case, "accept")
    case = drive.step(case, "add_co_handler", unit=COUNTY, part="核实信访人家庭情况")
    sweep_at(clock.now() + timedelta(days=20))
    assert rows(session, case["id"]) == [(CITY, COUNTY, "open", None, False)]  # the late part's 督办

    case = drive.step(drive.get(case), "transfer", unit="360822")

    # The co-handler cannot submit while the case waits for its new unit: its part's clock stops there,
    # and with it the 督办 about it; the new unit's acceptance starts the part again.
    assert rows(session, case["id"]) == [(CITY, COUNTY, "closed", "handled: transfer", False)]
    case = drive.step(case, "accept")
    parts = [c for c in case["clocks"] if c["name"] == "co_handling"]
    assert [(c["unit"], c["state"]) for c in parts] == [(COUNTY, "breached"), (COUNTY, "running")]
