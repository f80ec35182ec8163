"""The overdue, supervised and awaiting-reply lists of a unit: found through breached clocks and open 督办, they follow the case.

The flags on cases have no index (the sweep flips thousands at once, and an indexed flag would make each of
those updates rewrite every index of cases); the lists read partial indexes on the clocks and the 督办, whose
case_path must move with the case. These tests pin the lists to the flags the cases show.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from casework.cases.models import Case
from casework.sla.models import CaseClock, Supervision
from tests.sla.test_clock_integration import act_at, bj, register
from tests.sla.test_escalation import sweep_at  # noqa: F401  (fixture)

A, B, CITY, PROVINCE, OTHER_PROVINCE = "360827", "360825", "360800", "360000", "430000"
UNITS = (A, B, CITY, PROVINCE, OTHER_PROVINCE, "100000")


def listed(client, headers, unit: str, flag: str) -> list[int]:
    r = client.get("/api/v1/cases", query_string={"unit": unit, flag: "true", "page_size": 100}, headers=headers)
    assert r.status_code == 200, r.get_json()
    return sorted(c["id"] for c in r.get_json()["items"])


def flagged(session, unit_path: str, flag: str) -> list[int]:
    """The same list read off the flags the cases show."""
    return sorted(session.scalars(sa.select(Case.id).where(getattr(Case, flag).is_(True),
                                                           Case.unit_path.startswith(unit_path))))


def assert_lists_match_flags(client, session, headers) -> None:
    session.expire_all()
    for code in UNITS:
        path = session.execute(sa.text("SELECT path FROM units WHERE code = :c"), {"c": code}).scalar_one()
        for flag in ("overdue", "supervised", "awaiting_reply"):
            assert listed(client, headers, code, flag) == flagged(session, path, flag), (code, flag)


@pytest.fixture()
def ministry(make_user):
    return make_user(role="supervisor", unit="100000")[1]


def test_an_overdue_case_moves_between_the_lists_when_reassigned(client, session, make_user, sweep_at, ministry):
    _, clerk = make_user(role="clerk", unit=A)
    _, city_clerk = make_user(role="clerk", unit=CITY)
    late = register(client, clerk, bj(2026, 11, 2))
    on_time = register(client, clerk, bj(2026, 11, 16))
    # 遂川县 returns it to the city the next day; nobody accepts it before its acceptance clock runs out.
    late = act_at(client, bj(2026, 11, 3), clerk, late, "return", reason="不属于本单位职责")
    assert late["handling_unit"] == CITY
    sweep_at(bj(2026, 11, 18))  # 24:00 of 11-17 passed
    for flag in ("overdue", "supervised"):
        assert listed(client, ministry, CITY, flag) == [late["id"]]
        assert listed(client, ministry, PROVINCE, flag) == [late["id"]]
        assert listed(client, ministry, A, flag) == listed(client, ministry, B, flag) == []
        assert listed(client, ministry, OTHER_PROVINCE, flag) == []
    assert_lists_match_flags(client, session, ministry)

    fresh = client.get(f"/api/v1/cases/{late['id']}", headers=city_clerk).get_json()
    moved = act_at(client, bj(2026, 11, 19), city_clerk, fresh, "assign", unit=B)
    assert moved["handling_unit"] == B and moved["overdue"] is True and moved["supervised"] is True
    for flag in ("overdue", "supervised"):
        assert listed(client, ministry, B, flag) == [late["id"]]
        assert listed(client, ministry, CITY, flag) == [late["id"]]
        assert listed(client, ministry, A, flag) == []
    session.expire_all()
    # The breached clock stays the unit's that missed it; what follows the case is where it is now.
    clock = session.scalar(sa.select(CaseClock).where(CaseClock.case_id == late["id"],
                                                      CaseClock.state == "breached"))
    assert clock.unit_code == CITY and clock.case_path.endswith(f"/{B}/")
    assert {s.case_path for s in session.scalars(sa.select(Supervision)
                                                 .where(Supervision.case_id == late["id"]))} == {clock.case_path}
    assert on_time["id"] not in listed(client, ministry, A, "overdue")
    assert_lists_match_flags(client, session, ministry)


def test_a_manual_supervision_lists_the_case_until_it_is_handled(client, session, make_user, ministry):
    _, clerk = make_user(role="clerk", unit=A)
    _, province = make_user(role="supervisor", unit=PROVINCE)
    case = register(client, clerk, bj(2026, 11, 16))
    supervised = act_at(client, bj(2026, 11, 17), province, case, "supervise", reason="群众反映强烈，请加快办理")
    assert supervised["supervised"] is True and supervised["overdue"] is False
    assert listed(client, ministry, A, "supervised") == [case["id"]]
    assert listed(client, ministry, A, "awaiting_reply") == [case["id"]]  # 待回复督办
    assert listed(client, ministry, A, "overdue") == []
    assert_lists_match_flags(client, session, ministry)

    replied = act_at(client, bj(2026, 11, 17, 15), clerk, supervised, "reply_supervision", text="已核实，正在受理审查")
    assert replied["supervised"] is True and replied["awaiting_reply"] is False
    assert listed(client, ministry, A, "supervised") == [case["id"]]
    assert listed(client, ministry, A, "awaiting_reply") == []
    mine = client.get("/api/v1/cases", query_string={"awaiting_reply": "false"}, headers=clerk).get_json()["items"]
    assert case["id"] in [c["id"] for c in mine]
    assert_lists_match_flags(client, session, ministry)

    act_at(client, bj(2026, 11, 18), clerk, replied, "decline", reason="不属于信访事项", expect=200)
    assert listed(client, ministry, A, "supervised") == []
    assert_lists_match_flags(client, session, ministry)


def test_the_flag_filters_still_exclude_when_false(client, session, make_user, sweep_at, ministry):
    _, clerk = make_user(role="clerk", unit=A)
    late = register(client, clerk, bj(2026, 11, 2))
    on_time = register(client, clerk, bj(2026, 11, 16))
    sweep_at(bj(2026, 11, 18))
    r = client.get("/api/v1/cases", query_string={"unit": A, "overdue": "false"}, headers=ministry).get_json()
    assert [c["id"] for c in r["items"]] == [on_time["id"]]
    assert late["id"] not in [c["id"] for c in r["items"]]
