"""The script template language: bare fields only, typos caught, no holes."""

from __future__ import annotations

import pytest

from bot.scripts import templates
from bot.scripts.templates import MissingFields, TemplateError

MEMBER = {
    "first_name": "Sam",
    "last_name": "Patel",
    "branch": "Leeds",
    "activist_first_name": "Alice",
    "ballot_closes_date": "Thursday 4 November",
}


def test_fields_in_lists_each_field_once_in_order_of_first_use() -> None:
    text = "Hi {first_name} at {branch}. {first_name}, it's {activist_first_name}."
    assert templates.fields_in(text) == ["first_name", "branch", "activist_first_name"]


def test_doubled_braces_are_literal_and_not_fields() -> None:
    assert templates.fields_in("{{not_a_field}} {first_name}") == ["first_name"]
    assert templates.render("{{x}} {first_name} }}", MEMBER) == "{x} Sam }"


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("Hi {member.name}", "field {member.name}: attributes (.) are not allowed"),
        ("Hi {names[0]}", "field {names[0]}: indexes ([]) are not allowed"),
        ("Hi {first_name!r}", "field {first_name!r}: conversions (!) are not allowed"),
        ("Hi {first_name:>10}", "field {first_name:>10}: formats (:) are not allowed"),
        ("Hi {first name}", "field {first name}: a field name is letters, digits"),
        ("Hi {}", "empty field {}"),
        ("Hi {first_name", "unclosed '{' at character 4"),
        ("Hi {first_{name}", "unclosed '{' at character 4"),
        ("Hi first_name}", "single '}' at character 14: write '}}' for a literal brace"),
    ],
)
def test_anything_but_a_bare_name_is_refused_clearly(template: str, problem: str) -> None:
    assert any(p.startswith(problem) for p in templates.check(template)), templates.check(template)
    with pytest.raises(TemplateError) as raised:
        templates.fields_in(template)
    assert problem in str(raised.value)
    with pytest.raises(TemplateError):
        templates.render(template, MEMBER)


def test_every_syntax_problem_is_reported_not_only_the_first() -> None:
    problems = templates.check("{a.b} and {c!s} and }")
    assert len(problems) == 3


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("frist_name", "first_name"),
        ("firstname", "first_name"),
        ("First_Name", "first_name"),
        ("last_nme", "last_name"),
        ("brnach", "branch"),
        ("activist_firstname", "activist_first_name"),
        ("ballot_close_date", "ballot_closes_date"),
    ],
)
def test_near_misses_of_known_fields_are_flagged_with_a_suggestion(typo: str, meant: str) -> None:
    assert templates.check(f"Hi {{{typo}}}") == [
        f"unknown field {{{typo}}}: did you mean {{{meant}}}?"
    ]
    assert templates.custom_fields(f"Hi {{{typo}}}") == []


@pytest.mark.parametrize(
    "column",
    ["department", "email", "employer", "workplace", "postcode", "branch_name", "surname", "site"],
)
def test_genuine_custom_fields_are_not_mistaken_for_typos(column: str) -> None:
    template = f"Hi {{first_name}}, your {{{column}}} rep here"
    assert templates.check(template) == []
    assert templates.custom_fields(template) == [column]


def test_check_accepts_another_set_of_known_fields() -> None:
    assert templates.check("{departmnt}", known=["department"]) == [
        "unknown field {departmnt}: did you mean {department}?"
    ]


def test_render_fills_every_field() -> None:
    text = (
        "Hi {first_name}, it's {activist_first_name} from {branch}; post by {ballot_closes_date}."
    )
    assert templates.render(text, MEMBER) == (
        "Hi Sam, it's Alice from Leeds; post by Thursday 4 November."
    )


def test_values_are_inserted_literally_never_reinterpreted() -> None:
    values = {"first_name": "{branch} {0} {{x}}", "branch": "Leeds"}
    assert templates.render("Hi {first_name} at {branch}", values) == (
        "Hi {branch} {0} {{x}} at Leeds"
    )


@pytest.mark.parametrize("blank", [None, "", "   ", "\t\n"])
def test_a_blank_or_absent_value_is_missing_never_a_hole(blank: str | None) -> None:
    values = dict(MEMBER, branch=blank)
    del values["first_name"]
    with pytest.raises(MissingFields) as raised:
        templates.render("Hi {first_name} at {branch}, {first_name}", values)
    assert raised.value.missing == ["first_name", "branch"]
    assert "{first_name}" in str(raised.value) and "{branch}" in str(raised.value)


def test_a_template_without_fields_renders_as_is() -> None:
    assert templates.render("Thanks! No fields here.", {}) == "Thanks! No fields here."


def test_sample_rendering_fills_what_is_not_given() -> None:
    text = "Hi {first_name}, {department} closes {ballot_closes_date}"
    sample = templates.render_sample(text, {"ballot_closes_date": "Friday 5 May"})
    assert sample == "Hi Samira, <department> closes Friday 5 May"
