"""`casework demo` on the embedded default: its summary is what the database holds, and a seed fixes it.

Three runs of 20 simulated days in fresh folders, started together (the machine has
two cores): seed 7 twice, as JSON, and seed 8 once as the human table. Each run's
numbers are recomputed here with SQL of our own on its SQLite file.
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

CASEWORK = Path(sys.executable).with_name("casework")
ARGS = ["demo", "--days", "20", "--per-day", "30", "--start", "2026-08-03", "--out", "out"]
# 罗霄山片区 counties (casework/demo/world.py), written out again so a change there is noticed here.
COUNTIES = {"360321", "360827", "360828", "360830", "360881", "360731", "360732", "360781",
            "430224", "430225", "431022", "431026", "431027", "431028"}
REPORT_UNITS = ("100000", "360000", "430000")
# The three runs take ~15 s on a quiet machine; a busy shared one has taken ten times that.
pytestmark = pytest.mark.timeout(900)


def _env() -> dict:
    """No configuration at all: the embedded SQLite file and Redis under ./instance."""
    return {k: v for k, v in os.environ.items()
            if not (k.startswith("CASEWORK_") or k in {"DATABASE_URL", "REDIS_URL", "TEST_DATABASE_URL",
                                                       "SECRET_KEY"})}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    specs = {"a": ["--seed", "7", "--json"], "again": ["--seed", "7", "--json"], "other": ["--seed", "8"]}
    procs = {}
    for name, extra in specs.items():
        folder = tmp_path_factory.mktemp(f"demo-{name}")
        procs[name] = (folder, subprocess.Popen([str(CASEWORK), *ARGS, *extra], cwd=folder, env=_env(),
                                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    out = {}
    for name, (folder, proc) in procs.items():
        stdout, stderr = proc.communicate(timeout=900)
        assert proc.returncode == 0, f"{name}: {stderr[-3000:]}"
        out[name] = {"folder": folder, "stdout": stdout, "stderr": stderr,
                     "db": sqlite3.connect(folder / "instance" / "casework.db")}
    yield out
    for run in out.values():
        run["db"].close()


def _rows(db, sql: str, *args) -> list[tuple]:
    return db.execute(sql, args).fetchall()


def recount(db) -> dict:
    """The summary as the database has it, from the clocks and units rather than the case flags the demo reads."""
    by_state = {f"{k}/{s}": n for k, s, n in _rows(db, "SELECT kind, status, count(*) FROM cases GROUP BY 1, 2")}
    # On time: closed with no handling clock breached or met after its due time.
    late = ("EXISTS (SELECT 1 FROM case_clocks k WHERE k.case_id = c.id AND k.name = 'handling'"
            " AND (k.breached_at IS NOT NULL OR k.met_at > k.due_at))")
    per_county = {}
    for code, name, closed, on_time in _rows(db, f"""
            SELECT c.handling_unit, u.name, count(*), sum(CASE WHEN {late} THEN 0 ELSE 1 END)
            FROM cases c JOIN units u ON u.code = c.handling_unit
            WHERE c.status = 'closed' AND c.kind IN ('petition', 'complaint') GROUP BY 1, 2"""):
        if code in COUNTIES:
            per_county[code] = {"name": name, "closed": closed, "on_time": on_time,
                                "rate": round(on_time / closed, 3)}
    # The level of a 督办 is the level of the unit that supervises.
    levels = dict(_rows(db, "SELECT u.level, count(*) FROM supervisions s JOIN units u ON u.code = s.unit_code "
                            "GROUP BY 1"))
    return {"by_state": by_state, "on_time_by_county": per_county, "supervisions_by_level": levels}


def test_summary_is_what_the_database_holds(runs):
    result = json.loads(runs["a"]["stdout"])
    db = runs["a"]["db"]
    assert result["summary"] == recount(db)
    stats = result["stats"]
    [(intakes,)] = _rows(db, "SELECT count(*) FROM cases WHERE kind IN ('petition', 'complaint', 'lead')")
    [(items,)] = _rows(db, "SELECT count(*) FROM cases WHERE kind = 'rectification'")
    [(reports,)] = _rows(db, "SELECT count(*) FROM rectification_progress")
    [(bulletins,)] = _rows(db, "SELECT count(*) FROM bulletins WHERE state = 'done'")
    assert (stats["intakes"], stats["rectification_items"], stats["progress_reports"], stats["bulletins"]) == (
        intakes, items, reports, bulletins)
    # 20 days from Monday 3 August: 2 Sundays' weekly bulletins for the 8 scheduled units (ministry, 江西, 湖南,
    # 5 cities), and the partial month for the 3 report units at the end.
    assert bulletins == 2 * 8 + 3
    assert stats["sweeps"] == 20 + 2  # each evening, and before each weekly build
    # A realistic mix, not a degenerate one: ~30 a working day, all three intake kinds, supervision that happened.
    assert 300 < intakes < 700
    assert {k.split("/")[0] for k in result["summary"]["by_state"]} >= {"petition", "complaint", "lead",
                                                                        "rectification"}
    assert result["summary"]["supervisions_by_level"].get("city", 0) > 0
    assert set(result["summary"]["on_time_by_county"]) <= COUNTIES and len(result["summary"]["on_time_by_county"]) > 5


@pytest.mark.parametrize("sql, minimum", [
    # 越级: logged above the county, forwarded down.
    ("SELECT count(*) FROM cases WHERE cross_level = 1", 1),
    # Group petitions (5 or more people).
    ("SELECT count(*) FROM cases WHERE people_count >= 5", 1),
    # Repeats of an open or recent case of the same person.
    ("SELECT count(*) FROM cases WHERE possible_repeat_of_id IS NOT NULL", 3),
    # Returned by the unit it was sent to.
    ("SELECT count(*) FROM cases WHERE return_count > 0", 1),
    # Leads taken in by discipline units.
    ("SELECT count(*) FROM cases WHERE kind = 'lead' AND registering_unit LIKE 'D%'", 1),
    # Rectification items under way, with progress reports.
    ("SELECT count(*) FROM rectification_progress", 1),
    # Staff who are late: clocks met after their due time or breached.
    ("SELECT count(*) FROM case_clocks WHERE breached_at IS NOT NULL", 1),
])
def test_the_mix_has_each_kind_of_event(runs, sql, minimum):
    [(count,)] = _rows(runs["a"]["db"], sql)
    assert count >= minimum, sql


def test_rectification_items_are_filed_by_a_city_for_its_county(runs):
    rows = _rows(runs["a"]["db"], """
        SELECT r.responsible_unit, c.registering_unit, u.role, r.deadline > r.finding_date
        FROM rectification_items r JOIN cases c ON c.id = r.case_id JOIN users u ON u.id = c.created_by""")
    assert rows
    for county, registrar, role, has_deadline in rows:
        assert county in COUNTIES and registrar == county[:4] + "00" and role == "supervisor" and has_deadline


def test_every_role_of_every_demo_unit_has_a_user(runs):
    users = set(_rows(runs["a"]["db"], "SELECT unit_code, role FROM users WHERE username LIKE 'demo%'"))
    cities = {c[:4] + "00" for c in COUNTIES}
    for county in COUNTIES:
        assert {(county, "clerk"), (county, "supervisor")} <= users
    for unit in cities | {"360000", "430000", "100000"}:
        assert {(unit, "clerk"), (unit, "supervisor"), (unit, "admin")} <= users
        assert {("D" + unit, "inspector"), ("D" + unit, "supervisor")} <= users


def test_bulletins_are_written_for_the_ministry_and_both_provinces(runs):
    result = json.loads(runs["a"]["stdout"])
    folder = runs["a"]["folder"]
    expected = [f"out/bulletin-{code}-2026-08.{ext}" for code in REPORT_UNITS for ext in ("xlsx", "pdf")]
    assert result["files"] == expected
    for code in REPORT_UNITS:
        sheet = load_workbook(folder / f"out/bulletin-{code}-2026-08.xlsx").active
        assert sheet.max_row > 5
        pdf = (folder / f"out/bulletin-{code}-2026-08.pdf").read_bytes()
        assert pdf.startswith(b"%PDF")
        assert len(PdfReader(folder / f"out/bulletin-{code}-2026-08.pdf").pages) >= 1


def test_same_seed_same_numbers_other_seed_other_numbers(runs):
    first, again = json.loads(runs["a"]["stdout"]), json.loads(runs["again"]["stdout"])
    assert again["summary"] == first["summary"] and again["stats"] == first["stats"]
    assert recount(runs["other"]["db"]) != first["summary"]


def test_the_table_names_what_the_json_has(runs):
    """Without --json: the summary table and the paths of the files written."""
    text = runs["other"]["stdout"]
    for heading in ("cases by kind/state:", "on-time closure by county:", "supervisions (督办) by level:",
                    "bulletins written:"):
        assert heading in text
    counts = recount(runs["other"]["db"])
    for key, count in counts["by_state"].items():
        assert f"{key:<28}{count:>7}" in text
    for code in REPORT_UNITS:
        assert f"out/bulletin-{code}-2026-08.pdf" in text
    assert "demo: 100%" in runs["other"]["stderr"]  # the progress bar ran to the end
