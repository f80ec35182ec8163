"""重复信访: repeat detection at intake, and merging the newer case into the older one."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from casework.cases.intake import REPEAT_WINDOW
from casework.cases.models import Case
from casework.workflow.definitions import PETITION
from tests.cases.conftest import make_id_number, petition_body

OTHER_PERSON = {"name": "王五", "id_number": make_id_number(seq="555"), "phone": "13700001111"}


def _events(client, headers, case) -> list[dict]:
    return client.get(f"/api/v1/cases/{case['id']}/events", headers=headers).get_json()["items"]


def _close_in_db(session, case, *, days_ago: float) -> None:
    """Pretend the case was closed ``days_ago`` (walking it through the workflow would take months)."""
    closed_at = datetime.now(timezone.utc) - timedelta(days=days_ago)
    session.execute(sa.update(Case).where(Case.id == case["id"]).values(status="closed", closed_at=closed_at))


@pytest.fixture()
def clerk(make_user):
    return make_user(role="clerk", unit="360827")[1]


def test_second_petition_of_the_same_person_and_category_is_a_possible_repeat(client, clerk, intake):
    first = intake(clerk)
    assert first["possible_repeat_of"] is None
    assert "link_repeat" not in [e["action"] for e in _events(client, clerk, first)]
    second = intake(clerk, title="再次反映低保问题")
    assert second["possible_repeat_of"] == {"id": first["id"], "number": first["number"]}
    events = _events(client, clerk, second)
    assert [e["action"] for e in events] == ["register", "assign", "link_repeat"]
    assert events[-1]["params"] == {"possible_repeat_of": first["id"]}
    # Flagging does not merge: both stay open until a person decides.
    assert second["status"] == first["status"] == "assigned"
    # The newest open case is the one a third petition points at.
    third = intake(clerk)
    assert third["possible_repeat_of"]["id"] == second["id"]


@pytest.mark.parametrize("overrides", [
    {"category": "tekun"},                      # same person, another matter
    {"petitioner": OTHER_PERSON},               # same matter, another person
], ids=["other_category", "other_person"])
def test_not_a_repeat(client, clerk, intake, overrides):
    intake(clerk)
    other = intake(clerk, **overrides)
    assert other["possible_repeat_of"] is None
    assert "link_repeat" not in [e["action"] for e in _events(client, clerk, other)]


@pytest.mark.parametrize("days_ago, repeat", [
    (REPEAT_WINDOW.days + 1, False),            # closed before the window: a new matter
    (REPEAT_WINDOW.days - 1, True),             # closed recently: still the same grievance
])
def test_closed_cases_count_only_within_the_window(session, clerk, intake, days_ago, repeat):
    assert REPEAT_WINDOW == timedelta(days=180)
    first = intake(clerk)
    _close_in_db(session, first, days_ago=days_ago)
    second = intake(clerk)
    assert (second["possible_repeat_of"] or {}).get("id") == (first["id"] if repeat else None)


def test_declined_case_is_not_a_repeat_target(client, clerk, intake, act):
    first = intake(clerk)
    assert act(clerk, first, "decline", reason="不属于民政部门职责").status_code == 200
    assert intake(clerk)["possible_repeat_of"] is None


def test_merge_newer_into_older(client, make_user, clerk, intake, act):
    older = intake(clerk)
    newer = intake(clerk, title="再次反映低保问题")
    r = act(clerk, newer, "merge", into=older["id"])
    assert r.status_code == 200, r.get_json()
    merged = r.get_json()
    assert merged["status"] == "merged" and merged["version"] == newer["version"] + 1
    assert merged["merged_into"] == {"id": older["id"], "number": older["number"]}
    event = _events(client, clerk, newer)[-1]
    assert (event["action"], event["from_state"], event["to_state"]) == ("merge", "assigned", "merged")
    assert event["params"]["into"] == older["id"] and event["params"]["into_number"] == older["number"]
    # The surviving case is untouched.
    kept = client.get(f"/api/v1/cases/{older['id']}", headers=clerk).get_json()
    assert kept["status"] == "assigned" and kept["version"] == older["version"]
    # A later petition of the same person points at the surviving case, not the merged one.
    assert intake(clerk)["possible_repeat_of"]["id"] == older["id"]


def test_merged_case_accepts_nothing_but_reopen(client, make_user, clerk, intake, act):
    older = intake(clerk)
    merged = act(clerk, intake(clerk), "merge", into=older["id"]).get_json()
    _, supervisor = make_user(role="supervisor", unit="360827")
    seen = client.get(f"/api/v1/cases/{merged['id']}", headers=supervisor).get_json()
    assert seen["allowed_actions"] == ["reopen"]
    assert client.get(f"/api/v1/cases/{merged['id']}", headers=clerk).get_json()["allowed_actions"] == []
    for action in sorted(set(PETITION.actions) - {"reopen"}):
        r = act(supervisor, merged, action, reason="试一试", unit="360825", into=older["id"])
        assert r.status_code == 422, (action, r.get_json())
        assert r.get_json()["allowed_actions"] == ["reopen"], action
    assert act(clerk, merged, "reopen", reason="并非重复").status_code == 403  # 重办 is a supervisor's call
    assert act(supervisor, merged, "reopen").status_code == 422                 # and needs a reason
    after = client.get(f"/api/v1/cases/{merged['id']}", headers=supervisor).get_json()
    assert (after["status"], after["version"]) == ("merged", merged["version"])
    reopened = act(supervisor, merged, "reopen", reason="经核实并非重复信访")
    assert reopened.status_code == 200, reopened.get_json()
    assert reopened.get_json()["status"] == "assigned" and reopened.get_json()["merged_into"] is None


@pytest.mark.parametrize("target, problem", [
    ("newer", "earlier"),                       # the older case survives, never the other way
    ("self", "itself"),
    ("other_person", "same person"),
    ("other_category", "same category"),
    ("other_county", "unknown case"),           # outside the caller's jurisdiction: not even revealed
    ("missing", "unknown case"),
])
def test_bad_merges_are_refused(client, make_user, clerk, intake, act, target, problem):
    older = intake(clerk)
    newer = intake(clerk)
    _, clerk_b = make_user(role="clerk", unit="360825")
    targets = {
        "newer": newer["id"], "self": older["id"],
        "other_person": intake(clerk, petitioner=OTHER_PERSON)["id"],
        "other_category": intake(clerk, category="tekun")["id"],
        "other_county": intake(clerk_b, region="360825")["id"],
        "missing": 999_999_999,
    }
    subject = older if target in ("newer", "self") else newer
    r = act(clerk, subject, "merge", into=targets[target])
    assert r.status_code == 422, r.get_json()
    assert any(problem in m for m in r.get_json()["errors"]["into"]), r.get_json()
    again = client.get(f"/api/v1/cases/{subject['id']}", headers=clerk).get_json()
    assert (again["status"], again["version"]) == ("assigned", subject["version"])


def test_merge_into_a_closed_case_is_refused(session, clerk, intake, act):
    older = intake(clerk)
    newer = intake(clerk)
    _close_in_db(session, older, days_ago=1)
    r = act(clerk, newer, "merge", into=older["id"])
    assert r.status_code == 422 and any("not open" in m for m in r.get_json()["errors"]["into"])
