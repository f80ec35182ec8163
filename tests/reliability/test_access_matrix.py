"""Role × unit relation × every /api/v1 route, with the expected answer of each cell in one table.

The object of a route (a case, ledger item, bulletin, notification, user, or the unit named in the body) belongs
to 遂川县 360827; the caller sits in the same unit, its parent city 吉安市 360800, its sibling 永丰县 360825, or
in another province (双清区 430502). A county has no child, so for "child" the object belongs to the city
360800 and the caller sits in the county 360827 below it. Every cell is its own request with valid parameters,
so the only reason for a refusal is who asks. Lists answer 200 to everyone; there the table says whether the
object is listed. Every refusal must be problem+json.
"""
from __future__ import annotations

import io
import re
from datetime import timedelta
from functools import cached_property

import pytest

from casework import clock
from casework.auth.models import User
from casework.auth.service import issue_token
from casework.bulletins.config import load_config
from casework.bulletins.service import build, request_build
from tests.cases.conftest import petition_body
from tests.factories import DEFAULT_PASSWORD

RELATIONS = ("same", "parent", "child", "sibling", "other")
CALLER_UNIT = {"same": "360827", "parent": "360800", "child": "360827", "sibling": "360825", "other": "430502"}
OWNER_UNIT = {relation: "360800" if relation == "child" else "360827" for relation in RELATIONS}
ABOVE = {"360827": "360800", "360800": "360000"}  # who sets a ledger item for the owner
ROLES = ("clerk", "supervisor", "inspector", "admin")
LISTED, UNLISTED = "200 listed", "200 unlisted"
IN_SCOPE = (LISTED, LISTED, UNLISTED, UNLISTED, UNLISTED)  # a list shows the subtree's objects only


def everyone(*cells):
    return {role: cells for role in ROLES}


def only(roles, cells, others):
    return {role: cells if role in roles else others for role in ROLES}


REFUSED = (403,) * 5
HIDDEN = (200, 200, 404, 404, 404)  # in scope, or "not found" (existence is not revealed)
STAFF_ONLY_CIVIL = ("clerk", "supervisor", "admin")
READERS = ("supervisor", "inspector", "admin")
INSPECTING = ("inspector", "supervisor")

# route -> role -> answers for (same, parent, child, sibling, other).
EXPECTED = {
    ("POST", "/api/v1/auth/token"): everyone(200, 200, 200, 200, 200),
    ("POST", "/api/v1/auth/logout"): everyone(204, 204, 204, 204, 204),
    ("GET", "/api/v1/users/me"): everyone(200, 200, 200, 200, 200),
    # An admin creates users in its own subtree only.
    ("POST", "/api/v1/users"): only(("admin",), (201, 201, 403, 403, 403), REFUSED),
    ("POST", "/api/v1/users/{user_id}/api-key"): only(("admin",), (201, 201, 404, 404, 404), REFUSED),
    # Account administration stays inside the admin's subtree; anyone may change its own password.
    ("GET", "/api/v1/users"): only(("admin",), IN_SCOPE, REFUSED),
    ("PATCH", "/api/v1/users/{user_id}"): only(("admin",), (200, 200, 404, 404, 404), REFUSED),
    ("POST", "/api/v1/auth/password"): everyone(204, 204, 204, 204, 204),
    # The unit tree is public to any user.
    ("GET", "/api/v1/units"): everyone(200, 200, 200, 200, 200),
    ("GET", "/api/v1/units/{code}"): everyone(200, 200, 200, 200, 200),
    ("GET", "/api/v1/openapi.json"): everyone(200, 200, 200, 200, 200),
    ("GET", "/api/v1/docs"): everyone(200, 200, 200, 200, 200),
    ("GET", "/api/v1/cases"): everyone(*IN_SCOPE),
    # Any civil-affairs unit takes in a petition about any region; routing sends it where it belongs.
    ("POST", "/api/v1/cases"): only(STAFF_ONLY_CIVIL, (201, 201, 201, 201, 201), REFUSED),
    ("GET", "/api/v1/cases/{case_id}"): everyone(*HIDDEN),
    ("GET", "/api/v1/cases/{case_id}/events"): everyone(*HIDDEN),
    ("GET", "/api/v1/cases/{case_id}/supervisions"): everyone(*HIDDEN),
    ("GET", "/api/v1/cases/{case_id}/links"): everyone(*HIDDEN),
    ("POST", "/api/v1/cases/{case_id}/links"): everyone(201, 201, 404, 404, 404),
    # 受理 is the handling unit's staff's: the city above sees the case but may not accept it.
    ("POST", "/api/v1/cases/{case_id}/actions/{action}"): only(("clerk", "supervisor"), (200, 403, 404, 404, 404),
                                                               (403, 403, 404, 404, 404)),
    ("POST", "/api/v1/cases/{case_id}/links/{link_id}/dismiss"): only(INSPECTING, HIDDEN, REFUSED),
    ("GET", "/api/v1/cases/{case_id}/linked-report"): only(INSPECTING, HIDDEN, REFUSED),
    ("GET", "/api/v1/supervisions"): only(READERS, (200,) * 5, REFUSED),
    # The working-day calendar is national: any admin reads it, only the ministry's load it (none of the
    # units of this matrix is the ministry; tests/sla/test_calendar_api.py has the ministry's admin).
    ("GET", "/api/v1/calendar/{year}"): only(("admin",), (200,) * 5, REFUSED),
    ("PUT", "/api/v1/calendar/{year}"): everyone(*REFUSED),
    # Notifications go to one unit: not even the unit above reads them.
    ("GET", "/api/v1/notifications"): everyone(LISTED, UNLISTED, UNLISTED, UNLISTED, UNLISTED),
    ("POST", "/api/v1/notifications/{notification_id}/read"): everyone(200, 404, 404, 404, 404),
    ("POST", "/api/v1/rectifications"): only(READERS, (201, 201, 403, 403, 403), REFUSED),
    ("GET", "/api/v1/rectifications/ledger"): everyone(*IN_SCOPE),
    # Progress is reported by the responsible unit's own staff.
    ("POST", "/api/v1/rectifications/{case_id}/progress"): only(("clerk", "supervisor"), (201, 403, 404, 404, 404),
                                                                REFUSED),
    ("GET", "/api/v1/rectifications/{case_id}/evidence/{file_id}"): everyone(*HIDDEN),
    ("GET", "/api/v1/bulletins"): only(READERS, IN_SCOPE, REFUSED),
    ("POST", "/api/v1/bulletins"): only(READERS, (202, 202, 403, 403, 403), REFUSED),
    ("GET", "/api/v1/bulletins/{bulletin_id}"): only(READERS, HIDDEN, REFUSED),
    ("GET", "/api/v1/bulletins/{bulletin_id}.xlsx"): only(READERS, HIDDEN, REFUSED),
    ("GET", "/api/v1/bulletins/{bulletin_id}.pdf"): only(READERS, HIDDEN, REFUSED),
}


class World:
    """Callers and the objects of one owner unit, made on first use inside the test's rolled-back session."""

    def __init__(self, client, session, make_user, app):
        self.client, self.session, self.make_user, self.app = client, session, make_user, app
        self._users: dict[tuple[str, str], User] = {}
        self._cache: dict[tuple, object] = {}
        self._serial = 0

    def user(self, role: str, unit: str) -> User:
        if (role, unit) not in self._users:
            self._users[role, unit] = self.make_user(role=role, unit=unit)[0]
        return self._users[role, unit]

    def headers(self, role: str, unit: str) -> dict:
        # Minted from the stored token_version, so a cell that logged out does not spoil the next one.
        user = self.user(role, unit)
        self.session.refresh(user)
        token = issue_token(user=user, secret=self.app.config["SECRET_KEY"], ttl_seconds=600)["access_token"]
        return {"Authorization": f"Bearer {token}"}

    def once(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def serial(self) -> int:
        self._serial += 1
        return self._serial

    def new_case(self, owner: str) -> dict:
        r = self.client.post("/api/v1/cases", json=petition_body(region=owner),
                             headers=self.headers("clerk", owner))
        assert r.status_code == 201 and r.get_json()["handling_unit"] == owner, r.get_json()
        return r.get_json()

    def case(self, owner: str) -> dict:
        return self.once(("case", owner), lambda: self.new_case(owner))

    def auto_link(self, owner: str) -> tuple[int, int]:
        """Two petitions of one person: the second is linked to the first automatically."""
        first, second = self.new_case(owner), self.new_case(owner)
        links = self.client.get(f"/api/v1/cases/{second['id']}/links", headers=self.headers("clerk", owner))
        auto = [link["id"] for link in links.get_json()["items"] if link["auto"] and link["case"]["id"] == first["id"]]
        assert auto, links.get_json()
        return second["id"], auto[0]

    def item(self, owner: str) -> tuple[int, int]:
        """A started ledger item of ``owner`` with one evidence file: (case id, file id)."""
        def make():
            today = clock.now().date()
            r = self.client.post("/api/v1/rectifications", headers=self.headers("supervisor", ABOVE[owner]), json={
                "source_text": "巡察反馈", "finding_date": today.isoformat(), "task": "整改", "measures": "复核",
                "deadline": (today + timedelta(days=30)).isoformat(), "responsible_person": "张某",
                "responsible_unit": owner})
            assert r.status_code == 201, r.get_json()
            item = r.get_json()
            assert self.client.post(f"/api/v1/cases/{item['id']}/actions/start", json={"version": item["version"]},
                                    headers=self.headers("clerk", owner)).status_code == 200
            r = self.progress(item["id"], owner, "clerk", owner)
            assert r.status_code == 201, r.get_json()
            return item["id"], r.get_json()["files"][0]["id"]
        return self.once(("item", owner), make)

    def progress(self, case_id: int, owner: str, role: str, unit: str):
        return self.client.post(f"/api/v1/rectifications/{case_id}/progress", headers=self.headers(role, unit),
                                content_type="multipart/form-data",
                                data={"text": "进度", "date": clock.now().date().isoformat(), "percent": "10",
                                      "files": [(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "台账.pdf", "application/pdf")]})

    def notification(self, owner: str) -> int:
        case = self.case(owner)
        items = self.client.get("/api/v1/notifications?page_size=200",
                                headers=self.headers("clerk", owner)).get_json()["items"]
        return next(n["id"] for n in items if n["case_id"] == case["id"])

    def bulletin(self, owner: str) -> int:
        def make():
            self.case(owner)
            start = clock.now().date().replace(day=1)
            bulletin, _ = request_build(session=self.session, unit_code=owner, kind="month", start=start, actor=None,
                                        now=clock.now())
            build(session=self.session, bulletin_id=bulletin.id, now=clock.now(), cfg=load_config())
            self.session.commit()
            return bulletin.id
        return self.once(("bulletin", owner), make)

    @cached_property
    def year(self) -> int:
        return clock.now().year


def request(world: World, route, owner: str, role: str, unit: str):
    """Send ``route`` about ``owner``'s object as (role, unit); returns (response, id to find in a list)."""
    method, path = route
    c, h = world.client, world.headers(role, unit)
    if route == ("POST", "/api/v1/auth/token"):
        return c.post(path, json={"username": world.user(role, unit).username, "password": DEFAULT_PASSWORD}), None
    if route == ("POST", "/api/v1/users"):
        body = {"username": f"matrix{world.serial()}", "password": "long-enough-pass", "role": "clerk", "unit": owner}
        return c.post(path, json=body, headers=h), None
    if route == ("POST", "/api/v1/cases"):
        return c.post(path, json=petition_body(region=owner), headers=h), None
    if route == ("POST", "/api/v1/cases/{case_id}/links"):
        one, two = world.new_case(owner), world.new_case(owner)
        body = {"target": two["id"], "type": "related"}
        return c.post(f"/api/v1/cases/{one['id']}/links", json=body, headers=h), None
    if route == ("POST", "/api/v1/cases/{case_id}/actions/{action}"):
        case = world.new_case(owner)  # fresh: the action moves it on
        return c.post(f"/api/v1/cases/{case['id']}/actions/accept", json={"version": case["version"]}, headers=h), None
    if route == ("POST", "/api/v1/cases/{case_id}/links/{link_id}/dismiss"):
        case_id, link_id = world.auto_link(owner)
        return c.post(f"/api/v1/cases/{case_id}/links/{link_id}/dismiss", headers=h), None
    if route == ("PUT", "/api/v1/calendar/{year}"):
        return c.put(f"/api/v1/calendar/{world.year}", json={"holidays": [], "workdays": []}, headers=h), None
    if route == ("POST", "/api/v1/rectifications"):
        today = clock.now().date()
        return c.post(path, headers=h, json={
            "source_text": "审计发现", "finding_date": today.isoformat(), "task": "整改", "measures": "复核",
            "deadline": (today + timedelta(days=30)).isoformat(), "responsible_person": "李某",
            "responsible_unit": owner}), None
    if route == ("POST", "/api/v1/rectifications/{case_id}/progress"):
        return world.progress(world.item(owner)[0], owner, role, unit), None
    if route == ("POST", "/api/v1/bulletins"):
        body = {"unit": owner, "period": "month", "start": clock.now().date().replace(day=1).isoformat()}
        return c.post(path, json=body, headers=h), None
    if route == ("POST", "/api/v1/notifications/{notification_id}/read"):
        return c.post(f"/api/v1/notifications/{world.notification(owner)}/read", headers=h), None
    if route == ("POST", "/api/v1/users/{user_id}/api-key"):
        return c.post(f"/api/v1/users/{world.user('clerk', owner).id}/api-key", headers=h), None
    if route == ("POST", "/api/v1/auth/logout"):
        return c.post(path, headers=h), None
    if route == ("PATCH", "/api/v1/users/{user_id}"):
        target = world.make_user(role="clerk", unit=owner)[0]  # a throwaway: the world's callers stay enabled
        return c.patch(f"/api/v1/users/{target.id}", json={"is_active": False}, headers=h), None
    if route == ("POST", "/api/v1/auth/password"):
        _, own = world.make_user(role=role, unit=unit)  # the change ends its sessions: a caller of its own
        body = {"current_password": DEFAULT_PASSWORD, "new_password": f"new-pass-{world.serial():04d}"}
        return c.post(path, json=body, headers=own), None
    # The GETs: fill in the path, and say which id a list must or must not show.
    listed = {"/api/v1/cases": lambda: world.case(owner)["id"],
              "/api/v1/rectifications/ledger": lambda: world.item(owner)[0],
              "/api/v1/notifications": lambda: world.notification(owner),
              "/api/v1/bulletins": lambda: world.bulletin(owner),
              "/api/v1/users": lambda: world.user("clerk", owner).id}
    if path in listed:
        listed_id = listed[path]()  # made first, so the list could show it
        return c.get(path, query_string={"page_size": 200}, headers=h), listed_id
    params = {"code": lambda: owner, "year": lambda: world.year, "action": lambda: "accept",
              "case_id": lambda: world.item(owner)[0] if "/rectifications/" in path else world.case(owner)["id"],
              "file_id": lambda: world.item(owner)[1], "bulletin_id": lambda: world.bulletin(owner)}
    assert method == "GET", route
    url = re.sub(r"{(\w+)}", lambda m: str(params[m.group(1)]()), path)
    return c.get(url, headers=h), None


def observed(response, listed_id):
    if listed_id is None or response.status_code != 200:
        return response.status_code
    return LISTED if listed_id in {item["id"] for item in response.get_json()["items"]} else UNLISTED


def api_routes(app) -> set[tuple[str, str]]:
    return {(method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)) for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/api/v1/") for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_the_table_covers_every_route(app):
    assert set(EXPECTED) == api_routes(app)
    assert all(set(cells) == set(ROLES) and all(len(row) == len(RELATIONS) for row in cells.values())
               for cells in EXPECTED.values())


@pytest.mark.parametrize("route", sorted(EXPECTED), ids=" ".join)
def test_access_matrix(client, session, make_user, app, tmp_path, monkeypatch, route):
    monkeypatch.setitem(app.config, "EVIDENCE_DIR", str(tmp_path / "evidence"))
    world = World(client, session, make_user, app)
    wrong, unexpected_2xx = [], []
    for role in ROLES:
        for relation, expected in zip(RELATIONS, EXPECTED[route][role]):
            response, listed_id = request(world, route, OWNER_UNIT[relation], role, CALLER_UNIT[relation])
            got = observed(response, listed_id)
            if response.status_code >= 400 and response.mimetype != "application/problem+json":
                wrong.append(f"{role}/{relation}: {response.status_code} is {response.mimetype}, not a problem")
            if got != expected:
                answer = response.get_data(as_text=True)[:150]
                wrong.append(f"{role}/{relation}: expected {expected}, got {got} {answer}")
                if 200 <= response.status_code < 300 and not str(expected).startswith("2"):
                    unexpected_2xx.append(f"{role}/{relation}")
    assert not unexpected_2xx, f"access granted where it must not be: {unexpected_2xx}\n" + "\n".join(wrong)
    assert not wrong, "\n".join(wrong)
