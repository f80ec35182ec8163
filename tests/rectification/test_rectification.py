"""Rectification ledger items (整改事项): creation, progress with evidence, 销号, the overdue sweep, the ledger."""
from __future__ import annotations

import hashlib
import io
import struct
import zlib
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy as sa

from casework import clock
from casework.rectification.models import EvidenceFile, ProgressReport
from casework.sla.models import Supervision
from casework.sla.policies import policies_for_app
from casework.sla.service import run_sweep

SHANGHAI = ZoneInfo("Asia/Shanghai")
CITY_SUP = ("supervisor", "360800")  # creates items for its counties and verifies them (the unit above)
CLERK = ("clerk", "360827")  # the responsible unit's staff
ITEM = {"source_text": "2024年市委巡察反馈：低保审核把关不严", "finding_date": "2024-03-01",
        "task": "整改低保审核把关不严问题", "measures": "逐户复核在保对象，清退不符合条件对象。",
        "deadline": "2024-03-29", "responsible_person": "张某", "responsible_unit": "360827"}


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


T0 = local(2024, 3, 4, 10)


def tiny_png() -> bytes:
    """A real 1×1 grey PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b""))


PNG = tiny_png()
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


class Items:
    def __init__(self, client, make_user):
        self.client, self._make, self._headers = client, make_user, {}

    def h(self, who) -> dict:
        if who not in self._headers:
            self._headers[who] = self._make(role=who[0], unit=who[1])[1]
        return self._headers[who]

    def create(self, who=CITY_SUP, at=T0, **overrides):
        with clock.frozen(at):
            return self.client.post("/api/v1/rectifications", json={**ITEM, **overrides}, headers=self.h(who))

    def get(self, item) -> dict:
        return self.client.get(f"/api/v1/cases/{item['id']}", headers=self.h(CITY_SUP)).get_json()

    def act(self, item, action, who=CLERK, at=T0, **params):
        params.setdefault("version", self.get(item)["version"])
        with clock.frozen(at):
            return self.client.post(f"/api/v1/cases/{item['id']}/actions/{action}", json=params, headers=self.h(who))

    def progress(self, item, percent, files=(), who=CLERK, at=T0):
        data = {"text": f"已完成{percent}%", "date": "2024-03-10", "percent": str(percent),
                "files": [(io.BytesIO(content), name, ctype) for name, ctype, content in files]}
        with clock.frozen(at):
            return self.client.post(f"/api/v1/rectifications/{item['id']}/progress", data=data, headers=self.h(who),
                                    content_type="multipart/form-data")

    def started(self, **overrides) -> dict:
        r = self.create(**overrides)
        assert r.status_code == 201, r.get_json()
        r2 = self.act(r.get_json(), "start")
        assert r2.status_code == 200, r2.get_json()
        return r2.get_json()

    def ledger(self, at, **query):
        with clock.frozen(at):
            return self.client.get("/api/v1/rectifications/ledger", query_string={"unit": "360800", **query},
                                   headers=self.h(CITY_SUP))


@pytest.fixture()
def items(client, make_user):
    return Items(client, make_user)


@pytest.fixture()
def evidence_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EVIDENCE_DIR", str(tmp_path / "evidence"))
    return tmp_path / "evidence"


def stored_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_create_assigns_the_responsible_unit_with_its_deadline(items, session):
    r = items.create()
    assert r.status_code == 201, r.get_json()
    item = r.get_json()
    assert (item["kind"], item["status"], item["handling_unit"]) == ("rectification", "assigned", "360827")
    assert item["number"].startswith("ZG-360827-2024-")
    (rect,) = item["clocks"]
    # The item's own deadline, until 24:00 of 29 March (not the policy's 30 days).
    assert (rect["name"], rect["state"], datetime.fromisoformat(rect["due_at"])) == (
        "rectification", "running", local(2024, 3, 30))
    notes = items.client.get("/api/v1/notifications", headers=items.h(CLERK)).get_json()["items"]
    assert [(n["kind"], n["case_id"]) for n in notes] == [("assignment", item["id"])]


@pytest.mark.parametrize("who,overrides,status,field", [
    (("clerk", "360800"), {}, 403, None),  # items are made by supervisors and inspectors
    (("supervisor", "360827"), {"responsible_unit": "360825"}, 403, "responsible_unit"),  # a neighbour county
    (("supervisor", "360800"), {"responsible_unit": "D360827"}, 422, "responsible_unit"),
    (("supervisor", "360800"), {"responsible_unit": "369999"}, 422, "responsible_unit"),
    (("supervisor", "360800"), {"deadline": "2024-02-28"}, 422, "deadline"),  # before the finding
    (("inspector", "D360800"), {}, 201, None),  # the city's discipline group oversees the city's counties
])
def test_create_refusals(items, who, overrides, status, field):
    r = items.create(who=who, **overrides)
    assert r.status_code == status, r.get_json()
    if field:
        assert field in r.get_json()["errors"]


def test_valid_evidence_is_stored_by_hash_and_downloaded_as_attachment(items, evidence_dir, session):
    item = items.started()
    r = items.progress(item, 50, [("整改照片.png", "image/png", PNG), ("复核台账.pdf", "application/pdf", PDF)])
    assert r.status_code == 201, r.get_json()
    files = r.get_json()["files"]
    assert [(f["filename"], f["size"], f["sha256"]) for f in files] == [
        ("整改照片.png", len(PNG), hashlib.sha256(PNG).hexdigest()),
        ("复核台账.pdf", len(PDF), hashlib.sha256(PDF).hexdigest())]
    for f, content in zip(files, (PNG, PDF)):
        assert (evidence_dir / f["sha256"][:2] / f["sha256"]).read_bytes() == content
        d = items.client.get(f"/api/v1/rectifications/{item['id']}/evidence/{f['id']}", headers=items.h(CITY_SUP))
        assert d.status_code == 200 and d.data == content
        assert d.headers["Content-Disposition"].startswith("attachment")
        assert d.headers["X-Content-Type-Options"] == "nosniff"
        assert d.mimetype == f["content_type"]
    event = items.client.get(f"/api/v1/cases/{item['id']}/events", headers=items.h(CLERK)).get_json()["items"][-1]
    assert (event["action"], event["params"]) == ("progress", {"percent": 50, "files": [f["sha256"] for f in files]})
    # Another case's id does not reach this file.
    other = items.started()
    assert items.client.get(f"/api/v1/rectifications/{other['id']}/evidence/{files[0]['id']}",
                            headers=items.h(CITY_SUP)).status_code == 404


BAD_FILES = {
    "empty": [("空文件.png", "image/png", b"")],
    "over the limit": [("大照片.png", "image/png", PNG + b"\x00" * 64)],
    "text posing as png": [("照片.png", "image/png", b"PNG? no, this is just text\n")],
    "html posing as pdf": [("报告.pdf", "application/pdf", b"<html><script>alert(1)</script></html>")],
    "wrong extension": [("照片.txt", "image/png", PNG)],
    "type not accepted": [("页面.html", "text/html", b"<html></html>")],
    "one bad among good": [("好.png", "image/png", PNG), ("坏.png", "image/png", b"")],
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_evidence_is_refused_and_nothing_written(app, items, evidence_dir, session, monkeypatch, case):
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", len(PNG) + 10)
    item = items.started()
    r = items.progress(item, 60, BAD_FILES[case])
    assert r.status_code == 422, r.get_json()
    assert any(key.startswith("files") for key in r.get_json()["errors"]), r.get_json()
    assert stored_files(evidence_dir) == []
    assert session.scalar(sa.select(sa.func.count()).select_from(ProgressReport)
                          .where(ProgressReport.case_id == item["id"])) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(EvidenceFile)) == 0
    after = items.get(item)
    assert after["version"] == item["version"]
    assert [row["progress_percent"] for row in items.ledger(T0).get_json()["items"]] == [0]


@pytest.mark.parametrize("limit,status", [(len(PNG), 201), (len(PNG) - 1, 422)])
def test_size_limit_boundary(app, items, evidence_dir, monkeypatch, limit, status):
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", limit)
    r = items.progress(items.started(), 10, [("照片.png", "image/png", PNG)])
    assert r.status_code == status, r.get_json()
    assert len(stored_files(evidence_dir)) == (1 if status == 201 else 0)


@pytest.mark.parametrize("who,start,status", [
    (CLERK, False, 422),  # not started yet
    (("clerk", "360800"), True, 403),  # sees the item, but progress is the responsible unit's
    (("clerk", "360825"), True, 404),  # a neighbour county does not see it
    (("inspector", "D360800"), True, 403),
])
def test_who_and_when_progress_is_reported(items, evidence_dir, who, start, status):
    item = items.started() if start else items.create().get_json()
    assert items.progress(item, 20, who=who).status_code == status


def test_submit_verify_and_send_back(items, evidence_dir, session):
    item = items.started()
    assert items.progress(item, 50).status_code == 201
    r = items.act(item, "submit")
    assert r.status_code == 422 and "action" in r.get_json()["errors"]  # 销号 asks for 100%
    assert items.progress(item, 100).status_code == 201
    assert items.act(item, "submit").get_json()["status"] == "submitted"
    r = items.act(item, "send_back", who=CITY_SUP)
    assert r.status_code == 422 and "reason" in r.get_json()["errors"]
    r = items.act(item, "send_back", who=CITY_SUP, reason="清退名单不全")
    assert r.status_code == 200 and r.get_json()["status"] == "in_progress"
    assert items.ledger(T0).get_json()["items"][0]["progress_percent"] == 90  # sent back below 100
    assert items.act(item, "submit").status_code == 422
    assert items.progress(item, 100).status_code == 201
    assert items.act(item, "submit").status_code == 200
    for who, status in ((("clerk", "360800"), 403), (("supervisor", "360827"), 403), (("supervisor", "360000"), 403)):
        assert items.act(item, "verify", who=who).status_code == status, who  # only a supervisor one level up
    r = items.act(item, "verify", who=CITY_SUP, at=local(2024, 3, 22, 10))
    assert r.status_code == 200 and r.get_json()["status"] == "verified"
    assert [(c["name"], c["state"]) for c in r.get_json()["clocks"]] == [("rectification", "met")]


@pytest.mark.parametrize("now,overdue", [(local(2024, 3, 29, 23, 59), False), (local(2024, 3, 30, 0, 0, 1), True)])
def test_an_item_past_its_deadline_is_overdue_and_supervised(app, items, session, now, overdue):
    item = items.started()
    run_sweep(session=session, policies=policies_for_app(app), now=now)
    session.commit()
    after = items.get(item)
    assert (after["overdue"], after["supervised"]) == (overdue, overdue)
    sups = session.scalars(sa.select(Supervision).where(Supervision.case_id == item["id"])).all()
    assert [(s.kind, s.unit_code, s.target_unit, s.state) for s in sups] == (
        [("auto", "360800", "360827", "open")] if overdue else [])


def test_ledger_json_and_xlsx(app, items, evidence_dir, session):
    late = items.started(task="A 未完成且超期", deadline="2024-03-29")
    done = items.started(task="B 超期两天销号", deadline="2024-03-20")
    future = items.started(task="C 尚未到期", deadline="2024-04-30")
    other_city = items.create(who=("supervisor", "360700"), responsible_unit="360702", task="赣州的整改事项")
    assert other_city.status_code == 201
    items.progress(done, 100, at=local(2024, 3, 15, 10))
    items.act(done, "submit", at=local(2024, 3, 15, 11))
    assert items.act(done, "verify", who=CITY_SUP, at=local(2024, 3, 22, 10)).status_code == 200
    run_sweep(session=session, policies=policies_for_app(app), now=local(2024, 3, 30, 1))
    session.commit()

    rows = items.ledger(local(2024, 4, 3, 10)).get_json()["items"]
    # By deadline; days overdue by hand: B finished 22 March against 20 March, A still open on 3 April against
    # 29 March, C not due. The other city's item is not in 360800's ledger.
    assert [(r["id"], r["deadline"], r["status"], r["days_overdue"], r["supervised"], r["progress_percent"])
            for r in rows] == [(done["id"], "2024-03-20", "verified", 2, False, 100),
                               (late["id"], "2024-03-29", "in_progress", 5, True, 0),
                               (future["id"], "2024-04-30", "in_progress", 0, False, 0)]
    assert rows[0]["responsible_unit"] == "360827" and rows[0]["responsible_person"] == "张某"

    x = items.ledger(local(2024, 4, 3, 10), format="xlsx")
    assert x.status_code == 200 and x.headers["Content-Disposition"].startswith("attachment")
    ws = openpyxl.load_workbook(io.BytesIO(x.data))["整改台账"]
    sheet = list(ws.iter_rows(values_only=True))
    assert list(sheet[0]) == ["编号", "问题来源", "发现日期", "整改任务", "整改举措", "整改时限", "责任人", "责任单位",
                              "状态", "进度(%)", "超期天数", "是否督办"]
    assert ws.freeze_panes == "A2"
    assert [(r[0], r[3], r[5].date(), r[7], r[9], r[10], r[11]) for r in sheet[1:]] == [
        (j["number"], j["task"], date.fromisoformat(j["deadline"]), "遂川县(360827)", j["progress_percent"],
         j["days_overdue"], "是" if j["supervised"] else "否") for j in rows]
