"""Routing through the intake API with real division codes (rules from config/routing.yaml)."""
from __future__ import annotations

import pytest

from tests.cases.conftest import complaint_body, petition_body


def _events(client, headers, case):
    r = client.get(f"/api/v1/cases/{case['id']}/events", headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["items"]


def _roles(case) -> dict[str, str]:
    return {p["unit"]: p["role"] for p in case["participants"]}


# (id, registering unit, body overrides, handling unit, rule, a word the reason must contain)
ROUTES = [
    ("beijing_district", "110105", {"region": "110105"}, "110105", "territorial", "朝阳区"),
    # 仙桃市: a county-level city directly under 湖北省, no prefecture in between.
    ("county_city_under_province", "429004", {"region": "429004"}, "429004", "territorial", "仙桃市"),
    # 东莞市: a prefecture-level city without counties; the city itself is the territorial unit.
    ("dongguan", "441900", {"region": "441900"}, "441900", "territorial", "东莞市"),
    ("group_petition", "360827", {"people_count": 5}, "360800", "group_petition", "集体访"),
    ("four_people_is_not_a_group", "360827", {"people_count": 4}, "360827", "territorial", "属地"),
    # One level above a county-level city directly under the province is the province.
    ("group_at_county_city", "429004", {"region": "429004", "people_count": 5}, "420000", "group_petition",
     "集体访"),
    ("group_at_dongguan", "441900", {"region": "441900", "people_count": 30}, "440000", "group_petition", "集体访"),
    ("place_names_one_level_up", "360827", {"category": "place_names"}, "360800", "category_override",
     "place_names"),
    ("two_counties", "360827", {"regions": ["360825"]}, "360800", "cross_region", "跨区域"),
    ("two_provinces", "360827", {"regions": ["430502"]}, "100000", "cross_region", "跨区域"),
    ("yueji_from_ministry", "100000", {}, "360827", "forward_down", "越级"),
    ("yueji_from_city", "360800", {}, "360827", "forward_down", "越级"),
]


@pytest.mark.parametrize("registering, overrides, unit, rule, word", [r[1:] for r in ROUTES],
                         ids=[r[0] for r in ROUTES])
def test_routes(client, make_user, intake, registering, overrides, unit, rule, word):
    _, clerk = make_user(role="clerk", unit=registering)
    case = intake(clerk, **overrides)
    assert (case["handling_unit"], case["route"]["rule"]) == (unit, rule), case["route"]
    assert case["status"] == "assigned" and case["registering_unit"] == registering
    assert case["route"]["reason"].strip() and word in case["route"]["reason"]
    assert case["number"].startswith(f"XF-{overrides.get('region', '360827')}-")
    assert _roles(case)[unit] == "lead"
    # Read the trail as the ministry: a clerk who logged a case routed above its own unit no longer sees it.
    _, ministry = make_user(role="inspector", unit="100000")
    assign = [e for e in _events(client, ministry, case) if e["action"] == "assign"]
    assert len(assign) == 1 and assign[0]["params"]["unit"] == unit and assign[0]["params"]["rule"] == rule
    assert assign[0]["reason"] == case["route"]["reason"]


def test_yueji_petition_is_forwarded_before_it_is_assigned(client, make_user, intake):
    _, ministry = make_user(role="clerk", unit="100000")
    case = intake(ministry, region="360827")
    events = _events(client, ministry, case)
    assert [e["action"] for e in events] == ["register", "forward", "assign"]
    forward = events[1]
    assert forward["params"] == {"from_unit": "100000", "to_unit": "360827"}
    assert forward["unit"] == "100000" and "越级" in forward["reason"]
    assert [e["seq"] for e in events] == [1, 2, 3]
    # The county now owns it; the ministry still sees it (its subtree) but is not the handler.
    _, county = make_user(role="clerk", unit="360827")
    seen = client.get(f"/api/v1/cases/{case['id']}", headers=county).get_json()
    assert "accept" in seen["allowed_actions"]
    assert "accept" not in case["allowed_actions"]


def test_yueji_group_petition_goes_one_level_above_the_county(client, make_user, intake):
    _, ministry = make_user(role="clerk", unit="100000")
    case = intake(ministry, region="360827", people_count=6)
    assert (case["handling_unit"], case["route"]["rule"]) == ("360800", "group_petition")
    events = _events(client, ministry, case)
    assert [e["action"] for e in events] == ["register", "forward", "assign"]
    assert events[1]["params"] == {"from_unit": "100000", "to_unit": "360800"}


def test_petition_logged_at_its_own_unit_is_not_forwarded(client, make_user, intake):
    _, clerk = make_user(role="clerk", unit="360827")
    case = intake(clerk)
    assert [e["action"] for e in _events(client, clerk, case)] == ["register", "assign"]


def test_complaints_are_not_forwarded_down(client, make_user, intake):
    # forward_down applies to petitions only; a complaint logged at the ministry goes straight to its region.
    _, ministry = make_user(role="clerk", unit="100000")
    case = intake(ministry, complaint_body(region="360827"))
    assert (case["handling_unit"], case["route"]["rule"]) == ("360827", "territorial")
    assert "forward" not in [e["action"] for e in _events(client, ministry, case)]


def test_two_counties_are_coordinated_by_their_city(client, make_user, intake):
    _, clerk = make_user(role="clerk", unit="360827")
    case = intake(clerk, regions=["360825"])
    assert case["regions"] == ["360827", "360825"]
    assert _roles(case) == {"360800": "lead", "360827": "co", "360825": "co"}
    assign = [e for e in _events(client, clerk, case) if e["action"] == "assign"][0]
    assert sorted(assign["params"]["co_handlers"]) == ["360825", "360827"]
    assert "遂川县" in case["route"]["reason"] and "永丰县" in case["route"]["reason"]
    # Both counties see the case they co-handle; a third county of the same city does not.
    _, other_county = make_user(role="clerk", unit="360825")
    assert client.get(f"/api/v1/cases/{case['id']}", headers=other_county).status_code == 200
    _, third = make_user(role="clerk", unit="360826")
    assert client.get(f"/api/v1/cases/{case['id']}", headers=third).status_code == 404


def test_two_provinces_are_coordinated_by_the_ministry(client, make_user, intake):
    _, clerk = make_user(role="clerk", unit="360827")
    case = intake(clerk, regions=["430502"])
    assert case["handling_unit"] == "100000"
    assert _roles(case) == {"100000": "lead", "360827": "co", "430502": "co"}
    # 湖南 sees it through its co-handling county; 江西's province too.
    _, hunan = make_user(role="supervisor", unit="430000")
    listed = client.get("/api/v1/cases", headers=hunan).get_json()
    assert [c["id"] for c in listed["items"]] == [case["id"]]


def test_repeated_region_is_not_a_cross_region_case(client, make_user, intake):
    _, clerk = make_user(role="clerk", unit="360827")
    case = intake(clerk, regions=["360827"])
    assert (case["handling_unit"], case["route"]["rule"], case["regions"]) == ("360827", "territorial", ["360827"])
    assert _roles(case) == {"360827": "lead"}


def test_route_survives_a_reread(client, make_user, intake):
    _, clerk = make_user(role="clerk", unit="360827")
    case = intake(clerk, petition_body(people_count=5))
    _, city = make_user(role="clerk", unit="360800")
    again = client.get(f"/api/v1/cases/{case['id']}", headers=city).get_json()
    assert again["route"] == case["route"] and again["handling_unit"] == "360800"
    # The county that logged a case routed above it has no part in it any more.
    assert client.get(f"/api/v1/cases/{case['id']}", headers=clerk).status_code == 404
