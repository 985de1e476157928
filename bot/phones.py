"""Phone numbers from membership rosters: parsed strictly, shown masked.

Rosters come from membership systems in every format people type, and a
wrong guess here texts the wrong person, which is a data-protection breach.
So :func:`normalise` accepts a number only when ``phonenumbers`` says it is a
valid mobile, and otherwise explains why in words an organiser can fix the
roster with. Activists only ever see :func:`mask`'s output.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberType, ValidationResult

__all__ = ["PhoneError", "mask", "normalise"]

_TEXTABLE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})

# What each kind of non-mobile number is, for the import report.
_TYPE_REASONS = {
    PhoneNumberType.FIXED_LINE: "a landline cannot receive texts",
    PhoneNumberType.TOLL_FREE: "a freephone number cannot receive texts",
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number cannot receive texts",
    PhoneNumberType.SHARED_COST: "a shared-cost number cannot receive texts",
    PhoneNumberType.VOIP: "an internet (VoIP) number is not a mobile",
    PhoneNumberType.PERSONAL_NUMBER: "a personal (follow-me) number is not a mobile",
    PhoneNumberType.PAGER: "a pager number cannot receive texts",
    PhoneNumberType.UAN: "a company switchboard number cannot receive texts",
    PhoneNumberType.VOICEMAIL: "a voicemail access number cannot receive texts",
}

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "not a phone number (unknown country code)",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short to be a phone number",
    NumberParseException.TOO_SHORT_NSN: "too short to be a phone number",
    NumberParseException.TOO_LONG: "too long to be a phone number",
}

# Why an invalid number is invalid, when its length already tells. A number
# that is "possible locally" lacks its area code or has lost digits, and for
# a mobile roster that is simply too short.
_LENGTH_REASONS = {
    ValidationResult.TOO_SHORT: "too short for a {country} number",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too short for a {country} number",
    ValidationResult.TOO_LONG: "too long for a {country} number",
    ValidationResult.INVALID_LENGTH: "wrong number of digits for a {country} number",
}

# Exports wrap numbers in labels ("Mobile: ...", "... (home)"). A label is
# set apart from the number by a space, a colon or a bracket; letters joined
# straight onto the digits ("O7400...", "1-800-FLOWERS") belong to the number.
_NUMBER_START = re.compile(r"[\d+(]")
_LABEL_END = frozenset(":")
_LABEL_START = frozenset("([,;/")
_LETTER = re.compile(r"[^\W\d_]")

_MASK = "•••"


class PhoneError(ValueError):
    """A roster phone that cannot be texted, with a reason fit for the import report.

    The number itself is deliberately not kept, so the error is safe to log.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalise(raw: str, region: str = "GB") -> str:
    """The E.164 form (``+447400123456``) of a textable mobile number.

    ``region`` is the country assumed for national numbers ("07400 ...").
    Raises :class:`PhoneError` for a blank, unparseable, invalid or
    non-mobile number.
    """
    region = region.upper()
    candidate = _trim_labels(raw)
    if not any(ch.isalnum() for ch in candidate):
        # Exports write a missing number as "", "-" or "()".
        raise PhoneError("no phone number")
    if not any(ch.isdigit() for ch in candidate):
        raise PhoneError("not a phone number")
    if _LETTER.search(candidate):
        # phonenumbers would read letters as a vanity number and dial
        # something nobody wrote down.
        raise PhoneError("not a phone number (has letters in it)")
    number = _parse(candidate, region)
    _check_valid(number, region)
    _check_textable(number)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Ofcom keeps 07700 900000–900999 for drama: no real phone has one, and
# `normalise` refuses them, so no roster can hold one. Simulated members get
# numbers from it; the first hundred are left to test fixtures.
SIMULATED_PREFIX = "+447700900"
SIMULATED_RANGE = range(100, 1000)


def is_simulated(e164: str) -> bool:
    """True for a number in the simulated range (a practice member's)."""
    tail = e164[len(SIMULATED_PREFIX) :]
    return (
        e164.startswith(SIMULATED_PREFIX)
        and len(tail) == 3
        and tail.isdigit()
        and int(tail) in SIMULATED_RANGE
    )


def mask(e164: str) -> str:
    """``"••• ••• 123"``: enough for an activist to tell members apart, no more."""
    digits = [ch for ch in e164 if ch.isdigit()]
    tail = "".join(digits[-3:]) if len(digits) > 3 else ""
    return " ".join(part for part in (_MASK, _MASK, tail) if part)


def _trim_labels(raw: str) -> str:
    """``raw`` without a label before or after the number, if it has one."""
    start_match = _NUMBER_START.search(raw)
    digits = [i for i, ch in enumerate(raw) if ch.isdigit()]
    if start_match is None or not digits:
        return raw.strip()
    start, end = start_match.start(), digits[-1] + 1
    if start > 0 and not _is_label_edge(raw[start - 1], _LABEL_END):
        start = 0
    if end < len(raw) and not _is_label_edge(raw[end], _LABEL_START):
        end = len(raw)
    return raw[start:end].strip()


def _is_label_edge(ch: str, edges: frozenset[str]) -> bool:
    return ch.isspace() or ch in edges


def _parse(candidate: str, region: str) -> PhoneNumber:
    try:
        return phonenumbers.parse(candidate, region)
    except NumberParseException as exc:
        reason = _PARSE_REASONS.get(exc.error_type, "not a phone number")
        raise PhoneError(reason) from exc


def _check_valid(number: PhoneNumber, region: str) -> None:
    """Reject numbers that cannot exist, naming the country they were read as."""
    if phonenumbers.is_valid_number(number):
        return
    country = _region_of(number) or region
    possible = phonenumbers.is_possible_number_with_reason(number)
    template = _LENGTH_REASONS.get(possible, "not a valid number for {country}")
    raise PhoneError(template.format(country=country))


def _region_of(number: PhoneNumber) -> str | None:
    """The region a number's country code belongs to (GB for +44), if any."""
    if number.country_code is None:
        return None
    region = phonenumbers.region_code_for_country_code(number.country_code)
    return None if region == phonenumbers.UNKNOWN_REGION else region


def _check_textable(number: PhoneNumber) -> None:
    kind = phonenumbers.number_type(number)
    if kind in _TEXTABLE_TYPES:
        return
    raise PhoneError(_TYPE_REASONS.get(kind, "not a number that can receive texts"))
