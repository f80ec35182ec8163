"""Bring a case to any workflow state through the HTTP API, using the real transitions.

Nothing here writes to the database directly: every state is reached the way a
user would reach it, so a broken transition on the way fails the caller's test
loudly (each step asserts 200).

Actors are named by their relation to the case *at the time of the step*, as the
engine sees it: ``handler`` (the handling unit, also the dispatcher while the
case is ``registered``), ``parent`` and ``grandparent`` of the handling unit,
``co_handler`` (the unit of the open co-handling part), ``ministry`` (100000),
``sibling`` (a county next to the handling county, which cannot see the case),
or a literal unit code.
"""
from __future__ import annotations

from typing import Any, Callable

from tests.cases.conftest import complaint_body, petition_body

VIEWER = ("supervisor", "100000")  # sees every case: used to read state, version and events
SIBLINGS = {"360827": "360825", "360825": "360827", "360800": "430500"}
CO_UNIT = "360825"  # the co-handler the drives add (a county next to 遂川县)

# One step: (action, relation, role, params). Params are valid for the action.
Step = tuple[str, str, str, dict[str, Any]]


def _s(action: str, relation: str = "handler", role: str = "clerk", **params) -> Step:
    return action, relation, role, params


_RESPONDED = [_s("accept"), _s("start"), _s("respond", outcome="support", text="经核实，符合低保条件，已纳入。")]
_REVIEWED = _RESPONDED + [_s("request_review", "parent", reason="对处理意见不服"),
                          _s("decide_review", "parent", decision="uphold", text="维持原处理意见")]

# How each state is reached from intake (which leaves a case ``assigned``).
# ``merged`` is special: it needs an earlier case to merge into (see bring_to).
PATHS: dict[str, dict[str, list[Step]]] = {
    "petition": {
        "assigned": [],
        "registered": [_s("return", reason="不属于本单位职责")],
        "accepted": [_s("accept")],
        "not_accepted": [_s("decline", reason="已经依法处理，无新的事实和理由")],
        "in_progress": [_s("accept"), _s("start")],
        "suspended": [_s("accept"), _s("start"), _s("suspend", reason="须以相关案件审理结果为依据")],
        "responded": _RESPONDED,
        "under_review": _RESPONDED + [_s("request_review", "parent", reason="对处理意见不服")],
        "reviewed": _REVIEWED,
        "under_re_review": _REVIEWED + [_s("request_re_review", "grandparent", reason="对复查意见不服")],
        "closed": _RESPONDED + [_s("evaluate", satisfaction="satisfied"), _s("close")],
        "merged": [],
    },
    "complaint": {
        "assigned": [],
        "registered": [_s("return", reason="不属于本单位职责")],
        "contacted": [_s("contact")],
        "handled": [_s("contact"), _s("handle")],
        "visited_back": [_s("contact"), _s("handle"), _s("visit_back", satisfaction="satisfied")],
        "closed": [_s("contact"), _s("handle"), _s("visit_back", satisfaction="satisfied"), _s("close")],
    },
}
BODIES: dict[str, Callable[..., dict]] = {"petition": petition_body, "complaint": complaint_body}


class Driver:
    """Acts on cases over HTTP as users made on demand (one per role and unit)."""

    def __init__(self, client, headers_for: Callable[[str, str], dict]):
        self.client = client
        self._headers_for = headers_for
        self._headers: dict[tuple[str, str], dict] = {}
        self._parents: dict[str, str | None] = {}

    # -- actors -------------------------------------------------------------
    def headers(self, role: str, unit: str) -> dict:
        if (role, unit) not in self._headers:
            self._headers[(role, unit)] = self._headers_for(role, unit)
        return self._headers[(role, unit)]

    def parent(self, code: str) -> str | None:
        if code not in self._parents:
            r = self.client.get(f"/api/v1/units/{code}", headers=self.headers(*VIEWER))
            assert r.status_code == 200, r.get_json()
            self._parents[code] = r.get_json()["parent"]
        return self._parents[code]

    def unit_for(self, case: dict, relation: str) -> str:
        handler = case["handling_unit"]
        if relation in ("handler", "dispatcher"):
            return handler
        if relation == "parent":
            return self.parent(handler)
        if relation == "grandparent":
            return self.parent(self.parent(handler))
        if relation == "ministry":
            return "100000"
        if relation == "sibling":
            return SIBLINGS[handler]
        if relation == "co_handler":
            open_parts = [p["unit"] for p in case["participants"] if p["role"] == "co" and p["state"] == "open"]
            assert open_parts, f"case {case['id']} has no open co-handling part"
            return open_parts[0]
        assert relation.isdigit(), f"unknown relation {relation}"
        return relation

    def actor(self, case: dict, relation: str, role: str = "clerk") -> dict:
        return self.headers(role, self.unit_for(case, relation))

    # -- reading ------------------------------------------------------------
    def get(self, case: dict | int) -> dict:
        case_id = case if isinstance(case, int) else case["id"]
        r = self.client.get(f"/api/v1/cases/{case_id}", headers=self.headers(*VIEWER))
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    def events(self, case: dict | int) -> list[dict]:
        case_id = case if isinstance(case, int) else case["id"]
        r = self.client.get(f"/api/v1/cases/{case_id}/events", headers=self.headers(*VIEWER))
        assert r.status_code == 200, r.get_json()
        return r.get_json()["items"]

    # -- writing ------------------------------------------------------------
    def intake(self, kind: str = "petition", **overrides) -> dict:
        """A new case registered by a clerk of its region's unit (it comes back ``assigned``)."""
        body = BODIES[kind](**overrides)
        r = self.client.post("/api/v1/cases", json=body, headers=self.headers("clerk", body["region"]))
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    def post(self, case: dict, action: str, *, relation: str = "handler", role: str = "clerk",
             headers: dict | None = None, **params):
        """POST the action with the case's version; answers the raw response."""
        params.setdefault("version", case["version"])
        return self.client.post(f"/api/v1/cases/{case['id']}/actions/{action}", json=params,
                                headers=headers or self.actor(case, relation, role))

    def step(self, case: dict, action: str, relation: str = "handler", role: str = "clerk", **params) -> dict:
        """Perform one transition that must succeed; answers the new case JSON."""
        r = self.post(case, action, relation=relation, role=role, **params)
        assert r.status_code == 200, (action, case["status"], r.get_json())
        return r.get_json()

    def bring_to(self, kind: str, state: str, **overrides) -> dict:
        """A fresh case of ``kind`` in ``state``, reached by real transitions from intake."""
        path = PATHS[kind][state]
        if kind == "petition" and state == "merged":
            earlier = self.intake(kind, **overrides)
            case = self.intake(kind, **overrides)
            return self.step(case, "merge", into=earlier["id"])
        case = self.intake(kind, **overrides)
        for action, relation, role, params in path:
            case = self.step(case, action, relation, role, **params)
        assert case["status"] == state, (state, case["status"])
        return case


def bring_to(client, headers_for: Callable[[str, str], dict], kind: str, state: str, **overrides) -> dict:
    """Functional form of :meth:`Driver.bring_to`."""
    return Driver(client, headers_for).bring_to(kind, state, **overrides)
