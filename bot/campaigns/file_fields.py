"""The campaign file's field types, each with its check and a message an organiser can act on."""

from __future__ import annotations

import difflib
import re
from datetime import datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}[a-z0-9]\Z")
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_HHMM = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])\Z")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def _matching(pattern: re.Pattern[str], rule: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"{value!r} {rule}")
        return value

    return AfterValidator(check)


def _text(value: str) -> str:
    """Trimmed, because YAML's `>` blocks end in a newline that would be texted."""
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def _zone_name(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        zones = sorted(available_timezones())
        lowered = {zone.lower(): zone for zone in zones}
        close = lowered.get(value.lower()) or next(
            iter(difflib.get_close_matches(value, zones, n=1, cutoff=0.6)), None
        )
        hint = f"did you mean {close}?" if close else "use an IANA name such as Europe/London"
        raise ValueError(f"bad time zone {value!r}: {hint}") from None
    return value


def _hhmm(value: object) -> object:
    if isinstance(value, time):
        return value
    match = _HHMM.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f'{value!r} is not a time of day: write it as "HH:MM", e.g. "09:00"')
    return time(int(match[1]), int(match[2]))


def _has_time_of_day(value: object) -> object:
    if isinstance(value, str) and _DATE_ONLY.match(value.strip()):
        raise ValueError(f"{value!r} has no time of day: write e.g. {value.strip()}T12:00")
    return value


Slug = Annotated[
    str,
    _matching(_SLUG, "is not a slug: use 2–64 lowercase letters, digits and hyphens"),
]
Name = Annotated[
    str,
    _matching(_NAME, "is not a name: use lowercase letters, digits and _, starting with a letter"),
]
Text = Annotated[str, AfterValidator(_text)]
ZoneName = Annotated[str, AfterValidator(_zone_name)]
ClockTime = Annotated[
    time,
    BeforeValidator(_hhmm),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str, when_used="json"),
]
# Naive while being read; the file parser localises it to the campaign time zone.
LocalDateTime = Annotated[datetime, BeforeValidator(_has_time_of_day)]
Minutes = Annotated[int, Field(gt=0)]
