"""Reading rosters: every export format organisers bring, every row accounted for."""

from __future__ import annotations

import codecs
import subprocess
import sys
from collections import Counter

import pytest

from bot.roster.importer import MemberRow, RosterError, RosterPlan, read_roster, snake_case
from tests.conftest import shared_dir

HEADER = "membership_no,first_name,last_name,phone,branch,department"


def read(text: str | bytes) -> RosterPlan:
    return read_roster(text, region="GB")


def only_row(plan: RosterPlan) -> MemberRow:
    assert not plan.rejected, plan.rejected
    [row] = plan.rows
    return row


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Mobile Number", "mobile_number"),
        ("mobileNumber", "mobile_number"),
        (" MOBILE_NUMBER ", "mobile_number"),
        ("Date of  Birth (UK)", "date_of_birth_uk"),
        ("Département", "département"),
    ],
)
def test_headers_are_snake_cased(header: str, expected: str) -> None:
    assert snake_case(header) == expected


@pytest.mark.parametrize(
    "phone_header", ["phone", "Mobile", "mobile_phone", "Cell", "Phone Number", "Mobile Number"]
)
def test_the_phone_column_may_have_any_common_name(phone_header: str) -> None:
    row = only_row(read(f"{phone_header},first_name\n07400 100001,Sam\n"))
    assert row.phone == "+447400100001"


def test_known_columns_have_aliases_and_the_rest_are_custom_fields() -> None:
    plan = read(
        "Membership Number,First Name,Surname,Mobile Number,Branch,Department,Pay Grade\n"
        "M1,Sam,Jones,07400 100001,Leeds,History,7\n"
    )
    row = only_row(plan)
    assert (row.first_name, row.last_name, row.branch, row.membership_no) == (
        "Sam",
        "Jones",
        "Leeds",
        "M1",
    )
    assert row.fields == {"department": "History", "pay_grade": "7"}
    assert plan.custom_fields == {"department", "pay_grade"}
    assert plan.known_fields == {"first_name", "last_name", "branch", "membership_no"}
    assert plan.phone_column == "Mobile Number"


def test_an_absent_column_is_none_so_an_import_leaves_it_alone() -> None:
    row = only_row(read("phone,first_name\n07400100001,\n"))
    assert row.first_name == ""  # the column is there, the cell is blank
    assert row.last_name is None and row.branch is None and row.membership_no is None


def test_with_two_phone_columns_the_preferred_one_is_used_and_noted() -> None:
    plan = read("Mobile,Phone\n07400 100001,07400 100002\n")
    assert only_row(plan).phone == "+447400100002"
    assert plan.custom_fields == {"mobile"}
    assert any("'Phone'" in note for note in plan.notes)


def test_a_missing_phone_column_is_fatal_and_names_the_columns_found() -> None:
    with pytest.raises(RosterError) as caught:
        read("Name,Email,Branch\nSam,s@example.org,Leeds\n")
    message = str(caught.value)
    assert "no phone column" in message
    assert "'Name', 'Email', 'Branch'" in message


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("", "empty"),
        ("\n\n", "empty"),
        (b"PK\x03\x04 rest of a zip", "Excel workbook"),
        ("phone,Surname,Last Name\n", "both give last_name"),
        ("phone,Dept,dept\n", "both give dept"),
    ],
)
def test_files_that_cannot_be_imported_say_why(data: str | bytes, words: str) -> None:
    with pytest.raises(RosterError, match=words):
        read(data)


def test_utf8_with_a_byte_order_mark() -> None:
    data = codecs.BOM_UTF8 + "phone,first_name\n07400100001,Zoë\n".encode()
    plan = read(data)
    assert only_row(plan).first_name == "Zoë"
    assert plan.columns == ["phone", "first_name"]  # the BOM is not part of the header
    assert plan.notes == []


def test_a_str_with_a_byte_order_mark() -> None:
    assert only_row(read("\ufeffphone,first_name\n07400100001,Sam\n")).first_name == "Sam"


def test_windows_1252_is_the_fallback_and_is_noted() -> None:
    plan = read("phone,first_name\n07400100001,Zoë Siân\n".encode("cp1252"))
    assert only_row(plan).first_name == "Zoë Siân"
    assert any("Windows-1252" in note for note in plan.notes)


def test_utf16_tab_separated_as_excel_saves_unicode_text() -> None:
    plan = read("phone\tfirst_name\n07400100001\tŁukasz\n".encode("utf-16"))
    assert only_row(plan).first_name == "Łukasz"


def test_semicolons_as_european_excel_writes() -> None:
    plan = read('phone;first_name;note\n07400100001;Sam;"a, b; c"\n')
    row = only_row(plan)
    assert (row.first_name, row.fields) == ("Sam", {"note": "a, b; c"})


def test_a_quoted_comma_in_the_header_does_not_fool_the_delimiter_guess() -> None:
    plan = read('"Phone";"Name, first"\n07400100001;Sam\n')
    assert plan.columns == ["Phone", "Name, first"]
    assert only_row(plan).fields == {"name_first": "Sam"}


def test_bad_rows_are_reported_by_spreadsheet_row_number_and_reason() -> None:
    plan = read(
        f"{HEADER}\n"
        "M1,Sam,Jones,07400 100001,Leeds,History\n"  # row 2: fine
        "M2,Ana,Khan,0161 496 0000,Leeds,Law\n"  # row 3: landline
        "M3,No,Phone,,Leeds,Law\n"  # row 4: blank
        "\n"  # row 5: blank line, skipped but counted as a spreadsheet row
        "M4,Tom,Evans,07700,Leeds,Law\n"  # row 6: too short
        "M5,Mei,Chen,07400100005,Leeds\n"  # row 7: a cell short
        "M6,Jo,Bell,call office,Leeds,Law\n"  # row 8: not a number
        'M7,"Multi\nline",Bell,+44 20 7946 0000,Leeds,Law\n'  # row 9, though two lines
        "M8,Rhys,Hughes,07400100008,Leeds,Law\n"  # row 10: fine
    )
    reasons = {r.row_number: r.reason for r in plan.rejected}
    assert reasons == {
        3: "a landline cannot receive texts",
        4: "no phone number",
        6: "too short for a GB number",
        7: "has 5 cells but the header has 6 columns (a missing or extra delimiter?)",
        8: "not a phone number",
        9: "a landline cannot receive texts",
    }
    assert [row.row_number for row in plan.rows] == [2, 10]
    assert plan.total_rows == 8


def test_rejected_phones_are_shown_masked() -> None:
    plan = read("phone\n0161 496 0123\n")
    [rejected] = plan.rejected
    assert rejected.snippet == "•••• ••• •123"
    assert "0161" not in rejected.snippet


def test_trailing_empty_cells_are_not_a_wrong_cell_count() -> None:
    plan = read("phone,first_name\n07400100001,Sam,,\n")
    assert only_row(plan).first_name == "Sam"


def test_an_unnamed_column_with_values_is_noted_not_imported() -> None:
    plan = read("phone,,first_name\n07400100001,secret,Sam\n")
    row = only_row(plan)
    assert row.fields == {} and row.first_name == "Sam"
    assert any("Column 2 has no heading" in note for note in plan.notes)


def test_cells_under_trailing_unnamed_columns_may_be_left_off() -> None:
    plan = read("phone,first_name,,\n07400100001,Sam\n07400100002\n")
    assert [row.first_name for row in plan.rows] == ["Sam"]
    assert [r.row_number for r in plan.rejected] == [3] and plan.notes == []


def test_duplicates_by_phone_in_any_format_are_merged_later_values_winning() -> None:
    plan = read(
        f"{HEADER}\n"
        "M1,Sam,Jones,07400 100001,Leeds,History\n"
        "M2,Ana,Khan,07400100002,Leeds,Law\n"
        ",Samuel,,+44 7400 100001,York,\n"
    )
    assert len(plan.rows) == 2
    sam = plan.rows[0]
    assert (sam.first_name, sam.last_name, sam.branch, sam.membership_no) == (
        "Samuel",
        "Jones",  # a blank later cell does not erase a value
        "York",
        "M1",
    )
    assert sam.fields == {"department": "History"}
    [group] = plan.duplicates
    assert group.row_numbers == (2, 4) and group.matched_on == "phone number"
    assert plan.duplicates_merged == 1


def test_duplicates_by_membership_number_take_the_later_phone() -> None:
    plan = read(f"{HEADER}\nM1,Sam,Jones,07400100001,Leeds,History\nM1,Sam,Jones,07400100009,,\n")
    row = only_row(plan)
    assert row.phone == "+447400100009" and row.branch == "Leeds"
    assert plan.duplicates[0].matched_on == "membership number"


def test_a_row_matching_two_different_members_is_rejected_not_guessed() -> None:
    plan = read(
        f"{HEADER}\n"
        "M1,Sam,Jones,07400100001,Leeds,History\n"
        "M2,Ana,Khan,07400100002,Leeds,Law\n"
        "M2,Who,Knows,07400100001,Leeds,Law\n"
    )
    [rejected] = plan.rejected
    assert rejected.row_number == 4
    assert "row 2" in rejected.reason and "row 3" in rejected.reason
    assert len(plan.rows) == 2 and plan.duplicates == []


def test_progress_reports_rows_checked() -> None:
    calls: list[tuple[int, int]] = []
    body = "".join(f"07400{100000 + n}\n" for n in range(2500))
    read_roster("phone\n" + body, region="GB", progress=lambda d, t: calls.append((d, t)))
    assert calls == [(0, 2500), (1000, 2500), (2000, 2500), (2500, 2500)]


@pytest.fixture(scope="module")
def shared_roster(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    shared = shared_dir()
    if shared is None:
        pytest.skip("the shared folder (make_members.py) is not present")
    path = tmp_path_factory.mktemp("roster") / "members.csv"
    subprocess.run(
        [sys.executable, str(shared / "data" / "make_members.py"), "-o", str(path)], check=True
    )
    return path.read_bytes()


def test_the_national_roster_has_every_row_accounted_for(shared_roster: bytes) -> None:
    plan = read(shared_roster)
    assert plan.total_rows == 27000
    assert len(plan.rows) + len(plan.rejected) + plan.duplicates_merged == plan.total_rows
    assert len({row.phone for row in plan.rows}) == len(plan.rows)
    assert all(row.phone.startswith("+447") and len(row.phone) == 13 for row in plan.rows)
    assert 0.005 * 27000 < len(plan.rejected) < 0.02 * 27000
    assert set(Counter(r.reason for r in plan.rejected)) <= {
        "no phone number",
        "not a phone number",
        "not a phone number (has letters in it)",
        "too short for a GB number",
        "a landline cannot receive texts",
    }
    assert plan.duplicates and all(len(g.row_numbers) >= 2 for g in plan.duplicates)
    assert plan.custom_fields == {"department", "email"}
    rows_seen = [n for g in plan.duplicates for n in g.row_numbers[1:]]
    rows_seen += [r.row_number for r in plan.rejected] + [r.row_number for r in plan.rows]
    assert sorted(rows_seen) == list(range(2, 27002))
