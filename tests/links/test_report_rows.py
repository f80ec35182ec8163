"""The linked report's set-based pieces give what the per-case ones give.

``report_cases`` (one clock query for all cases) against ``present_case(full_pii=False)``, and
``visible_among`` (the co-handling look-up restricted to the component) against ``visible_condition``.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from casework.auth.models import User
from casework.cases.access import visible_among, visible_condition
from casework.cases.models import AccessEvent, Case, CaseParticipant
from casework.cases.presenter import present_case
from casework.reports.linked import CASE_FIELDS, report_cases
from tests.leads import OWNER, lead_body
from tests.links.test_linked_report import COUNTY, graph, report  # noqa: F401 (graph is a fixture)

VIEWERS = [COUNTY, ("supervisor", "360800"), ("inspector", "360827"), ("inspector", OWNER), ("supervisor", "360825")]


@pytest.fixture()
def world(client, graph, session):  # noqa: F811
    """The 12-case graph, two leads (real-name and anonymous), and c7 co-handled by the county."""
    h = graph["h"]
    ids = dict(graph["id"])
    for label, body in (("lead", lead_body()), ("anonymous_lead", lead_body(reporter=None, anonymous=True))):
        r = client.post("/api/v1/cases", json=body, headers=h("inspector", OWNER))
        assert r.status_code == 201, r.get_json()
        ids[label] = r.get_json()["id"]
    session.add(CaseParticipant(case_id=ids["c7"], unit_code="360827", role="co"))
    session.flush()
    return {**graph, "id": ids}


def viewer_of(session, graph, who) -> User:
    graph["h"](*who)
    return session.scalar(sa.select(User).where(User.role == who[0], User.unit_code == who[1]).limit(1))


@pytest.mark.parametrize("who", VIEWERS)
def test_visible_among_is_visible_condition_on_those_ids(session, world, who):
    viewer = viewer_of(session, world, who)
    ids = sorted(world["id"].values())
    some = ids[::2]
    seen = {}
    for chosen in (ids, some, []):
        general = set(session.scalars(sa.select(Case.id).where(Case.id.in_(chosen), visible_condition(viewer))))
        seen[len(chosen)] = set(session.scalars(sa.select(Case.id).where(visible_among(viewer, chosen))))
        assert seen[len(chosen)] == general
        if session.get_bind().dialect.name == "postgresql":  # the array form the report uses there
            arrayed = set(session.scalars(sa.select(Case.id).where(visible_among(viewer, chosen, postgres=True))))
            assert arrayed == general
    if who == COUNTY:  # the co-handling branch is exercised: c7 lies in 永丰县
        assert world["id"]["c7"] in seen[len(ids)]


@pytest.mark.parametrize("who", VIEWERS)
def test_report_cases_equal_present_case(session, world, who):
    viewer = viewer_of(session, world, who)
    cases = list(session.scalars(sa.select(Case).where(Case.id.in_(list(world["id"].values())),
                                                       visible_condition(viewer)).order_by(Case.id)))
    assert cases
    before = session.scalar(sa.select(sa.func.count()).select_from(AccessEvent))
    rows = report_cases(session=session, cases=cases, viewer=viewer)
    session.flush()
    assert session.scalar(sa.select(sa.func.count()).select_from(AccessEvent)) == before  # masks: no full read
    expected = []
    for case in cases:
        shown = present_case(session=session, case=case, viewer=viewer, full_pii=False)
        expected.append({k: shown[k] for k in CASE_FIELDS})
    assert rows == expected
    assert any(r["clocks"] for r in rows)
    if who == ("inspector", OWNER):  # the owning unit's inspector: the report still only says a reporter exists
        assert {r["kind"] for r in rows} == {"lead"}
        assert sorted(str(r["reporter"]) for r in rows) == sorted(
            [str({"exists": True, "real_name": True}), str({"exists": False, "real_name": False})])


def test_report_cases_of_nothing(session, world):
    assert report_cases(session=session, cases=[], viewer=viewer_of(session, world, COUNTY)) == []


def test_co_handled_case_outside_the_county_is_a_row(client, world):
    body = report(client, world, depth=3).get_json()
    by_id = {v: k for k, v in world["id"].items()}
    assert [(by_id[c["id"]], c["distance"]) for c in body["cases"]] == [
        ("c1", 0), ("c2", 1), ("c3", 1), ("c4", 2), ("c7", 2), ("c5", 3)]
    assert body["outside_scope"] == 1  # c8


def test_pages_cover_the_component_once(client, graph):  # noqa: F811
    whole = report(client, graph, depth=3).get_json()
    assert (whole["total"], whole["page"], whole["page_size"], whole["next"]) == (5, 1, 50, None)
    seen, timeline, links, url = [], [], set(), None
    body = report(client, graph, depth=3, page_size=2).get_json()
    while True:
        assert (body["total"], body["total_connected"], body["outside_scope"], body["page_size"]) == (5, 7, 2, 2)
        assert len(body["cases"]) <= 2
        page_ids = {c["id"] for c in body["cases"]}
        seen += body["cases"]
        timeline += body["timeline"]
        assert {e["case_id"] for e in body["timeline"]} <= page_ids
        assert all(link["a"] in page_ids or link["b"] in page_ids for link in body["links"])
        links |= {link["id"] for link in body["links"]}
        url = body["next"]
        if url is None:
            break
        assert f"/api/v1/cases/{graph['id']['c1']}/linked-report?" in url and "page_size=2" in url
        body = client.get(url, headers=graph["h"](*COUNTY)).get_json()
    assert body["page"] == 3
    assert seen == whole["cases"]
    assert sorted(timeline, key=lambda e: (e["at"], e["case_id"], e["seq"])) == whole["timeline"]
    assert links == {link["id"] for link in whole["links"]}


def test_a_page_past_the_end_is_empty_and_exports_are_whole(client, graph):  # noqa: F811
    body = report(client, graph, depth=3, page=9, page_size=2).get_json()
    assert (body["cases"], body["timeline"], body["links"], body["total"], body["next"]) == ([], [], [], 5, None)
    assert report(client, graph, depth=3, page_size=201).status_code == 422
    assert report(client, graph, depth=3, page=0).status_code == 422
    import io

    import openpyxl

    r = report(client, graph, depth=3, format="xlsx", page=2, page_size=1)
    rows = [row for row in openpyxl.load_workbook(io.BytesIO(r.data))["关联案件"].iter_rows(values_only=True)
            if any(v is not None for v in row)]
    assert len(rows) == 1 + 5 + 1  # header, the five visible cases, the outside-scope line
