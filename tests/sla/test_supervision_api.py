"""GET /api/v1/supervisions, manual 督办 and its reply, and the notifications API.

One petition at 遂川县 (360827), registered Mon 2026-09-28 10:00 Beijing (acceptance
due 24:00 of 10-13). A sweep on 10-14 opens the automatic 督办 at 吉安市 (360800);
a supervisor of 江西 (360000) opens a manual one.
"""
from __future__ import annotations

from datetime import datetime, time, timezone

import pytest

from casework.sla.policies import policies_for_app
from casework.sla.service import run_sweep
from tests.sla.test_clock_integration import BJ, act_at, at, bj, register


def fresh(client, headers, case):
    return client.get(f"/api/v1/cases/{case['id']}", headers=headers).get_json()


def listed(client, headers, query: str = "") -> list[tuple[str, str]]:
    r = client.get(f"/api/v1/supervisions{query}", headers=headers)
    assert r.status_code == 200, r.get_json()
    return sorted((s["kind"], s["unit"]) for s in r.get_json()["items"])


@pytest.fixture()
def supervised(app, client, session, make_user):
    """The case with an automatic 督办 at the city and a manual one from the province."""
    _, clerk = make_user(role="clerk", unit="360827")
    _, province = make_user(role="supervisor", unit="360000")
    case = register(client, clerk, bj(2026, 9, 28))
    run_sweep(session=session, policies=policies_for_app(app), now=bj(2026, 10, 14))
    session.commit()
    case = act_at(client, bj(2026, 10, 14, 11), province, fresh(client, clerk, case), "supervise",
                  reason="群众反映强烈，请从速受理", reply_due=bj(2026, 10, 20, 17).isoformat())
    return case, clerk, province


def test_manual_supervision_by_an_ancestor(client, make_user, supervised):
    case, clerk, province = supervised
    assert case["supervised"] is True
    items = client.get("/api/v1/supervisions?open=true", headers=province).get_json()["items"]
    manual = [s for s in items if s["kind"] == "manual"]
    assert len(manual) == 1
    sup = manual[0]
    assert (sup["unit"], sup["level"], sup["target_unit"], sup["state"]) == ("360000", "province", "360827", "open")
    assert sup["reason"] == "群众反映强烈，请从速受理" and sup["clock_id"] is None
    assert at(sup["reply_due_at"]) == bj(2026, 10, 20, 17) and at(sup["opened_at"]) == bj(2026, 10, 14, 11)
    # The handling unit hears of it.
    notes = client.get("/api/v1/notifications", headers=clerk).get_json()["items"]
    assert [n["unit"] for n in notes if n["kind"] == "supervision" and n["supervision_id"] == sup["id"]] == ["360827"]


def test_default_reply_due_is_five_working_days(client, make_user):
    _, clerk = make_user(role="clerk", unit="360827")
    _, city = make_user(role="supervisor", unit="360800")
    case = register(client, clerk, bj(2026, 9, 28))
    act_at(client, bj(2026, 9, 29), city, case, "supervise", reason="请加快办理")
    [sup] = client.get("/api/v1/supervisions", headers=city).get_json()["items"]
    # From Tue 09-29: 09-30, 10-08, 10-09, Sat 10-10 (调休) and Mon 10-12 — end of that day.
    assert at(sup["reply_due_at"]) == datetime.combine(datetime(2026, 10, 12).date(), time(23, 59, 59), BJ)
    assert at(sup["reply_due_at"]).astimezone(timezone.utc) == datetime(2026, 10, 12, 15, 59, 59, tzinfo=timezone.utc)


SUPERVISE_REFUSED = [
    # (role, unit, params, status, why)
    ("supervisor", "360827", {"reason": "自己督办自己"}, 403, "the handling unit is not above itself"),
    ("clerk", "360800", {"reason": "科员督办"}, 403, "督办 is a supervisor's act"),
    ("supervisor", "430000", {"reason": "外省督办"}, 404, "another province cannot even see the case"),
    ("supervisor", "360800", {}, 422, "a reason is required"),
    ("supervisor", "360800", {"reason": "过去的期限", "reply_due": "2026-09-28T10:00:00+08:00"}, 422,
     "the reply deadline must lie ahead"),
]


@pytest.mark.parametrize("role, unit, params, status, why", SUPERVISE_REFUSED, ids=[r[4] for r in SUPERVISE_REFUSED])
def test_supervise_refused(client, make_user, role, unit, params, status, why):
    _, clerk = make_user(role="clerk", unit="360827")
    _, actor = make_user(role=role, unit=unit)
    case = register(client, clerk, bj(2026, 9, 28))
    act_at(client, bj(2026, 9, 29), actor, case, "supervise", expect=status, **params)
    again = fresh(client, clerk, case)
    assert again["supervised"] is False and again["version"] == case["version"], why


LIST_SCOPE = [
    # (role, unit, expected (kind, unit) pairs, why)
    ("supervisor", "360800", [("auto", "360800"), ("manual", "360000")], "its own and those aimed into its subtree"),
    ("supervisor", "360000", [("auto", "360800"), ("manual", "360000")], "the province sees its whole subtree"),
    ("supervisor", "100000", [("auto", "360800"), ("manual", "360000")], "the ministry sees everything"),
    ("supervisor", "360825", [], "a sibling county sees nothing"),
    ("supervisor", "430000", [], "another province sees nothing"),
    ("inspector", "360800", [("auto", "360800"), ("manual", "360000")], "inspectors may read 督办"),
]


@pytest.mark.parametrize("role, unit, expected, why", LIST_SCOPE, ids=[r[3] for r in LIST_SCOPE])
def test_list_is_scoped(client, make_user, supervised, role, unit, expected, why):
    _, headers = make_user(role=role, unit=unit)
    assert listed(client, headers) == expected, why


def test_clerks_cannot_list(client, supervised):
    _case, clerk, _province = supervised
    assert client.get("/api/v1/supervisions", headers=clerk).status_code == 403


def test_filters_unit_and_open(client, make_user, supervised):
    case, clerk, province = supervised
    assert listed(client, province, "?unit=360800") == [("auto", "360800")]
    assert listed(client, province, "?unit=430000") == []
    assert listed(client, province, "?open=false") == []
    # Accepting meets the acceptance clock: its automatic 督办 closes, the manual one (no clock) stays open.
    accepted = act_at(client, bj(2026, 10, 15), clerk, fresh(client, clerk, case), "accept")
    assert accepted["supervised"] is True and accepted["overdue"] is False
    assert listed(client, province, "?open=false") == [("auto", "360800")]
    assert listed(client, province, "?open=true") == [("manual", "360000")]
    closed = client.get("/api/v1/supervisions?open=false", headers=province).get_json()["items"][0]
    assert closed["state"] == "closed" and closed["outcome"] and at(closed["closed_at"]) == bj(2026, 10, 15)


def test_reply_by_the_handling_unit(client, make_user, supervised):
    case, clerk, province = supervised
    _, city_clerk = make_user(role="clerk", unit="360800")
    case = fresh(client, clerk, case)
    act_at(client, bj(2026, 10, 15), clerk, case, "reply_supervision", expect=422)  # the reply needs its text
    act_at(client, bj(2026, 10, 15), city_clerk, case, "reply_supervision", expect=403, text="不是承办单位")
    act_at(client, bj(2026, 10, 15), clerk, case, "reply_supervision", text="已受理，正在核查")
    items = client.get("/api/v1/supervisions", headers=province).get_json()["items"]
    assert {s["unit"]: (s["reply_text"], s["state"]) for s in items} == {
        "360800": ("已受理，正在核查", "open"), "360000": ("已受理，正在核查", "open")}
    assert all(at(s["replied_at"]) == bj(2026, 10, 15) for s in items)
    # Nothing is left awaiting a reply.
    act_at(client, bj(2026, 10, 16), clerk, fresh(client, clerk, case), "reply_supervision", expect=422, text="再回复")


def test_notifications_read_and_scoped(client, make_user, supervised):
    _case, clerk, _province = supervised
    _, city = make_user(role="supervisor", unit="360800")
    mine = client.get("/api/v1/notifications", headers=clerk).get_json()
    assert mine["total"] >= 3 and {n["unit"] for n in mine["items"]} == {"360827"}
    assert {"assignment", "breach", "supervision"} <= {n["kind"] for n in mine["items"]}
    city_notes = client.get("/api/v1/notifications", headers=city).get_json()["items"]
    assert [(n["kind"], n["unit"]) for n in city_notes] == [("supervision", "360800")]
    target = mine["items"][0]
    assert target["read_at"] is None
    # Another unit may not read (or learn of) this unit's notification.
    assert client.post(f"/api/v1/notifications/{target['id']}/read", headers=city).status_code == 404
    assert client.post("/api/v1/notifications/999999999/read", headers=clerk).status_code == 404
    r = client.post(f"/api/v1/notifications/{target['id']}/read", headers=clerk)
    assert r.status_code == 200 and r.get_json()["read_at"]
    unread = client.get("/api/v1/notifications?unread=true", headers=clerk).get_json()
    assert target["id"] not in [n["id"] for n in unread["items"]] and unread["total"] == mine["total"] - 1
    read = client.get("/api/v1/notifications?unread=false", headers=clerk).get_json()
    assert [n["id"] for n in read["items"]] == [target["id"]]


def test_a_case_lists_its_supervisions_for_whoever_sees_it(client, make_user, supervised):
    """The clerk who must answer reads what was asked, by whom and by when; other counties get 404."""
    case, clerk, province = supervised
    _, neighbour = make_user(role="clerk", unit="360825")
    r = client.get(f"/api/v1/cases/{case['id']}/supervisions", headers=clerk)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["total"] == 2
    assert [(s["kind"], s["unit"], s["target_unit"], s["state"]) for s in body["items"]] == [
        ("auto", "360800", "360827", "open"), ("manual", "360000", "360827", "open")]
    manual = body["items"][1]
    assert manual["reason"] == "群众反映强烈，请从速受理" and at(manual["reply_due_at"]) == bj(2026, 10, 20, 17)
    # The province sees the same records through the case as through its own list.
    from_province = client.get(f"/api/v1/cases/{case['id']}/supervisions", headers=province).get_json()["items"]
    assert {s["id"] for s in from_province} == {s["id"] for s in client.get(
        "/api/v1/supervisions", headers=province).get_json()["items"] if s["case_id"] == case["id"]}
    for who, path in ((neighbour, f"/api/v1/cases/{case['id']}/supervisions"),
                      (clerk, "/api/v1/cases/999999/supervisions")):
        missing = client.get(path, headers=who)
        assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
