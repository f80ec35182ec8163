from tests.cases.conftest import petition_body, make_id_number


def test_lead_flow(client, make_user):
    _, insp = make_user(role="inspector", unit="D360800")
    _, dsup = make_user(role="supervisor", unit="D360800")
    body = {"kind": "lead", "channel": "letter", "category": "dibao", "title": "村干部优亲厚友", "content": "某村主任将亲属纳入低保",
            "region": "360827", "source": "public_report", "accused": {"name": "王五", "unit": "360827", "position": "科长"},
            "reporter": {"name": "赵六", "phone": "13700001111"}}
    r = client.post("/api/v1/cases", json=body, headers=insp)
    assert r.status_code == 201, r.get_json()
    lead = r.get_json()
    assert lead["handling_unit"] == "D360800", lead
    assert lead["reporter"]["name"] == "赵六"
    assert lead["status"] == "received"
    r = client.post(f"/api/v1/cases/{lead['id']}/actions/register", json={"version": lead["version"]}, headers=insp)
    assert r.status_code == 200, r.get_json()
    lead = r.get_json()
    r = client.post(f"/api/v1/cases/{lead['id']}/actions/dispose_inquiry", json={"version": lead["version"]}, headers=dsup)
    assert r.status_code == 200, r.get_json()
    assert [c["name"] for c in r.get_json()["clocks"]] == ["reporter_notice", "inquiry_answer"]
    _, clerk = make_user(role="clerk", unit="360827")
    p = client.post("/api/v1/cases", json=petition_body(), headers=clerk).get_json()
    r = client.post(f"/api/v1/cases/{p['id']}/actions/spin_off_lead", json={"version": p["version"], "title": "反映干部问题", "content": "xx", "accused": {"name": "李七", "unit": "360827"}}, headers=clerk)
    assert r.status_code == 200, r.get_json()
    links = client.get(f"/api/v1/cases/{p['id']}/links", headers=clerk).get_json()
    assert links["outside_scope"] == 1, links
    _, csup = make_user(role="supervisor", unit="360827")
    rep = client.get(f"/api/v1/cases/{p['id']}/linked-report", headers=csup)
    assert rep.status_code == 200, rep.get_json()
    assert rep.get_json()["outside_scope"] == 1
    x = client.get(f"/api/v1/cases/{p['id']}/linked-report?format=xlsx", headers=csup)
    assert x.status_code == 200
