"""Who simulated members are: numbers no real phone has, parts a trainer can count on."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.config import Settings, parse_delay_range
from bot.phones import PhoneError, is_simulated, normalise
from bot.practice.personas import (
    BY_KEY,
    CORE,
    EDGES,
    PERSONAS,
    batch_personas,
    mobile_playing,
    number_for,
    persona_for,
    reply_delay,
)


def test_simulated_numbers_are_ones_no_roster_can_hold() -> None:
    assert is_simulated("+447700900123") and is_simulated("+447700900999")
    assert not is_simulated("+447700900042"), "the first hundred are left to fixtures"
    assert not is_simulated("+447400123456") and not is_simulated("+4477009001234")
    with pytest.raises(PhoneError):
        normalise("07700 900123")


def test_every_batch_has_the_everyday_replies_and_a_room_meets_every_part() -> None:
    first = [p.key for p in batch_personas(5, 0)]
    assert first[:4] == list(CORE) and first[4] in EDGES
    room = {p.key for trainee in range(30) for p in batch_personas(5, trainee)}
    assert room == set(BY_KEY)
    assert [p.key for p in batch_personas(2, 0)] == list(CORE[:2])


def test_numbers_for_a_part_are_free_distinct_and_read_back_as_it() -> None:
    taken: set[str] = set()
    for _ in range(20):
        phone = number_for(BY_KEY["welsh"], taken)
        assert phone is not None and phone not in taken and is_simulated(phone)
        assert persona_for(phone).key == "welsh"
        taken.add(phone)
    everything = {f"+447700900{n}" for n in range(100, 1000)}
    assert number_for(BY_KEY["voted"], everything) is None


def test_replies_and_delays_are_the_same_every_run() -> None:
    voted = BY_KEY["voted"]
    assert voted.reply(0, "+447700900100") == voted.reply(0, "+447700900100")
    assert voted.reply(0, "x") in voted.turns[0] and voted.reply(9, "x") is None
    assert BY_KEY["silent"].reply(0, "x") is None
    delays = {reply_delay("+447700900100", turn, 10, 60) for turn in range(20)}
    assert all(10 <= d <= 60 for d in delays) and len(delays) > 1
    assert reply_delay("+447700900100", 3, 10, 60) == reply_delay("+447700900100", 3, 10, 60)
    assert {persona_for(mobile_playing(p.key)).key for p in PERSONAS} == set(BY_KEY)


def test_reply_delays_are_configurable_and_checked() -> None:
    assert parse_delay_range("10-60") == (10.0, 60.0)
    assert parse_delay_range(" 5 ") == (5.0, 5.0)
    settings = Settings(_env_file=None, simulated_reply_seconds="2-4")  # type: ignore[call-arg]
    assert settings.reply_delay_range == (2.0, 4.0)
    for bad in ("soon", "60-10", "-5", "1-99999999"):
        with pytest.raises(ValidationError, match="SIMULATED_REPLY_SECONDS"):
            Settings(_env_file=None, simulated_reply_seconds=bad)  # type: ignore[call-arg]
