from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from casework import clock
from casework.sla.models import CaseClock, Supervision
from casework.sla.policies import policies_for_app
from casework.sla.service import run_sweep
from tests.cases.conftest import petition_body


def test_breach_opens_supervision_once(app, client, session, make_user):
    _, clerk = make_user(role="clerk", unit="360827")
    t0 = datetime(2026, 11, 2, 2, 0, tzinfo=timezone.utc)
    with clock.frozen(t0):
        r = client.post("/api/v1/cases", json=petition_body(received_at=t0.isoformat()), headers=clerk)
        assert r.status_code == 201, r.get_json()
    case = r.get_json()
    acceptance = [c for c in case["clocks"] if c["name"] == "acceptance"][0]
    assert acceptance["state"] == "running"
    policies = policies_for_app(app)
    later = t0 + timedelta(days=40)
    first = run_sweep(session=session, policies=policies, now=later)
    session.commit()
    assert first.breached == 1 and first.supervisions_opened == 1 and first.warned == 0
    second = run_sweep(session=session, policies=policies, now=later)
    session.commit()
    assert second.as_dict() == {k: 0 for k in second.as_dict()}
    sup = session.scalar(sa.select(Supervision))
    assert sup.unit_code == "360800" and sup.state == "open"
    assert session.scalar(sa.select(CaseClock.state).where(CaseClock.case_id == case["id"])) == "breached"
