"""The bulletins API: request (202 + job), the job, reading, exports, scope, bad input, and the cron's batch."""
from __future__ import annotations

import io
import re
from datetime import timezone

import openpyxl
import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from casework import clock
from casework.bulletins.models import Bulletin
from casework.outbox.models import OutboxMessage
from tests.bulletins.fixture import bj
from tests.cases.conftest import complaint_body, petition_body
from workers import jobs

NOW = bj(12, 1, 9).astimezone(timezone.utc)  # requests are made on 1 December, 09:00 Beijing time
NOVEMBER = {"unit": "360800", "period": "month", "start": "2026-11-01"}
TITLE = "吉安市民政局2026年11月民政领域群众诉求办理情况通报"


def post(client, headers, body, at=NOW):
    with clock.frozen(at):
        return client.post("/api/v1/bulletins", json=body, headers=headers)


@pytest.fixture()
def city(make_user):
    return make_user(role="supervisor", unit="360800")[1]


@pytest.fixture()
def two_cases(client, make_user):
    """A petition left waiting and a complaint closed in November, at 遂川县."""
    _, clerk = make_user(role="clerk", unit="360827")
    ids = []
    for when, body in ((bj(11, 2), petition_body()), (bj(11, 3), complaint_body())):
        with clock.frozen(when.astimezone(timezone.utc)):
            r = client.post("/api/v1/cases", json=dict(body, received_at=when.isoformat()), headers=clerk)
        assert r.status_code == 201, r.get_json()
        ids.append(r.get_json())
    complaint = ids[1]
    for action, params in (("contact", {}), ("handle", {}), ("visit_back", {"satisfaction": "satisfied"}),
                           ("close", {})):
        with clock.frozen(bj(11, 4).astimezone(timezone.utc)):
            r = client.post(f"/api/v1/cases/{complaint['id']}/actions/{action}",
                            json=dict(params, version=complaint["version"]), headers=clerk)
        assert r.status_code == 200, r.get_json()
        complaint = r.get_json()
    return ids


def test_request_queue_run_read_and_export(client, session, city, two_cases):
    r = post(client, city, NOVEMBER)
    assert r.status_code == 202, r.get_json()
    queued = r.get_json()
    assert {k: queued[k] for k in ("unit", "period", "start", "end", "version", "state", "figures", "built_at")} == \
        {"unit": "360800", "period": "month", "start": "2026-11-01", "end": "2026-12-01", "version": 1,
         "state": "queued", "figures": None, "built_at": None}
    # The job is the outbox row written with the bulletin: it names the job function and the bulletin.
    message = session.scalar(sa.select(OutboxMessage).where(OutboxMessage.func == "workers.jobs.build_bulletin"))
    assert queued["job_id"] == message.job_id and message.kwargs == {"bulletin_id": queued["id"]}
    assert message.queue == "reports"

    url = f"/api/v1/bulletins/{queued['id']}"
    assert client.get(url, headers=city).get_json()["state"] == "queued"
    for suffix in (".xlsx", ".pdf"):
        answer = client.get(url + suffix, headers=city)
        assert answer.status_code == 409 and "state" in answer.get_json()["errors"]

    with clock.frozen(NOW):
        assert jobs.build_bulletin(**message.kwargs) == "done"
        assert jobs.build_bulletin(**message.kwargs) == "done"  # idempotent: a retry leaves it as built
    built = client.get(url, headers=city).get_json()
    assert built["state"] == "done" and built["built_at"] == "2026-12-01T09:00:00+08:00"
    summary = built["figures"]["summary"]
    assert built["figures"]["title"] == TITLE
    assert (summary["received"]["value"], summary["closed"]["value"], summary["accepted"]["value"]) == (2, 1, 1)
    assert summary["received"]["previous"] is None  # nothing was received before November: no 环比

    xlsx = client.get(url + ".xlsx", headers=city)
    assert xlsx.status_code == 200 and f"bulletin-{queued['id']}.xlsx" in xlsx.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data))["汇总"]
    assert (sheet["A1"].value, sheet["A3"].value, sheet["B3"].value) == (TITLE, "收件量", 2)
    pdf = client.get(url + ".pdf", headers=city)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    text = re.sub(r"[\s\x00]+", "", PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text())
    assert text.startswith(TITLE)

    again = post(client, city, NOVEMBER).get_json()
    assert (again["version"], again["state"]) == (2, "queued") and again["id"] != queued["id"]


def test_list_filters_by_unit_and_period(client, city):
    requests = [NOVEMBER, dict(NOVEMBER, period="week", start="2026-11-23"), dict(NOVEMBER, unit="360827"),
                dict(NOVEMBER, period="quarter", start="2026-10-01")]
    ids = [post(client, city, body).get_json()["id"] for body in requests]

    def listed(query: str) -> list[int]:
        r = client.get(f"/api/v1/bulletins{query}", headers=city)
        assert r.status_code == 200, r.get_json()
        return [item["id"] for item in r.get_json()["items"]]

    assert sorted(listed("")) == sorted(ids)
    assert sorted(listed("?unit=360800")) == sorted([ids[0], ids[1], ids[3]])
    assert listed("?period=week") == [ids[1]]
    assert listed("?unit=360800&period=month") == [ids[0]]
    assert listed("?unit=360827") == [ids[2]]
    assert listed("?unit=430000") == []
    assert client.get("/api/v1/bulletins?period=fortnight", headers=city).status_code == 422


@pytest.mark.parametrize("role, unit, post_status, read_status", [
    ("clerk", "360800", 403, 403),  # bulletins are for supervisors, inspectors and admins
    ("supervisor", "430000", 403, 404),  # 湖南: 360800 is outside its subtree, and its bulletins do not exist for it
    ("supervisor", "360827", 403, 404),  # a county cannot build or read its city's
    ("supervisor", "360000", 202, 200),  # 江西 can
    ("inspector", "360800", 202, 200),
])
def test_scope(client, make_user, city, role, unit, post_status, read_status):
    bulletin = post(client, city, NOVEMBER).get_json()
    _, headers = make_user(role=role, unit=unit)
    r = post(client, headers, NOVEMBER)
    assert r.status_code == post_status, r.get_json()
    if post_status == 403 and role != "clerk":
        assert "unit" in r.get_json()["errors"]
    for suffix in ("", ".xlsx", ".pdf"):
        answer = client.get(f"/api/v1/bulletins/{bulletin['id']}{suffix}", headers=headers)
        # A reader in scope gets the bulletin, and 409 for its files while it is still queued.
        assert answer.status_code == (409 if read_status == 200 and suffix else read_status), suffix
    listed = client.get("/api/v1/bulletins", headers=headers)
    assert listed.status_code == (403 if role == "clerk" else 200)
    if read_status == 404:
        assert listed.get_json()["total"] == 0


@pytest.mark.parametrize("bulletin_id", [0, 2**31, 345983243954186065740477439294832640])
def test_ids_beyond_the_column_are_not_found(client, city, bulletin_id):
    for suffix in ("", ".xlsx", ".pdf"):
        assert client.get(f"/api/v1/bulletins/{bulletin_id}{suffix}", headers=city).status_code == 404


@pytest.mark.parametrize("body, field, says", [
    (dict(NOVEMBER, period="week", start="2026-11-24"), "start", "Monday"),  # a Tuesday
    (dict(NOVEMBER, start="2026-11-02"), "start", "1st"),
    (dict(NOVEMBER, period="quarter", start="2026-11-01"), "start", "October"),
    (dict(NOVEMBER, start="2027-01-01"), "start", "future"),
    (dict(NOVEMBER, start="2026-13-01"), "start", ""),
    (dict(NOVEMBER, period="fortnight"), "period", ""),
    (dict(NOVEMBER, unit="999999"), "unit", "unknown"),
    (dict(NOVEMBER, unit="D36080"), "unit", ""),
    ({"unit": "360800", "period": "month"}, "start", ""),
])
def test_bad_requests_name_the_field(client, city, body, field, says):
    r = post(client, city, body)
    assert r.status_code == 422, r.get_json()
    errors = r.get_json()["errors"]
    assert field in errors and says in " ".join(errors[field]), errors


@pytest.mark.parametrize("at, start, status", [
    # 1 December 01:00 in Beijing is still 30 November in UTC, but December has begun: it may be requested.
    (bj(12, 1, 1), "2026-12-01", 202),
    (bj(11, 30, 23), "2026-12-01", 422),
    (bj(12, 1, 1), "2026-11-30", 202),  # the week of Monday 30 November
])
def test_a_period_may_be_requested_from_its_first_beijing_day(client, city, at, start, status):
    kind = "week" if start.endswith("30") else "month"
    r = post(client, city, dict(NOVEMBER, period=kind, start=start), at=at.astimezone(timezone.utc))
    assert r.status_code == status, r.get_json()
    if status == 422:
        assert r.get_json()["errors"] == {"start": ["in the future"]}


def test_scheduled_month_builds_every_ministry_province_and_city_in_one_go(client, session, city, two_cases):
    from casework.bulletins.config import load_config
    from casework.bulletins.service import build, request_build

    # The monthly cron fires on the last day at 18:00 UTC = the 1st at 02:00 in Beijing.
    fired = bj(12, 1, 2).astimezone(timezone.utc)
    with clock.frozen(fired):
        assert jobs.build_scheduled_bulletins("month") == 373
    rows = session.execute(sa.select(Bulletin.unit_code, Bulletin.state, Bulletin.version, Bulletin.period_start)
                           .where(Bulletin.period == "month")).all()
    assert len(rows) == 373 == 1 + 34 + 338  # divisions.csv: the ministry, 34 provinces, 338 cities
    assert {(state, version, str(start)) for _, state, version, start in rows} == {("done", 1, "2026-11-01")}
    by_unit = {b.unit_code: b for b in session.scalars(sa.select(Bulletin).where(Bulletin.period == "month"))}
    for code in ("100000", "360000", "360800"):  # the two cases count all the way up
        assert by_unit[code].figures["summary"]["received"]["value"] == 2
    assert by_unit["430000"].figures["summary"]["received"]["value"] == 0
    assert by_unit["100000"].figures["title"] == "中华人民共和国民政部2026年11月民政领域群众诉求办理情况通报"
    assert len(by_unit["100000"].figures["children"]) == 34

    # The batch's one aggregation gives 吉安 the same figures as building its bulletin alone.
    with clock.frozen(fired):
        alone, _ = request_build(session=session, unit_code="360800", kind="month",
                                 start=by_unit["360800"].period_start, actor=None, now=clock.now())
        build(session=session, bulletin_id=alone.id, now=clock.now(), cfg=load_config())
    assert alone.version == 2 and alone.figures["history"][-1] == by_unit["360800"].figures["history"][-1]
    strip = lambda f: {k: v for k, v in f.items() if k != "history"}  # noqa: E731 (v2 also sees v1 in history)
    assert strip(alone.figures) == strip(by_unit["360800"].figures)
