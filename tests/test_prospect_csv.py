import codecs
import csv
import gzip
import io
import re
import tracemalloc
import zipfile
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from storage.prospect_csv import CANONICAL_FIELDS, ProspectCsv, RowProblem, SourceRow, UnreadableFile
from storage.prospect_csv import reader as prospect_reader
from storage.prospect_csv.headers import DELIMITERS

PROPERTY = settings(max_examples=120, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

WHITESPACE_AND_ZERO_WIDTH = "".join(c for c in map(chr, range(0x3001)) if c.isspace()) + "\u200b\u200c\u200d\u2060\ufeff"
EXCEL_MESSAGE = "This is an Excel workbook, not a CSV: save it as CSV (File → Save As → CSV UTF-8) and import that."


def values(**given: str) -> dict[str, str]:
    return {field: given.get(field, "") for field in CANONICAL_FIELDS}


def open_csv(content: bytes | str, encoding: str = "utf-8") -> ProspectCsv:
    data = content.encode(encoding) if isinstance(content, str) else content
    return ProspectCsv(io.BytesIO(data), name="test.csv")


def read(content: bytes | str, encoding: str = "utf-8") -> list[SourceRow | RowProblem]:
    return list(open_csv(content, encoding))


def unreadable(content: bytes | str) -> str:
    with pytest.raises(UnreadableFile) as caught:
        open_csv(content)
    return str(caught.value)


class Trickle(io.RawIOBase):
    """A stream that hands out its data in small pieces, as pipes and network downloads do."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self._data = memoryview(data)
        self._sizes = sizes or [1]
        self._position = 0
        self._reads = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        step = self._sizes[self._reads % len(self._sizes)]
        self._reads += 1
        if size >= 0:
            step = min(step, size)
        piece = bytes(self._data[self._position : self._position + step])
        self._position += len(piece)
        return piece


class Generated(io.RawIOBase):
    """A large file produced on the fly, so the test itself does not hold it in memory."""

    def __init__(self, header: bytes, rows: int) -> None:
        self._pending = header
        self._next_row = 0
        self._rows = rows

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while len(self._pending) < size and self._next_row < self._rows:
            start = self._next_row
            self._next_row = min(self._rows, start + 1000)
            self._pending += b"".join(
                b"person.%d@example.com,Jane,Doe,Acme,VP Sales,+1 555 0100,https://linkedin.com/in/p%d\r\n" % (n, n)
                for n in range(start, self._next_row)
            )
        piece, self._pending = self._pending[:size], self._pending[size:]
        return piece


# --- columns --------------------------------------------------------------------------------------------------


def test_reads_rows_keyed_by_canonical_field_with_line_numbers():
    source = open_csv(
        "Email,First Name,Last Name,Company,Job Title,Phone,LinkedIn URL,Notes\r\n"
        "jane@acme.com, Jane ,Doe,Acme,VP Sales,+1 555 0100,https://linkedin.com/in/jane,met at a fair\r\n"
        "bob@bluebird.studio,Bob,,Bluebird,,,,\r\n"
    )
    assert source.columns == {
        "email": "Email", "first_name": "First Name", "last_name": "Last Name", "company": "Company",
        "title": "Job Title", "phone": "Phone", "linkedin_url": "LinkedIn URL",
    }
    assert source.ignored_columns == ["Notes"]
    assert source.encoding == "utf-8"
    assert source.delimiter == ","
    assert list(source) == [
        SourceRow(2, values(email="jane@acme.com", first_name="Jane", last_name="Doe", company="Acme",
                            title="VP Sales", phone="+1 555 0100", linkedin_url="https://linkedin.com/in/jane")),
        SourceRow(3, values(email="bob@bluebird.studio", first_name="Bob", company="Bluebird")),
    ]


def test_fields_without_a_column_are_empty_and_emails_are_not_normalised_here():
    assert read("E-mail\n  JANE@Acme.com  \n") == [SourceRow(2, values(email="JANE@Acme.com"))]


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("email", "email"), ("EMAIL", "email"), ("E-mail", "email"), ("e_mail", "email"), ("Email Address", "email"),
        ("email_address", "email"), ("E-Mail-Adresse", "email"), ("Mail", "email"), ("Work Email", "email"),
        ("Business Email", "email"), ("Professional Email", "email"), ("Courriel", "email"),
        ("Adresse e-mail", "email"), ("Correo electrónico", "email"), ("  Email  ", "email"), ("\ufeffEmail", "email"),
        ("first name", "first_name"), ("first_name", "first_name"), ("FirstName", "first_name"),
        ("Given Name", "first_name"), ("fname", "first_name"), ("Prénom", "first_name"), ("PRENOM", "first_name"),
        ("Vorname", "first_name"),
        ("last name", "last_name"), ("Surname", "last_name"), ("Family Name", "last_name"), ("lname", "last_name"),
        ("Nom", "last_name"), ("Nachname", "last_name"),
        ("company", "company"), ("Company Name", "company"), ("Organization", "company"),
        ("Organisation", "company"), ("Account Name", "company"), ("Employer", "company"), ("Société", "company"),
        ("Entreprise", "company"),
        ("title", "title"), ("Job Title", "title"), ("Position", "title"), ("Role", "title"), ("Headline", "title"),
        ("phone", "phone"), ("Phone Number", "phone"), ("Mobile", "phone"), ("Telephone", "phone"), ("Tel", "phone"),
        ("Work Phone", "phone"), ("Téléphone", "phone"),
        ("LinkedIn", "linkedin_url"), ("LinkedIn URL", "linkedin_url"), ("linkedin_profile", "linkedin_url"),
        ("Profile URL", "linkedin_url"), ("Person Linkedin Url", "linkedin_url"),
    ],
)
def test_header_names_are_matched_ignoring_case_accents_and_punctuation(header, field):
    other = "Notes" if field == "email" else "Email"
    source = open_csv(f'"{header}",{other}\r\n"x@y.com",x@y.com\r\n')
    assert source.columns[field] == header.strip(WHITESPACE_AND_ZERO_WIDTH)
    assert source.ignored_columns == (["Notes"] if field == "email" else [])


def test_company_linkedin_and_email_status_columns_are_not_mistaken_for_the_person():
    source = open_csv("Email,Email Status,Company Linkedin Url,Company Name for Emails\na@x.com,Verified,x,y\n")
    assert source.columns == {"email": "Email"}
    assert source.ignored_columns == ["Email Status", "Company Linkedin Url", "Company Name for Emails"]


@pytest.mark.parametrize(
    ("header", "expected_title", "ignored"),
    [
        ("Email,Title,Job Title", "Job Title", ["Title"]),  # "Title" is often Mr/Ms: the specific name wins
        ("Email,Job Title,Title", "Job Title", ["Title"]),
        ("Email,Headline,Position", "Position", ["Headline"]),
        ("Email,Role,Role", "Role", ["Role"]),  # equal names: the leftmost wins
    ],
)
def test_when_several_columns_match_a_field_the_most_specific_wins(header, expected_title, ignored):
    source = open_csv(header + "\na@x.com,1,2\n")
    assert source.columns["title"] == expected_title
    assert source.ignored_columns == ignored


def test_a_second_email_column_is_ignored_and_the_first_is_read():
    source = open_csv("Email,Work Email,E-mail\nfirst@x.com,second@x.com,third@x.com\n")
    assert source.columns == {"email": "Email"}
    assert source.ignored_columns == ["Work Email", "E-mail"]
    assert list(source) == [SourceRow(2, values(email="first@x.com"))]


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("Jane Doe", "Jane", "Doe"),
        ("  Jane   Mary  Doe ", "Jane", "Mary  Doe"),
        ("Doe, Jane", "Jane", "Doe"),
        ("Cher", "Cher", ""),
        ("", "", ""),
    ],
)
def test_a_single_name_column_is_split_into_first_and_last(name, first, last):
    source = open_csv(f'Full Name,Email\n"{name}",a@x.com\n')
    assert source.columns == {"email": "Email", "first_name": "Full Name", "last_name": "Full Name"}
    assert list(source) == [SourceRow(2, values(email="a@x.com", first_name=first, last_name=last))]


def test_a_name_column_is_not_split_when_there_is_a_first_or_last_name_column():
    source = open_csv("Name,First Name,Email\nJane Doe,Janet,a@x.com\n")
    assert source.columns == {"email": "Email", "first_name": "First Name"}
    assert source.ignored_columns == ["Name"]
    assert list(source) == [SourceRow(2, values(email="a@x.com", first_name="Janet"))]


def test_empty_header_cells_are_not_listed_as_ignored():
    source = open_csv("Email,,Notes,\na@x.com,1,2,3\n")
    assert source.ignored_columns == ["Notes"]


# --- state columns: opt-outs, do not contact and bounces recorded by another tool ------------------------------


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        # The person's own opt-out, as HubSpot, Salesforce, Mailchimp, Smartlead and spreadsheets name it.
        ("Unsubscribed", "opted_out"), ("UNSUBSCRIBED", "opted_out"), ("unsubscribed_at", "opted_out"),
        ("unsubscribedAt", "opted_out"), ("Unsubscribe date", "opted_out"), ("UNSUB_TIME", "opted_out"),
        ("is_unsubscribed", "opted_out"), ("Unsubscribed from all email", "opted_out"),
        ("hs_email_optout", "opted_out"), ("Email Opt Out", "opted_out"), ("Email opt-out", "opted_out"),
        ("HasOptedOutOfEmail", "opted_out"), ("Opted out", "opted_out"), ("Opted Out Of Email", "opted_out"),
        ("Opt-out", "opted_out"), ("Global unsubscribe", "opted_out"), ("Email Unsubscribed", "opted_out"),
        # A team's decision.
        ("Do Not Contact", "do_not_contact"), ("do_not_contact", "do_not_contact"), ("DoNotContact", "do_not_contact"),
        ("Do not email", "do_not_contact"), ("Don't email", "do_not_contact"), ("Do Not E-mail", "do_not_contact"),
        ("Blacklisted", "do_not_contact"), ("Blocklisted", "do_not_contact"), ("Block-listed", "do_not_contact"),
        ("Blocklist", "do_not_contact"),
        # A hard bounce.
        ("Bounced", "bounced"), ("Hard Bounce", "bounced"), ("hard_bounced", "bounced"), ("Email bounced", "bounced"),
        ("Bounce date", "bounced"), ("EmailBouncedDate", "bounced"), ("Email Bounced Date", "bounced"),
        ("bounced_at", "bounced"), ("is_bounced", "bounced"), ("CLEAN_TIME", "bounced"),
    ],
)
def test_state_columns_are_recognised_by_kind(header, kind):
    source = open_csv(f'Email,"{header}",Notes\na@x.com,yes,hi\n')
    assert [(column.header, column.kind) for column in source.state_columns] == [(header, kind)]
    assert source.columns == {"email": "Email"}
    assert source.ignored_columns == ["Notes"]
    assert list(source) == [SourceRow(2, values(email="a@x.com"), ("yes",))]


@pytest.mark.parametrize(
    "header",
    ["DNC", "Do Not Call", "Status", "Lead Status", "Stage", "Contact Stage", "Opt in", "Opt-in", "Subscribed",
     "Email status", "Email Marketing Status", "Unsubscribe", "Unsubscribe link", "Unsubscribe reason",
     "UNSUB_REASON", "UNSUB_CAMPAIGN_TITLE", "Bounce", "Bounce type", "Soft bounce", "Email Bounced Reason",
     "Marketing emails bounced", "Fax Opt Out"],
)
def test_ambiguous_state_like_columns_are_not_guessed(header):
    source = open_csv(f'Email,"{header}"\na@x.com,yes\n')
    assert source.state_columns == ()
    assert source.ignored_columns == [header]
    assert list(source) == [SourceRow(2, values(email="a@x.com"))]


def test_every_state_column_is_read_in_file_order_and_rows_carry_their_cells():
    source = open_csv("Bounced,Email,Unsubscribed,First Name,Do Not Contact,Unsubscribe date\r\n"
                      " x ,a@x.com,, Ann ,no,2024-03-05\r\n"
                      ",b@x.com\r\n")
    assert [(c.header, c.kind) for c in source.state_columns] == [
        ("Bounced", "bounced"), ("Unsubscribed", "opted_out"), ("Do Not Contact", "do_not_contact"),
        ("Unsubscribe date", "opted_out")]
    assert list(source) == [
        SourceRow(2, values(email="a@x.com", first_name="Ann"), ("x", "", "no", "2024-03-05")),
        SourceRow(3, values(email="b@x.com"), ("", "", "", "")),
    ]


def test_state_cells_on_the_careful_path_are_cleaned_like_values():
    # A quoted line break and a long cell send rows through the slower path: their states are read the same way.
    content = ('Email,Notes,Unsubscribed\n'
               f'a@x.com,"two\nlines",\u200b yes \u00a0\n'
               f'b@x.com,{"n" * 600},{"y" * 600}\n')
    rows = read(content)
    assert rows == [SourceRow(2, values(email="a@x.com"), ("yes",)),
                    SourceRow(4, values(email="b@x.com"), ("y" * 500,))]


def test_a_row_with_only_a_state_is_kept_for_the_report():
    assert read("Email,Unsubscribed\n,yes\n") == [SourceRow(2, values(), ("yes",))]


def test_a_state_column_does_not_change_which_row_is_the_header():
    source = open_csv("Leads exported 2024-03-05\nEmail,Unsubscribed\na@x.com,yes\n")
    assert source.header_line == 2 and [c.header for c in source.state_columns] == ["Unsubscribed"]


# --- finding the header -----------------------------------------------------------------------------------------


def test_header_is_the_first_non_blank_row():
    rows = read("\n,,\n  \nEmail,Company\n\na@x.com,Acme\n")
    assert rows == [SourceRow(6, values(email="a@x.com", company="Acme"))]


def test_linkedin_connections_export_with_its_notes_above_the_header():
    content = (
        "Notes:\n"
        '"When exporting your connection data, you may notice that some of the email addresses are missing. '
        'You will only see email addresses for connections who have allowed it."\n'
        "\n"
        "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
        "Jane,Doe,https://www.linkedin.com/in/janedoe,jane@acme.com,Acme,CEO,12 Mar 2024\n"
    )
    source = open_csv(content)
    assert source.columns["email"] == "Email Address"
    assert source.columns["linkedin_url"] == "URL"
    assert source.ignored_columns == ["Connected On"]
    assert list(source) == [
        SourceRow(5, values(email="jane@acme.com", first_name="Jane", last_name="Doe", company="Acme", title="CEO",
                            linkedin_url="https://www.linkedin.com/in/janedoe"))
    ]


def test_excel_sep_line_sets_the_delimiter():
    source = open_csv("sep=;\r\nEmail;Company\r\na@x.com;Acme, Inc\r\n")
    assert source.delimiter == ";"
    assert list(source) == [SourceRow(3, values(email="a@x.com", company="Acme, Inc"))]


def test_no_email_column_lists_the_headers_found():
    assert unreadable("Name,Company,Phone\nJane,Acme,1\n") == (
        'No email column: the header has "Name", "Company" and "Phone", and none of them is an email column '
        "(expected one named like Email or E-mail)."
    )


def test_no_email_column_with_a_single_header():
    assert unreadable("Contact\nJane\n") == (
        'No email column: the header has only "Contact", which is not an email column '
        "(expected one named like Email or E-mail)."
    )


def test_no_email_column_message_stays_short_for_wide_headers():
    headers = [f"Column {n}" for n in range(30)] + ["A very long header name that goes on and on and on"]
    message = unreadable(",".join(headers) + "\n" + ",".join("x" * 31) + "\n")
    assert message.startswith('No email column: the header has "Column 0", "Column 1", ')
    assert '"Column 7" and 23 more, and none of them is an email column' in message
    assert len(message) < 300


def test_no_email_column_shortens_each_header():
    message = unreadable("Name," + "x" * 200 + "\n")
    assert '"' + "x" * 39 + '…"' in message


def test_no_email_column_uses_the_delimiter_of_the_header_line():
    assert unreadable("Name;Company;Phone\n").startswith('No email column: the header has "Name", "Company" and')


def test_a_file_of_bare_addresses_is_told_it_needs_a_header():
    assert unreadable("jane@acme.com\nbob@acme.com\n") == (
        "The first row holds email addresses instead of column names: add a header row (with a column named Email) "
        "above the data and import again."
    )


def test_the_header_is_read_before_any_row_is_yielded():
    stream = io.BytesIO(b"Name,Company\n" + b"Jane,Acme\n" * 10)
    with pytest.raises(UnreadableFile):
        ProspectCsv(stream)


def test_header_only_file_has_no_rows():
    assert read("Email,Name\r\n") == []


# --- not a CSV ----------------------------------------------------------------------------------------------------


def _zip(member: str, content: bytes = b"x") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (codecs.BOM_UTF8, "The file is empty."),
        (b"\r\n\n  \n\t\n", "The file holds only blank lines."),
        (b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), EXCEL_MESSAGE),
        (_zip("[Content_Types].xml"), EXCEL_MESSAGE),
        (_zip("docProps/app.xml"), EXCEL_MESSAGE),
        (_zip("prospects.csv"), "This is a ZIP archive, not a CSV: extract the CSV file from it and import that."),
        (_zip("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
         "This is an OpenDocument spreadsheet, not a CSV: save it as CSV (File → Save As → Text CSV) and import that."),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500),
         "This is an old-format Excel workbook (.xls), not a CSV: save it as CSV (File → Save As → CSV UTF-8) and "
         "import that."),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
         "This is a PDF document, not a CSV: export the list as CSV from the tool it came from and import that."),
        (gzip.compress(b"email\na@x.com\n"),
         "This file is compressed with gzip, not a CSV: decompress it and import the CSV inside."),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "This is a PNG image, not a CSV: export the list as a CSV file and import that."),
        (b"<!DOCTYPE html><html><body>Sign in</body></html>",
         "This is a web page (HTML), not a CSV: download the list as a CSV file and import that."),
        (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">',
         "This is an Excel XML spreadsheet, not a CSV: save it as CSV (File → Save As → CSV UTF-8) and import that."),
        (b"email,name\n\x00\x00\x00\x01\x00\x00\x02\x00\x00\x00\x00\x00",
         "This file holds binary data, not text, so it is not a CSV: export the list as a CSV file and import that."),
        (bytes(range(32)) * 20,
         "This file holds binary data, not text, so it is not a CSV: export the list as a CSV file and import that."),
    ],
)
def test_files_that_are_not_csv_are_refused_with_one_sentence(content, message):
    assert unreadable(content) == message


def test_a_first_line_longer_than_1_mib_is_refused():
    assert unreadable(b"email," + b"x" * (1 << 21)) == (
        "The first line is longer than 1 MiB, so it is not a CSV header row."
    )


# --- encodings ------------------------------------------------------------------------------------------------


FRENCH = "Email;Prénom;Société\r\njose@x.fr;José;Société Générale\r\n"
FRENCH_ROW = SourceRow(2, values(email="jose@x.fr", first_name="José", company="Société Générale"))


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1252", "cp1252"), ("latin-1", "cp1252"),
     ("utf-16", "utf-16-le"), ("utf-16-be", "utf-16-be"), ("utf-16-le", "utf-16-le"), ("utf-32", "utf-32-le")],
)
def test_encodings(encoding, reported):
    content = FRENCH.encode(encoding)
    if encoding == "utf-16-be":
        content = codecs.BOM_UTF16_BE + content
    source = open_csv(content)
    assert source.encoding == reported
    assert list(source) == [FRENCH_ROW]


def test_excel_unicode_text_is_utf16_and_tab_delimited():
    content = "Email\tName\tCompany\r\nkenji@x.jp\t山田 太郎\t株式会社\r\n".encode("utf-16")
    source = open_csv(content)
    assert (source.encoding, source.delimiter) == ("utf-16-le", "\t")
    assert list(source) == [SourceRow(2, values(email="kenji@x.jp", first_name="山田", last_name="太郎",
                                                company="株式会社"))]


def test_utf16_without_byte_order_mark():
    assert list(open_csv(FRENCH.encode("utf-16-le"))) == [FRENCH_ROW]
    assert list(open_csv(FRENCH.encode("utf-16-be"))) == [FRENCH_ROW]


def test_windows_1252_punctuation():
    rows = read("Email,Company\na@x.com,“Smart” Caf\xe9 – 5 €\n".encode("cp1252"))
    assert rows == [SourceRow(2, values(email="a@x.com", company="“Smart” Café – 5 €"))]


def test_stray_invalid_bytes_in_a_utf8_file_are_read_as_cp1252_without_stopping():
    filler = "".join(f"p{n}@x.com,Zoë\n" for n in range(10_000)).encode()  # well past the first block
    content = b"Email,Name\n" + filler + b"late@x.com,Ren\xe9e \x93Q\x94\n" + "after@x.com,Chloé\n".encode()
    source = open_csv(content)
    assert source.encoding == "utf-8"
    rows = list(source)
    assert len(rows) == 10_002
    assert rows[-2] == SourceRow(10_002, values(email="late@x.com", first_name="Renée", last_name="“Q”"))
    assert rows[-1] == SourceRow(10_003, values(email="after@x.com", first_name="Chloé"))


def test_bytes_undefined_in_cp1252_do_not_stop_the_import():
    rows = read(b"Email,Company\na@x.com,A\x81B\x8d\xe9\xe8\xe0\n")
    assert rows == [SourceRow(2, values(email="a@x.com", company="A\x81B\x8déèà"))]


def test_nul_characters_are_dropped():
    rows = read(b"Email,Company\nja\x00ne@x.com,Ac\x00me\n" + b"b@x.com,Bluebird Studio\n" * 3)
    assert rows[0] == SourceRow(2, values(email="jane@x.com", company="Acme"))


# --- delimiters and quoting -----------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected(delimiter):
    header = delimiter.join(["Email", "Company", "Title"])
    row = delimiter.join(["a@x.com", '"Acme, Inc; Ltd | Co\tGroup"', "CEO"])
    source = open_csv(f"{header}\n{row}\n")
    assert source.delimiter == delimiter
    assert list(source) == [SourceRow(2, values(email="a@x.com", company="Acme, Inc; Ltd | Co\tGroup", title="CEO"))]


def test_delimiters_inside_quoted_headers_do_not_count():
    source = open_csv('"Email";"Company, legal name";"Title"\na@x.com;"Acme, Inc";CEO\n')
    assert source.delimiter == ";"
    assert source.ignored_columns == ["Company, legal name"]


def test_quoted_fields_with_newlines_and_quotes_keep_physical_line_numbers():
    content = (
        "Email,Company,Title\r\n"
        'a@x.com,"Acme\r\nInternational","The ""Boss"""\r\n'
        'b@x.com,"Line one\nline two\nline three",CTO\r\n'
        "c@x.com,Plain,CFO\r\n"
    )
    assert read(content) == [
        SourceRow(2, values(email="a@x.com", company="Acme\r\nInternational", title='The "Boss"')),
        SourceRow(4, values(email="b@x.com", company="Line one\nline two\nline three", title="CTO")),
        SourceRow(7, values(email="c@x.com", company="Plain", title="CFO")),
    ]


def test_spaces_after_delimiters_before_quotes():
    assert read('Email, Company\na@x.com, "Acme, Inc"\n') == [SourceRow(2, values(email="a@x.com", company="Acme, Inc"))]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(newline):
    content = newline.join(["Email,Company", "a@x.com,A", "", "b@x.com,B", ""])
    assert read(content) == [SourceRow(2, values(email="a@x.com", company="A")),
                             SourceRow(4, values(email="b@x.com", company="B"))]


def test_unclosed_quote_reads_to_the_end_of_the_file_as_csv_does():
    rows = read('Email,Company\na@x.com,"Acme\nb@x.com,B\n')
    assert rows == [SourceRow(2, values(email="a@x.com", company="Acme\nb@x.com,B"))]


# --- rows -------------------------------------------------------------------------------------------------------


def test_blank_and_empty_rows_are_skipped_silently():
    content = "Email,Company,Title\n\n,,\n , \t,\u200b\n\"\",\"\",\"\"\na@x.com,,\n\n"
    assert read(content) == [SourceRow(6, values(email="a@x.com"))]


def test_a_row_with_values_only_in_unmapped_columns_is_kept_for_the_report():
    assert read("Email,Notes\n,call back\n") == [SourceRow(2, values())]


def test_short_rows_get_empty_values_and_extra_cells_are_ignored():
    content = "Email,First Name,Company\na@x.com\nb@x.com,Bob,Bluebird,extra,cells\n,Carl\n"
    assert read(content) == [
        SourceRow(2, values(email="a@x.com")),
        SourceRow(3, values(email="b@x.com", first_name="Bob", company="Bluebird")),
        SourceRow(4, values(first_name="Carl")),
    ]


def test_values_are_stripped_of_whitespace_and_zero_width_characters_only_around_them():
    content = "Email,First Name,Company\n\u200b a@x.com\u00a0,\ufeffJo\u200dse\u2060 ,\t Acme \u200b Inc \n"
    assert read(content) == [SourceRow(2, values(email="a@x.com", first_name="Jo\u200dse", company="Acme \u200b Inc"))]


def test_spreadsheet_formula_prefixes_are_left_as_they_are():
    content = 'Email,First Name,Last Name,Company,Phone\na@x.com,=HYPERLINK("x"),-Doe,@Acme,+1 555 0100\n'
    assert read(content) == [SourceRow(2, values(email="a@x.com", first_name='=HYPERLINK("x")', last_name="-Doe",
                                                 company="@Acme", phone="+1 555 0100"))]


def test_values_are_truncated_to_500_characters():
    long = "x" * 499 + " " + "y" * 600
    rows = read(f'Email,Company,Title\na@x.com,{long},"{long}\n{long}"\nb@x.com,Short,CEO\n')
    assert rows == [SourceRow(2, values(email="a@x.com", company="x" * 499, title="x" * 499)),
                    SourceRow(4, values(email="b@x.com", company="Short", title="CEO"))]


def test_a_cell_of_exactly_1_mib_is_truncated_not_refused():
    rows = read(b"Email,Company\na@x.com," + b"x" * (1 << 20) + b"\n")
    assert rows == [SourceRow(2, values(email="a@x.com", company="x" * 500))]


def test_a_cell_larger_than_1_mib_is_a_row_problem_and_reading_goes_on():
    huge = b"x" * ((1 << 20) + 1)
    content = (b"Email,Company,Notes\na@x.com,Acme,ok\nb@x.com,Big," + huge + b"\nc@x.com,\"" + huge + b"\n" + huge
               + b'",multi-line\nd@x.com,Dee,ok\n')
    assert read(content) == [
        SourceRow(2, values(email="a@x.com", company="Acme")),
        RowProblem(3, "line 3: a cell is larger than 1 MiB"),
        RowProblem(4, "line 4: a cell is larger than 1 MiB"),
        SourceRow(6, values(email="d@x.com", company="Dee")),
    ]


@pytest.mark.parametrize(
    "record",
    [
        b"b@x.com," + b"x" * (5 << 20),  # one line
        b'b@x.com,"' + b"many short lines\n" * 300_000 + b'"',  # a quoted cell spanning lines
        b'b@x.com,"' + b"x" * (5 << 20) + b'\n"',  # a long line inside a quoted cell
    ],
    ids=["one-line", "many-lines", "long-line-in-quotes"],
)
def test_a_row_larger_than_4_mib_is_skipped_without_losing_track_of_lines(record):
    content = b"Email,Notes\na@x.com,ok\n" + record + b"\nc@x.com,after\n"
    lines_in_record = record.count(b"\n") + 1
    assert read(content) == [
        SourceRow(2, values(email="a@x.com")),
        RowProblem(3, "line 3: the row is larger than 4 MiB"),
        SourceRow(3 + lines_in_record, values(email="c@x.com")),
    ]


def test_an_oversized_row_at_the_end_of_the_file():
    assert read(b"Email,Notes\na@x.com,ok\nb@x.com,\"" + b"x" * (5 << 20)) == [
        SourceRow(2, values(email="a@x.com")),
        RowProblem(3, "line 3: the row is larger than 4 MiB"),
    ]


def test_large_files_stream_with_flat_memory():
    rows = 30_000
    stream = Generated(b"Email,First Name,Last Name,Company,Title,Phone,LinkedIn\r\n", rows)
    tracemalloc.start()
    try:
        source = ProspectCsv(stream)
        assert source.bytes_read <= 1 << 16
        count = 0
        last = None
        for row in source:
            count += 1
            last = row
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == rows
    assert last.line == rows + 1 and last.values["email"] == f"person.{rows - 1}@example.com"
    assert peak < 2 << 20  # the file is about 2.6 MB


def test_runaway_records_are_followed_with_flat_memory():
    stream = Generated(b'Email,Notes\r\nstart@x.com,"', 60_000)  # every generated row is inside one quoted cell
    tracemalloc.start()
    try:
        rows = list(ProspectCsv(stream))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == [RowProblem(2, "line 2: the row is larger than 4 MiB")]
    # csv holds up to MAX_ROW_CHARS of the record as 4-byte characters before it counts as a runaway.
    assert peak < 48 << 20


def test_bytes_read_reports_progress():
    content = b"Email\n" + b"".join(b"p%d@x.com\n" % n for n in range(50_000))
    source = ProspectCsv(io.BytesIO(content))
    assert 0 < source.bytes_read < len(content)
    seen = []
    for index, _ in enumerate(source):
        if index % 10_000 == 0:
            seen.append(source.bytes_read)
    assert seen == sorted(seen) and seen[0] < seen[-1]
    assert source.bytes_read == len(content)


def test_a_text_stream_is_a_programming_error():
    with pytest.raises(TypeError):
        ProspectCsv(io.StringIO("Email\na@x.com\n"))  # type: ignore[arg-type]


# --- properties ---------------------------------------------------------------------------------------------------

_cell_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs", "Cc"]),
    max_size=20,
)
_tricky_text = st.text(alphabet=' a\u00e9,;|\t"\r\n\u200b\u00a0\u2028', max_size=20)


@PROPERTY
@given(
    rows=st.lists(st.lists(st.one_of(_cell_text, _tricky_text), min_size=0, max_size=9), max_size=12),
    delimiter=st.sampled_from(DELIMITERS),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
    read_sizes=st.lists(st.integers(1, 70), max_size=5),
)
def test_round_trip_of_rows_written_by_csv_writer(rows, delimiter, quoting, encoding, read_sizes):
    text = io.StringIO(newline="")
    writer = csv.writer(text, delimiter=delimiter, quoting=quoting)
    writer.writerow(["Email", "First Name", "Last Name", "Company", "Title", "Phone", "LinkedIn URL"])
    expected = []
    for row in rows:
        line = 1 + len(re.findall(r"\r\n|\r|\n", text.getvalue()))
        writer.writerow(row)
        cleaned = [cell.strip(WHITESPACE_AND_ZERO_WIDTH) for cell in row[:7]]
        if any(cell.strip(WHITESPACE_AND_ZERO_WIDTH) for cell in row):
            expected.append(SourceRow(line, dict(zip(CANONICAL_FIELDS, cleaned + [""] * (7 - len(cleaned))))))
    data = text.getvalue().encode(encoding)

    source = ProspectCsv(Trickle(data, read_sizes) if read_sizes else io.BytesIO(data))
    assert source.delimiter == delimiter
    assert list(source) == expected


def _reference_records(text: str) -> list[tuple[int, list[str], int]]:
    """(first line, cells, characters) of each record after the header, as csv parses the whole text at once."""
    records = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=",", skipinitialspace=True)
    end = 0
    offsets = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)] + [len(text)]
    for cells in reader:
        start, end = end + 1, reader.line_num
        records.append((start, cells, offsets[min(end, len(offsets) - 1)] - offsets[start - 1]))
    return records[1:]


@settings(PROPERTY, max_examples=300)
@given(
    body=st.text(alphabet='ab ,"\r\n\u200b', max_size=160),
    read_sizes=st.lists(st.integers(1, 9), min_size=1, max_size=4),
)
@example(body='a,"' + "b" * 50 + '"\nc,d\n', read_sizes=[3])
@example(body='a,"b\n' + "bbbbbbbb\n" * 8 + '"b\nc,d\n', read_sizes=[4])
@example(body="a," + "b" * 60 + "\r\nc,d", read_sizes=[1])
def test_records_too_large_to_keep_never_put_the_reader_out_of_step_with_csv(body, read_sizes):
    # Tiny limits and blocks make every path that guards against huge records run on small inputs.
    text = "email,company\r\n" + body
    with mock.patch.multiple(prospect_reader, _BLOCK_BYTES=8, MAX_VALUE_CHARS=6, MAX_CELL_CHARS=12, MAX_ROW_CHARS=30):
        rows = list(ProspectCsv(Trickle(text.encode(), read_sizes)))

    by_line = {row.line: row for row in rows}
    assert len(by_line) == len(rows)
    records = _reference_records(text)
    assert set(by_line) <= {start for start, _, _ in records}
    for start, cells, size in records:
        row = by_line.get(start)
        blank = not any(cell.strip(WHITESPACE_AND_ZERO_WIDTH) for cell in cells)
        if isinstance(row, RowProblem):
            assert size > 12, (start, cells)
        elif row is None:
            assert blank, (start, cells)
        else:
            assert not blank and max(map(len, cells)) <= 12
            cleaned = [cell.strip(WHITESPACE_AND_ZERO_WIDTH) for cell in cells] + ["", ""]
            assert row.values["email"] == cleaned[0][:6].strip(WHITESPACE_AND_ZERO_WIDTH)
            assert row.values["company"] == cleaned[1][:6].strip(WHITESPACE_AND_ZERO_WIDTH)


@PROPERTY
@given(st.binary(max_size=300))
@example(b"\xff\xfe")
@example(b"\xef\xbb\xbf\r")
@example(b"email\n\"")
@example(b"email\r")
def test_arbitrary_bytes_are_refused_or_read_never_crash(data):
    _read_anything(data)


@PROPERTY
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=200),
       st.sampled_from(["", "email,name\n", "Email;Name\r\n", "sep=|\nemail|x\n", "Notes:\n\nemail\tx\n"]),
       st.sampled_from(["utf-8", "utf-16", "cp1252"]))
def test_arbitrary_text_after_a_header_is_read_without_crashing(text, header, encoding):
    _read_anything((header + text).encode(encoding, errors="replace"))


def _read_anything(data: bytes) -> None:
    try:
        source = ProspectCsv(io.BytesIO(data))
    except UnreadableFile as error:
        message = str(error)
        assert message.endswith(".") and message[0].isupper() and "\n" not in message
        return
    for row in source:
        assert isinstance(row, (SourceRow, RowProblem))
        if isinstance(row, SourceRow):
            assert list(row.values) == list(CANONICAL_FIELDS)
            assert all(value == value.strip(WHITESPACE_AND_ZERO_WIDTH) for value in row.values.values())
            assert all(len(value) <= 500 for value in row.values.values())
