"""Concurrent writers on real PostgreSQL: the version check, idempotent intake and case numbering.

These need real commits seen across threads, so they use ``committed_session``
(not the rolled-back ``session``) and delete everything they made. Each thread
has its own test client; the scoped session is thread-local, so every request
runs in its own transaction on its own pooled connection.
"""
from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest
import sqlalchemy as sa

from casework.auth.models import User
from casework.cases.models import AccessEvent, Case, CaseEvent, CaseNumberCounter, IdempotencyKey
from tests.cases.conftest import make_id_number, petition_body
from tests.factories import UserFactory, auth_headers

pytestmark = pytest.mark.postgres_only

JOIN_TIMEOUT = 60  # seconds; a deadlock fails the test instead of hanging the run


def run_together(n: int, call) -> list:
    """Run ``call(i)`` in ``n`` threads released at once by a barrier; returns results in thread order.

    An exception in a thread is returned in place of its result, so the test sees it.
    """
    barrier = threading.Barrier(n, timeout=JOIN_TIMEOUT)
    results: list = [None] * n

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = call(i)
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT)
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"{len(stuck)} threads still running after {JOIN_TIMEOUT}s (deadlock?)"
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    return results


class CommittedRows:
    """Users made with real commits, and everything they cause; ``purge`` deletes it all.

    Cases are found by creator; their events, participants, clocks, notifications and access
    events cascade. Outbox rows carry no foreign key, so those written since the start are removed
    by id (tests run one at a time per database, so nothing else writes them meanwhile). Number
    counters are removed per region, so give each test a region no other test uses.
    """

    def __init__(self, session):
        from casework.outbox.models import OutboxMessage

        self.session = session
        self.users: list[int] = []
        self.regions: set[str] = set()
        self.outbox_mark = session.scalar(sa.select(sa.func.max(OutboxMessage.id))) or 0
        session.commit()

    def user(self, unit: str, role: str = "clerk"):
        u = UserFactory(role=role, unit_code=unit, username=f"conc-{uuid.uuid4().hex[:12]}")
        self.users.append(u.id)
        self.regions.add(unit)
        return u, auth_headers(u)

    def purge(self) -> None:
        from casework.outbox.models import OutboxMessage

        s = self.session
        s.remove()
        s.execute(sa.delete(AccessEvent).where(AccessEvent.user_id.in_(self.users)))
        s.execute(sa.delete(Case).where(Case.created_by.in_(self.users)))
        s.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.user_id.in_(self.users)))
        s.execute(sa.delete(CaseNumberCounter).where(CaseNumberCounter.region.in_(self.regions)))
        s.execute(sa.delete(OutboxMessage).where(OutboxMessage.id > self.outbox_mark))
        s.execute(sa.delete(User).where(User.id.in_(self.users)))
        s.commit()


@pytest.fixture()
def committed(app, committed_session):
    rows = CommittedRows(committed_session)
    yield rows.user
    rows.purge()


def _post_case(app, headers, body):
    r = app.test_client().post("/api/v1/cases", json=body, headers=headers)
    return r.status_code, r.get_json()


def test_one_of_twenty_concurrent_accepts_wins(app, committed, committed_session):
    region = "450103"  # a region no other test uses, so its counter row is ours to delete
    _, clerk = committed(region)
    status, case = _post_case(app, clerk, petition_body(region=region, petitioner=_petitioner(region, "001")))
    assert status == 201, case
    assert case["handling_unit"] == region and "accept" in case["allowed_actions"]

    def accept(_):
        r = app.test_client().post(f"/api/v1/cases/{case['id']}/actions/accept",
                                   json={"version": case["version"]}, headers=clerk)
        return r.status_code

    codes = Counter(run_together(20, accept))
    # The row lock serialises them; the first commits, the rest see a newer version.
    assert codes == {200: 1, 409: 19}, codes
    s = committed_session
    s.expire_all()
    row = s.get(Case, case["id"])
    assert row.status == "accepted" and row.version == case["version"] + 1
    actions = list(s.scalars(sa.select(CaseEvent.action).where(CaseEvent.case_id == case["id"])
                             .order_by(CaseEvent.seq)))
    assert actions == ["register", "assign", "accept"]


def test_fifty_concurrent_intakes_with_one_key_make_one_case(app, committed, committed_session):
    region = "450105"
    user, clerk = committed(region)
    headers = dict(clerk, **{"Idempotency-Key": f"conc-{uuid.uuid4().hex}"})
    body = petition_body(region=region, petitioner=_petitioner(region, "002"))

    answers = run_together(50, lambda _: _post_case(app, headers, body))

    codes = Counter(code for code, _ in answers)
    # The losers of the key insert wait on the winner's uncommitted row, then replay its answer.
    assert codes == {201: 50}, (codes, [a for c, a in answers if c != 201][:3])
    assert len({a["id"] for _, a in answers}) == 1
    s = committed_session
    s.expire_all()
    assert s.scalars(sa.select(Case.id).where(Case.created_by == user.id)).all() == [answers[0][1]["id"]]
    key_row = s.scalars(sa.select(IdempotencyKey).where(IdempotencyKey.user_id == user.id)).one()
    assert key_row.case_id == answers[0][1]["id"] and key_row.status_code == 201
    # Only the winner drew a serial; replays never touch the counter.
    assert answers[0][1]["number"].endswith("-000001")


def test_key_committed_between_lookup_and_claim_is_replayed(app, committed, committed_session, monkeypatch):
    """Force the race the barrier only hits by luck: A finds no key row, B commits one, then A claims.

    A must not remove B's live row and register a second case; it loses the insert and replays B's case.
    """
    from casework.cases import intake as intake_module

    region = "450107"
    user, clerk = committed(region)
    headers = dict(clerk, **{"Idempotency-Key": f"race-{uuid.uuid4().hex}"})
    body = petition_body(region=region, petitioner=_petitioner(region, "003"))
    real_live_key = intake_module._live_key
    a_looked, b_done = threading.Event(), threading.Event()

    def stale_for_a(*args, **kwargs):
        found = real_live_key(*args, **kwargs)
        if threading.current_thread().name == "A" and not a_looked.is_set():
            a_looked.set()
            assert b_done.wait(JOIN_TIMEOUT)  # B commits its key row and case while A holds a stale "none"
        return found

    monkeypatch.setattr(intake_module, "_live_key", stale_for_a)
    answers = {}
    a = threading.Thread(target=lambda: answers.update(a=_post_case(app, headers, body)), name="A", daemon=True)
    a.start()
    assert a_looked.wait(JOIN_TIMEOUT)
    try:
        answers["b"] = _post_case(app, headers, body)
    finally:
        b_done.set()
    a.join(JOIN_TIMEOUT)
    assert not a.is_alive()
    assert answers["b"][0] == 201 and answers["a"][0] == 201, answers
    assert answers["a"][1]["id"] == answers["b"][1]["id"]
    committed_session.expire_all()
    assert committed_session.scalar(sa.select(sa.func.count()).select_from(Case)
                                    .where(Case.created_by == user.id)) == 1


def test_thirty_concurrent_intakes_in_one_region_get_consecutive_numbers(app, committed, committed_session):
    region = "450102"
    user, clerk = committed(region)
    s = committed_session
    year_counters = dict(s.execute(sa.select(CaseNumberCounter.year, CaseNumberCounter.last)
                                   .where(CaseNumberCounter.region == region, CaseNumberCounter.prefix == "XF")).all())
    assert not year_counters, "region 450102 is reserved for this test; a leftover counter means a leak"

    def post(i):
        # Distinct people and titles: no idempotency replay, no repeat-link between them.
        body = petition_body(region=region, title=f"并发登记 {i}", petitioner=_petitioner(region, f"{100 + i:03d}"))
        return _post_case(app, clerk, body)

    answers = run_together(30, post)

    assert Counter(code for code, _ in answers) == {201: 30}, [a for c, a in answers if c != 201][:3]
    numbers = [a["number"] for _, a in answers]
    assert len(set(numbers)) == 30
    years = {n.split("-")[2] for n in numbers}
    assert len(years) == 1 and all(n.startswith(f"XF-{region}-") for n in numbers)
    assert sorted(int(n.rsplit("-", 1)[1]) for n in numbers) == list(range(1, 31))
    s.expire_all()
    assert s.scalar(sa.select(sa.func.count()).select_from(Case).where(Case.created_by == user.id)) == 30
    assert s.scalar(sa.select(CaseNumberCounter.last).where(
        CaseNumberCounter.region == region, CaseNumberCounter.prefix == "XF")) == 30


def _petitioner(region: str, seq: str) -> dict:
    return {"name": "王五", "id_number": make_id_number(seq=seq, region=region), "phone": "13812345678",
            "address": "广西壮族自治区南宁市"}


def test_two_sweeps_at_once_escalate_a_manual_supervision_once(app, committed, committed_session):
    from datetime import datetime, timedelta, timezone

    from casework import clock
    from casework.notifications.models import Notification
    from casework.sla.models import Supervision
    from casework.sla.policies import policies_for_app
    from casework.sla.sweep import sweep

    region = "450108"  # a region no other test uses
    _, clerk = committed(region)
    _, city = committed("450100", role="supervisor")
    start = datetime(2026, 11, 2, 2, tzinfo=timezone.utc)
    client = app.test_client()
    with clock.frozen(start):
        status, case = _post_case(app, clerk, petition_body(region=region, received_at=start.isoformat(),
                                                            petitioner=_petitioner(region, "001")))
        assert status == 201, case
        for action, headers, params in (("accept", clerk, {}), ("start", clerk, {}),
                                        ("supervise", city, {"reason": "请加快办理"})):
            r = client.post(f"/api/v1/cases/{case['id']}/actions/{action}",
                            json={"version": case["version"], **params}, headers=headers)
            assert r.status_code == 200, r.get_json()
            case = r.get_json()
    later = start + timedelta(days=20)  # past the 督办's escalation time, before the handling deadline
    policies = policies_for_app(app)

    def run(_):
        with sa.orm.Session(committed_session.get_bind()) as s:
            result = sweep(session=s, now=later, policies=policies)
            s.commit()
            return result.escalated

    assert sorted(run_together(2, run)) == [0, 1]  # the second waited for the first, then found it done
    s = committed_session
    s.expire_all()
    chain = s.execute(sa.select(Supervision.unit_code, Supervision.parent_id.is_not(None))
                      .where(Supervision.case_id == case["id"]).order_by(Supervision.id)).all()
    assert [tuple(r) for r in chain] == [("450100", False), ("450000", True)]
    escalation_notices = s.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.case_id == case["id"], Notification.kind == "escalation"))
    assert escalation_notices == 2  # the new supervising unit and the unit that owes the answer
