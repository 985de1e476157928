"""Roster phone numbers: every textable mobile accepted, everything else explained."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import phonenumbers
import pytest

from bot.phones import PhoneError, mask, normalise

REPO_ROOT = Path(__file__).resolve().parents[1]

# The deliberately bad values make_members.py puts in about 1% of rows, and
# the reason an organiser sees for each in the import report.
ROSTER_BAD_VALUES = {
    "": "no phone number",
    "n/a": "not a phone number",
    "07700": "too short for a GB number",
    "0161 496 0000": "a landline cannot receive texts",
    "12345": "too short for a GB number",
    "+44 20 7946 0000": "a landline cannot receive texts",
    "call office": "not a phone number",
}


def _shared_dir() -> Path:
    configured = os.environ.get("TURNOUT_SHARED_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared"


def _is_e164_mobile(value: str) -> bool:
    number = phonenumbers.parse(value, None)
    return (
        phonenumbers.is_valid_number(number)
        and phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == value
        and phonenumbers.number_type(number)
        in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    )


@pytest.mark.parametrize(
    "raw",
    [
        "07400 123456",
        "07400123456",
        "+44 7400 123456",
        "+447400123456",
        "447400123456",
        "(0)7400-123456",
        "+44 (0) 7400 123456",
        "0044 7400 123456",
        "  07400 123456  ",
        "07400\u00a0123456",
        "\t07400-123-456\n",
        "Mobile: 07400 123456",
        "tel:+447400123456",
        "07400 123456 (personal)",
        "07400.123.456",
        "０７４００ １２３４５６",
    ],
)
def test_uk_mobile_formats_found_in_exports(raw: str) -> None:
    assert normalise(raw) == "+447400123456"


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+1 212 555 0100", "GB", "+12125550100"),
        ("(212) 555-0100", "US", "+12125550100"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("06 12 34 56 78", "fr", "+33612345678"),
        ("+33 6 12 34 56 78", "GB", "+33612345678"),
        ("07624 123456", "GB", "+447624123456"),
    ],
)
def test_other_regions(raw: str, region: str, e164: str) -> None:
    assert normalise(raw, region) == e164


@pytest.mark.parametrize(("raw", "reason"), sorted(ROSTER_BAD_VALUES.items()))
def test_roster_bad_values_are_rejected_with_reasons(raw: str, reason: str) -> None:
    with pytest.raises(PhoneError) as caught:
        normalise(raw)
    assert caught.value.reason == reason
    assert str(caught.value) == reason


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("   ", "no phone number"),
        ("-", "no phone number"),
        ("+", "no phone number"),
        ("O7400 123456", "not a phone number (has letters in it)"),
        ("ex-directory", "not a phone number"),
        ("07400 123456 ext 12", "not a phone number (has letters in it)"),
        ("0740O 123456", "not a phone number (has letters in it)"),
        ("1-800-FLOWERS", "not a phone number (has letters in it)"),
        ("+999 1234 5678", "not a phone number (unknown country code)"),
        ("074001234567", "too long for a GB number"),
        ("07400 12345", "not a valid number for GB"),
        ("07700 900123", "not a valid number for GB"),
        ("0800 123 4567", "a freephone number cannot receive texts"),
        ("0845 123 4567", "a premium-rate number cannot receive texts"),
        ("0300 123 4567", "a company switchboard number cannot receive texts"),
        ("056 1234 5678", "an internet (VoIP) number is not a mobile"),
        ("070 1234 5678", "a personal (follow-me) number is not a mobile"),
        ("01 23 45 67 89", "a landline cannot receive texts"),
    ],
)
def test_other_bad_values(raw: str, reason: str) -> None:
    region = "FR" if raw.startswith("01 ") else "GB"
    with pytest.raises(PhoneError, match=r".") as caught:
        normalise(raw, region)
    assert caught.value.reason == reason


def test_phone_error_is_a_value_error_that_does_not_hold_the_number() -> None:
    with pytest.raises(ValueError, match="landline") as caught:
        normalise("0161 496 0000")
    assert "496" not in repr(caught.value.args)


def test_every_row_of_a_generated_roster_is_accepted_or_explained(tmp_path: Path) -> None:
    generator = _shared_dir() / "data" / "make_members.py"
    if not generator.is_file():
        pytest.skip(f"{generator} not found; set TURNOUT_SHARED_DIR to the shared folder")
    roster = tmp_path / "members.csv"
    subprocess.run(
        [sys.executable, str(generator), "-n", "3000", "-o", str(roster)],
        check=True,
        timeout=60,
    )
    with roster.open(newline="", encoding="utf-8") as handle:
        phones = [row["phone"] for row in csv.DictReader(handle)]
    assert len(phones) == 3000

    rejected: dict[str, str] = {}
    for raw in phones:
        try:
            assert _is_e164_mobile(normalise(raw)), raw
        except PhoneError as error:
            assert error.reason, raw
            rejected[raw] = error.reason

    # Only the generator's deliberate bad values are refused, each for its reason.
    assert rejected, "the roster should contain some bad rows"
    assert rejected.items() <= ROSTER_BAD_VALUES.items()
    assert len(phones) - len(rejected) > 0.95 * len(phones)


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+447400123456", "••• ••• 456"),
        ("+12125550100", "••• ••• 100"),
        ("+33612345678", "••• ••• 678"),
        ("", "••• •••"),
        ("+123", "••• •••"),
    ],
)
def test_mask_shows_only_the_last_three_digits(e164: str, masked: str) -> None:
    assert mask(e164) == masked
