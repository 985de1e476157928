"""Twilio failures explained to activists, and the outbox's retry decision."""

from __future__ import annotations

import pytest

from bot.bridge.twilio_errors import DESCRIPTIONS, RETRYABLE, describe, is_retryable


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (21211, "not valid"),
        (21408, "country is not enabled"),
        (21610, "opted out (replied STOP)"),
        (21612, "cannot be reached by text"),
        (21614, "not a mobile"),
        (21617, "too long"),
        (30001, "queued"),
        (30002, "suspended"),
        (30003, "switched off"),
        (30004, "blocked"),
        (30005, "no longer exists"),
        (30006, "landline"),
        (30007, "spam"),
        (30008, "unknown reason"),
        (30034, "not registered"),
        (20429, "too many requests"),
        (20003, "credentials"),
    ],
)
def test_known_codes_in_activist_words(code: int, words: str) -> None:
    assert words in describe(code)
    assert describe(str(code)) == describe(code)


def test_webhook_string_codes_with_whitespace() -> None:
    assert describe(" 21610 ") == describe(21610)


def test_descriptions_are_short_phrases_to_embed() -> None:
    for code, text in DESCRIPTIONS.items():
        assert 10 <= len(text) <= 90, code
        assert not text.endswith("."), code
        assert "Twilio error" not in text, code


@pytest.mark.parametrize(
    ("code", "fallback", "expected"),
    [
        (99999, "Something odd happened", "Something odd happened"),
        (99999, "  padded  ", "padded"),
        (99999, None, "Twilio error 99999"),
        ("99999", "", "Twilio error 99999"),
        (None, "Connection reset", "Connection reset"),
        (None, None, "unknown Twilio error"),
        ("not-a-code", None, "unknown Twilio error"),
        (21610, "Attempt to send to unsubscribed recipient", describe(21610)),
    ],
)
def test_unknown_codes_fall_back(
    code: int | str | None, fallback: str | None, expected: str
) -> None:
    assert describe(code, fallback) == expected


def test_retryable_codes() -> None:
    assert {20429, 20500, 20503, 30001} <= RETRYABLE
    assert RETRYABLE <= DESCRIPTIONS.keys()


@pytest.mark.parametrize(
    ("code", "status", "retry"),
    [
        (20429, 429, True),
        (None, 429, True),
        (20500, 500, True),
        (20503, 503, True),
        (None, 502, True),
        (None, 504, True),
        (12345, 500, True),
        (21611, 400, True),
        ("30001", None, True),
        (30001, None, True),
        (21211, 400, False),
        (21610, 400, False),
        (21614, 400, False),
        (21617, 400, False),
        (20003, 401, False),
        (20404, 404, False),
        (None, 400, False),
        (None, 403, False),
        (None, 404, False),
        (12345, 400, False),
        (30003, None, False),
        (30005, None, False),
        (30007, None, False),
        (None, None, False),
        (21610, 500, False),
        (None, 200, False),
    ],
)
def test_is_retryable(code: int | str | None, status: int | None, retry: bool) -> None:
    assert is_retryable(code, status) is retry
