"""Reporter confidentiality (举报人保密): a matrix of viewers × channels.

One real-name lead at D360800 and a lead spun off a petition of 遂川县 (it copies the petitioner as its
reporter), linked to each other. Every viewer reads every channel; the reporter's name and phone (unusual
strings, so a plain substring search is a fair test) may appear only where the rule allows: the owning
discipline unit's inspectors reading the lead itself — and, for the petitioner, the petition's own handlers
reading the petition. The server log written during the test must never carry them.
"""
from __future__ import annotations

import io
import json
import logging
from collections import Counter
from datetime import date
from types import SimpleNamespace

import openpyxl
import pypdf
import pytest
import sqlalchemy as sa

from casework.cases.models import AccessEvent
from casework.db import utcnow
from casework.exports.xlsx import XLSX_MIMETYPE
from casework.notifications.models import Notification
from tests.cases.conftest import make_id_number, petition_body
from tests.leads import OWNER, lead_body

REPORTER = {"name": "举报人甲某", "phone": "13900001111"}
PETITIONER_ID = make_id_number("19750505", "918")
PETITIONER = {"name": "信访人乙某", "phone": "13900002222", "id_number": PETITIONER_ID,
              "address": "江西省吉安市遂川县泉江镇某村"}
SECRETS = {"reporter": (REPORTER["name"], REPORTER["phone"]),
           "petitioner": (PETITIONER["name"], PETITIONER["phone"], PETITIONER_ID)}

VIEWERS = {
    "owner_inspector": ("inspector", OWNER), "owner_supervisor": ("supervisor", OWNER),
    "parent_inspector": ("inspector", "D360000"), "parent_supervisor": ("supervisor", "D360000"),
    "sibling_inspector": ("inspector", "D360700"),
    "county_clerk": ("clerk", "360827"), "county_supervisor": ("supervisor", "360827"),
    "city_supervisor": ("supervisor", "360800"), "ministry_admin": ("admin", "100000"),
}
OWNERS = {"owner_inspector", "owner_supervisor"}
PETITION_HANDLERS = {"county_clerk", "county_supervisor"}  # they took the petitioner in; they see them in full
# What GET /cases/{lead} answers each viewer: the lead is visible in the discipline tree above its owner only.
LEAD_READ = {"owner_inspector": 200, "owner_supervisor": 200, "parent_inspector": 200, "parent_supervisor": 200,
             "sibling_inspector": 404, "county_clerk": 404, "county_supervisor": 404, "city_supervisor": 404,
             "ministry_admin": 404}


def allowed(secret: str, viewer: str, channel: str) -> bool:
    if secret == "reporter":
        return viewer in OWNERS and channel == "case:lead"
    return (viewer in OWNERS and channel == "case:spin_off") or \
        (viewer in PETITION_HANDLERS and channel == "case:petition")


@pytest.fixture()
def server_log():
    """Everything logged while the test runs: the request log (propagate=False) and all other loggers."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    targets = [logging.getLogger("casework.request"), logging.getLogger()]
    app_logger = logging.getLogger("casework")
    level = app_logger.level
    app_logger.setLevel(logging.DEBUG)
    for target in targets:
        target.addHandler(handler)
    yield stream
    for target in targets:
        target.removeHandler(handler)
    app_logger.setLevel(level)


@pytest.fixture()
def world(client, make_user, server_log):
    users = {name: make_user(role=role, unit=unit) for name, (role, unit) in VIEWERS.items()}
    headers = {name: h for name, (_, h) in users.items()}
    r = client.post("/api/v1/cases", json=lead_body(reporter=REPORTER), headers=headers["owner_inspector"])
    assert r.status_code == 201, r.get_json()
    lead = r.get_json()
    petition = client.post("/api/v1/cases", json=petition_body(petitioner=PETITIONER),
                           headers=headers["county_clerk"]).get_json()
    r = client.post(f"/api/v1/cases/{petition['id']}/actions/spin_off_lead", headers=headers["county_clerk"],
                    json={"version": petition["version"], "title": "反映村干部截留低保金",
                          "content": "信访人反映村干部截留其低保金。", "accused": {"name": "李某某", "unit": "360827"}})
    assert r.status_code == 200, r.get_json()
    spin_id = [e for e in client.get(f"/api/v1/cases/{petition['id']}/events", headers=headers["county_clerk"])
               .get_json()["items"] if e["action"] == "spin_off_lead"][0]["params"]["lead_id"]
    r = client.post(f"/api/v1/cases/{lead['id']}/links", json={"target": spin_id, "type": "related"},
                    headers=headers["owner_inspector"])
    assert r.status_code == 201, r.get_json()
    return SimpleNamespace(users={n: u for n, (u, _) in users.items()}, headers=headers,
                           cases={"lead": lead["id"], "spin_off": spin_id, "petition": petition["id"]},
                           numbers={"lead": lead["number"], "petition": petition["number"]})


def text_of(r) -> str:
    """The answer as searchable text: JSON re-dumped unescaped, workbook cells, PDF text."""
    if r.is_json:
        return json.dumps(r.get_json(), ensure_ascii=False)
    if r.mimetype == XLSX_MIMETYPE:
        wb = openpyxl.load_workbook(io.BytesIO(r.data))
        return "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
                         if v is not None)
    if r.mimetype == "application/pdf":
        # pypdf puts a NUL before each character of the two-byte font (see tests/exports/test_pdf.py).
        return "\n".join(page.extract_text().replace("\x00", "") for page in pypdf.PdfReader(io.BytesIO(r.data)).pages)
    return r.get_data(as_text=True)


def channels(client, w, viewer: str) -> dict:
    h = w.headers[viewer]
    out = {}
    for name, case_id in w.cases.items():
        out[f"case:{name}"] = client.get(f"/api/v1/cases/{case_id}", headers=h)
        out[f"events:{name}"] = client.get(f"/api/v1/cases/{case_id}/events", headers=h)
        out[f"links:{name}"] = client.get(f"/api/v1/cases/{case_id}/links", headers=h)
    out["list"] = client.get("/api/v1/cases?page_size=200", headers=h)
    for secret in (*SECRETS["reporter"], *SECRETS["petitioner"]):
        out[f"search:{secret}"] = client.get("/api/v1/cases", query_string={"q": secret, "page_size": 200}, headers=h)
    for name in ("lead", "petition"):
        for fmt in ("json", "xlsx", "pdf"):
            out[f"report:{name}:{fmt}"] = client.get(f"/api/v1/cases/{w.cases[name]}/linked-report",
                                                     query_string={"format": fmt}, headers=h)
    out["notifications"] = client.get("/api/v1/notifications?page_size=200", headers=h)
    return out


def lead_reads(session, user_id: int) -> list[int]:
    return sorted(session.scalars(sa.select(AccessEvent.case_id).where(AccessEvent.user_id == user_id,
                                                                       AccessEvent.purpose == "lead_read")))


@pytest.mark.parametrize("viewer", sorted(VIEWERS))
def test_reporter_only_where_allowed(client, session, world, server_log, viewer):
    user = world.users[viewer]
    reads_before = lead_reads(session, user.id)
    answers = channels(client, world, viewer)

    leaks = []
    for channel, r in answers.items():
        assert r.status_code in (200, 403, 404), (channel, r.status_code, r.get_data(as_text=True)[:300])
        text = text_of(r)
        for secret, values in SECRETS.items():
            for value in values:
                if (value in text) != allowed(secret, viewer, channel):
                    seen = "shown" if value in text else "missing"
                    leaks.append(f"{channel}: {value} {seen} (status {r.status_code})")
    assert leaks == []

    # The reporter is not findable: a search by name or phone finds no case, for anyone.
    for secret in (*SECRETS["reporter"], *SECRETS["petitioner"]):
        if answers[f"search:{secret}"].status_code == 200:
            assert answers[f"search:{secret}"].get_json()["total"] == 0
    # The jurisdiction the matrix ran under, and what a non-owner in scope learns: that a named reporter exists.
    assert answers["case:lead"].status_code == LEAD_READ[viewer]
    if LEAD_READ[viewer] == 200 and viewer not in OWNERS:
        assert answers["case:lead"].get_json()["reporter"] == {"exists": True, "real_name": True}
    if answers["list"].status_code == 200:  # lists are masked even for the owners
        for item in answers["list"].get_json()["items"]:
            assert item["reporter"] in (None, {"exists": True, "real_name": True}), item
    # The reports really were read (a blank extraction would make the check above pass vacuously).
    for name in ("lead", "petition"):
        for fmt in ("json", "xlsx", "pdf"):
            r = answers[f"report:{name}:{fmt}"]
            if r.status_code == 200:
                assert world.numbers[name] in text_of(r), (name, fmt)
    # Each full read of a reporter is audited; nothing else writes that record.
    expected_reads = Counter([world.cases["lead"], world.cases["spin_off"]] if viewer in OWNERS else [])
    assert Counter(lead_reads(session, user.id)) - Counter(reads_before) == expected_reads
    assert len(lead_reads(session, user.id)) - len(reads_before) == sum(expected_reads.values())

    log = server_log.getvalue()
    assert "/api/v1/cases" in log  # the capture works: the request log is in it
    assert [v for values in SECRETS.values() for v in values if v in log] == []


def test_webhook_bodies_and_bulletins_carry_no_reporter(session, world, server_log):
    from casework.bulletins.config import load_config
    from casework.bulletins.service import build, request_build
    from casework.notifications.webhooks import body_for
    from casework.sla.deadlines import SHANGHAI

    notes = session.scalars(sa.select(Notification).where(Notification.case_id.in_(list(world.cases.values())))).all()
    assert {n.case_id for n in notes} >= {world.cases["lead"], world.cases["spin_off"]}  # both leads notified
    secrets = [v for values in SECRETS.values() for v in values]
    for n in notes:
        body = body_for(session=session, notification=n).decode()
        assert [s for s in secrets if s in body] == [], body
        assert json.loads(body)["case"]["id"] == n.case_id
    now = utcnow()
    today = now.astimezone(SHANGHAI).date()
    for unit in ("360000", "100000"):
        bulletin, _ = request_build(session=session, unit_code=unit, kind="month",
                                    start=date(today.year, today.month, 1), actor=None, now=now)
        figures = json.dumps(build(session=session, bulletin_id=bulletin.id, now=now, cfg=load_config()).figures,
                             ensure_ascii=False)
        assert bulletin.state == "done" and figures.startswith("{")
        assert [s for s in secrets if s in figures] == []
    assert [s for s in secrets if s in server_log.getvalue()] == []


BAD_INTAKES = {
    "phone too short": dict(reporter={"name": REPORTER["name"], "phone": "1390000111"}),
    "phone not mobile": dict(reporter={"name": REPORTER["name"], "phone": "12900001111"}),
    "name without phone": dict(reporter={"name": REPORTER["name"]}),
    "bad id number": dict(reporter={**REPORTER, "id_number": "360827197505059999"}),
    "name too long": dict(reporter={"name": REPORTER["name"] * 20, "phone": REPORTER["phone"]}),
    "unknown region": dict(reporter=REPORTER, region="369999"),
    "unknown accused unit": dict(reporter=REPORTER, accused={"name": "王某某", "unit": "369999"}),
    "petitioner on a lead": dict(reporter=REPORTER, petitioner=REPORTER),
}


@pytest.mark.parametrize("case", sorted(BAD_INTAKES))
@pytest.mark.parametrize("who", [("inspector", OWNER), ("clerk", "360827")])  # the clerk may not take leads in
def test_refused_intake_does_not_echo_the_reporter(client, make_user, server_log, case, who):
    _, headers = make_user(role=who[0], unit=who[1])
    r = client.post("/api/v1/cases", json=lead_body(**BAD_INTAKES[case]), headers=headers)
    assert r.status_code in (403, 422), r.get_json()
    assert r.mimetype == "application/problem+json"
    body = json.dumps(r.get_json(), ensure_ascii=False)
    echoed = [v for v in (REPORTER["name"], REPORTER["phone"], "1390000111", "12900001111") if v in body]
    assert echoed == [], body
    assert [v for v in (REPORTER["name"], REPORTER["phone"]) if v in server_log.getvalue()] == []
