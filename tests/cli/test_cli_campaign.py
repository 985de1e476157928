"""`turnout campaign load|list` as an admin runs them: a real process, a real database."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.main import main
from tests.helpers import FIXTURES, Turnout

EXAMPLE = (FIXTURES / "campaign.yml").read_text(encoding="utf-8")


def test_load_reports_problems_then_creates_then_updates(turnout: Turnout, tmp_path: Path) -> None:
    assert turnout("migrate").returncode == 0
    bad = tmp_path / "bad.yml"
    bad.write_text(
        EXAMPLE.replace("Europe/London", "Europe/Londn").replace(
            "script: how_to_vote", "script: how_to_votee"
        ),
        encoding="utf-8",
    )
    refused = turnout("campaign", "load", str(bad))
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert "Traceback" not in refused.stderr
    assert refused.stderr.splitlines() == [
        f"{bad} has 2 problems:",
        "  - timezone: bad time zone 'Europe/Londn': did you mean Europe/London?",
        "  - followups[0].script: unknown script 'how_to_votee' "
        "(scripts: voted, replacement, how_to_vote)",
    ]

    good = tmp_path / "pay.yml"
    good.write_text(EXAMPLE.replace("theirs?", "theirs at {workplace}?"), encoding="utf-8")
    created = turnout("campaign", "load", str(good))
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    assert lines[0] == "Created campaign pay-ballot-2021 (draft)"
    assert "Initial script: 97 characters with sample names:" in lines
    assert "  Cost per text: GSM-7 · 1 segment (97 characters)" in lines
    assert "Custom fields the scripts use (from the member import): workplace" in lines

    updated = turnout("campaign", "load", str(good))
    assert updated.returncode == 0, updated.stderr
    assert updated.stdout.splitlines()[0] == "Updated campaign pay-ballot-2021"

    listed = turnout("campaign", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "SLUG             STATE  NAME",
        "pay-ballot-2021  draft  Pay ballot 2021 — get out the vote",
    ]


def test_commands_on_an_unmigrated_or_empty_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # In-process (the subprocess test above covers the real entry point), for speed.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'turnout.db'}")
    assert main(["campaign", "list"]) == 2
    assert "run `turnout migrate` first" in capsys.readouterr().err

    assert main(["migrate"]) == 0
    capsys.readouterr()
    assert main(["campaign", "list"]) == 0
    assert capsys.readouterr().out.startswith("No campaigns yet")
    assert main(["campaign", "load", str(tmp_path / "nope.yml")]) == 1
    assert "file: cannot read it" in capsys.readouterr().err
    assert main(["campaign"]) == 2
    assert "load" in capsys.readouterr().err
