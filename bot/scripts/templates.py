"""The script template language: `Hi {first_name}, it's {activist_first_name}`.

The syntax is Python's `str.format` field syntax cut down to bare names:
`{name}` is a field, `{{` and `}}` are literal braces, and nothing else is
allowed. Attributes, indexes, conversions and format specs (`{a.b}`,
`{a[0]}`, `{x!r}`, `{x:>10}`) are refused because organisers write these
templates, not programmers: a stray `.` or `:` is far more likely a typo than
a wish to format, and `str.format` on untrusted templates can reach object
attributes. Rendering is done here rather than by `str.format`, so a value
is inserted literally and never re-read as template text.

A field that is not one of `KNOWN_FIELDS` is a custom field, filled from an
imported CSV column of the same name, unless it is so close to a known field
(`{frist_name}`) that it is surely a typo: `check` flags those.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

KNOWN_FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "branch",
    "activist_first_name",
    "ballot_closes_date",
)

# Typical values, so that a preview (and its SMS cost) is close to a real text.
SAMPLE_VALUES: Mapping[str, str] = {
    "first_name": "Samira",
    "last_name": "Thompson",
    "branch": "Leeds Central",
    "activist_first_name": "Alex",
    "ballot_closes_date": "Thursday 4 November",
}

# High enough that real CSV columns ({department}, {email}, {branch_name},
# {surname}) pass, low enough to catch a dropped, doubled or swapped letter.
NEAR_MISS_CUTOFF = 0.8

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NAME_RULE = "a field name is letters, digits and underscores, not starting with a digit"


class TemplateError(ValueError):
    """A template that cannot be rendered as written; `problems` says why."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class MissingFields(Exception):
    """A text would have a hole in it: these fields have no value for this member."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        names = ", ".join(f"{{{name}}}" for name in missing)
        super().__init__(f"no value for {names}")


@dataclass(frozen=True, slots=True)
class _Field:
    name: str


_Part = str | _Field


def _parse(template: str) -> tuple[list[_Part], list[str]]:
    """Split into literal text and fields, collecting every syntax problem."""
    parts: list[_Part] = []
    problems: list[str] = []
    literal: list[str] = []
    i, n = 0, len(template)
    while i < n:
        char = template[i]
        if char in "{}" and template[i + 1 : i + 2] == char:
            literal.append(char)
            i += 2
        elif char == "}":
            problems.append(f"single '}}' at character {i + 1}: write '}}}}' for a literal brace")
            i += 1
        elif char == "{":
            close = template.find("}", i + 1)
            inner = template[i + 1 : close] if close != -1 else ""
            if close == -1 or "{" in inner:
                problems.append(
                    f"unclosed '{{' at character {i + 1}: "
                    "end the field with '}', or write '{{' for a literal brace"
                )
                i += 1
                continue
            problem = _field_problem(inner)
            if problem:
                problems.append(problem)
            else:
                if literal:
                    parts.append("".join(literal))
                    literal = []
                parts.append(_Field(inner))
            i = close + 1
        else:
            literal.append(char)
            i += 1
    if literal:
        parts.append("".join(literal))
    return parts, problems


def _field_problem(inner: str) -> str | None:
    """Why `{inner}` is not a bare field name, or None if it is one."""
    shown = f"{{{inner}}}"
    if not inner.strip():
        return f"empty field {shown}: put a field name inside, or write {{{{ }}}} for braces"
    if _NAME.match(inner):
        return None
    for mark, what in ((".", "attributes (.)"), ("[", "indexes ([])"), ("!", "conversions (!)")):
        if mark in inner:
            return f"field {shown}: {what} are not allowed, only plain names"
    if ":" in inner:
        return f"field {shown}: formats (:) are not allowed, only plain names"
    return f"field {shown}: {_NAME_RULE}"


def _parts(template: str) -> list[_Part]:
    parts, problems = _parse(template)
    if problems:
        raise TemplateError(problems)
    return parts


def fields_in(template: str) -> list[str]:
    """The fields `template` uses, in order of first use; TemplateError if malformed."""
    seen: dict[str, None] = {}
    for part in _parts(template):
        if isinstance(part, _Field):
            seen.setdefault(part.name, None)
    return list(seen)


def _near_miss(name: str, known: list[str]) -> str | None:
    """The known field `name` was probably meant to be, if it is a typo of one."""
    for field in known:
        if name.lower() == field.lower():
            return field
    matches = difflib.get_close_matches(name, known, n=1, cutoff=NEAR_MISS_CUTOFF)
    return matches[0] if matches else None


def check(template: str, *, known: Iterable[str] = KNOWN_FIELDS) -> list[str]:
    """Every problem with `template`: syntax, and fields that look like typos.

    An empty list means the template can be rendered; unknown fields that are
    not near misses are custom fields and are not problems.
    """
    known = list(known)
    parts, problems = _parse(template)
    seen: set[str] = set()
    for part in parts:
        if not isinstance(part, _Field) or part.name in seen or part.name in known:
            continue
        seen.add(part.name)
        meant = _near_miss(part.name, known)
        if meant is not None:
            problems.append(f"unknown field {{{part.name}}}: did you mean {{{meant}}}?")
    return problems


def custom_fields(template: str, *, known: Iterable[str] = KNOWN_FIELDS) -> list[str]:
    """The fields to be filled from imported member columns, in order of use.

    Near misses of known fields are left out: `check` reports them as typos.
    """
    known = list(known)
    return [
        name
        for name in fields_in(template)
        if name not in known and _near_miss(name, known) is None
    ]


def render(template: str, values: Mapping[str, str | None]) -> str:
    """The text with every field filled in, or MissingFields naming the holes.

    A field whose value is absent, None, or only whitespace counts as missing:
    a text reading "Hi , it's Alex" must never reach a member.
    """
    parts = _parts(template)
    missing: dict[str, None] = {}
    for part in parts:
        if isinstance(part, _Field):
            value = values.get(part.name)
            if value is None or not value.strip():
                missing.setdefault(part.name, None)
    if missing:
        raise MissingFields(list(missing))
    return "".join(part if isinstance(part, str) else str(values[part.name]) for part in parts)


def render_sample(template: str, values: Mapping[str, str | None] | None = None) -> str:
    """`template` filled with `values`, and sample values for every other field.

    For previews and cost estimates before any member is known: known fields
    get typical values, custom fields show their own name in angle brackets.
    """
    given = dict(values or {})
    filled: dict[str, str | None] = {}
    for name in fields_in(template):
        value = given.get(name)
        if value is None or not value.strip():
            value = SAMPLE_VALUES.get(name, f"<{name}>")
        filled[name] = value
    return render(template, filled)
