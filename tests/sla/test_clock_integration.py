"""Statutory clocks end to end through the API, with real dates of the 2026 calendar.

Every expected due time below is computed by hand from the Civil Code rule (the
start day is not counted, a period ends at 24:00 of its last day, a last day
that is a rest day or holiday moves to the end of the next working day) and the
2026 State Council notice (National Day 10-01..10-07 off, Sun 09-20 and Sat 10-10
worked). "24:00 of D" in Beijing is 16:00Z of D.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from casework import clock
from tests.cases.conftest import complaint_body, petition_body

BJ = ZoneInfo("Asia/Shanghai")


def bj(y: int, m: int, d: int, hour: int = 10) -> datetime:
    """A Beijing office-hours moment (10:00 local unless told)."""
    return datetime(y, m, d, hour, tzinfo=BJ)


def due_end_of(y: int, m: int, d: int) -> datetime:
    """24:00 of that Beijing day, as the API answers it (compared as instants)."""
    return datetime(y, m, d, 16, tzinfo=timezone.utc)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def clock_of(case: dict, name: str) -> dict:
    found = [c for c in case["clocks"] if c["name"] == name]
    assert len(found) == 1, case["clocks"]
    return found[0]


def register(client, headers, when: datetime, body: dict | None = None) -> dict:
    # received_at is validated against the injectable clock, so travel there first.
    with clock.frozen(when):
        r = client.post("/api/v1/cases", json=dict(body or petition_body(), received_at=when.isoformat()),
                        headers=headers)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def act_at(client, when: datetime, headers, case: dict, action: str, expect: int = 200, **params) -> dict:
    """Apply ``action`` at ``when`` with the case's version; asserts the status and returns the answer."""
    params.setdefault("version", case["version"])
    with clock.frozen(when):
        r = client.post(f"/api/v1/cases/{case['id']}/actions/{action}", json=params, headers=headers)
    assert r.status_code == expect, r.get_json()
    return r.get_json()


ACCEPTANCE_DUE = [
    # (registered, due end of day, provisional, why)
    (bj(2026, 9, 28), (2026, 10, 13), False, "15 days across National Day: holidays inside a period still count"),
    (bj(2026, 12, 30), (2027, 1, 14), True, "ends in 2027, which has no official notice yet"),
    (bj(2026, 10, 31), (2026, 11, 16), False, "last day Sun 11-15 moves to Mon 11-16"),
    (bj(2026, 9, 16), (2026, 10, 8), False, "last day 10-01 (National Day) moves past the whole holiday"),
    (bj(2026, 9, 28, 23), (2026, 10, 13), False, "a late-evening letter still counts from its Beijing date"),
    (bj(2026, 9, 29, 0), (2026, 10, 14), False, "00:00 Beijing is already the next day (16:00Z the day before)"),
]


@pytest.mark.parametrize("registered, due, provisional, why", ACCEPTANCE_DUE,
                         ids=[row[3].split(":")[0] for row in ACCEPTANCE_DUE])
def test_petition_acceptance_due(client, make_user, registered, due, provisional, why):
    _, clerk = make_user(role="clerk", unit="360827")
    case = register(client, clerk, registered)
    acceptance = clock_of(case, "acceptance")
    assert acceptance["state"] == "running"
    assert at(acceptance["started_at"]) == registered
    assert at(acceptance["due_at"]) == due_end_of(*due), why
    assert acceptance["provisional"] is provisional
    # 预警 three days before the end (warn_before: 3d).
    assert at(acceptance["warn_at"]) == due_end_of(*due) - timedelta(days=3)


COMPLAINT_DUE = [
    # (urgency, registered, contact due, handling due)
    # Fri 09-18: the next working day is Sun 09-20 (调休), not Mon 09-21. Handling, 7 calendar days, ends on
    # Fri 09-25, the Mid-Autumn Festival: past the weekend to Mon 09-28.
    ("normal", bj(2026, 9, 18), due_end_of(2026, 9, 20), due_end_of(2026, 9, 28)),
    # Wed 09-30: the next working day is Thu 10-08; handling ends 10-07 (holiday) → 24:00 of 10-08.
    ("normal", bj(2026, 9, 30), due_end_of(2026, 10, 8), due_end_of(2026, 10, 8)),
    # Urgent: 2 office hours from Fri 09-18 16:00 → 17:30, then Sun 09-20 09:00 + 30 min; handling 24 wall hours.
    ("urgent", bj(2026, 9, 18, 16), bj(2026, 9, 20, 9) + timedelta(minutes=30), bj(2026, 9, 19, 16)),
]


@pytest.mark.parametrize("urgency, registered, contact_due, handling_due", COMPLAINT_DUE)
def test_complaint_clocks_follow_adjusted_workdays(client, make_user, urgency, registered, contact_due,
                                                  handling_due):
    _, clerk = make_user(role="clerk", unit="360827")
    case = register(client, clerk, registered, complaint_body(urgency=urgency))
    assert at(clock_of(case, "contact")["due_at"]) == contact_due
    assert at(clock_of(case, "handling")["due_at"]) == handling_due
    assert not clock_of(case, "contact")["provisional"]


def test_accept_meets_acceptance_and_starts_handling(client, make_user):
    _, clerk = make_user(role="clerk", unit="360827")
    case = register(client, clerk, bj(2026, 9, 28))
    accepted_at = bj(2026, 9, 30)
    accepted = act_at(client, accepted_at, clerk, case, "accept")
    acceptance, handling = clock_of(accepted, "acceptance"), clock_of(accepted, "handling")
    assert acceptance["state"] == "met" and at(acceptance["met_at"]) == accepted_at
    assert handling["state"] == "running" and at(handling["started_at"]) == accepted_at
    # 60 days from 09-30 end Sun 11-29 → Mon 11-30; warned 10 days ahead.
    assert at(handling["due_at"]) == due_end_of(2026, 11, 30)
    assert at(handling["warn_at"]) == due_end_of(2026, 11, 20)
    assert accepted["overdue"] is False


def test_suspension_moves_handling_due_by_the_paused_time(client, make_user):
    _, clerk = make_user(role="clerk", unit="360827")
    case = register(client, clerk, bj(2026, 9, 28))
    case = act_at(client, bj(2026, 9, 30), clerk, case, "accept")
    case = act_at(client, bj(2026, 10, 8), clerk, case, "start")
    before = clock_of(case, "handling")
    t1 = bj(2026, 10, 12, 15)
    suspended = act_at(client, t1, clerk, case, "suspend", reason="等待司法鉴定结论")
    held = clock_of(suspended, "handling")
    assert suspended["status"] == "suspended"
    assert held["state"] == "paused" and at(held["paused_at"]) == t1
    assert held["due_at"] == before["due_at"]
    # Resuming exactly three days later: the due time moves by exactly that, not re-snapped to a working day.
    resumed = act_at(client, t1 + timedelta(days=3), clerk, suspended, "resume")
    after = clock_of(resumed, "handling")
    assert resumed["status"] == "in_progress"
    assert after["state"] == "running" and after["paused_at"] is None
    assert at(after["due_at"]) == due_end_of(2026, 11, 30) + timedelta(days=3)
    assert at(after["warn_at"]) == at(before["warn_at"]) + timedelta(days=3)


def _accepted_case(client, clerk) -> dict:
    case = register(client, clerk, bj(2026, 9, 28))
    return act_at(client, bj(2026, 9, 30), clerk, case, "accept")


def test_extension_approved_by_parent_unit(client, make_user):
    _, clerk = make_user(role="clerk", unit="360827")
    _, city = make_user(role="supervisor", unit="360800")
    _, county_sup = make_user(role="supervisor", unit="360827")
    case = _accepted_case(client, clerk)
    when = bj(2026, 11, 10)
    # 信访工作条例 第三十二条: at most 30 days; the refusal names the field.
    too_long = act_at(client, when, clerk, case, "request_extension", expect=422, days=31, reason="情况复杂")
    assert "days" in too_long["errors"]
    case = act_at(client, when, clerk, case, "request_extension", days=30, reason="情况复杂，需要多部门核查")
    assert at(clock_of(case, "handling")["due_at"]) == due_end_of(2026, 11, 30)  # unchanged until approved
    # Approval belongs to the unit one level up, not to the handling unit's own supervisor.
    act_at(client, when, county_sup, case, "approve_extension", expect=403)
    approved = act_at(client, when + timedelta(hours=2), city, case, "approve_extension")
    handling = clock_of(approved, "handling")
    # 60 + 30 calendar days from 09-30 end on Tue 12-29, a working day.
    assert at(handling["due_at"]) == due_end_of(2026, 12, 29)
    assert handling["extended_days"] == 30 and handling["state"] == "running"
    # One extension per clock.
    again = act_at(client, when + timedelta(days=1), clerk, approved, "request_extension", expect=422, days=5,
                   reason="还要再延")
    assert "action" in again["errors"]
    assert clock_of(approved, "handling")["due_at"] == handling["due_at"]


def test_extension_denied_needs_reason(client, make_user):
    _, clerk = make_user(role="clerk", unit="360827")
    _, city = make_user(role="supervisor", unit="360800")
    case = _accepted_case(client, clerk)
    when = bj(2026, 11, 10)
    # Nothing to decide before a request.
    act_at(client, when, city, case, "approve_extension", expect=422)
    case = act_at(client, when, clerk, case, "request_extension", days=10, reason="需补充材料")
    bare = act_at(client, when, city, case, "deny_extension", expect=422)
    assert "reason" in bare["errors"]
    denied = act_at(client, when, city, case, "deny_extension", reason="理由不充分")
    handling = clock_of(denied, "handling")
    assert at(handling["due_at"]) == due_end_of(2026, 11, 30) and handling["extended_days"] == 0
    # A denied request used up the clock's one request.
    act_at(client, when, clerk, denied, "request_extension", expect=422, days=10, reason="再申请")


def test_extension_and_reply_actions_are_offered_only_when_they_can_succeed(client, make_user):
    _, clerk = make_user(role="clerk", unit="360827")
    _, city = make_user(role="supervisor", unit="360800")

    def offered(headers, case_id) -> set[str]:
        return set(client.get(f"/api/v1/cases/{case_id}", headers=headers).get_json()["allowed_actions"])

    case = _accepted_case(client, clerk)
    assert "request_extension" in offered(clerk, case["id"])
    assert not {"approve_extension", "deny_extension"} & offered(city, case["id"])  # nothing asked yet
    assert "reply_supervision" not in offered(clerk, case["id"])  # no 督办 to answer
    requested = act_at(client, bj(2026, 11, 10), clerk, case, "request_extension", days=10, reason="需要多部门核查")
    assert "request_extension" not in offered(clerk, case["id"])  # one request per clock
    assert {"approve_extension", "deny_extension"} <= offered(city, case["id"])
    supervised = act_at(client, bj(2026, 11, 11), city, requested, "supervise", reason="请加快办理")
    assert "reply_supervision" in offered(clerk, case["id"])
    supervised = act_at(client, bj(2026, 11, 11), clerk, supervised, "reply_supervision", text="正在办理")
    assert "reply_supervision" not in offered(clerk, case["id"])  # answered: the 督办 stays open, nothing to reply
    listed = client.get("/api/v1/cases?supervised=true", headers=clerk).get_json()["items"]
    assert [c["allowed_actions"] for c in listed if c["id"] == case["id"]] == [
        sorted(offered(clerk, case["id"]))]  # the list offers what the case answer offers
    act_at(client, bj(2026, 11, 12), city, supervised, "deny_extension", reason="不符合延期条件")
    assert not {"approve_extension", "deny_extension"} & offered(city, case["id"])  # decided
    assert "request_extension" not in offered(clerk, case["id"])  # the one request was used
