"""Opt-out keywords: STOP works at once, conversation about stopping does not."""

from __future__ import annotations

import pytest

from bot.bridge.optout import (
    OPT_IN_WORDS,
    OPT_OUT_WORDS,
    Keyword,
    classify,
    from_twilio_opt_out_type,
)


@pytest.mark.parametrize(
    "body",
    [
        "STOP",
        "stop",
        "Stop",
        " Stop! ",
        "stop.",
        "STOP 🙏",
        "🛑 STOP 🛑",
        "STOP 👍🏽",
        "*stop*",
        '"Stop"',
        "stop\n",
        "STOP!!!",
        "ＳＴＯＰ",
        "STOPALL",
        "stop all",
        "Unsubscribe",
        "CANCEL",
        "end",
        "Quit.",
        "revoke",
        "OPTOUT",
        "opt out",
        "Opt-Out",
        "\u200bstop\u200b",
        "STOP STOP",
        "stop. STOP!",
        "Stop unsubscribe",
        "STOP STOP 🙏",
    ],
)
def test_whole_message_opt_out_words(body: str) -> None:
    assert classify(body) is Keyword.OPT_OUT


@pytest.mark.parametrize("body", ["START", "start", "Start.", "UNSTOP", "unstop!", "Yes", "YES 👍"])
def test_whole_message_opt_in_words(body: str) -> None:
    assert classify(body) is Keyword.OPT_IN


@pytest.mark.parametrize(
    "body",
    [
        "please stop texting my wife",
        "stop it",
        "Stop texting me",
        "unsubscribe please?",
        "stop, stop it",
        "I will not stop until we win",
        "don't stop",
        "stopped",
        "nonstop",
        "yes I have voted",
        "yes!! posted it yesterday",
        "HELP",
        "INFO",
        "the end of the ballot is when?",
        "",
        "   ",
        "🙏",
        "!!!",
    ],
)
def test_anything_else_is_not_a_keyword(body: str) -> None:
    assert classify(body) is None


def test_word_lists_are_exported_in_upper_case() -> None:
    assert {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"} == set(
        OPT_OUT_WORDS
    )
    assert {"START", "UNSTOP", "YES"} == set(OPT_IN_WORDS)
    assert not OPT_OUT_WORDS & OPT_IN_WORDS
    for word in OPT_OUT_WORDS:
        assert classify(word.lower()) is Keyword.OPT_OUT
    for word in OPT_IN_WORDS:
        assert classify(word.lower()) is Keyword.OPT_IN


@pytest.mark.parametrize(
    ("value", "keyword"),
    [
        ("STOP", Keyword.OPT_OUT),
        ("stop", Keyword.OPT_OUT),
        ("START", Keyword.OPT_IN),
        (" START ", Keyword.OPT_IN),
        ("HELP", None),
        ("", None),
        ("SOMETHING_NEW", None),
        (None, None),
    ],
)
def test_from_twilio_opt_out_type(value: str | None, keyword: Keyword | None) -> None:
    assert from_twilio_opt_out_type(value) is keyword
