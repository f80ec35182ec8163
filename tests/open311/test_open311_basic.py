def _key(client, make_user, unit="360000"):
    _, admin = make_user(role="admin", unit=unit)
    user, _ = make_user(role="clerk", unit="360827")
    r = client.post(f"/api/v1/users/{user.id}/api-key", headers=admin)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["api_key"], user


def test_post_and_read_back(client, make_user):
    key, user = _key(client, make_user)
    r = client.post("/open311/v2/requests.json", data={
        "api_key": key, "jurisdiction_id": "360000", "service_code": "elderly_care",
        "attribute[region]": "360827", "description": "敬老院冬季无暖气", "first_name": "三", "last_name": "张",
        "phone": "13812345678"})
    assert r.status_code == 201, r.get_json()
    number = r.get_json()[0]["service_request_id"]
    got = client.get(f"/open311/v2/requests/{number}.json?jurisdiction_id=360000")
    assert got.status_code == 200
    req = got.get_json()[0]
    assert req["status"] == "open" and req["agency_responsible"] == "遂川县" and req["expected_datetime"]
    assert "13812345678" not in got.get_data(as_text=True) and "张三" not in got.get_data(as_text=True)
    listed = client.get("/open311/v2/requests.json?jurisdiction_id=360800&service_code=elderly_care").get_json()
    assert [x["service_request_id"] for x in listed] == [number]
    updates = client.get("/open311/v2/servicerequestupdates.json?jurisdiction_id=360000").get_json()
    assert {u["service_request_id"] for u in updates} == {number}


def test_errors(client, make_user):
    assert client.post("/open311/v2/requests.json", data={"service_code": "dibao"}).status_code == 403
    key, _ = _key(client, make_user)
    r = client.post("/open311/v2/requests.json", data={"api_key": key, "service_code": "nope",
                                                        "attribute[region]": "360827", "description": "x"})
    assert r.status_code == 404 and r.get_json()[0]["code"] == 404
    assert client.get("/open311/v2/services/nope.json").status_code == 404
    r = client.get("/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z")
    assert r.status_code == 400
    assert len(client.get("/open311/v2/services.json").get_json()) == 13
