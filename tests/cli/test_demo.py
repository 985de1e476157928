"""`turnout demo` runs the whole loop offline and shows both sides."""

from __future__ import annotations

import pytest

from bot.cli.demo import run_demo


async def test_demo_shows_the_whole_loop(capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_demo() == 0
    out = capsys.readouterr().out
    assert "PHONE  Sam texts: Hi, I never got my ballot paper" in out
    assert "[Claim]" in out and "claimed by <@U0ALICE>" in out
    assert "PHONE  Sam receives: Hi Sam, it's Alice" in out
    assert (
        "https://union.example.org/ballot" in out
        and "|details here" not in out.split("PHONE  Sam receives:")[1].splitlines()[0]
    )
    assert ":white_check_mark:" in out
    assert "it pinged nobody" in out
