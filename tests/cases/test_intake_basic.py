from tests.cases.conftest import petition_body


def test_intake_routes_and_masks(client, make_user, intake):
    _, clerk = make_user(role="clerk", unit="360827")
    case = intake(clerk)
    assert case["status"] == "assigned" and case["handling_unit"] == "360827"
    assert case["number"].startswith("XF-360827-")
    assert case["route"]["rule"] == "territorial" and case["route"]["reason"]
    assert case["participants"] == [{"unit": "360827", "role": "lead", "state": "open", "part": None,
                                     "submitted_at": None}]
    assert set(case["allowed_actions"]) >= {"accept", "decline", "return", "transfer"}
    # The handling unit's clerk sees the petitioner in full; the list masks it.
    assert case["petitioner"]["phone"] == "13812345678"
    listed = client.get("/api/v1/cases", headers=clerk).get_json()
    assert listed["total"] == 1 and listed["items"][0]["petitioner"]["phone"] == "138****5678"
    _, city_sup = make_user(role="supervisor", unit="360800")
    seen = client.get(f"/api/v1/cases/{case['id']}", headers=city_sup).get_json()
    assert seen["petitioner"]["id_number"].startswith("3608") and "*" in seen["petitioner"]["id_number"]
    assert seen["petitioner"]["name"] == "张*"


def test_events_and_accept(client, make_user, intake, act):
    _, clerk = make_user(role="clerk", unit="360827")
    case = intake(clerk)
    r = act(clerk, case, "accept")
    assert r.status_code == 200, r.get_json()
    accepted = r.get_json()
    assert accepted["status"] == "accepted" and accepted["version"] == case["version"] + 1
    assert act(clerk, case, "accept").status_code == 409
    events = client.get(f"/api/v1/cases/{case['id']}/events", headers=clerk).get_json()["items"]
    assert [e["action"] for e in events] == ["register", "assign", "accept"]
    r = act(clerk, accepted, "respond", outcome="support", text="x")
    assert r.status_code == 422 and "allowed_actions" in r.get_json()


def test_idempotency(client, make_user):
    _, clerk = make_user(role="clerk", unit="360827")
    h = dict(clerk, **{"Idempotency-Key": "k-1"})
    a = client.post("/api/v1/cases", json=petition_body(), headers=h)
    b = client.post("/api/v1/cases", json=petition_body(), headers=h)
    assert a.status_code == b.status_code == 201 and a.get_json()["id"] == b.get_json()["id"]
    c = client.post("/api/v1/cases", json=petition_body(title="另一件事"), headers=h)
    assert c.status_code == 409
    assert client.get("/api/v1/cases", headers=clerk).get_json()["total"] == 1
