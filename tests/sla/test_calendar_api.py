"""GET/PUT /api/v1/calendar/{year}: the official calendar, admin overrides, and recomputing provisional deadlines.

The installed chinesecalendar package knows 2026 but not 2027, so in these tests
2027 is "fallback" (Mon–Fri minus computed statutory holidays, no 调休) until an
admin enters the notice. The 2027 notice below is made up for the test:
New Year Fri 01-01 off; Spring Festival Fri 02-05 to Thu 02-11 off, with Sat 02-20
and Sun 02-28 worked instead.
"""
from __future__ import annotations

import pytest

from tests.sla.test_clock_integration import act_at, at, bj, clock_of, due_end_of, register

NOTICE_2027 = {
    "holidays": ["2027-01-01", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11"],
    "workdays": ["2027-02-20", "2027-02-28"],
}

# (clock, registered, accepted or None, fallback due, official due, why)
PROVISIONAL = [
    ("acceptance", bj(2026, 12, 30), None, (2027, 1, 14), (2027, 1, 14),
     "12-30 + 15 = Thu 01-14, a working day either way: only the provisional mark goes"),
    ("handling", bj(2026, 12, 28), bj(2026, 12, 30), (2027, 3, 1), (2027, 2, 28),
     "12-30 + 60 = Sun 02-28: the fallback rolls to Mon 03-01, the notice makes that Sunday a working day"),
    ("acceptance", bj(2027, 1, 22), None, (2027, 2, 11), (2027, 2, 12),
     "01-22 + 15 = Sat 02-06: the fallback's holidays end 02-10, the notice's on 02-11, so Fri 02-12"),
]


def _admin(make_user):
    return make_user(role="admin", unit="100000")[1]


def test_official_year_from_package(client, make_user):
    r = client.get("/api/v1/calendar/2026", headers=_admin(make_user))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["source"] == "official_package" and body["provisional"] is False and body["loaded_at"] is None
    # The 2026 notice's worked weekends (调休), and weekday days off such as Mid-Autumn and National Day.
    assert body["workdays"] == ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]
    assert {"2026-09-25", "2026-10-01", "2026-10-07"} <= set(body["holidays"])
    assert "2026-10-10" not in body["holidays"]


def test_year_without_notice_is_fallback(client, make_user):
    body = client.get("/api/v1/calendar/2027", headers=_admin(make_user)).get_json()
    assert body["source"] == "fallback" and body["provisional"] is True
    assert body["workdays"] == []  # the fallback cannot know 调休
    assert "2027-01-01" in body["holidays"]


def test_loading_a_notice_recomputes_provisional_clocks(client, make_user):
    _, clerk = make_user(role="clerk", unit="360827")
    admin = _admin(make_user)
    cases = []
    for name, registered, accepted, fallback_due, _official, why in PROVISIONAL:
        case = register(client, clerk, registered)
        if accepted:
            case = act_at(client, accepted, clerk, case, "accept")
        running = clock_of(case, name)
        assert at(running["due_at"]) == due_end_of(*fallback_due), why
        assert running["provisional"] is True, why
        cases.append(case)
    # A deadline wholly inside 2026 is official already and must not be touched.
    settled = register(client, clerk, bj(2026, 9, 28))

    r = client.put("/api/v1/calendar/2027", json=NOTICE_2027, headers=admin)
    assert r.status_code == 200, r.get_json()
    loaded = r.get_json()
    assert loaded["source"] == "admin" and loaded["provisional"] is False and loaded["loaded_at"]
    assert loaded["recomputed"] == len(PROVISIONAL)
    assert loaded["holidays"] == NOTICE_2027["holidays"] and loaded["workdays"] == NOTICE_2027["workdays"]

    for case, (name, _reg, _acc, _fallback, official_due, why) in zip(cases, PROVISIONAL):
        fresh = client.get(f"/api/v1/cases/{case['id']}", headers=clerk).get_json()
        clock = clock_of(fresh, name)
        assert at(clock["due_at"]) == due_end_of(*official_due), why
        assert clock["provisional"] is False and clock["state"] == "running"
    unchanged = clock_of(client.get(f"/api/v1/cases/{settled['id']}", headers=clerk).get_json(), "acceptance")
    assert unchanged == clock_of(settled, "acceptance")

    again = client.get("/api/v1/calendar/2027", headers=admin).get_json()
    assert again["source"] == "admin" and again["workdays"] == NOTICE_2027["workdays"]
    # A new case now counts with the notice right away.
    late = register(client, clerk, bj(2027, 1, 22))
    assert at(clock_of(late, "acceptance")["due_at"]) == due_end_of(2027, 2, 12)
    assert clock_of(late, "acceptance")["provisional"] is False


def test_reloading_replaces_the_notice(client, make_user):
    admin = _admin(make_user)
    assert client.put("/api/v1/calendar/2027", json=NOTICE_2027, headers=admin).status_code == 200
    corrected = {"holidays": ["2027-01-01"], "workdays": []}
    r = client.put("/api/v1/calendar/2027", json=corrected, headers=admin)
    assert r.status_code == 200, r.get_json()
    body = client.get("/api/v1/calendar/2027", headers=admin).get_json()
    assert body["source"] == "admin" and body["holidays"] == ["2027-01-01"] and body["workdays"] == []


@pytest.mark.parametrize("role, unit", [("supervisor", "100000"), ("clerk", "360827"), ("inspector", "360000")])
def test_only_admins(client, make_user, role, unit):
    _, headers = make_user(role=role, unit=unit)
    assert client.get("/api/v1/calendar/2026", headers=headers).status_code == 403
    assert client.put("/api/v1/calendar/2027", json=NOTICE_2027, headers=headers).status_code == 403
    assert client.get("/api/v1/calendar/2027", headers=_admin(make_user)).get_json()["source"] == "fallback"


@pytest.mark.parametrize("unit", ["360000", "360800", "360827"])
def test_only_the_ministrys_admins_load_the_calendar(client, make_user, unit):
    _, headers = make_user(role="admin", unit=unit)
    assert client.get("/api/v1/calendar/2027", headers=headers).status_code == 200  # reading is every admin's
    r = client.put("/api/v1/calendar/2027", json=NOTICE_2027, headers=headers)
    assert r.status_code == 403 and r.mimetype == "application/problem+json"
    assert client.get("/api/v1/calendar/2027", headers=headers).get_json()["source"] == "fallback"


BAD_NOTICES = [
    # (year, body, field named in the errors, why)
    (2027, {"holidays": ["2027-01-01", "2028-01-03"], "workdays": []}, "holidays", "a date of another year"),
    (2027, {"holidays": ["2027-01-01"], "workdays": ["2026-12-27"]}, "holidays", "a workday of another year"),
    (2027, {"holidays": ["2027-02-08"], "workdays": ["2027-02-08"]}, "workdays", "both a holiday and a workday"),
    (2027, {"holidays": ["2027-02-30"]}, "holidays", "not a date"),
    (2027, {"workdays": ["2027-02-20"]}, "holidays", "holidays missing"),
    (1999, {"holidays": ["1999-01-01"]}, "year", "year out of range"),
]


@pytest.mark.parametrize("year, body, field, why", BAD_NOTICES, ids=[row[3] for row in BAD_NOTICES])
def test_bad_notice_is_422_and_stores_nothing(client, make_user, year, body, field, why):
    admin = _admin(make_user)
    r = client.put(f"/api/v1/calendar/{year}", json=body, headers=admin)
    assert r.status_code == 422, (why, r.get_json())
    # Per-item errors are keyed like "holidays.0".
    assert any(key.split(".")[0] == field for key in r.get_json()["errors"]), (why, r.get_json())
    assert client.get("/api/v1/calendar/2027", headers=admin).get_json()["source"] == "fallback"
