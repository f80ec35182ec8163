"""Each co-handler's part (协办) has a clock of its own.

A petition at 遂川县 (360827) is accepted on Mon 2026-11-02 and asks 吉水县 (360822) and 安福县
(360829) for their parts: each part is due 15 calendar days later, at 24:00 on 11-17, owed by
that county. A part submitted meets its own clock only; a part still missing when its clock runs
out is supervised from that county's parent (吉安市, 360800), and the county answers the 督办. The
answer (respond) ends every part's clock; suspension pauses them.
"""
from __future__ import annotations

import sqlalchemy as sa

from casework.sla.models import CaseClock, Supervision
from tests.sla.test_clock_integration import act_at, at, bj, due_end_of, register
from tests.sla.test_escalation import nothing, sweep_at  # noqa: F401 (fixture)

COUNTY, CO_A, CO_B, CITY = "360827", "360822", "360829", "360800"


def parts(case: dict) -> dict[str, dict]:
    return {c["unit"]: c for c in case["clocks"] if c["name"] == "co_handling"}


def get(client, headers, case: dict) -> dict:
    return client.get(f"/api/v1/cases/{case['id']}", headers=headers).get_json()


def with_two_parts(client, make_user):
    _, clerk = make_user(role="clerk", unit=COUNTY)
    case = register(client, clerk, bj(2026, 11, 1))
    case = act_at(client, bj(2026, 11, 2), clerk, case, "accept")
    case = act_at(client, bj(2026, 11, 2, 11), clerk, case, "add_co_handler", unit=CO_A, part="核实低保家庭收入")
    case = act_at(client, bj(2026, 11, 2, 12), clerk, case, "add_co_handler", unit=CO_B, part="核实户籍迁移情况")
    return case, clerk


def test_each_part_gets_its_own_clock_owed_by_its_unit(client, make_user):
    case, _ = with_two_parts(client, make_user)
    clocks = parts(case)
    assert set(clocks) == {CO_A, CO_B}
    for clock in clocks.values():
        assert clock["state"] == "running" and at(clock["due_at"]) == due_end_of(2026, 11, 17)


def test_a_submitted_part_meets_only_its_own_clock(client, make_user):
    case, _ = with_two_parts(client, make_user)
    _, co_a = make_user(role="clerk", unit=CO_A)
    case = act_at(client, bj(2026, 11, 9), co_a, case, "co_handler_submit", text="经核实，家庭收入符合条件")
    assert {unit: c["state"] for unit, c in parts(case).items()} == {CO_A: "met", CO_B: "running"}


def test_a_late_part_is_supervised_and_its_unit_answers(client, make_user, session, sweep_at):  # noqa: F811
    case, clerk = with_two_parts(client, make_user)
    _, co_a = make_user(role="clerk", unit=CO_A)
    _, co_b = make_user(role="clerk", unit=CO_B)
    act_at(client, bj(2026, 11, 9), co_a, case, "co_handler_submit", text="经核实，家庭收入符合条件")

    assert sweep_at(bj(2026, 11, 18)) == nothing(breached=1, supervisions_opened=1, notifications=2)

    [sup] = session.scalars(sa.select(Supervision).where(Supervision.case_id == case["id"])).all()
    assert (sup.unit_code, sup.target_unit) == (CITY, CO_B)
    seen_by = {who: get(client, headers, case) for who, headers in (("county", clerk), ("co_b", co_b))}
    assert seen_by["county"]["overdue"] is True and seen_by["county"]["awaiting_reply"] is True
    assert "reply_supervision" in seen_by["co_b"]["allowed_actions"]
    assert "reply_supervision" not in seen_by["county"]["allowed_actions"]  # nothing aimed at the county
    refused = act_at(client, bj(2026, 11, 18, 11), clerk, seen_by["county"], "reply_supervision", expect=422,
                     text="已督促协办单位")
    assert refused["errors"]["supervision"]

    answered = act_at(client, bj(2026, 11, 18, 12), co_b, seen_by["co_b"], "reply_supervision",
                      text="户籍材料正在调取，三日内报送")
    assert answered["awaiting_reply"] is False
    session.expire_all()
    assert session.get(Supervision, sup.id).reply_text == "户籍材料正在调取，三日内报送"


def test_the_answer_ends_every_part_and_its_supervision(client, make_user, session, sweep_at):  # noqa: F811
    _, supervisor = make_user(role="supervisor", unit=COUNTY)
    case, clerk = with_two_parts(client, make_user)
    case = act_at(client, bj(2026, 11, 3), clerk, case, "start")
    sweep_at(bj(2026, 11, 18))
    case = get(client, clerk, case)
    case = act_at(client, bj(2026, 11, 20), supervisor, case, "respond", outcome="explain", text="经研究，答复如下",
                  override_reason="协办单位逾期未报，主办单位先行答复")

    assert {c["state"] for c in parts(case).values()} == {"breached"}
    met = session.scalars(sa.select(CaseClock.met_at).where(CaseClock.case_id == case["id"],
                                                            CaseClock.name == "co_handling")).all()
    assert len(met) == 2 and all(m is not None for m in met)
    states = session.scalars(sa.select(Supervision.state).where(Supervision.case_id == case["id"])).all()
    assert states == ["closed", "closed"]
    assert (case["overdue"], case["supervised"]) == (False, False)


def test_suspension_pauses_the_parts_and_moves_their_deadline(client, make_user):
    case, clerk = with_two_parts(client, make_user)
    case = act_at(client, bj(2026, 11, 5), clerk, case, "suspend", reason="等待司法鉴定结论")
    assert {c["state"] for c in parts(case).values()} == {"paused"}
    case = act_at(client, bj(2026, 11, 8), clerk, case, "resume")
    for clock in parts(case).values():
        assert clock["state"] == "running" and at(clock["due_at"]) == due_end_of(2026, 11, 20)


def test_co_handlers_named_by_routing_get_their_clocks_at_acceptance(client, make_user):
    from tests.cases.conftest import petition_body

    _, city = make_user(role="clerk", unit=CITY)
    case = register(client, city, bj(2026, 11, 1), petition_body(regions=["360825"]))
    routed = {p["unit"] for p in case["participants"] if p["role"] == "co"}
    assert routed and parts(case) == {}  # nothing is owed before the case is accepted
    case = act_at(client, bj(2026, 11, 2), city, case, "accept")
    assert set(parts(case)) == routed
    assert {at(c["started_at"]) for c in parts(case).values()} == {bj(2026, 11, 2)}
    case = act_at(client, bj(2026, 11, 10), city, case, "add_co_handler", unit=CO_A, part="核实")
    assert {u: at(c["started_at"]) for u, c in parts(case).items()} == {
        **{u: bj(2026, 11, 2) for u in routed}, CO_A: bj(2026, 11, 10)}  # the others do not start again


def _city_case_with_a_late_part(client, make_user, sweep):
    _, city = make_user(role="clerk", unit=CITY)
    case = register(client, city, bj(2026, 11, 1), _body(region=CITY))
    case = act_at(client, bj(2026, 11, 2), city, case, "accept")
    case = act_at(client, bj(2026, 11, 2, 11), city, case, "add_co_handler", unit=CO_A, part="核实")
    sweep(bj(2026, 11, 18))
    case = get(client, city, case)
    assert parts(case)[CO_A]["state"] == "breached" and case["overdue"] is True
    return case, city


def _body(**overrides):
    from tests.cases.conftest import petition_body

    return petition_body(**overrides)


def test_a_co_handler_made_the_lead_keeps_its_late_part_on_record(client, make_user, session, sweep_at):  # noqa: F811
    case, city = _city_case_with_a_late_part(client, make_user, sweep_at)
    case = act_at(client, bj(2026, 11, 19), city, case, "transfer", unit=CO_A)

    [clock] = session.scalars(sa.select(CaseClock).where(CaseClock.case_id == case["id"],
                                                         CaseClock.name == "co_handling")).all()
    assert (clock.unit_code, clock.state, clock.participant_id) == (CO_A, "breached", None)
    assert clock.met_at is not None  # ended by the transfer; its breach stays on record
    [sup] = session.scalars(sa.select(Supervision).where(Supervision.case_id == case["id"])).all()
    assert (sup.clock_id, sup.state, sup.outcome) == (clock.id, "closed", "handled: transfer")


def test_a_finished_case_is_overdue_no_longer(client, make_user, sweep_at):  # noqa: F811
    case, city = _city_case_with_a_late_part(client, make_user, sweep_at)
    case = act_at(client, bj(2026, 11, 19), city, case, "transfer", unit="360825")
    _, other = make_user(role="clerk", unit="360825")
    case = act_at(client, bj(2026, 11, 19, 11), other, get(client, other, case), "decline", reason="不属于本单位受理范围")
    assert (case["status"], case["overdue"], case["supervised"]) == ("not_accepted", False, False)


def test_a_list_page_does_not_look_up_supervisions_case_by_case(client, make_user, session):
    _, clerk = make_user(role="clerk", unit=COUNTY)
    _, city = make_user(role="clerk", unit=CITY)

    def supervision_queries(extra_cases: int) -> int:
        for _ in range(extra_cases):
            register(client, clerk, bj(2026, 11, 1))
        seen: list[str] = []

        def record(conn, cursor, statement, *args):
            seen.append(statement)

        engine = session.get_bind().engine
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            assert client.get("/api/v1/cases?page_size=50", headers=city).status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        return sum("FROM supervisions" in s for s in seen)

    assert supervision_queries(2) == supervision_queries(10)
