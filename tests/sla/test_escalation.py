"""Time travel through 预警, 超期 and 逐级督办 with the real sweep.

A petition registered at 遂川县 (360827) on Mon 2026-11-02 10:00 Beijing:
acceptance 15 days → 24:00 of Tue 11-17 (16:00Z), warning 3 days earlier
(24:00 of 11-14). A 督办 opened by a sweep re-escalates after 5 working days:
opened Wed 11-18 → escalate at the end of Wed 11-25; re-opened Thu 11-26 → end of
Thu 12-03; re-opened Fri 12-04 → end of Fri 12-11 (no holidays in between).
"""
from __future__ import annotations

from datetime import datetime, time, timezone

import pytest
import sqlalchemy as sa

from casework.notifications.models import Notification
from casework.sla.models import CaseClock, Supervision
from casework.sla.policies import policies_for_app
from casework.sla.service import run_sweep
from tests.sla.test_clock_integration import BJ, act_at, at, bj, clock_of, due_end_of, register

SLA_KINDS = ("warning", "breach", "supervision", "escalation")


def end_of_workday(y: int, m: int, d: int) -> datetime:
    return datetime.combine(datetime(y, m, d).date(), time(23, 59, 59), BJ).astimezone(timezone.utc)


@pytest.fixture()
def sweep_at(app, session):
    """Run a sweep at ``now`` and commit; every call also checks that an immediate re-run does nothing."""

    def _sweep(now: datetime) -> dict:
        result = run_sweep(session=session, policies=policies_for_app(app), now=now).as_dict()
        session.commit()
        again = run_sweep(session=session, policies=policies_for_app(app), now=now).as_dict()
        session.commit()
        assert again == {k: 0 for k in again}, f"a second sweep at {now} did something: {again}"
        session.expire_all()
        return result

    return _sweep


def sla_notifications(session, case_id: int) -> list[tuple[str, str]]:
    rows = session.execute(sa.select(Notification.kind, Notification.unit_code)
                           .where(Notification.case_id == case_id, Notification.kind.in_(SLA_KINDS))
                           .order_by(Notification.id))
    return [tuple(r) for r in rows]


def supervisions(session, case_id: int) -> list[Supervision]:
    return list(session.scalars(sa.select(Supervision).where(Supervision.case_id == case_id)
                                .order_by(Supervision.id)))


def nothing(**changed) -> dict:
    base = {"windows_closed": 0, "warned": 0, "breached": 0, "supervisions_opened": 0, "escalated": 0,
            "supervisions_closed": 0, "notifications": 0}
    return {**base, **changed}


@pytest.fixture()
def overdue_case(client, make_user):
    _, clerk = make_user(role="clerk", unit="360827")
    case = register(client, clerk, bj(2026, 11, 2))
    acceptance = clock_of(case, "acceptance")
    assert at(acceptance["due_at"]) == due_end_of(2026, 11, 17)
    assert at(acceptance["warn_at"]) == due_end_of(2026, 11, 14)
    return case, clerk


def test_warn_breach_and_escalate_to_the_ministry(client, session, sweep_at, overdue_case):
    case, clerk = overdue_case
    cid = case["id"]
    # Before the warning time nothing happens.
    assert sweep_at(bj(2026, 11, 14, 23)) == nothing()

    assert sweep_at(bj(2026, 11, 15)) == nothing(warned=1, notifications=1)
    clock = session.scalar(sa.select(CaseClock).where(CaseClock.case_id == cid))
    assert clock.warned_at == bj(2026, 11, 15) and clock.state == "running"
    assert sla_notifications(session, cid) == [("warning", "360827")]
    assert sweep_at(bj(2026, 11, 17, 23)) == nothing()  # warned once, not once per sweep

    # 24:00 of 11-17 passed: breached, overdue, supervised from the city.
    assert sweep_at(bj(2026, 11, 18)) == nothing(breached=1, supervisions_opened=1, notifications=2)
    seen = client.get(f"/api/v1/cases/{cid}", headers=clerk).get_json()
    assert clock_of(seen, "acceptance")["state"] == "breached"
    assert at(clock_of(seen, "acceptance")["breached_at"]) == bj(2026, 11, 18)
    assert seen["overdue"] is True and seen["supervised"] is True
    [city] = supervisions(session, cid)
    assert (city.kind, city.unit_code, city.level, city.target_unit, city.state) == \
        ("auto", "360800", "city", "360827", "open")
    assert city.clock_id == clock.id and city.parent_id is None and "acceptance" in city.reason
    assert city.escalate_at == end_of_workday(2026, 11, 25)
    assert sla_notifications(session, cid) == [("warning", "360827"), ("breach", "360827"),
                                               ("supervision", "360800")]
    for flag in ("overdue", "supervised"):
        listed = client.get(f"/api/v1/cases?{flag}=true", headers=clerk).get_json()
        assert [c["id"] for c in listed["items"]] == [cid]
        assert cid not in [c["id"] for c in client.get(f"/api/v1/cases?{flag}=false",
                                                       headers=clerk).get_json()["items"]]

    # Not before five working days have passed.
    assert sweep_at(bj(2026, 11, 25, 23)) == nothing()
    # The province is told it now supervises, and the county that it is urged from higher up.
    assert sweep_at(bj(2026, 11, 26)) == nothing(escalated=1, notifications=2)
    city, province = supervisions(session, cid)
    assert (province.unit_code, province.level, province.parent_id, province.target_unit, province.state) == \
        ("360000", "province", city.id, "360827", "open")
    assert city.escalated_at == bj(2026, 11, 26) and city.state == "open"
    assert province.escalate_at == end_of_workday(2026, 12, 3)

    assert sweep_at(bj(2026, 12, 4)) == nothing(escalated=1, notifications=2)
    _, province, ministry = supervisions(session, cid)
    assert (ministry.unit_code, ministry.level, ministry.parent_id) == ("100000", "ministry", province.id)
    assert ministry.escalate_at == end_of_workday(2026, 12, 11)

    # The ministry is the top: nothing further, however long it stays open.
    assert sweep_at(bj(2026, 12, 12)) == nothing()
    assert sweep_at(bj(2026, 12, 13, 22)) == nothing()
    assert len(supervisions(session, cid)) == 3
    assert sla_notifications(session, cid) == [("warning", "360827"), ("breach", "360827"),
                                               ("supervision", "360800"), ("escalation", "360000"),
                                               ("escalation", "360827"), ("escalation", "100000"),
                                               ("escalation", "360827")]

    # Accepting at last meets the breached clock: every 督办 on it closes, with its outcome.
    accepted = act_at(client, bj(2026, 12, 14), clerk, case, "accept")
    acceptance = clock_of(accepted, "acceptance")
    assert acceptance["state"] == "breached" and at(acceptance["met_at"]) == bj(2026, 12, 14)
    assert accepted["overdue"] is False and accepted["supervised"] is False
    session.expire_all()
    for sup in supervisions(session, cid):
        assert sup.state == "closed" and sup.closed_at == bj(2026, 12, 14) and sup.outcome, sup.unit_code
    for flag in ("overdue", "supervised"):
        assert client.get(f"/api/v1/cases?{flag}=true", headers=clerk).get_json()["total"] == 0
    # The handling clock now runs; sweeping again changes nothing about the old 督办.
    assert sweep_at(bj(2026, 12, 15)) == nothing()
    assert len(supervisions(session, cid)) == 3 and len(sla_notifications(session, cid)) == 7


def test_a_reply_does_not_stop_escalation_while_the_deadline_stays_missed(client, session, sweep_at, overdue_case):
    case, clerk = overdue_case
    cid = case["id"]
    sweep_at(bj(2026, 11, 18))
    fresh = client.get(f"/api/v1/cases/{cid}", headers=clerk).get_json()
    assert "reply_supervision" in fresh["allowed_actions"]  # the sweep's 督办 waits for an answer
    replied = act_at(client, bj(2026, 11, 20), clerk, fresh, "reply_supervision", text="已安排专人办理，本周内受理")
    assert replied["supervised"] is True and "reply_supervision" not in replied["allowed_actions"]
    session.expire_all()
    [city] = supervisions(session, cid)
    assert city.reply_text and city.replied_at == bj(2026, 11, 20) and city.state == "open"

    # Still not accepted when the city's 督办 is due to escalate: the reply explained, it did not cure.
    assert sweep_at(bj(2026, 11, 26)) == nothing(escalated=1, notifications=2)
    city, province = supervisions(session, cid)
    assert (province.unit_code, province.parent_id, province.replied_at) == ("360000", city.id, None)
    again = client.get(f"/api/v1/cases/{cid}", headers=clerk).get_json()
    assert again["awaiting_reply"] is True and "reply_supervision" in again["allowed_actions"]


def test_a_replied_manual_supervision_does_not_escalate(client, session, make_user, sweep_at):
    _, clerk = make_user(role="clerk", unit="360827")
    _, city = make_user(role="supervisor", unit="360800")
    case = register(client, clerk, bj(2026, 11, 2))
    case = act_at(client, bj(2026, 11, 3), clerk, case, "accept")
    case = act_at(client, bj(2026, 11, 4), city, case, "supervise", reason="群众反映强烈，请加快办理")
    case = act_at(client, bj(2026, 11, 5), clerk, case, "reply_supervision", text="已约谈信访人，正在核实")

    assert sweep_at(bj(2026, 12, 20)) == nothing()
    [manual] = supervisions(session, case["id"])
    assert (manual.state, manual.escalated_at) == ("open", None)


def test_an_escalated_manual_supervision_closes_with_the_stage_it_urged(client, session, make_user, sweep_at):
    _, clerk = make_user(role="clerk", unit="360827")
    _, city = make_user(role="supervisor", unit="360800")
    case = register(client, clerk, bj(2026, 11, 2))
    case = act_at(client, bj(2026, 11, 3), clerk, case, "accept")
    case = act_at(client, bj(2026, 11, 3, 11), clerk, case, "start")
    case = act_at(client, bj(2026, 11, 4), city, case, "supervise", reason="群众反映强烈，请加快办理")
    assert sweep_at(bj(2026, 11, 20)) == nothing(escalated=1, notifications=2)
    manual, province = supervisions(session, case["id"])
    assert (province.unit_code, province.parent_id, province.clock_id) == ("360000", manual.id, None)

    case = act_at(client, bj(2026, 11, 23), clerk, client.get(f"/api/v1/cases/{case['id']}", headers=clerk)
                  .get_json(), "respond", outcome="support", text="经核实，诉求合理，予以支持")

    session.expire_all()
    assert [(s.state, s.outcome) for s in supervisions(session, case["id"])] == [
        ("closed", "handled: respond"), ("closed", "handled: respond")]
    assert (case["supervised"], case["awaiting_reply"]) == (False, False)
    assert sweep_at(bj(2026, 12, 20)) == nothing()


def test_clock_met_before_the_sweep_is_never_breached(client, session, sweep_at, overdue_case):
    case, clerk = overdue_case
    # Accepted on the last day, the sweep after the due time finds nothing to breach.
    act_at(client, bj(2026, 11, 17, 17), clerk, case, "accept")
    assert sweep_at(bj(2026, 11, 18)) == nothing()
    assert supervisions(session, case["id"]) == []
    seen = client.get(f"/api/v1/cases/{case['id']}", headers=clerk).get_json()
    assert clock_of(seen, "acceptance")["state"] == "met" and seen["overdue"] is False
