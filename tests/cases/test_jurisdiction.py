"""Jurisdiction of case reads and writes, list filters, search and pagination."""
from __future__ import annotations

import pytest

from tests.cases.conftest import complaint_body, make_id_number, petition_body

A, B, CITY, PROVINCE, OTHER_PROVINCE = "360827", "360825", "360800", "360000", "430000"


def _list(client, headers, **params):
    r = client.get("/api/v1/cases", query_string=params, headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _ids(client, headers, **params) -> set[int]:
    return {c["id"] for c in _list(client, headers, **params)["items"]}


@pytest.fixture()
def two_counties(make_user, intake):
    """One case handled in 遂川县 (A) and one in 永丰县 (B), each logged by its own clerk."""
    _, clerk_a = make_user(role="clerk", unit=A)
    _, clerk_b = make_user(role="clerk", unit=B)
    case_a = intake(clerk_a, title="遂川低保停发", content="村里低保名单不公开")
    case_b = intake(clerk_b, region=B, title="永丰养老补贴", content="高龄补贴迟迟未发",
                    petitioner={"name": "王五", "id_number": make_id_number(region=B), "phone": "13700001111"})
    assert (case_a["handling_unit"], case_b["handling_unit"]) == (A, B)
    return clerk_a, clerk_b, case_a, case_b


def test_clerk_of_another_county_can_neither_list_read_nor_act(client, act, make_user, two_counties):
    clerk_a, clerk_b, case_a, case_b = two_counties
    _, supervisor_a = make_user(role="supervisor", unit=A)
    assert _ids(client, clerk_a) == {case_a["id"]}
    assert _ids(client, clerk_b) == {case_b["id"]}
    for headers, foreign in ((clerk_a, case_b), (supervisor_a, case_b), (clerk_b, case_a)):
        # 404, not 403: a case outside the caller's jurisdiction is not revealed to exist.
        for r in (client.get(f"/api/v1/cases/{foreign['id']}", headers=headers),
                  client.get(f"/api/v1/cases/{foreign['id']}/events", headers=headers),
                  act(headers, foreign, "accept"),
                  act(headers, foreign, "transfer", unit=A)):
            assert r.status_code == 404 and r.content_type == "application/problem+json", r.get_json()
    # The refused writes changed nothing: B's case is still where it was.
    own = client.get(f"/api/v1/cases/{case_b['id']}", headers=clerk_b).get_json()
    assert own["status"] == "assigned" and own["version"] == case_b["version"]


def test_a_missing_case_answers_like_a_foreign_one(client, two_counties):
    clerk_a, _, _, case_b = two_counties
    foreign = client.get(f"/api/v1/cases/{case_b['id']}", headers=clerk_a)
    missing = client.get("/api/v1/cases/999999999", headers=clerk_a)
    assert foreign.status_code == missing.status_code == 404
    assert set(foreign.get_json()) == set(missing.get_json())


@pytest.mark.parametrize("role, unit, sees", [
    ("supervisor", CITY, {"a", "b"}),
    ("inspector", CITY, {"a", "b"}),
    ("supervisor", PROVINCE, {"a", "b"}),
    ("inspector", "100000", {"a", "b"}),
    ("supervisor", OTHER_PROVINCE, set()),
    ("clerk", "430502", set()),
    ("supervisor", "360700", set()),  # 赣州市: same province, another city
])
def test_scope_is_the_callers_subtree(client, make_user, two_counties, role, unit, sees):
    _, _, case_a, case_b = two_counties
    by_name = {"a": case_a["id"], "b": case_b["id"]}
    _, headers = make_user(role=role, unit=unit)
    page = _list(client, headers)
    assert {c["id"] for c in page["items"]} == {by_name[n] for n in sees} and page["total"] == len(sees)
    for name, case_id in by_name.items():
        expected = 200 if name in sees else 404
        assert client.get(f"/api/v1/cases/{case_id}", headers=headers).status_code == expected
        assert client.get(f"/api/v1/cases/{case_id}/events", headers=headers).status_code == expected


def test_unit_filter_narrows_within_scope_only(client, make_user, two_counties):
    clerk_a, _, case_a, case_b = two_counties
    _, city = make_user(role="supervisor", unit=CITY)
    assert _ids(client, city, unit=CITY) == {case_a["id"], case_b["id"]}
    assert _ids(client, city, unit=A) == {case_a["id"]}
    assert _ids(client, city, unit=B) == {case_b["id"]}
    assert _ids(client, city, unit=PROVINCE) == {case_a["id"], case_b["id"]}  # still capped by the scope
    # A unit outside the caller's scope matches nothing; an unknown one neither.
    for unit in (B, OTHER_PROVINCE, "430502", "999999", "D360827"):
        page = _list(client, clerk_a, unit=unit)
        assert (page["items"], page["total"]) == ([], 0), unit
    # An ancestor's code does not widen the clerk's view beyond its own county.
    for unit in (A, CITY, "100000"):
        assert _ids(client, clerk_a, unit=unit) == {case_a["id"]}, unit


def test_search_by_title_and_content_within_scope(client, make_user, intake, two_counties):
    clerk_a, _, case_a, case_b = two_counties
    _, clerk_hn = make_user(role="clerk", unit="430502")
    # Same words in 湖南: must never show up for 江西 users.
    hunan = intake(clerk_hn, region="430502", title="遂川低保停发（湖南同名）", content="村里低保名单不公开",
                   petitioner={"name": "赵六", "id_number": make_id_number(region="430502"),
                               "phone": "13600002222"})
    _, city = make_user(role="supervisor", unit=CITY)
    _, ministry = make_user(role="supervisor", unit="100000")
    assert _ids(client, city, q="低保停") == {case_a["id"]}            # title substring
    assert _ids(client, city, q="名单不公") == {case_a["id"]}          # content substring
    assert _ids(client, city, q="补贴") == {case_b["id"]}
    assert _ids(client, clerk_a, q="补贴") == set()                    # B's case is out of A's scope
    assert _ids(client, ministry, q="名单不公") == {case_a["id"], hunan["id"]}
    assert _ids(client, clerk_hn, q="名单") == {hunan["id"]}
    assert _ids(client, city, q="没有这句话") == set()
    # LIKE wildcards are literal characters, not "anything".
    assert _ids(client, city, q="%") == set() and _ids(client, city, q="_") == set()


def test_filters(client, act, make_user, intake):
    _, clerk = make_user(role="clerk", unit=A)
    old = intake(clerk, received_at="2025-01-10T09:00:00+08:00", category="tekun", title="特困供养")
    new = intake(clerk, received_at="2025-03-10T09:00:00+08:00", region=A)
    complaint = intake(clerk, complaint_body(received_at="2025-02-10T09:00:00+08:00"))
    _, clerk_b = make_user(role="clerk", unit=B)
    other_region = intake(clerk_b, region=B, received_at="2025-02-20T09:00:00+08:00")
    assert act(clerk, new, "accept").status_code == 200
    _, city = make_user(role="supervisor", unit=CITY)
    everything = {old["id"], new["id"], complaint["id"], other_region["id"]}
    assert _ids(client, city) == everything
    assert _ids(client, city, kind="complaint") == {complaint["id"]}
    assert _ids(client, city, kind="petition") == everything - {complaint["id"]}
    assert _ids(client, city, status="accepted") == {new["id"]}
    assert _ids(client, city, status="assigned") == everything - {new["id"]}
    assert _ids(client, city, category="tekun") == {old["id"]}
    assert _ids(client, city, region=B) == {other_region["id"]}
    assert _ids(client, city, received_from="2025-02-01T00:00:00+08:00") == everything - {old["id"]}
    assert _ids(client, city, received_to="2025-02-01T00:00:00+08:00") == {old["id"]}
    assert _ids(client, city, received_from="2025-02-01T00:00:00+08:00",
                received_to="2025-03-01T00:00:00+08:00") == {complaint["id"], other_region["id"]}
    # Filters combine with AND.
    assert _ids(client, city, kind="petition", region=A, status="assigned") == {old["id"]}
    # Newest first by default.
    assert [c["id"] for c in _list(client, city)["items"]] == [new["id"], other_region["id"], complaint["id"],
                                                               old["id"]]


@pytest.mark.parametrize("params, field", [
    ({"kind": "appeal"}, "kind"),
    ({"category": "housing"}, "category"),
    ({"region": "36082"}, "region"),
    ({"received_from": "2025-02-01"}, "received_from"),
    ({"received_to": "2025-02-01T00:00:00"}, "received_to"),  # no offset: ambiguous
    ({"page_size": 201}, "page_size"),
    ({"page_size": 0}, "page_size"),
    ({"page": 0}, "page"),
    ({"page": "first"}, "page"),
    ({"page": 10 ** 20}, "page"),  # must not reach the database as an offset it cannot hold
    ({"q": ""}, "q"),
    ({"q": "低保\x00"}, "q"),                                   # NUL: PostgreSQL refused the query (a 500)
    ({"received_from": "0001-01-01T00:00:00+08:00"}, "received_from"),  # before datetime.min in UTC (a 500)
    ({"sort": "title"}, "sort"),
])
def test_bad_list_parameters_are_422(client, make_user, params, field):
    _, clerk = make_user(role="clerk", unit=A)
    r = client.get("/api/v1/cases", query_string=params, headers=clerk)
    assert r.status_code == 422 and r.content_type == "application/problem+json", r.get_data(as_text=True)
    assert field in r.get_json()["errors"]


def test_pagination_envelope(client, make_user, intake):
    _, clerk = make_user(role="clerk", unit=A)
    made = [intake(clerk, received_at=f"2025-01-1{i}T09:00:00+08:00", title=f"第{i}件")["id"] for i in range(5)]
    newest_first = made[::-1]
    first = _list(client, clerk, page_size=2)
    assert set(first) == {"items", "total", "page", "page_size"}
    assert (first["total"], first["page"], first["page_size"]) == (5, 1, 2)
    pages = [first] + [_list(client, clerk, page=p, page_size=2) for p in (2, 3)]
    assert [c["id"] for p in pages for c in p["items"]] == newest_first
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    beyond = _list(client, clerk, page=4, page_size=2)
    assert (beyond["items"], beyond["total"], beyond["page"]) == ([], 5, 4)
    default = _list(client, clerk)
    assert (default["page"], default["page_size"], len(default["items"])) == (1, 50, 5)
    biggest = _list(client, clerk, page_size=200)
    assert biggest["page_size"] == 200 and len(biggest["items"]) == 5
    # Lists always mask, even for the handling clerk.
    assert all("*" in c["petitioner"]["id_number"] for c in default["items"])


@pytest.mark.parametrize("case_id", [2**31, 10**20])
def test_ids_beyond_the_column_are_404_not_500(client, act, make_user, case_id):
    _, clerk = make_user(role="clerk", unit=A)
    for r in (client.get(f"/api/v1/cases/{case_id}", headers=clerk),
              client.get(f"/api/v1/cases/{case_id}/events", headers=clerk),
              act(clerk, {"id": case_id, "version": 1}, "accept")):
        assert r.status_code == 404 and r.content_type == "application/problem+json", r.get_data(as_text=True)


def test_a_list_page_reads_its_clocks_in_one_query(make_user, intake, client, session):
    import sqlalchemy as sa

    _, clerk = make_user(role="clerk", unit=A)
    made = [intake(clerk, title=f"事项{i}", content="低保") for i in range(4)]
    statements: list[str] = []
    engine = session.get_bind().engine if hasattr(session.get_bind(), "engine") else session.get_bind()
    listen = lambda *a: statements.append(a[2])  # noqa: E731  (conn, cursor, statement, ...)
    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        page = _list(client, clerk, page_size=10)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    assert {c["id"] for c in made} <= {c["id"] for c in page["items"]}
    assert all(c["clocks"] and c["clocks"][0]["name"] == "acceptance" for c in page["items"])
    assert len([s for s in statements if "FROM case_clocks" in s]) == 1
