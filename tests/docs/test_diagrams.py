"""The committed state diagrams are what the workflow tables generate."""
from pathlib import Path

from click.testing import CliRunner

from casework.cli import main
from casework.workflow.definitions import WORKFLOWS
from casework.workflow.diagrams import render_all

ROOT = Path(__file__).resolve().parents[2]


def test_committed_diagrams_match_code():
    assert (ROOT / "docs" / "state-machines.md").read_text(encoding="utf-8") == render_all()


def test_every_transition_is_drawn_or_listed():
    text = render_all()
    for workflow in WORKFLOWS.values():
        for tr in workflow.transitions:
            assert tr.action in text


def test_check_command_fails_on_drift(tmp_path):
    stale = tmp_path / "sm.md"
    stale.write_text("old", encoding="utf-8")
    result = CliRunner().invoke(main, ["docs", "diagrams", "--check", "--output", str(stale)])
    assert result.exit_code != 0 and "out of date" in result.output
