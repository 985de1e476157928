"""Text crossing the bridge: member SMS made inert in Slack, Slack markup kept off phones."""

from __future__ import annotations

import pytest

from bot.text import EMOJI, escape_for_slack, slack_to_plain, user_ids_in

NAMES = {"U1": "Alice", "U2": "Bob Smith", "W3": "Chloé"}


@pytest.mark.parametrize(
    ("sms", "posted"),
    [
        (
            "<!channel> & <@U123> <http://evil|bank>",
            "&lt;!channel&gt; &amp; &lt;@U123&gt; &lt;http://evil|bank&gt;",
        ),
        ("<!here> is this real?", "&lt;!here&gt; is this real?"),
        ("Fish & chips", "Fish &amp; chips"),
        ("already &amp; escaped", "already &amp;amp; escaped"),
        ("3 < 4 > 2", "3 &lt; 4 &gt; 2"),
        ("*not* _changed_ :smile: @channel", "*not* _changed_ :smile: @channel"),
        ('It\'s "quoted" 😀', 'It\'s "quoted" 😀'),
        ("", ""),
    ],
)
def test_escape_for_slack(sms: str, posted: str) -> None:
    assert escape_for_slack(sms) == posted


@pytest.mark.parametrize(
    "typed",
    ["<!channel> & <@U123> <http://evil|bank>", "&amp; is how you write &", "3 < 4 > 2"],
)
def test_escaped_text_reads_back_as_typed(typed: str) -> None:
    assert slack_to_plain(escape_for_slack(typed)) == typed


@pytest.mark.parametrize(
    ("wire", "sms"),
    [
        (
            "Vote at <https://union.org/vote|our site> &amp; tell <@U1>!",
            "Vote at https://union.org/vote & tell Alice!",
        ),
        ("<https://union.org/vote>", "https://union.org/vote"),
        ("see <http://union.org|union.org>", "see union.org"),
        ("see <https://www.union.org|www.union.org>", "see www.union.org"),
        ("<https://x.org/?a=1&amp;b=2|form>", "https://x.org/?a=1&b=2"),
        ("<https://x.org/a_b_c_d|link>", "https://x.org/a_b_c_d"),
        ("*<https://x.org/*star*|link>*", "https://x.org/*star*"),
        ("<https://x.org/:smile:/|link>", "https://x.org/:smile:/"),
        ("mail <mailto:rep@union.org|rep@union.org>", "mail rep@union.org"),
        ("mail <mailto:rep@union.org|our rep>", "mail rep@union.org"),
        ("ring <tel:+447400123456|07400 123456>", "ring +447400123456"),
    ],
)
def test_links_show_where_they_go(wire: str, sms: str) -> None:
    assert slack_to_plain(wire, NAMES) == sms


@pytest.mark.parametrize(
    ("wire", "sms"),
    [
        ("ask <@U1>", "ask Alice"),
        ("ask <@U2> or <@W3>", "ask Bob Smith or Chloé"),
        ("ask <@U9|carol>", "ask carol"),
        ("ask <@U9>", "ask someone"),
        ("ask <@U1|old name>", "ask Alice"),
        ("in <#C123|general>", "in #general"),
        ("in <#C123>", "in #channel"),
        ("<!here> <!channel> <!everyone>", "@here @channel @everyone"),
        ("<!here|@here> look", "@here look"),
        ("ask <!subteam^S1|@reps>", "ask @reps"),
        ("ask <!subteam^S1>", "ask @team"),
        ("by <!date^1636027200^{date_short}|4 Nov 2021>", "by 4 Nov 2021"),
        ("by <!date^1636027200^{date}^https://x.org|Thu 4th>", "by Thu 4th"),
        ("by <!date^1636027200^{date}>", "by 2021-11-04 12:00 UTC"),
        ("by <!date^99999999999999999999^{date}>", "by"),
    ],
)
def test_mentions_become_names(wire: str, sms: str) -> None:
    assert slack_to_plain(wire, NAMES) == sms


def test_user_names_may_be_a_lookup_function() -> None:
    asked: list[str] = []

    def lookup(user_id: str) -> str | None:
        asked.append(user_id)
        return "Dee" if user_id == "U7" else None

    assert slack_to_plain("<@U7> and <@U8|eve> and <@U9>", lookup) == "Dee and eve and someone"
    assert asked == ["U7", "U8", "U9"]


def test_names_are_not_reformatted() -> None:
    names = {"U1": "*Star* &amp; _Co_ :smile:", "U2": "\x000\x00"}
    assert slack_to_plain("hi <@U1>", names) == "hi *Star* &amp; _Co_ :smile:"
    assert slack_to_plain("hi <@U2>", names) == "hi 0"


@pytest.mark.parametrize(
    ("wire", "sms"),
    [
        ("&lt;b&gt; &amp; &amp;lt;", "<b> & &lt;"),
        ("*bold*", "bold"),
        ("_italic_", "italic"),
        ("~struck~", "struck"),
        ("`code`", "code"),
        ("```\nline one\nline two\n```", "line one\nline two"),
        ("```inline fence```", "inline fence"),
        ("```*kept* _as_ :smile:```", "*kept* _as_ :smile:"),
        ("`*kept*`", "*kept*"),
        ("*bold* and _it_, ~gone~.", "bold and it, gone."),
        ("(*bold*)", "(bold)"),
        ("*two words*", "two words"),
        ("*_both_*", "both"),
        ("_*both*_", "both"),
        ("~_*all three*_~", "all three"),
        ("*Vote at <https://union.org|site>*", "Vote at https://union.org"),
        ("x*y*z", "x*y*z"),
        ("2*3=6", "2*3=6"),
        ("2 * 3 * 4", "2 * 3 * 4"),
        ("snake_case_name", "snake_case_name"),
        ("a_b and c_d", "a_b and c_d"),
        ("file_name_.txt", "file_name_.txt"),
        ("lone * star", "lone * star"),
        ("lone _ bar", "lone _ bar"),
        ("* not bold *", "* not bold *"),
        ("**", "**"),
        ("*a\nb*", "*a\nb*"),
        ("~100 people", "~100 people"),
        ("it's `", "it's `"),
        ("&gt; quoted reply\nmy answer", "quoted reply\nmy answer"),
        ("&gt;50% turnout needed", ">50% turnout needed"),
    ],
)
def test_markup_is_removed_and_plain_characters_kept(wire: str, sms: str) -> None:
    assert slack_to_plain(wire, NAMES) == sms


@pytest.mark.parametrize(
    ("wire", "sms"),
    [
        ("thanks :slightly_smiling_face:", "thanks 🙂"),
        (":smile:", "😄"),
        (":thumbsup: :+1:", "👍 👍"),
        (":+1::skin-tone-4:", "👍🏽"),
        (":wave::skin-tone-2: hi", "👋🏻 hi"),
        (":heart:", "❤️"),
        (":tada::tada:", "🎉🎉"),
        (":pray:", "🙏"),
        (":white_check_mark: done", "✅ done"),
        ("posted :ballot_box_with_ballot:", "posted 🗳️"),
        (":fist: solidarity", "✊ solidarity"),
        (":made_up_emoji:", ":made_up_emoji:"),
        (":made_up::skin-tone-3:", ":made_up::skin-tone-3:"),
        ("at 10:30:tada:", "at 10:30🎉"),
        ("ratio 3:2:1", "ratio 3:2:1"),
        (":SMILE:", ":SMILE:"),
        ("`:smile:`", ":smile:"),
    ],
)
def test_common_emoji_shortcodes_become_emoji(wire: str, sms: str) -> None:
    assert slack_to_plain(wire) == sms


def test_emoji_table_is_about_thirty_common_ones_and_all_single_emoji() -> None:
    assert len(EMOJI) >= 30
    for name, emoji in EMOJI.items():
        assert name == name.lower()
        assert 1 <= len(emoji) <= 2, name


@pytest.mark.parametrize(
    ("wire", "sms"),
    [
        ("  hello \n", "hello"),
        ("", ""),
        ("\x00<@U1>\x00", "Alice"),
        ("\x000\x00", "0"),
        ("plain text, nothing to do.", "plain text, nothing to do."),
        ("Chloé’s café — £5", "Chloé’s café — £5"),
    ],
)
def test_edge_cases(wire: str, sms: str) -> None:
    assert slack_to_plain(wire, NAMES) == sms


@pytest.mark.parametrize(
    ("wire", "ids"),
    [
        ("hi <@U1> and <@W3|chloe>, cc <@U1>", {"U1", "W3"}),
        ("<#C1|general> <!here> <!subteam^S1|@reps>", set()),
        ("no mentions", set()),
        ("&lt;@U1&gt; typed, not a mention", set()),
    ],
)
def test_user_ids_in(wire: str, ids: set[str]) -> None:
    assert user_ids_in(wire) == ids
