"""SMS segment figures: known cases, replacements, the Slack line, the CLI, and
a cross-check of thousands of texts against Twilio's own calculator (npm)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from collections.abc import Callable, Sequence

import pytest

from bot.scripts.segments import GSM_BASIC, GSM_EXTENSION, describe, figures, gsm_replacement
from tests.helpers import Turnout

TWILIO_PACKAGE = "sms-segments-calculator@1.3.0"
"""Pinned so the cross-check is repeatable; bump it deliberately."""

# --- Known cases ---------------------------------------------------------------------

FAMILY = "👨‍👩‍👧‍👦"  # 11 UTF-16 units, one character
CASES: list[tuple[str, str, str, int, int, list[str]]] = [
    # (id, text, encoding, segments, characters, non_gsm)
    ("empty", "", "GSM-7", 1, 0, []),
    ("gsm-160", "a" * 160, "GSM-7", 1, 160, []),
    ("gsm-161", "a" * 161, "GSM-7", 2, 161, []),
    ("gsm-306", "a" * 306, "GSM-7", 2, 306, []),
    ("gsm-307", "a" * 307, "GSM-7", 3, 307, []),
    ("extension-80", "{" * 80, "GSM-7", 1, 160, []),
    ("extension-81", "{" * 81, "GSM-7", 2, 162, []),
    ("euro-at-160", "a" * 159 + "€", "GSM-7", 2, 161, []),
    # 152 septets then an escape pair: the pair may not straddle 153, so it moves.
    ("escape-pair-not-split", "a" * 152 + "]" + "a" * 153, "GSM-7", 3, 307, []),
    ("escape-pair-fits", "a" * 151 + "]" + "a" * 153, "GSM-7", 2, 306, []),
    ("crlf", "a\r\nb", "GSM-7", 1, 4, []),
    ("form-feed", "\f", "GSM-7", 1, 2, []),
    ("ucs2-70", "’" * 70, "UCS-2", 1, 70, ["’"]),
    ("ucs2-71", "’" * 71, "UCS-2", 2, 71, ["’"]),
    ("ucs2-134", "’" * 134, "UCS-2", 2, 134, ["’"]),
    ("ucs2-135", "’" * 135, "UCS-2", 3, 135, ["’"]),
    ("emoji-two-units", "😀" * 35, "UCS-2", 1, 35, ["😀"]),
    ("emoji-over", "😀" * 36, "UCS-2", 2, 36, ["😀"]),
    # 66 units then a surrogate pair: it may not straddle 67, so it moves.
    ("surrogate-pair-not-split", "’" * 66 + "😀" + "’" * 3, "UCS-2", 2, 70, ["’", "😀"]),
    ("surrogate-pair-moves", "’" * 66 + "😀" + "’" * 66, "UCS-2", 3, 133, ["’", "😀"]),
    ("zwj-family-one-character", FAMILY, "UCS-2", 1, 1, [FAMILY]),
    ("zwj-family-not-split", "’" * 60 + FAMILY, "UCS-2", 2, 61, ["’", FAMILY]),
    ("skin-tone", "👍🏽 ok", "UCS-2", 1, 4, ["👍🏽"]),
    ("flags", "🇬🇧🇮🇪", "UCS-2", 1, 2, ["🇬🇧", "🇮🇪"]),
    ("curly-quote", "It’s polling day", "UCS-2", 1, 16, ["’"]),
    ("decomposed-accent", "Se\u0301an", "UCS-2", 1, 4, ["e\u0301"]),
    ("name-mairead", "Mairéad", "GSM-7", 1, 7, []),
    ("name-sean", "Seán", "UCS-2", 1, 4, ["á"]),
    ("name-sian", "Siân", "UCS-2", 1, 4, ["â"]),
    ("name-zoe", "Zoë", "UCS-2", 1, 3, ["ë"]),
    ("name-lukasz", "Łukasz", "UCS-2", 1, 6, ["Ł"]),
    ("gsm-accents", "é ñ ü Ä Ö Ñ Ü ß Ç ø å à è ù ì ò", "GSM-7", 1, 31, []),
    ("greek-capitals", "ΔΦΓΛΩΠΨΣΘΞ", "GSM-7", 1, 10, []),
    ("lowercase-c-cedilla", "ç", "UCS-2", 1, 1, ["ç"]),
    ("non-gsm-in-order", "“x” ’y’ “z”", "UCS-2", 1, 11, ["“", "”", "’"]),
]


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "characters", "non_gsm"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_known_case(
    text: str, encoding: str, segments: int, characters: int, non_gsm: list[str]
) -> None:
    f = figures(text)
    assert (f.encoding, f.segments, f.characters, f.non_gsm) == (
        encoding,
        segments,
        characters,
        non_gsm,
    )


def test_every_gsm_character_is_gsm_7() -> None:
    f = figures(GSM_BASIC + GSM_EXTENSION)
    assert f.encoding == "GSM-7"
    assert f.characters == len(GSM_BASIC) + 2 * len(GSM_EXTENSION)


def test_escape_character_itself_is_not_gsm_7() -> None:
    assert figures("\x1b").encoding == "UCS-2"


# --- Replacements --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "replaced"),
    [
        ("It’s ‘ours’", "It's 'ours'"),
        ("“Vote”, «now»", '"Vote", "now"'),
        ("Leeds – Hull — York", "Leeds - Hull - York"),
        ("Wait…", "Wait..."),
        ("10\u00a0May\u2009at\u202f9", "10 May at 9"),
        ("• one\u2028• two", "- one\n- two"),
        ("zero\u200bwidth\u00adsoft\ufeff", "zerowidthsoft"),
        ("Se\u0301an", "Séan"),
        ("Siân, Zoë, Łukasz", "Siân, Zoë, Łukasz"),
        ("plain text [ok] {fine}", "plain text [ok] {fine}"),
        ("Thanks 👍🏽", "Thanks 👍🏽"),
    ],
)
def test_gsm_replacement(text: str, replaced: str) -> None:
    assert gsm_replacement(text) == replaced


def test_gsm_text_is_left_as_it_is() -> None:
    text = GSM_BASIC + GSM_EXTENSION
    assert gsm_replacement(text) == text


# --- The Slack line ------------------------------------------------------------------


def _line(text: str) -> str:
    return describe(figures(text), text)


def test_describe_gsm() -> None:
    assert _line("a" * 191) == "GSM-7 · 2 segments (191 characters)"
    assert _line("Hi") == "GSM-7 · 1 segment (2 characters)"


def test_describe_names_what_forces_ucs2_and_what_replacing_saves() -> None:
    text = "“Hi” it’s " + "a" * 130
    assert _line(text) == (
        "UCS-2 · 3 segments (140 characters) — forced by “ ” ’: "
        "use the GSM-7 version to save 2 segments"
    )


def test_describe_when_replacing_saves_nothing() -> None:
    assert _line("It’s today") == (
        "UCS-2 · 1 segment (10 characters) — forced by ’: the GSM-7 version costs the same"
    )


def test_describe_when_nothing_can_be_replaced() -> None:
    assert _line("Hi Siân 👋") == "UCS-2 · 1 segment (9 characters) — forced by â 👋"


def test_describe_names_what_still_forces_ucs2() -> None:
    text = "Hi Siân, it’s " + "a" * 60
    assert _line(text) == (
        "UCS-2 · 2 segments (74 characters) — forced by â ’: "
        "the GSM-7 replacements still leave â forcing UCS-2"
    )


def test_describe_shows_invisible_characters_by_code_point() -> None:
    assert _line("10\u00a0May") == (
        "UCS-2 · 1 segment (6 characters) — forced by U+00A0: the GSM-7 version costs the same"
    )


# --- The command line ----------------------------------------------------------------


def test_cli_json_lines(turnout: Turnout) -> None:
    lines = ['"Hello"', "", json.dumps("It’s " + "😀" * 40), "42", "{not json", '"{}"']
    done = turnout("segments", "--json", input="\n".join(lines) + "\n")
    assert done.returncode == 1
    assert [json.loads(line) for line in done.stdout.splitlines()] == [
        {"encoding": "GSM-7", "segments": 1, "characters": 5, "non_gsm": []},
        {"encoding": "UCS-2", "segments": 2, "characters": 45, "non_gsm": ["’", "😀"]},
        {"encoding": "GSM-7", "segments": 1, "characters": 4, "non_gsm": []},
    ]
    assert "line 4: not a JSON string" in done.stderr
    assert "line 5: not JSON" in done.stderr


def test_cli_json_all_good_exits_zero(turnout: Turnout) -> None:
    done = turnout("segments", "--json", input='"a"\n"b"\n')
    assert (done.returncode, len(done.stdout.splitlines())) == (0, 2)


def test_cli_text_report(turnout: Turnout) -> None:
    done = turnout("segments", "It’s polling day")
    assert done.returncode == 0, done.stderr
    assert "Encoding:   UCS-2" in done.stdout
    assert "Forcing UCS-2: ’" in done.stdout
    assert done.stdout.rstrip().endswith("It's polling day")


def test_cli_reads_stdin_without_its_trailing_newline(turnout: Turnout) -> None:
    done = turnout("segments", input="a" * 160 + "\n")
    assert done.returncode == 0, done.stderr
    assert "Segments:   1" in done.stdout
    assert "With GSM-7" not in done.stdout


def test_cli_refuses_text_with_json(turnout: Turnout) -> None:
    assert turnout("segments", "hi", "--json").returncode == 2


# --- Cross-check against Twilio's calculator -----------------------------------------

Twilio = Callable[[list[str]], list[dict[str, object]]]

NODE_SCRIPT = """
const { SegmentedMessage } = require(process.argv[2]);
const lines = require('fs').readFileSync(0, 'utf8').split('\\n').filter((l) => l);
const out = lines.map((line) => {
  const m = new SegmentedMessage(JSON.parse(line));
  return JSON.stringify({
    encoding: m.encodingName, segments: m.segmentsCount, characters: m.numberOfCharacters,
  });
});
process.stdout.write(out.join('\\n') + '\\n');
"""


@pytest.fixture(scope="session")
def twilio(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Twilio:
    """Twilio's calculator run by node, installed once into pytest's cache."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip(f"the cross-check needs {'node' if node is None else 'npm'} on PATH")
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    folder = TWILIO_PACKAGE.replace("@", "-")
    prefix = cache.mkdir(folder) if cache is not None else tmp_path_factory.mktemp(folder)
    package = prefix / "node_modules" / "sms-segments-calculator"
    if not (package / "package.json").is_file():
        try:
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix),
                 TWILIO_PACKAGE],
                capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            pytest.skip(f"npm install {TWILIO_PACKAGE} timed out")
        if done.returncode != 0 or not package.is_dir():
            detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(f"npm install {TWILIO_PACKAGE} failed: {detail}")
    script = tmp_path_factory.mktemp("twilio") / "segments.js"
    script.write_text(NODE_SCRIPT, encoding="utf-8")

    def run(texts: list[str]) -> list[dict[str, object]]:
        done = subprocess.run(
            [node, str(script), str(package.resolve())],
            input="".join(json.dumps(text) + "\n" for text in texts),
            capture_output=True, text=True, timeout=300, check=True,
        )  # fmt: skip
        return [json.loads(line) for line in done.stdout.splitlines()]

    return run


GSM_POOL = GSM_BASIC.replace("\r", "") + "     eeeeaaaattttoooo"
SMART = "‘’“”–—…\u00a0•"
ACCENTS = "éñüÄÖÜàèâłëáçŁíóú"
# Emoji whose clusters are the same under Unicode 10 (Twilio's splitter) and now.
EMOJI = [
    "😀", "👍", "👍🏽", "👋🏿", "❤️", "🎉", "✊", "✊🏾", "🗳️", "📮", "✅", "☎️",
    FAMILY, "👩‍💻", "👨🏽‍🏫", "🏳️‍🌈", "👩‍❤️‍👨", "🇬🇧", "🇮🇪", "1️⃣", "🏴󠁧󠁢󠁷󠁬󠁳󠁿",
]  # fmt: skip


def _corpus(seed: int = 23038) -> list[str]:
    rng = random.Random(seed)
    gsm: list[Sequence[str]] = [GSM_POOL]  # an alphabet per draw, GSM-heavy
    pools = {
        "gsm": gsm,
        "extension": gsm * 6 + [GSM_EXTENSION],
        "smart": gsm * 8 + [SMART],
        "accents": gsm * 8 + [ACCENTS],
        "emoji": gsm * 10 + [EMOJI],
        "mixed": gsm * 5 + [GSM_EXTENSION, SMART, ACCENTS, EMOJI],
    }
    texts: list[str] = []
    for _ in range(2400):
        pool = pools[rng.choice(list(pools))]
        length = rng.choice([rng.randrange(0, 701), rng.randrange(140, 320)])
        parts: list[str] = []
        size = 0  # in code points
        while size < length:
            parts.append(rng.choice(rng.choice(pool)))
            size += len(parts[-1])
        texts.append("".join(parts))
    # Boundaries: pad to each side of a limit, then put a wide character across it.
    for limit in (152, 153, 154, 159, 160, 161, 305, 306, 307, 459, 460):
        for wide in ("", "{", "€", "\f"):
            texts.append("a" * (limit - 1) + wide + "a" * rng.randrange(0, 3))
    for limit in (65, 66, 67, 68, 69, 70, 71, 133, 134, 135, 201):
        for wide in ("", "😀", "👍🏽", FAMILY, "🇬🇧", "e\u0301"):
            texts.append("’" * (limit - 1) + wide + "’" * rng.randrange(0, 3))
    return texts


def test_cross_check_with_twilio_calculator(twilio: Twilio) -> None:
    texts = _corpus()
    assert len(texts) >= 2000
    theirs = twilio(texts)
    assert len(theirs) == len(texts)
    mismatches = []
    for text, their in zip(texts, theirs, strict=True):
        f = figures(text)
        ours = {"encoding": f.encoding, "segments": f.segments, "characters": f.characters}
        if ours != their:
            mismatches.append(f"  {text[:60]!r}… (len {len(text)}): ours {ours}, Twilio's {their}")
    assert not mismatches, f"{len(mismatches)} of {len(texts)} differ; first:\n" + "\n".join(
        mismatches[:10]
    )


@pytest.mark.parametrize(
    ("text", "ours", "twilios"),
    [("👩‍🦰", 1, 2), ("❤️‍🔥", 1, 2), ("🧑‍🤝‍🧑", 1, 3), ("a🏽", 1, 2)],
)
def test_newer_emoji_sequences_differ_from_twilio_calculator(
    twilio: Twilio, text: str, ours: int, twilios: int
) -> None:
    """Twilio's splitter is frozen at Unicode 10: these are deliberately not matched."""
    assert figures(text).characters == ours
    assert twilio([text])[0]["characters"] == twilios
