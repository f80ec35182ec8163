"""The audit trail: every case's events form a hash chain, and tampering with a stored row is detected.

Tampering is done the way an intruder with database access would: plain SQL
against ``case_events`` (or ``cases``), bypassing the application.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from casework.cases.events import GENESIS, event_hash, verify_all
from casework.cases.models import Case, CaseEvent
from tests.cases.conftest import complaint_body, make_id_number, petition_body
from tests.reliability.test_concurrency import CommittedRows


def _build_cases(clerk, intake, act) -> list[dict]:
    """Three cases with different chains: accepted and started, declined (with a notice), just registered."""
    started = intake(clerk)
    accepted = act(clerk, started, "accept").get_json()
    assert act(clerk, accepted, "start").status_code == 200
    # Another person, so intake does not link it to the first as a repeat petition.
    other = dict(petition_body()["petitioner"], name="钱七", id_number=make_id_number(seq="456"))
    declined = intake(clerk, title="与民政无关的诉求", petitioner=other)
    assert act(clerk, declined, "decline", reason="不属于民政部门职责").status_code == 200
    fresh = intake(clerk, body=complaint_body())
    return [started, declined, fresh]


def _event_ids(session, case_id: int) -> list[int]:
    return list(session.scalars(sa.select(CaseEvent.id).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)))


def _cases_up_to(session, case_id: int) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Case).where(Case.id <= case_id))


def test_events_endpoint_is_oldest_first_and_chained(client, make_user, intake, act):
    _, clerk = make_user(role="clerk", unit="360827")
    started, declined, _ = _build_cases(clerk, intake, act)
    for case, actions in ((started, ["register", "assign", "accept", "start"]),
                          (declined, ["register", "assign", "decline", "notice"])):
        body = client.get(f"/api/v1/cases/{case['id']}/events", headers=clerk).get_json()
        events = body["items"]
        assert body["total"] == len(events) and [e["action"] for e in events] == actions
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        # Times are shown in Asia/Shanghai; the hash covers the UTC instant.
        times = [datetime.fromisoformat(e["created_at"]).astimezone(timezone.utc) for e in events]
        assert times == sorted(times)
        assert events[0]["prev_hash"] is None
        assert [e["prev_hash"] for e in events[1:]] == [e["hash"] for e in events[:-1]]
        # A client can re-verify the chain from the answer alone: each hash covers the fields shown.
        for e, at in zip(events, times):
            assert e["hash"] == event_hash(case_id=case["id"], seq=e["seq"], action=e["action"],
                                           from_state=e["from_state"], to_state=e["to_state"],
                                           actor_id=e["actor_id"], unit_code=e["unit"], reason=e["reason"],
                                           params=e["params"], created_at=at, prev_hash=e["prev_hash"])
    assert events[2]["reason"] == "不属于民政部门职责"
    # The trail is scoped like the case: another county's clerk is told it does not exist.
    _, stranger = make_user(role="clerk", unit="360825")
    assert client.get(f"/api/v1/cases/{declined['id']}/events", headers=stranger).status_code == 404


@pytest.mark.parametrize("batch", [1, 2, 1000])
def test_verify_all_passes_an_untouched_trail(session, client, make_user, intake, act, batch):
    _, clerk = make_user(role="clerk", unit="360827")
    _build_cases(clerk, intake, act)
    total = session.scalar(sa.select(sa.func.count()).select_from(Case))
    assert verify_all(session=session, batch=batch) == (total, None)


def _forge_rehash(session, event_id: int, **changes) -> None:
    """An intruder who knows the hash function: change a row and recompute its own hash."""
    ev = session.get(CaseEvent, event_id)
    for name, value in changes.items():
        setattr(ev, name, value)
    ev.hash = event_hash(case_id=ev.case_id, seq=ev.seq, action=ev.action, from_state=ev.from_state,
                         to_state=ev.to_state, actor_id=ev.actor_id, unit_code=ev.unit_code, reason=ev.reason,
                         params=ev.params or {}, created_at=ev.created_at, prev_hash=ev.prev_hash)
    session.flush()


def _backdate(session, event_id: int) -> None:
    at = session.scalar(sa.select(CaseEvent.created_at).where(CaseEvent.id == event_id))
    session.execute(sa.update(CaseEvent).where(CaseEvent.id == event_id).values(created_at=at - timedelta(days=3)))


# (case index, event seq tampered, how, event seq reported, problem reported)
TAMPERING = [
    pytest.param(1, 3, lambda s, i: s.execute(sa.text("UPDATE case_events SET reason = 'tampered' WHERE id = :i"),
                                              {"i": i}), 3, "content does not match", id="reason"),
    pytest.param(0, 1, lambda s, i: s.execute(sa.update(CaseEvent).where(CaseEvent.id == i)
                                              .values(params={"number": "XF-360827-2000-000001"})),
                 1, "content does not match", id="params"),
    pytest.param(0, 3, lambda s, i: _backdate(s, i), 3, "content does not match", id="backdated"),
    pytest.param(0, 2, lambda s, i: s.execute(sa.text("UPDATE case_events SET actor_id = NULL WHERE id = :i"),
                                              {"i": i}), 2, "content does not match", id="actor-erased"),
    pytest.param(0, 3, lambda s, i: s.execute(sa.text("UPDATE case_events SET prev_hash = :h WHERE id = :i"),
                                              {"h": "f" * 64, "i": i}), 3, "prev_hash", id="prev_hash"),
    pytest.param(2, 2, lambda s, i: s.execute(sa.text("UPDATE case_events SET prev_hash = :h WHERE id = :i"),
                                              {"h": GENESIS, "i": i}), 2, "prev_hash", id="prev_hash-genesis"),
    # Deleting the last event leaves a chain that checks but stops short of the case's head hash.
    pytest.param(1, 4, lambda s, i: s.execute(sa.text("DELETE FROM case_events WHERE id = :i"), {"i": i}),
                 3, "ends before", id="last-deleted"),
    pytest.param(0, 2, lambda s, i: s.execute(sa.text("DELETE FROM case_events WHERE id = :i"), {"i": i}),
                 3, "sequence gap", id="middle-deleted"),
    # A rehashed middle event breaks the next event's link; a rehashed last one no longer meets the head.
    pytest.param(0, 2, lambda s, i: _forge_rehash(s, i, reason="tampered"), 3, "prev_hash", id="rehashed-middle"),
    pytest.param(1, 4, lambda s, i: _forge_rehash(s, i, reason="tampered"), 4, "ends before", id="rehashed-last"),
]


@pytest.mark.parametrize("case_index, seq, tamper, reported_seq, problem", TAMPERING)
def test_verify_all_names_the_tampered_event(session, client, make_user, intake, act, case_index, seq, tamper,
                                             reported_seq, problem):
    _, clerk = make_user(role="clerk", unit="360827")
    cases = _build_cases(clerk, intake, act)
    target = cases[case_index]["id"]
    ids = _event_ids(session, target)
    tamper(session, ids[seq - 1])
    # verify_all reads through the ORM; forget what this session already loaded so it sees the stored rows.
    session.expire_all()
    for batch in (1, 1000):
        checked, broken = verify_all(session=session, batch=batch)
        assert broken is not None, "tampering went unnoticed"
        assert (broken.case_id, broken.event_id, broken.seq) == (target, ids[reported_seq - 1], reported_seq)
        assert problem in broken.problem
        # It stops at the first broken case, having checked every case before it.
        assert checked == _cases_up_to(session, target)


# -- the CLI ----------------------------------------------------------------------------------------------------


@pytest.fixture()
def cli_env(app, committed_session, monkeypatch):
    """A clerk with committed cases for the CLI (which opens its own app and session) to see; removed afterwards."""
    # The CLI builds its app from the environment. A second create_app would re-bind the process-wide
    # extensions (and drop the embedded Redis client the session's app holds), so hand it this app,
    # whose database is the one the committed rows are in.
    monkeypatch.setattr("casework.cli._app", lambda: app)
    rows = CommittedRows(committed_session)
    region = "450109"  # no other test intakes here, so its number counter is ours to delete
    _, headers = rows.user(region)
    yield headers, region
    rows.purge()


def _audit_verify():
    from casework.cli import main

    return CliRunner().invoke(main, ["audit", "verify"])


def test_cli_audit_verify(app, committed_session, cli_env):
    clerk, region = cli_env
    web = app.test_client()
    made = []
    for n in range(2):
        petitioner = dict(petition_body()["petitioner"], name="赵六",
                          id_number=make_id_number(seq=f"{n:03d}", region=region))
        r = web.post("/api/v1/cases", json=petition_body(region=region, title=f"审计校验 {n}", petitioner=petitioner),
                     headers=clerk)
        assert r.status_code == 201, r.get_json()
        made.append(r.get_json())
    r = web.post(f"/api/v1/cases/{made[1]['id']}/actions/accept", json={"version": made[1]["version"]}, headers=clerk)
    assert r.status_code == 200, r.get_json()

    result = _audit_verify()
    assert result.exit_code == 0, result.output
    total = committed_session.scalar(sa.select(sa.func.count()).select_from(Case))
    assert f"{total} case chains verified" in result.stdout

    victim = _event_ids(committed_session, made[1]["id"])[1]  # the assign event, between register and accept
    committed_session.execute(sa.text("UPDATE case_events SET reason = 'tampered' WHERE id = :i"), {"i": victim})
    committed_session.commit()
    result = _audit_verify()
    assert result.exit_code == 1
    assert f"BROKEN: case {made[1]['id']} event {victim} (seq 2)" in result.stderr
    assert "verified" not in result.stdout
