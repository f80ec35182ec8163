"""Every figure of 吉安市's November 2026 bulletin against values counted by hand from fixture.py's table.

The formulas are docs/metrics.md's. "Nov" below means received/decided/closed between 2026-11-01 00:00
and 2026-12-01 00:00 Beijing time; "Oct" the month before, as recounted when November is built.
"""
from __future__ import annotations

from datetime import timezone

import pytest
import sqlalchemy as sa

from casework import clock
from casework.bulletins.models import Bulletin
from casework.extensions import db
from tests.bulletins.fixture import CITY, SC, WA, YX, bj, scratch, world  # noqa: F401  (world: the fixture)

# figure: (November, October as recounted at November's build, 环比 = (Nov - Oct) / Oct rounded to 4 places).
# No case is older than October 2025's end, so every 同比 (yoy) and last_year is empty.
NOV = {
    # O-cases count in October (O18 at 10-31 23:59:59 included), N-cases in November (N00 at 11-01 00:00 too).
    "received": (31, 21, 0.4762),
    # Nov decisions: 27 of the 31 N-cases (not N14 N17 N23 N24) + O12 (accepted 11-02) + O18 (contacted 11-02) = 29,
    # of which N06 and N21 declined. Oct: 19 decisions (all O-cases but O12, O18); O05, O13 declined.
    "accepted": (27, 17, 0.5882),
    "not_accepted": (2, 2, 0.0),
    # Late Nov decisions: O12, N13 (sweep), N18 (sweep), N19, N29 (contacted after due) → 24/29.
    # Oct: O07 (sweep), O14 (contacted after due) → 17/19.
    "on_time_acceptance_rate": (0.8276, 0.8947, -0.075),
    # Closed in Nov: O04 O07 O11 O15 O16 O17 O18 O19 O21 + N00 N01 N02 N03 N04 N09 N11 N13 N19 N20 N25 N26 N27 N28
    # N29 = 24. Oct, recounted: O01 O03 O06 O08 O09 O14 O20 = 7 (O04 was reopened, its closed_at is now 11-12).
    "closed": (24, 7, 2.4286),
    # Closed late in Nov: O11, N19 (handled after due), O21, N11 (sweep) → 20/24. Oct: none late.
    "on_time_closure_rate": (0.8333, 1.0, -0.1667),
    # Overdue at 12-01 02:00: N14, N17, N24 (R2 is overdue too, but a rectification item). No 环比: Oct is 0.
    "overdue_now": (3, 0, None),
    # Days received→closed, Nov: 28+28+9+34+35+11+3+6+22 (O-cases) + 3+8+10+2+2+7+10+6+11+2+9+2+8+2+5 = 263 / 24.
    # Oct: 11+2+2+2+11+4+2 = 34 / 7 = 4.857.
    "avg_handling_days": (10.96, 4.86, 1.2551),
    # The 12th and 13th of the 24 sorted values (2×5, 3×2, 5, 6×2, 7, 8, 8, ...) are 8 and 8. Only for P itself.
    "median_handling_days": (8.0, None, None),
    "returned": (1, 1, 0.0),  # N12 / O09 (both returned by WA, then handled by YX)
    "return_rate": (0.0323, 0.0476, -0.3214),  # 1/31, 1/21
    "reopened": (1, 0, None),  # O04, closed again 11-12
    "reopen_rate": (0.0417, 0.0, None),  # 1/24; Oct 0/7 (a 0 earlier value has no 环比)
    "repeat": (1, 0, None),  # N07: person B while O02 is open
    "group": (1, 0, None),  # N25, 5 people
    "cross_level": (1, 1, 0.0),  # N10 / O17, logged by the city clerk
    # Opened in Nov: 11-12 #3 #4 #5, 11-20 #9 (manual), 11-27 #6 #7 #8 #10 #11 = 9; Oct: #1 #2 (10-28).
    "supervisions_opened": (9, 2, 3.5),
    # Closed in Nov: #2 (O12 accepted 11-02), #5 (11-12), #4 (11-13), #3 (11-20), #8 (11-27) = 5; Oct: #1 (10-29).
    "supervisions_closed": (5, 1, 4.0),
    # Nov closures with an answer: all but O16 = 23; unsatisfied: O15, N04, N19. Oct: 7 answered, O08 unsatisfied.
    "evaluated": (23, 7, 2.2857),
    "satisfied": (20, 6, 2.3333),
    "participation_rate": (0.9583, 1.0, -0.0417),  # 23/24, 7/7
    "satisfaction_rate": (0.8696, 0.8571, 0.0146),  # 20/23, 6/7
    "leads_received": (3, 2, 0.5),  # L2 L3 L4 / L1 L5
    "rect_due": (2, 0, None),  # R1 (11-20), R2 (11-25); R3 is due in December
    "rect_done_on_time": (1, 0, None),  # R1, verified 11-12
    "rect_overdue": (1, 0, None),  # R2, breached by the 11-27 sweep
}
BY_KIND = {"petition": (18, 0.5806), "complaint": (13, 0.4194)}
BY_CHANNEL = {"letter": (9, 0.2903), "visit": (6, 0.1935), "online": (3, 0.0968), "phone": (3, 0.0968),
              "hotline": (10, 0.3226), "inspection": (0, 0.0), "audit": (0, 0.0), "transfer": (0, 0.0)}
BY_CATEGORY = {"dibao": (12, 0.3871), "tekun": (3, 0.0968), "temporary_aid": (1, 0.0323), "disability": (1, 0.0323),
               "unsupported_children": (0, 0.0), "left_behind": (1, 0.0323), "elderly_care": (9, 0.2903),
               "social_org": (1, 0.0323), "charity": (0, 0.0), "community": (2, 0.0645), "customs": (1, 0.0323),
               "place_names": (0, 0.0), "other": (0, 0.0)}
TOP_CATEGORIES = ["dibao", "elderly_care", "tekun", "community", "customs"]  # ties at 1 go by key: customs first
LEADS_DISPOSED = {"inquiry": 1, "verification": 1, "hold": 1, "close": 0, "investigation": 0}  # L5, L3, L2 in Nov

# The three counties (N25 is the city's own, so in no child). score = 100 × (0.25·acc + 0.35·closure + 0.20·sat
# + 0.10·(1 − return_rate) + 0.10·(1 − overdue / 2)), 2 = YX's overdue, the most of the siblings.
CHILDREN = {
    # SC: received N01-N08 N26 N27; 11 decisions (O18 + 10) none late; closed O04 O17 O18 O19 N01 N02 N03 N04 N26
    # N27, none late, N04 unsatisfied. 25 + 35 + 18 + 10 + 10 = 98.
    SC: dict(received=10, on_time_acceptance_rate=1.0, on_time_closure_rate=1.0, satisfaction_rate=0.9,
             return_rate=0.0, overdue_now=0, score=98.0, rank=1),
    # WA: received N00 N09 N10 N11 N13 N14 N15 N16 N28; decided 8 (not N14), N13 late → 7/8; closed O07 O11 N00 N09
    # N11 N13 N28, O11 and N11 late → 5/7; all satisfied; N14 overdue.
    # 21.875 + 35×0.7143 (25.0005) + 20 + 10 + 5 = 81.8755 → 81.88.
    WA: dict(received=9, on_time_acceptance_rate=0.875, on_time_closure_rate=0.7143, satisfaction_rate=1.0,
             return_rate=0.0, overdue_now=1, score=81.88, rank=2),
    # YX: received N12 N17-N24 N29 N30; decided O12 N12 N18 N19 N20 N21 N22 N29 N30, late O12 N18 N19 N29 → 5/9;
    # closed O15 O16 O21 N19 N20 N29, late O21 N19 → 4/6; answered 5, satisfied O21 N20 N29 → 3/5; N12 returned →
    # 1/11; N17 N24 overdue. 25×0.5556 + 35×0.6667 + 20×0.6 + 10×0.9091 + 0 = 58.3155 → 58.32.
    YX: dict(received=11, on_time_acceptance_rate=0.5556, on_time_closure_rate=0.6667, satisfaction_rate=0.6,
             return_rate=0.0909, overdue_now=2, score=58.32, rank=3),
}
IDLE_COUNTIES = ["360802", "360803", "360821", "360822", "360823", "360824", "360825", "360826", "360829", "360881"]
# Open and overdue at 12-01 02:00 (= 11-30T18:00Z), earliest breached due first (ties by case id: R2 was created
# before N14): N17 due 11-17 24:00 → 13 days; R2 due 11-25 24:00 → 5; N14 due 11-25 24:00 → 5; N24 11-26 → 4.
OVERDUE = [("N17", YX, 13), ("R2", WA, 5), ("N14", WA, 5), ("N24", YX, 4)]
# The same four under their sweep's 督办 at the city, then N22 under the city supervisor's manual one (no due).
SUPERVISED = OVERDUE + [("N22", YX, None)]


@pytest.fixture()
def nov(world) -> dict:
    """The stored figures of November's bulletin."""
    return db.session.get(Bulletin, world.bulletins["2026-11"]).figures


@pytest.mark.parametrize("figure", NOV)
def test_summary_figure(figure, nov):
    value, previous, mom = NOV[figure]
    assert nov["summary"][figure] == {"value": value, "previous": previous, "mom": mom, "last_year": None,
                                        "yoy": None}


def test_summary_has_no_unchecked_figure(nov):
    assert set(nov["summary"]) == set(NOV)


@pytest.mark.parametrize("key, expected", [("by_kind", BY_KIND), ("by_channel", BY_CHANNEL),
                                           ("by_category", BY_CATEGORY)])
def test_breakdowns(key, expected, nov):
    assert {r["key"]: (r["count"], r["share"]) for r in nov[key]} == expected
    assert sum(count for count, _ in expected.values()) == NOV["received"][0]


def test_top_categories_and_lead_disposals(nov):
    assert [r["key"] for r in nov["top_categories"]] == TOP_CATEGORIES
    assert [r["name"] for r in nov["top_categories"]] == ["低保", "养老服务", "特困供养", "城乡社区", "婚丧移风易俗"]
    assert nov["leads_disposed"] == LEADS_DISPOSED


@pytest.mark.parametrize("code", CHILDREN)
def test_county_figures_score_and_rank(code, nov):
    child = next(c for c in nov["children"] if c["code"] == code)
    expected = dict(CHILDREN[code])
    assert (child["score"], child["rank"]) == (expected.pop("score"), expected.pop("rank"))
    assert {k: child["figures"][k] for k in expected} == expected


def test_ranking_leaves_idle_counties_unranked(nov):
    # The ten counties with no case have no part with data (docs/metrics.md): unranked, after the ranked ones,
    # and never in the 红榜 (a perfect 100 from the overdue part alone would have put them all on top).
    assert [(c["code"], c["rank"]) for c in nov["children"]] == \
        [(SC, 1), (WA, 2), (YX, 3)] + [(code, None) for code in IDLE_COUNTIES]
    assert all(c["score"] is None for c in nov["children"][3:])
    assert [c["code"] for c in nov["ranking"]["top"]] == [SC, WA, YX]
    assert [c["code"] for c in nov["ranking"]["bottom"]] == [YX, WA, SC]
    assert nov["ranking"]["weights"] == {"on_time_acceptance": 0.25, "on_time_closure": 0.35,
                                             "satisfaction": 0.2, "returns": 0.1, "overdue": 0.1}


@pytest.mark.parametrize("key, expected", [("overdue", OVERDUE), ("supervised", SUPERVISED)])
def test_lists(world, key, expected, nov):
    rows = nov["lists"][key]
    assert [(r["id"], r["unit"], r["days_overdue"], r["supervision_level"]) for r in rows] == \
        [(world.ids[k], unit, days, "city") for k, unit, days in expected]
    assert [r["number"] for r in rows] == [world.numbers[k] for k, _, _ in expected]


def test_title_period_and_history(nov):
    assert nov["title"] == "吉安市民政局2026年11月民政领域群众诉求办理情况通报"
    assert nov["unit"] == {"code": CITY, "name": "吉安市", "level": "city"}
    assert nov["period"] == {"kind": "month", "start": "2026-11-01", "end": "2026-12-01", "label": "2026年11月"}
    # Built at 02:00 on 12-01 Beijing time, which is still 11-30 in UTC.
    assert nov["built_at"] == "2026-11-30T18:00:00+00:00"
    # 12 months ending with November; only October's bulletin was built before, with its own closure rate (8/8).
    history = nov["history"]
    assert [h["start"] for h in history][:2] == ["2025-12-01", "2026-01-01"] and len(history) == 12
    assert [h["on_time_closure_rate"] for h in history] == [None] * 10 + [1.0, 0.8333]


def test_october_bulletin_kept_what_it_counted_then(world):
    # Built at 11-01 02:00: O04 was still closed (10-23), so October counted 8 closures, all answered, O08 the one
    # unsatisfied; O12 was overdue (due 10-23 24:00 → 8 days). November's recount of October says 7 (see NOV).
    figures = db.session.get(Bulletin, world.bulletins["2026-10"]).figures
    summary = {k: v["value"] for k, v in figures["summary"].items()}
    assert {k: summary[k] for k in ("received", "closed", "evaluated", "satisfied", "satisfaction_rate",
                                    "avg_handling_days", "median_handling_days", "overdue_now", "leads_received")} == \
        dict(received=21, closed=8, evaluated=8, satisfied=7, satisfaction_rate=0.875, avg_handling_days=5.25,
             median_handling_days=3.0, overdue_now=1, leads_received=2)
    assert [(r["unit"], r["days_overdue"]) for r in figures["lists"]["overdue"]] == [(YX, 8)]


def _stored_text(session, bulletin_id: int) -> str:
    return session.execute(sa.text("SELECT CAST(figures AS TEXT) FROM bulletins WHERE id = :id"),
                           {"id": bulletin_id}).scalar_one()


def test_a_built_bulletin_never_changes_and_a_rebuild_is_version_2(world):
    from casework.bulletins.service import request_build
    from casework.cases.actions import apply_action
    from casework.cases.models import Case
    from workers import jobs

    nov_id = world.bulletins["2026-11"]
    with scratch(world) as session:
        before = _stored_text(session, nov_id)
        # 永新县 finally accepts N17, the oldest overdue case, on 12-01 10:00.
        with clock.frozen(bj(12, 1).astimezone(timezone.utc)):
            apply_action(session=session, case_id=world.ids["N17"], action="accept", params={},
                         actor=world.user(f"clerk@{YX}"), expected_version=session.get(Case, world.ids["N17"]).version)
            session.commit()
            assert jobs.build_bulletin(nov_id) == "done"  # a rerun of the built one's job leaves it alone
        assert _stored_text(db.session, nov_id) == before
        v1 = db.session.get(Bulletin, nov_id)
        assert (v1.version, v1.built_at.astimezone(timezone.utc)) == (1, bj(12, 1, 2).astimezone(timezone.utc))

        with clock.frozen(bj(12, 1, 11).astimezone(timezone.utc)):
            rebuilt, _ = request_build(session=db.session, unit_code=CITY, kind="month", start=v1.period_start,
                                       actor=world.user("supervisor@360800"), now=clock.now())
            db.session.commit()
            rebuilt_id = rebuilt.id
            assert jobs.build_bulletin(rebuilt_id) == "done"
        v2 = db.session.get(Bulletin, rebuilt_id)
        assert v2.version == 2 and rebuilt_id != nov_id
        summary = v2.figures["summary"]
        assert summary["overdue_now"]["value"] == 2 and summary["received"]["value"] == 31
        assert [r["id"] for r in v2.figures["lists"]["overdue"]] == [world.ids[k] for k in ("R2", "N14", "N24")]
        # YX now has 1 overdue like WA: the overdue part is 1 − 1/1 = 0 for both; SC keeps 98.
        # WA: 21.875 + 25.0005 + 20 + 10 + 0 = 76.8755 → 76.88; YX: 58.3155 as before.
        assert {c["code"]: c["score"] for c in v2.figures["children"][:3]} == {SC: 98.0, WA: 76.88, YX: 58.32}
        assert _stored_text(db.session, nov_id) == before
