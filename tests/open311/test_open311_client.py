"""Open311 GeoReport v2 driven the way a GeoReport client drives it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from casework import clock


@pytest.fixture()
def key(client, make_user):
    _, admin = make_user(role="admin", unit="360000")
    user, _ = make_user(role="clerk", unit="360827")
    return client.post(f"/api/v1/users/{user.id}/api-key", headers=admin).get_json()["api_key"]


def _post(client, key, **fields):
    form = {"api_key": key, "jurisdiction_id": "360000", "service_code": "dibao", "attribute[region]": "360827",
            "description": "家里老人申请低保三个月没有回音"}
    form.update(fields)
    return client.post("/open311/v2/requests.json", data=form)


def test_discovery_and_services(client):
    d = client.get("/open311/v2/discovery.json").get_json()
    assert d["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert "application/json" in d["endpoints"][0]["formats"]
    services = client.get("/open311/v2/services.json?jurisdiction_id=360000").get_json()
    dibao = next(s for s in services if s["service_code"] == "dibao")
    assert dibao == {"service_code": "dibao", "service_name": "低保", "description": "民政领域群众诉求：低保",
                     "metadata": True, "type": "realtime", "keywords": "低保", "group": "社会救助"}
    definition = client.get("/open311/v2/services/dibao.json").get_json()
    region = next(a for a in definition["attributes"] if a["code"] == "region")
    assert region["required"] is True and region["variable"] is True
    assert client.get("/open311/v2/services.json?jurisdiction_id=999999").status_code == 404


def test_request_is_the_same_case_as_rest(client, key, make_user):
    r = _post(client, key, first_name="三", last_name="张", phone="13812345678")
    assert r.status_code == 201
    body = r.get_json()
    assert isinstance(body, list) and set(body[0]) == {"service_request_id", "service_notice", "account_id"}
    number = body[0]["service_request_id"]
    _, clerk = make_user(role="clerk", unit="360827")
    listed = client.get("/api/v1/cases?kind=complaint", headers=clerk).get_json()["items"]
    case = next(c for c in listed if c["number"] == number)
    assert case["channel"] == "online" and case["category"] == "dibao" and case["handling_unit"] == "360827"
    # The person's own words are kept in the case, not published through Open311.
    full = client.get(f"/api/v1/cases/{case['id']}", headers=clerk).get_json()
    assert "三个月没有回音" in full["content"] and full["petitioner"]["phone"] == "13812345678"
    public = client.get(f"/open311/v2/requests/{number}.json?jurisdiction_id=360000").get_data(as_text=True)
    assert "三个月没有回音" not in public and "13812345678" not in public and "张三" not in public


def test_comma_lists_status_and_service_filters(client, key):
    numbers = [_post(client, key, service_code=code).get_json()[0]["service_request_id"]
               for code in ("dibao", "elderly_care", "charity")]
    got = client.get(f"/open311/v2/requests.json?jurisdiction_id=360000&service_request_id={numbers[0]},{numbers[2]}")
    assert sorted(r["service_request_id"] for r in got.get_json()) == sorted([numbers[0], numbers[2]])
    by_code = client.get("/open311/v2/requests.json?jurisdiction_id=360000&service_code=dibao,charity").get_json()
    assert sorted(r["service_code"] for r in by_code) == ["charity", "dibao"]
    assert len(client.get("/open311/v2/requests.json?jurisdiction_id=360000&status=open").get_json()) == 3
    assert client.get("/open311/v2/requests.json?jurisdiction_id=360000&status=closed").get_json() == []
    assert client.get("/open311/v2/requests.json?status=pending").status_code == 400
    # jurisdiction scopes everything: another province sees none of them.
    assert client.get("/open311/v2/requests.json?jurisdiction_id=430000").get_json() == []


def test_date_range_limits(client, key):
    now = datetime.now(timezone.utc)
    with clock.frozen(now - timedelta(days=120)):
        old = _post(client, key).get_json()[0]["service_request_id"]
    recent = _post(client, key).get_json()[0]["service_request_id"]
    default = [r["service_request_id"] for r in client.get("/open311/v2/requests.json?jurisdiction_id=360000").get_json()]
    assert recent in default and old not in default  # the default window is the last 90 days
    start = (now - timedelta(days=130)).isoformat().replace("+00:00", "Z")
    end = (now - timedelta(days=50)).isoformat().replace("+00:00", "Z")
    window = client.get(f"/open311/v2/requests.json?jurisdiction_id=360000&start_date={start}&end_date={end}")
    assert [r["service_request_id"] for r in window.get_json()] == [old]
    too_wide = client.get("/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-05-01T00:00:00Z")
    assert too_wide.status_code == 400 and too_wide.get_json()[0]["code"] == 400
    naive = client.get("/open311/v2/requests.json?start_date=2026-01-01T00:00:00")
    assert naive.status_code == 400


@pytest.mark.parametrize("fields,status", [
    ({"api_key": ""}, 403),
    ({"api_key": "cw_not-a-key"}, 403),
    ({"service_code": "unknown"}, 404),
    ({"attribute[region]": "999999"}, 400),
    ({"attribute[region]": "430502"}, 400),  # outside jurisdiction 360000
    ({"description": ""}, 400),
    ({"attribute[people_count]": "many"}, 400),
    ({"phone": "12345", "first_name": "三", "last_name": "张"}, 400),
])
def test_errors_are_the_spec_array(client, key, fields, status):
    r = _post(client, key, **fields)
    assert r.status_code == status
    error = r.get_json()
    assert isinstance(error, list) and error[0]["code"] == status and error[0]["description"]


def test_missing_request_and_updates(client, key):
    assert client.get("/open311/v2/requests/SQ-000000-2026-000001.json").status_code == 404
    number = _post(client, key).get_json()[0]["service_request_id"]
    updates = client.get("/open311/v2/servicerequestupdates.json?jurisdiction_id=360000").get_json()
    mine = [u for u in updates if u["service_request_id"] == number]
    assert mine and {"update_id", "status", "description", "updated_datetime", "external_status_code"} <= set(mine[0])
    assert mine[-1]["external_status_code"] == "assigned" and mine[-1]["status"] == "open"
