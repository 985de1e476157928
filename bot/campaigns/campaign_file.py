"""The campaign file: an organiser's YAML, checked as a whole before anything changes.

An organiser writes this file by hand, usually the night before a campaign
starts, so every problem is reported at once as "FIELD: reason" (with a
"did you mean" for typos) instead of one per attempt. A file either loads
completely or changes nothing.

YAML 1.1 typing surprises people writing by hand (`21:00` unquoted is the
number 1260, `no` is False) and a repeated key silently wins. So the loader
reads every scalar as text, leaving types to the schema, and refuses repeated
keys. A datetime without an offset is local time in the campaign's zone.
"""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Mapping
from datetime import UTC, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any, TypeGuard
from zoneinfo import ZoneInfo

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from bot.campaigns.file_fields import (
    ClockTime,
    LocalDateTime,
    Minutes,
    Name,
    Slug,
    Text,
    ZoneName,
)
from bot.scripts import templates


class CampaignFileError(Exception):
    """The campaign file cannot be loaded; `problems` holds every "FIELD: reason"."""

    def __init__(self, problems: list[str], source: str = "campaign file") -> None:
        self.problems = problems
        self.source = source
        count = f"{len(problems)} problem" + ("" if len(problems) == 1 else "s")
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source} has {count}:\n{lines}")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TextingHours(_Frozen):
    """Local wall-clock hours in which initial and follow-up texts may leave."""

    start: ClockTime
    end: ClockTime

    @model_validator(mode="after")
    def _start_before_end(self) -> TextingHours:
        if self.start >= self.end:
            raise ValueError(
                f"start ({self.start:%H:%M}) must be before end ({self.end:%H:%M}); "
                "texting hours cannot run past midnight"
            )
        return self


class Outcome(_Frozen):
    """A button on the member card; `closes` ends the conversation's follow-ups.

    `script` is the script offered after it is recorded; `examples` are member
    replies that mean it, for reply suggestions (the usual keys need none).
    """

    key: Name
    label: Text
    replacement_request: bool = False
    closes: bool = False
    script: Name | None = None
    examples: tuple[Text, ...] = ()


class Followup(_Frozen):
    """A round that re-queues members without one of `unless_outcome`, with `script`."""

    at: LocalDateTime
    unless_outcome: tuple[str, ...] = ()
    script: str


class CampaignSpec(_Frozen):
    """A validated campaign file: what a campaign says and when it may text."""

    slug: Slug
    name: Annotated[Text, Field(max_length=200)]
    timezone: ZoneName
    texting_hours: TextingHours
    ballot_closes: LocalDateTime
    turnout_threshold: Annotated[float, Field(gt=0, le=1)] = 0.5
    data_protection: Text
    initial: Text
    scripts: dict[Name, Text] = Field(default_factory=dict)
    outcomes: tuple[Outcome, ...] = ()
    followups: tuple[Followup, ...] = ()
    digest_at: ClockTime = time(18, 0)
    nudge_after_minutes: Minutes = 30
    escalate_after_minutes: Minutes = 240

    @model_validator(mode="after")
    def _consistent(self) -> CampaignSpec:
        # The file parser checks all this with better paths before building a
        # spec; this guards specs built any other way (stored config, tests).
        problems = _cross_problems(dict(self))
        if not all(_aware(at) for at in (self.ballot_closes, *(f.at for f in self.followups))):
            problems.append("ballot_closes and followups[].at need a time zone offset")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def templates(self) -> dict[str, str]:
        """Every template by its place in the file: `initial`, `scripts.NAME`."""
        return {"initial": self.initial} | {f"scripts.{k}": v for k, v in self.scripts.items()}

    def custom_fields(self) -> set[str]:
        """Fields the templates take from imported member columns."""
        return {field for t in self.templates().values() for field in templates.custom_fields(t)}

    def to_config(self) -> dict[str, Any]:
        """JSON-ready settings for `Campaign.config`; slug, name and zone are columns."""
        return self.model_dump(mode="json", exclude={"slug", "name", "timezone"})

    @classmethod
    def from_config(
        cls, slug: str, name: str, timezone: str, config: Mapping[str, Any]
    ) -> CampaignSpec:
        """The spec a campaign row stores; CampaignFileError if it no longer validates."""
        raw = {**config, "slug": slug, "name": name, "timezone": timezone}
        return _build(raw, source=f"stored settings of campaign {slug}")

    def ballot_closes_date(self) -> str:
        """The close date as members read it, e.g. "Thursday 4 November" (local)."""
        local = self.ballot_closes.astimezone(self.zone)
        return f"{local:%A} {local.day} {local:%B}"

    def texting_window(self, now: datetime) -> tuple[bool, datetime]:
        """(open now?, when it next closes if open, else when it next opens).

        Hours are local wall-clock times, so each bound is built on the local
        date and compared as an instant: across a clock change the window is
        still 09:00–21:00 local, whatever its length in UTC.
        """
        if now.tzinfo is None:
            raise ValueError("texting_window needs an aware datetime")
        zone = self.zone
        today = now.astimezone(zone).date()

        def local(day_offset: int, at: time) -> datetime:
            wall = datetime.combine(today + timedelta(days=day_offset), at, tzinfo=zone)
            return wall.astimezone(UTC).astimezone(zone)  # normalises a time in a DST gap

        # Compared in UTC: aware datetimes sharing one tzinfo compare by wall
        # clock, which is wrong in the repeated hour when the clocks go back.
        instant = now.astimezone(UTC)
        opens, closes = local(0, self.texting_hours.start), local(0, self.texting_hours.end)
        if opens.astimezone(UTC) <= instant < closes.astimezone(UTC):
            return True, closes
        if instant < opens.astimezone(UTC):
            return False, opens
        return False, local(1, self.texting_hours.start)


_SUBMODELS: dict[str, type[_Frozen]] = {
    "texting_hours": TextingHours,
    "outcomes": Outcome,
    "followups": Followup,
}


def _cross_problems(values: Mapping[str, Any]) -> list[str]:
    """Rules between fields, over whichever fields were valid on their own."""
    problems: list[str] = []
    places = {"initial": values.get("initial")} | {
        f"scripts.{k}": v for k, v in values.get("scripts", {}).items()
    }
    for place, template in places.items():
        if template is not None:
            problems += [f"{place}: {p}" for p in templates.check(template)]
    outcome_keys: dict[str, int] = {}
    for i, outcome in enumerate(values.get("outcomes", ())):
        if outcome.key in outcome_keys:
            problems.append(
                f"outcomes[{i}].key: duplicate key {outcome.key!r} "
                f"(also outcomes[{outcome_keys[outcome.key]}])"
            )
        outcome_keys.setdefault(outcome.key, i)
        scripts = values.get("scripts")
        if outcome.script is not None and scripts is not None and outcome.script not in scripts:
            hint = _suggest(outcome.script, scripts) if scripts else ": the file has no scripts"
            problems.append(f"outcomes[{i}].script: no script {outcome.script!r}{hint}")
    for i, followup in enumerate(values.get("followups", ())):
        problems += _followup_problems(f"followups[{i}]", followup, values, list(outcome_keys))
    nudge, escalate = values.get("nudge_after_minutes"), values.get("escalate_after_minutes")
    if nudge is not None and escalate is not None and escalate <= nudge:
        problems.append(
            f"escalate_after_minutes: must be more than nudge_after_minutes ({nudge}), "
            "so the owner is nudged before the support channel is told"
        )
    return problems


def _followup_problems(
    place: str, followup: Followup, values: Mapping[str, Any], outcome_keys: list[str]
) -> list[str]:
    problems = []
    if "scripts" in values and followup.script not in values["scripts"]:
        known = ", ".join(values["scripts"]) or "none defined"
        problems.append(f"{place}.script: unknown script {followup.script!r} (scripts: {known})")
    if "outcomes" in values:
        keys = ", ".join(outcome_keys) or "none defined"
        problems += [
            f"{place}.unless_outcome[{j}]: unknown outcome {key!r} (outcomes: {keys})"
            for j, key in enumerate(followup.unless_outcome)
            if key not in outcome_keys
        ]
    closes = values.get("ballot_closes")
    if _aware(closes) and _aware(followup.at) and followup.at >= closes:
        problems.append(
            f"{place}.at: {followup.at.isoformat()} is not before the ballot closes "
            f"({closes.isoformat()})"
        )
    return problems


def _aware(value: object) -> TypeGuard[datetime]:
    return isinstance(value, datetime) and value.tzinfo is not None


def parse_campaign(text: str, *, source: str = "campaign file") -> CampaignSpec:
    """The spec in YAML `text`, or CampaignFileError listing every problem."""
    return _build(_read_yaml(text, source), source)


def load_campaign_file(path: Path) -> CampaignSpec:
    """The spec in the file at `path`, or CampaignFileError listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CampaignFileError([f"file: cannot read it ({exc.strerror})"], str(path)) from exc
    except UnicodeDecodeError as exc:
        raise CampaignFileError(["file: not UTF-8 text"], str(path)) from exc
    return parse_campaign(text, source=str(path))


def _build(raw: object, source: str) -> CampaignSpec:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise CampaignFileError(
            [f"file: expected settings as 'key: value' lines, not a {type(raw).__name__}"], source
        )
    fields = CampaignSpec.model_fields
    problems = [
        f"{key}: unknown setting{_suggest(str(key), fields)}" for key in raw if key not in fields
    ]
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if raw.get(name) in (None, ""):
            if field.is_required():
                problems.append(f"{name}: missing")
            else:
                values[name] = field.get_default(call_default_factory=True)
            continue
        try:
            values[name] = _adapter(name).validate_python(raw[name])
        except ValidationError as exc:
            problems += [_describe(name, error) for error in exc.errors()]
    _localise(values)
    problems += _cross_problems(values)
    if problems:
        raise CampaignFileError(problems, source)
    return CampaignSpec.model_validate(values)


@cache
def _adapter(name: str) -> TypeAdapter[Any]:
    """A validator for one field alone, so one bad field cannot hide the others'."""
    field = CampaignSpec.model_fields[name]
    annotation: Any = field.annotation
    if field.metadata:
        annotation = Annotated[(annotation, *field.metadata)]
    return TypeAdapter(annotation)


def _localise(values: dict[str, Any]) -> None:
    """Give naive datetimes the campaign's zone (UTC if the zone itself is bad)."""
    zone = ZoneInfo(values["timezone"]) if "timezone" in values else UTC

    def aware(at: datetime) -> datetime:
        return at if at.tzinfo else at.replace(tzinfo=zone)

    if "ballot_closes" in values:
        values["ballot_closes"] = aware(values["ballot_closes"])
    if "followups" in values:
        values["followups"] = tuple(
            f.model_copy(update={"at": aware(f.at)}) for f in values["followups"]
        )


_PLAIN_MESSAGES = {
    "dict_type": "expected 'name: value' entries",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "model_type": "expected 'key: value' entries",
    "string_type": "expected text",
}


def _describe(field: str, error: Any) -> str:
    """One pydantic error as "FIELD: reason", with the path written as in the file."""
    path = field
    for part in error["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "[key]":
            path += f".{part}"
    kind = error["type"]
    if kind == "missing":
        return f"{path}: missing"
    if kind == "extra_forbidden":
        model = _SUBMODELS.get(field)
        known = model.model_fields if model else {}
        return f"{path}: unknown key{_suggest(str(error['loc'][-1]), known)}"
    if kind == "value_error":
        return f"{path}: {error['ctx']['error']}"
    given = error.get("input")
    shown = f" (got {given!r})" if isinstance(given, str | int | float) else ""
    message = _PLAIN_MESSAGES.get(kind) or error["msg"][:1].lower() + error["msg"][1:]
    return f"{path}: {message}{shown}"


def _suggest(key: str, known: Mapping[str, object]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    if close:
        return f": did you mean {close[0]}?"
    return f" (known: {', '.join(known)})"


def _read_yaml(text: str, source: str) -> object:
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "yaml"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        raise CampaignFileError(
            [f"{where}: {exc.problem or exc.context}{context}"], source
        ) from exc
    except yaml.YAMLError as exc:
        raise CampaignFileError([f"yaml: {exc}"], source) from exc
    finally:
        loader.dispose()


class _Loader(yaml.BaseLoader):
    """Every scalar as text, typed by the schema; a repeated key is an error."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            if isinstance(key, str):
                seen.add(key)
        return super().construct_mapping(node, deep=deep)
