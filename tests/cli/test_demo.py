"""`turnout demo` runs a short campaign offline, with simulated members, and shows both sides."""

from __future__ import annotations

import pytest

from bot.cli.demo import run_demo


async def test_demo_shows_a_campaign_with_simulated_members(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await run_demo() == 0
    out = capsys.readouterr().out
    assert "turnout campaign load demo.yml: Demo ballot, 3 scripts, 4 outcomes" in out
    assert "turnout members import members.csv: 5 new members" in out
    assert "/turnout assign @alice 5 branch:Leeds -> Assigned 5 members" in out
    assert "Before you start: Demo ballot  [I agree]" in out
    assert out.count("receives: Hi ") == 5, "five first texts, one Send next each"
    # The simulated members answered through the inbound path, into the threads.
    assert "PHONE  Dan texts: STOP" in out and "Opted out — do not text" in out
    assert "Looks like *Voted* [Record: Voted] [Send ;voted]" in out
    assert "Priya (••• ••• " in out and "receives: Brilliant, thank you Priya!" in out
    assert "1 replacement request for the office" in out
    assert "receives: Good question!" in out and "PHONE  Zoë texts: OK thanks" in out
    # The digest counts what happened, and nothing reached Twilio.
    assert "*Opt-outs:* 1" in out and "*Replacement ballots:* 1 open" in out
    assert "Twilio received 0 texts" in out
