"""Reply suggestions, read off the member's words: the rules, the labelled set, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.campaigns.campaign_file import (
    CampaignFileError,
    CampaignSpec,
    load_campaign_file,
    parse_campaign,
)
from bot.scripts.suggestions import OPT_OUT, suggest
from scripts.eval_suggestions import load, score
from tests.helpers import run_turnout

DATA = Path(__file__).resolve().parents[1] / "data"
SPEC = load_campaign_file(DATA / "suggest_campaign.yml")


def outcome_of(text: str, spec: CampaignSpec = SPEC) -> str | None:
    found = suggest(text, spec)
    return found.outcome if found else None


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("posted it yesterday", "voted"),
        ("ye done it", "voted"),
        ("posted 👍", "voted"),
        ("wedi pleidleisio", "voted"),
        ("Do, wedi postio fo ddoe", "voted"),
        ("not yet, will do tonight", "will_vote"),
        ("wil do", "will_vote"),
        ("I will post it tomorrow", "will_vote"),
        ("haven't posted it yet", "will_vote"),
        ("never got a ballot", "replacement"),
        ("I lost mine, can you send another?", "replacement"),
        ("heb gael papur", "replacement"),
        ("wrong number", "wrong_number"),
        ("no Sam here mate", "wrong_number"),
        ("I left the union last year", "not_member"),
        ("retired now", "not_member"),
        ("please don't text me again", OPT_OUT),
        ("remove me from your list", OPT_OUT),
        ("peidiwch â thecstio fi", OPT_OUT),
    ],
)
def test_the_usual_replies_get_their_outcome(text: str, outcome: str) -> None:
    assert outcome_of(text) == outcome


@pytest.mark.parametrize(
    "text",
    [
        "who is this?",
        "how do I vote?",
        "hi",
        "not sure if I posted it",
        "I don't know if I've voted",
        "have I voted? can't remember",
        "Already voted, now stop texting me",  # two things at once: the activist decides
        "I left it at work",
        "not interested",
        "agency worker but still in union",
        "I'll never vote",
        "lost interest to be honest",
        "take me to the post office",
        "I go away tomorrow",
        "peidiwch â phoeni",  # "don't worry"
        "How do I get a replacement if mine doesn't come?",
    ],
)
def test_unsure_means_no_suggestion(text: str) -> None:
    assert suggest(text, SPEC) is None


def test_negation_and_time_are_not_a_vote() -> None:
    assert outcome_of("not yet") == "will_vote"
    assert outcome_of("I will post it tomorrow") == "will_vote"
    assert outcome_of("I posted the form for a new one") != "voted"
    assert outcome_of("I haven't voted yet") == "will_vote"


def test_a_suggestion_carries_the_outcome_label_and_its_script() -> None:
    found = suggest("posted it yesterday", SPEC)
    assert found is not None
    assert (found.label, found.script) == ("Voted", "voted")
    assert 0.75 <= found.confidence < 1
    wrong = suggest("wrong number", SPEC)
    assert wrong is not None and wrong.script is None


def test_only_outcomes_the_campaign_records_are_suggested() -> None:
    text = (DATA / "suggest_campaign.yml").read_text(encoding="utf-8")
    without = parse_campaign(
        text.replace(
            "  - {key: not_member, label: Not a member, closes: true, "
            'examples: ["I left the union", "retired now"]}\n',
            "",
        )
    )
    assert outcome_of("retired now", without) is None
    assert outcome_of("please stop texting me", without) == OPT_OUT  # the card always has it


def test_campaign_examples_teach_other_outcomes() -> None:
    text = (DATA / "suggest_campaign.yml").read_text(encoding="utf-8")
    spec = parse_campaign(
        text.replace(
            "outcomes:\n",
            'outcomes:\n  - {key: moved_away, label: Moved away, examples: ["moved to Spain", '
            '"I live abroad now"]}\n',
        )
    )
    assert outcome_of("I moved to Spain", spec) == "moved_away"
    assert outcome_of("I live abroad now", spec) == "moved_away"
    assert outcome_of("moved to Spain", SPEC) is None  # not without the examples


def test_an_outcome_script_must_exist() -> None:
    text = (DATA / "suggest_campaign.yml").read_text(encoding="utf-8")
    with pytest.raises(CampaignFileError) as info:
        parse_campaign(text.replace("script: voted}", "script: votd}"))
    assert "outcomes[0].script: no script 'votd': did you mean voted?" in info.value.problems


@pytest.mark.parametrize("name", ["replies.jsonl", "heldout.jsonl"])
def test_the_labelled_replies_meet_the_targets(name: str) -> None:
    replies = load(DATA / name)
    assert sum(r.hard for r in replies) * 3 >= len(replies)
    result, _ = score(replies, SPEC)
    assert result.precision >= 0.95, result
    assert result.coverage >= 0.70, result


def test_turnout_suggest_prints_one_json_object_a_line(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'turnout.db'}"}
    for args in (("migrate",), ("campaign", "load", str(DATA / "suggest_campaign.yml"))):
        assert run_turnout(*args, cwd=tmp_path, env=env).returncode == 0
    done = run_turnout(
        "suggest",
        "--campaign",
        "pay-ballot-2021",
        "--json",
        cwd=tmp_path,
        env=env,
        input="posted it yesterday\nwho is this?\n\nnever got one 😕\n",
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["text"], r["outcome"], r["script"]) for r in rows] == [
        ("posted it yesterday", "voted", "voted"),
        ("who is this?", None, None),
        ("never got one 😕", "replacement", "replacement"),
    ]
    assert rows[0]["confidence"] >= 0.75 and rows[1]["confidence"] == 0.0
    plain = run_turnout(
        "suggest", "--campaign", "pay-ballot-2021", "wrong number", cwd=tmp_path, env=env
    )
    assert plain.stdout.startswith("wrong_number\t")
    unknown = run_turnout("suggest", "--campaign", "nope", "hi", cwd=tmp_path, env=env)
    assert unknown.returncode == 2 and "no campaign 'nope'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
