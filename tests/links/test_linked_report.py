"""The linked-case report over a hand-drawn graph of 12 cases.

    c1 ── c2 ── c7* ── c8*          * handled in 永丰县 (360825): outside a 遂川县 viewer's scope
     \\    /
      c3 ── c4 ── c5 ── c6 ── c11 ── c12
            ┆
            c9 ── c10               ┆ an automatic same_village link, dismissed: never followed

c1-c2-c3 is a cycle. Every intake happens at its own frozen time (c5 before c4, so the timeline is
ordered by time and not by id), then c2 and c1 move on; the walk is the recursive query of
casework/links/graph.py, run on whichever database the suite points at.
"""
from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pypdf
import pytest

from casework import clock
from casework.links.service import add_link, auto_link
from tests.cases.conftest import make_id_number, petition_body

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2024, 3, 4, 9, 0, tzinfo=SHANGHAI)
VILLAGE = "360827100201"
OUTSIDE = {"c7", "c8"}
# label -> minutes after T0 of its intake
INTAKE_AT = {"c1": 0, "c2": 10, "c3": 20, "c4": 40, "c5": 30, "c6": 50, "c7": 60, "c8": 70, "c9": 80, "c10": 90,
             "c11": 100, "c12": 110}
LINKS = [("c1", "c2"), ("c2", "c3"), ("c3", "c1"), ("c3", "c4"), ("c4", "c5"), ("c5", "c6"), ("c6", "c11"),
         ("c11", "c12"), ("c2", "c7"), ("c7", "c8"), ("c9", "c10")]
LATER = [("c2", "accept", 120), ("c1", "accept", 130), ("c1", "start", 140)]
COUNTY = ("supervisor", "360827")


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture()
def graph(client, make_user, session):
    heads = {}

    def h(role, unit):
        return heads.setdefault((role, unit), make_user(role=role, unit=unit)[1])

    cases = {}
    for n, (label, minutes) in enumerate(sorted(INTAKE_AT.items(), key=lambda kv: int(kv[0][1:]))):
        region = "360825" if label in OUTSIDE else "360827"
        body = petition_body(region=region, title=f"关联案件{label}",
                             village_code=VILLAGE if label in ("c4", "c9") else None)
        body["petitioner"] = {**body["petitioner"], "id_number": make_id_number(seq=f"{n + 100}", region=region)}
        body = {k: v for k, v in body.items() if v is not None}
        with clock.frozen(at(minutes)):
            r = client.post("/api/v1/cases", json=body, headers=h("clerk", region))
        assert r.status_code == 201, r.get_json()
        cases[label] = r.get_json()
    for a, b in LINKS:
        add_link(session=session, case_id=cases[a]["id"], target_id=cases[b]["id"], type_="related", note=None,
                 actor=None)
    assert auto_link(session=session, case_id=cases["c9"]["id"]) == 1  # c4-c9, same village
    session.commit()
    (village,) = [i for i in client.get(f"/api/v1/cases/{cases['c9']['id']}/links", headers=h(*COUNTY))
                  .get_json()["items"] if i["type"] == "same_village"]
    assert client.post(f"/api/v1/cases/{cases['c9']['id']}/links/{village['id']}/dismiss",
                       headers=h(*COUNTY)).status_code == 200
    for label, action, minutes in LATER:
        version = client.get(f"/api/v1/cases/{cases[label]['id']}", headers=h("clerk", "360827")).get_json()["version"]
        with clock.frozen(at(minutes)):
            r = client.post(f"/api/v1/cases/{cases[label]['id']}/actions/{action}", json={"version": version},
                            headers=h("clerk", "360827"))
        assert r.status_code == 200, r.get_json()
    return {"cases": cases, "id": {k: v["id"] for k, v in cases.items()}, "h": h}


def report(client, graph, start="c1", who=COUNTY, **query):
    return client.get(f"/api/v1/cases/{graph['id'][start]}/linked-report", query_string=query,
                      headers=graph["h"](*who))


def labelled(graph, report_json) -> list[tuple[str, int]]:
    by_id = {v: k for k, v in graph["id"].items()}
    return [(by_id[c["id"]], c["distance"]) for c in report_json["cases"]]


def test_depth_three_from_c1(client, graph):
    r = report(client, graph, depth=3)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    # The cycle is walked once; c7 (distance 2) and c8 (3) are out of scope: counted, not shown;
    # c6 lies at 4; c9 and c10 lie only behind the dismissed link.
    assert labelled(graph, body) == [("c1", 0), ("c2", 1), ("c3", 1), ("c4", 2), ("c5", 3)]
    assert (body["depth"], body["total_connected"], body["outside_scope"]) == (3, 7, 2)
    by_id = {v: k for k, v in graph["id"].items()}
    assert sorted((by_id[link["a"]], by_id[link["b"]]) for link in body["links"]) == sorted(
        tuple(sorted(p, key=lambda x: graph["id"][x])) for p in
        [("c1", "c2"), ("c2", "c3"), ("c1", "c3"), ("c3", "c4"), ("c4", "c5")])
    number = {k: v["number"] for k, v in graph["cases"].items()}
    expected = []
    for label in ("c1", "c2", "c3", "c5", "c4"):  # by intake time: c5 came in before c4
        expected += [(number[label], "register", at(INTAKE_AT[label])), (number[label], "assign", at(INTAKE_AT[label]))]
    expected += [(number[label], action, at(minutes)) for label, action, minutes in LATER]
    assert [(e["number"], e["action"], datetime.fromisoformat(e["at"])) for e in body["timeline"]] == expected
    assert [e["action"] for e in body["cases"][0]["events"]] == ["register", "assign", "accept", "start"]
    assert body["cases"][0]["petitioner"]["name"] == "张*"  # masked, even for the handling unit's supervisor


@pytest.mark.parametrize("depth,reached,outside", [
    (1, [("c1", 0), ("c2", 1), ("c3", 1)], 0),
    (6, [("c1", 0), ("c2", 1), ("c3", 1), ("c4", 2), ("c5", 3), ("c6", 4), ("c11", 5), ("c12", 6)], 2),
])
def test_depth_limits_the_walk(client, graph, depth, reached, outside):
    body = report(client, graph, depth=depth).get_json()
    assert labelled(graph, body) == reached
    assert body["outside_scope"] == outside


@pytest.mark.parametrize("depth", [0, 7])
def test_depth_is_one_to_six(client, graph, depth):
    r = report(client, graph, depth=depth)
    assert r.status_code == 422 and "depth" in r.get_json()["errors"]


def test_a_wider_viewer_sees_the_other_county(client, graph):
    body = report(client, graph, who=("supervisor", "360800"), depth=3).get_json()
    assert labelled(graph, body) == [("c1", 0), ("c2", 1), ("c3", 1), ("c4", 2), ("c7", 2), ("c5", 3), ("c8", 3)]
    assert body["outside_scope"] == 0


def test_who_may_pull_the_report(client, graph):
    assert report(client, graph, who=("clerk", "360827")).status_code == 403
    assert report(client, graph, start="c7").status_code == 404  # out of scope, not revealed
    assert report(client, graph, who=("inspector", "360827")).status_code == 200


def test_xlsx_has_the_cases_and_the_timeline(client, graph):
    json_body = report(client, graph, depth=3).get_json()
    r = report(client, graph, depth=3, format="xlsx")
    assert r.status_code == 200 and r.headers["Content-Disposition"].startswith("attachment")
    wb = openpyxl.load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["关联案件", "时间线"]
    rows = [row for row in wb["关联案件"].iter_rows(values_only=True) if any(v is not None for v in row)]
    assert rows[0][:3] == ("编号", "类型", "状态")
    assert [row[0] for row in rows[1:-1]] == [c["number"] for c in json_body["cases"]]
    assert rows[-1][0] == "权限范围外关联案件：2 件"
    timeline = list(wb["时间线"].iter_rows(values_only=True))
    assert timeline[0][:4] == ("时间", "编号", "序号", "动作")
    assert [(row[1], row[3]) for row in timeline[1:]] == [(e["number"], e["action"]) for e in json_body["timeline"]]


def test_pdf_names_the_cases_in_scope_only(client, graph):
    r = report(client, graph, depth=3, format="pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(r.data)).pages).replace("\x00", "")
    numbers = {k: v["number"] for k, v in graph["cases"].items()}
    assert [k for k in numbers if numbers[k] in text] == ["c1", "c2", "c3", "c4", "c5"]
    assert "权限范围外关联案件：2" in text.replace(" ", "")
