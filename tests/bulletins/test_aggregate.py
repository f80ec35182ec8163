"""The aggregation's shortcuts count what the plain formulation counts (on fixture.py's world).

One pass grouped by the deepest prefix and added up in Python equals one pass per depth; a comparison
period with no data is left out of the pass without changing the bulletin; the pass reads only rows
that touch a period or are overdue now, and that loses no case closed in P or overdue now.
"""
from __future__ import annotations

from datetime import date, timedelta, timezone

import pytest

from casework.bulletins import service
from casework.bulletins.config import load_config
from casework.bulletins.figures import aggregate
from casework.bulletins.periods import period, previous, year_before
from casework.cases.models import Case
from casework.extensions import db
from casework.units.models import MINISTRY_CODE, Unit
from tests.bulletins.fixture import CITY, bj, scratch, world  # noqa: F401  (world: the fixture)

NOV = period("month", date(2026, 11, 1))
ALL = {"current": NOV, "previous": previous(NOV), "last_year": year_before(NOV)}
AT = bj(12, 1, 2).astimezone(timezone.utc)


def _plain(raw: dict) -> dict:
    return {path: {bucket: dict(m) for bucket, m in buckets.items()} for path, buckets in raw.items()}


def test_one_pass_over_every_depth_equals_one_pass_per_depth(world):
    root = db.session.get(Unit, MINISTRY_CODE).path
    together = _plain(aggregate(session=db.session, root_path=root, depths=[1, 2, 3, 4], periods=ALL, now=AT))
    city = db.session.get(Unit, CITY).path
    # The city's own N25 is in the city's, the province's and the ministry's figures, in no county's.
    assert [together[city[:7 * n]]["current"]["received"] for n in (1, 2, 3)] == [31, 31, 31]
    assert sum(v["current"].get("received", 0) for k, v in together.items() if len(k) == 28) == 30
    assert together[city]["current"]["leads_received"] == 3 and together[city]["previous"]["leads_received"] == 2
    for n in (1, 2, 3, 4):
        alone = _plain(aggregate(session=db.session, root_path=root, depths=[n], periods=ALL, now=AT))
        assert alone and {k: v for k, v in together.items() if len(k) == 7 * n} == alone, n


def _build(session, monkeypatch, periods_of) -> dict:
    def counting(**kw):
        kw["periods"] = periods_of(kw["periods"])
        seen.append(sorted(kw["periods"]))
        return aggregate(**kw)

    seen: list = []
    monkeypatch.setattr(service, "aggregate", counting)
    bulletin, _ = service.request_build(session=session, unit_code=CITY, kind="month", start=NOV.start, actor=None,
                                        now=AT)
    service.build(session=session, bulletin_id=bulletin.id, now=AT, cfg=load_config())
    return {"seen": seen, "figures": bulletin.figures}


def test_a_comparison_period_without_data_is_not_counted_and_the_bulletin_is_the_same(world, monkeypatch):
    with scratch(world) as session:
        skipped = _build(session, monkeypatch, lambda periods: periods)
        counted = _build(session, monkeypatch, lambda periods: ALL)
    assert skipped["seen"] == [["current", "previous"]]  # no case before November 2025 ends: no 同比
    assert counted["seen"] == [["current", "last_year", "previous"]]
    assert skipped["figures"] == counted["figures"]
    assert skipped["figures"]["summary"]["closed"]["previous"] == 7


def test_old_cases_closed_or_overdue_in_the_period_still_count(world):
    with scratch(world) as session:
        city = session.get(Unit, CITY).path
        before = aggregate(session=session, root_path=city, depths=[3], periods=ALL, now=AT)[city]
        # O04 (closed 11-12) and N17 (open, overdue) now look received long before either period.
        for key, days in (("O04", 120), ("N17", 400)):
            case = session.get(Case, world.ids[key])
            case.received_at = case.received_at - timedelta(days=days)
        session.flush()
        after = aggregate(session=session, root_path=city, depths=[3], periods=ALL, now=AT)[city]
    assert (before["current"]["closed"], after["current"]["closed"]) == (24, 24)
    assert (before["current"]["overdue_now"], after["current"]["overdue_now"]) == (3, 3)
    assert after["current"]["handling_seconds"] == pytest.approx(before["current"]["handling_seconds"] + 120 * 86400)
    assert (after["current"]["received"], after["previous"]["received"]) == (30, 20)
    assert after["last_year"].get("received", 0) == 0  # N17's new date is in no period


@pytest.mark.postgres_only
def test_jit_is_off_only_for_the_passes(world):
    from sqlalchemy import event, text

    with scratch(world) as session:
        session.execute(text("SET LOCAL jit = on"))
        during = []
        listen = lambda conn, cursor, statement, *a: during.append(  # noqa: E731
            statement.startswith("SELECT substr") and cursor.connection.execute("SHOW jit").fetchone()[0])
        event.listen(session.get_bind(), "before_cursor_execute", listen)
        try:
            aggregate(session=session, root_path=session.get(Unit, CITY).path, depths=[3], periods=ALL, now=AT)
        finally:
            event.remove(session.get_bind(), "before_cursor_execute", listen)
        assert session.scalar(text("SHOW jit")) == "on"
    assert "off" in during and "on" not in during
