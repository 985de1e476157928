"""The campaign file: the design's example loads; every mistake is named at once."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.campaigns.campaign_file import (
    CampaignFileError,
    CampaignSpec,
    load_campaign_file,
    parse_campaign,
)
from bot.campaigns.lifecycle import load_campaign
from storage import campaigns as stored
from storage.db import Database, migrate
from tests.helpers import FIXTURES

FIXTURE = FIXTURES / "campaign.yml"
EXAMPLE = FIXTURE.read_text(encoding="utf-8")
LONDON = ZoneInfo("Europe/London")


def variant(*replacements: tuple[str, str]) -> str:
    text = EXAMPLE
    for old, new in replacements:
        assert old in text, f"the example has no {old!r}"
        text = text.replace(old, new)
    return text


def problems_of(text: str) -> list[str]:
    with pytest.raises(CampaignFileError) as raised:
        parse_campaign(text)
    return raised.value.problems


def test_the_design_example_loads() -> None:
    spec = load_campaign_file(FIXTURE)
    assert spec.slug == "pay-ballot-2021"
    assert spec.name == "Pay ballot 2021 — get out the vote"
    assert spec.texting_hours.start == time(9, 0) and spec.texting_hours.end == time(21, 0)
    assert spec.ballot_closes == datetime(2021, 11, 4, 12, 0, tzinfo=UTC)
    assert spec.turnout_threshold == 0.5
    assert spec.initial == (
        "Hi {first_name}, it's {activist_first_name}, a rep at {branch}. "
        "Have you posted your ballot in the pay dispute yet?"
    )  # the folded block's trailing newline is not texted
    assert list(spec.scripts) == ["voted", "replacement", "how_to_vote"]
    assert [o.key for o in spec.outcomes] == ["voted", "will_vote", "replacement", "wrong_number"]
    assert spec.outcomes[2].replacement_request and not spec.outcomes[2].closes
    assert spec.outcomes[3].closes
    [followup] = spec.followups
    assert followup.unless_outcome == ("voted", "wrong_number")
    assert followup.script == "how_to_vote"
    # Naive, so local: London is back on GMT by 1 November.
    assert followup.at == datetime(2021, 11, 1, 10, 0, tzinfo=UTC)
    assert (spec.digest_at, spec.nudge_after_minutes, spec.escalate_after_minutes) == (
        time(18, 0),
        30,
        240,
    )
    assert spec.ballot_closes_date() == "Thursday 4 November"
    assert spec.custom_fields() == set()


def test_the_stored_config_is_json_and_round_trips() -> None:
    spec = load_campaign_file(FIXTURE)
    config = json.loads(json.dumps(spec.to_config()))
    assert config["texting_hours"] == {"start": "09:00", "end": "21:00"}
    assert "slug" not in config  # slug, name and time zone are columns of their own
    assert CampaignSpec.from_config(spec.slug, spec.name, spec.timezone, config) == spec


def test_stored_config_that_no_longer_validates_is_refused() -> None:
    spec = load_campaign_file(FIXTURE)
    config = spec.to_config() | {"initial": "Hi {frist_name}"}
    with pytest.raises(CampaignFileError) as raised:
        CampaignSpec.from_config(spec.slug, spec.name, spec.timezone, config)
    assert (
        "initial: unknown field {frist_name}: did you mean {first_name}?" in raised.value.problems
    )


def test_naive_times_are_local_to_the_campaign() -> None:
    spec = parse_campaign(
        variant(
            ("2021-11-04T12:00:00+00:00", "2021-11-04 12:00"),
            ('"2021-11-01T10:00:00"', '"2021-10-25T10:00:00"'),
        )
    )
    assert spec.ballot_closes == datetime(2021, 11, 4, 12, 0, tzinfo=UTC)  # GMT
    assert spec.followups[0].at == datetime(2021, 10, 25, 9, 0, tzinfo=UTC)  # BST
    new_york = parse_campaign(variant(("Europe/London", "America/New_York")))
    assert new_york.followups[0].at == datetime(2021, 11, 1, 14, 0, tzinfo=UTC)  # EDT


def test_unquoted_times_and_yaml_words_mean_what_they_say() -> None:
    spec = parse_campaign(
        variant(
            ('{start: "09:00", end: "21:00"}', "{start: 9:30, end: 21:00}"),
            ("label: Voted}", "label: No}"),
        )
    )
    assert (spec.texting_hours.start, spec.texting_hours.end) == (time(9, 30), time(21, 0))
    assert spec.outcomes[0].label == "No"


def test_custom_fields_are_collected_from_every_script() -> None:
    spec = parse_campaign(
        variant(("a rep at {branch}", "a rep at {branch} in {workplace}"), ("theirs?", "{email}"))
    )
    assert spec.custom_fields() == {"workplace", "email"}


BROKEN = [
    pytest.param(("initial: >", "opening: >"), "initial: missing", id="initial-missing"),
    pytest.param(
        ("initial: >", "intial: >"), "intial: unknown setting: did you mean initial?", id="typo-key"
    ),
    pytest.param(
        ("Europe/London", "Europe/Londn"),
        "timezone: bad time zone 'Europe/Londn': did you mean Europe/London?",
        id="timezone",
    ),
    pytest.param(
        ("Europe/London", "Mars/Olympus"),
        "timezone: bad time zone 'Mars/Olympus': use an IANA name such as Europe/London",
        id="timezone-hopeless",
    ),
    pytest.param(
        ("script: how_to_vote", "script: how_to_votee"),
        "followups[0].script: unknown script 'how_to_votee' "
        "(scripts: voted, replacement, how_to_vote)",
        id="followup-script",
    ),
    pytest.param(
        ("[voted, wrong_number]", "[voted, wrong_numbr]"),
        "followups[0].unless_outcome[1]: unknown outcome 'wrong_numbr' "
        "(outcomes: voted, will_vote, replacement, wrong_number)",
        id="followup-outcome",
    ),
    pytest.param(
        ("thank you {first_name}", "thank you {frist_name}"),
        "scripts.voted: unknown field {frist_name}: did you mean {first_name}?",
        id="script-typo",
    ),
    pytest.param(
        ("Hi {first_name}", "Hi {first_name!r}"),
        "initial: field {first_name!r}: conversions (!) are not allowed, only plain names",
        id="initial-syntax",
    ),
    pytest.param(
        ("slug: pay-ballot-2021", "slug: Pay Ballot"),
        "slug: 'Pay Ballot' is not a slug: use 2–64 lowercase letters, digits and hyphens",
        id="slug",
    ),
    pytest.param(
        ('end: "21:00"', 'end: "08:00"'),
        "texting_hours: start (09:00) must be before end (08:00)",
        id="hours-order",
    ),
    pytest.param(
        ('end: "21:00"', 'end: "9pm"'),
        "texting_hours.end: '9pm' is not a time of day",
        id="hours-format",
    ),
    pytest.param(
        ('start: "09:00", ', ""), "texting_hours.start: missing", id="hours-start-missing"
    ),
    pytest.param(
        ("turnout_threshold: 0.5", "turnout_threshold: 50"),
        "turnout_threshold: input should be less than or equal to 1",
        id="threshold",
    ),
    pytest.param(
        ("turnout_threshold: 0.5", "turnout_threshold: 0"),
        "turnout_threshold: input should be greater than 0",
        id="threshold-zero",
    ),
    pytest.param(
        ("2021-11-04T12:00:00+00:00", "2021-11-04"),
        "ballot_closes: '2021-11-04' has no time of day",
        id="close-date-only",
    ),
    pytest.param(
        ("2021-11-04T12:00:00+00:00", "next thursday"),
        "ballot_closes: input should be a valid datetime",
        id="close-garbage",
    ),
    pytest.param(
        (
            "data_protection: >\n  You are handling members' personal data on the union's "
            "behalf ...\n",
            'data_protection: "  "\n',
        ),
        "data_protection: must not be empty",
        id="data-protection-blank",
    ),
    pytest.param(
        ("{key: will_vote,", "{key: voted,"),
        "outcomes[1].key: duplicate key 'voted' (also outcomes[0])",
        id="outcome-duplicate",
    ),
    pytest.param(
        ("replacement_request: true}", "replacement: true}"),
        "outcomes[2].replacement: unknown key: did you mean replacement_request?",
        id="outcome-typo",
    ),
    pytest.param(
        ("  how_to_vote: Fill", "  How-To: Fill"),
        "scripts.How-To: 'How-To' is not a name",
        id="script-name",
    ),
    pytest.param(
        ('"2021-11-01T10:00:00"', '"2021-11-05T10:00:00"'),
        "followups[0].at: 2021-11-05T10:00:00+00:00 is not before the ballot closes",
        id="followup-after-close",
    ),
    pytest.param(
        ("outcomes:", "nudge_after_minutes: 300\noutcomes:"),
        "escalate_after_minutes: must be more than nudge_after_minutes (300)",
        id="escalate-before-nudge",
    ),
    pytest.param(
        ("outcomes:", "digest_at: 6pm\noutcomes:"),
        "digest_at: '6pm' is not a time of day",
        id="digest",
    ),
    pytest.param(
        ("  voted: Brilliant", "  voted: Thanks\n  voted: Brilliant"),
        "line 14, column 3: duplicate key 'voted'",
        id="yaml-duplicate",
    ),
    pytest.param(
        ("texting_hours: {start", "texting_hours: [start"),
        "line 4, column 45: expected ',' or ']', but got '}'",
        id="yaml-syntax",
    ),
]


@pytest.mark.parametrize(("change", "problem"), BROKEN)
def test_a_broken_file_is_refused_naming_the_problem(change: tuple[str, str], problem: str) -> None:
    found = problems_of(variant(change))
    assert any(p.startswith(problem) for p in found), found


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of(
        variant(
            ("Europe/London", "Europe/Londn"),
            ("thank you {first_name}", "thank you {frist_name}"),
            ("script: how_to_vote", "script: how_to_votee"),
            ("initial: >", "intial: >"),
            ("turnout_threshold: 0.5", "turnout_threshold: 2"),
        )
    )
    assert len(problems) == 6, problems  # the misspelt key, and so a missing initial
    with pytest.raises(CampaignFileError) as raised:
        parse_campaign(variant(("Europe/London", "Europe/Londn")), source="pay.yml")
    assert str(raised.value).startswith("pay.yml has 1 problem:\n  - timezone: bad time zone")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "slug: missing"),
        ("- slug: x\n", "file: expected settings as 'key: value' lines, not a list"),
    ],
)
def test_an_empty_or_shapeless_file_is_refused(text: str, problem: str) -> None:
    assert problem in problems_of(text)


def test_an_unreadable_file_is_a_campaign_file_error(tmp_path: Path) -> None:
    with pytest.raises(CampaignFileError) as raised:
        load_campaign_file(tmp_path / "missing.yml")
    assert raised.value.problems == ["file: cannot read it (No such file or directory)"]


@pytest.mark.parametrize(
    ("now", "is_open", "change"),
    [
        # A summer day (BST, UTC+1): open 08:00–20:00 UTC.
        (datetime(2021, 7, 1, 7, 59, tzinfo=UTC), False, datetime(2021, 7, 1, 8, 0, tzinfo=UTC)),
        (datetime(2021, 7, 1, 8, 0, tzinfo=UTC), True, datetime(2021, 7, 1, 20, 0, tzinfo=UTC)),
        (datetime(2021, 7, 1, 20, 0, tzinfo=UTC), False, datetime(2021, 7, 2, 8, 0, tzinfo=UTC)),
        # The night the clocks go back: Sunday opens at 09:00 GMT.
        (datetime(2021, 10, 30, 23, 30, tzinfo=UTC), False, datetime(2021, 10, 31, 9, tzinfo=UTC)),
        # The night the clocks go forward: Sunday opens at 09:00 BST.
        (datetime(2021, 3, 27, 22, 0, tzinfo=UTC), False, datetime(2021, 3, 28, 8, tzinfo=UTC)),
        (datetime(2021, 3, 28, 19, 59, tzinfo=UTC), True, datetime(2021, 3, 28, 20, tzinfo=UTC)),
    ],
)
def test_texting_window_follows_local_wall_clock(
    now: datetime, is_open: bool, change: datetime
) -> None:
    spec = load_campaign_file(FIXTURE)
    assert spec.texting_window(now) == (is_open, change)
    assert spec.texting_window(now)[1].tzinfo == LONDON


def test_texting_window_in_a_zone_far_from_utc() -> None:
    spec = parse_campaign(variant(("Europe/London", "Pacific/Auckland")))
    # 22:00 UTC on 1 July is 10:00 on 2 July in Auckland (NZST, UTC+12).
    is_open, closes = spec.texting_window(datetime(2021, 7, 1, 22, 0, tzinfo=UTC))
    assert is_open and closes == datetime(2021, 7, 2, 21, 0, tzinfo=ZoneInfo("Pacific/Auckland"))


async def test_a_bad_file_changes_nothing_in_the_database(
    database_url: str, tmp_path: Path
) -> None:
    await asyncio.to_thread(migrate, database_url)
    db = Database(database_url)
    try:
        good = tmp_path / "campaign.yml"
        good.write_text(EXAMPLE, encoding="utf-8")
        now = datetime(2021, 10, 1, 9, 0, tzinfo=UTC)
        await load_campaign(db, good, now)
        bad = tmp_path / "bad.yml"
        bad.write_text(
            variant(("name: Pay ballot", "name: Renamed"), ("script: how_to_vote", "script: x")),
            encoding="utf-8",
        )
        with pytest.raises(CampaignFileError):
            await load_campaign(db, bad, datetime(2021, 10, 2, tzinfo=UTC))
        async with db.transaction() as session:
            [campaign] = await stored.all(session)
        assert campaign.name.startswith("Pay ballot")
        assert campaign.updated_at == now
        assert campaign.config == load_campaign_file(good).to_config()
    finally:
        await db.dispose()


def test_a_spec_built_directly_is_held_to_the_same_rules() -> None:
    config = load_campaign_file(FIXTURE).to_config()
    fields = config | {"slug": "x-1", "name": "X", "timezone": "Europe/London"}
    with pytest.raises(ValueError, match="unknown script 'nope'"):
        CampaignSpec.model_validate(
            fields | {"followups": [{"at": "2021-11-01T10:00:00Z", "script": "nope"}]}
        )
    with pytest.raises(ValueError, match="need a time zone offset"):
        CampaignSpec.model_validate(fields | {"ballot_closes": "2021-11-04T12:00"})
