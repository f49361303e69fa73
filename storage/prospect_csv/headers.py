"""The header vocabulary, and finding the header row and the delimiter at the start of a file.

``HeaderMap`` says where each canonical field is in a header row, by the names in ``_HEADER_NAMES``, and which
columns record a state from another tool (an opt-out, a do not contact, a bounce), by the names in
``_STATE_NAMES``; ``find_header`` picks the delimiter and the header row (below a short preamble, or after a
``sep=`` line), and refuses a file without an email column. ``csv_reader`` is the csv dialect used for the header
and the rows alike.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import _csv

from storage.emails import InvalidEmail, normalise_email
from storage.prospect_csv.common import BLANK, UnreadableFile, clean
from storage.prospect_csv.states import HARD_BOUNCE, OWN_OPT_OUT, TEAM_DO_NOT_CONTACT, StateColumn

DELIMITERS = (",", ";", "\t", "|")

# Title and notes lines skipped above the header, as in LinkedIn's Connections.csv ("Notes:" ...).
_MAX_PREAMBLE_ROWS = 10


# --- Header matching ----------------------------------------------------------------------------------------

# For each field, the header names we recognise, most specific first: when a file has several columns for one
# field, the one whose name comes earliest here wins, and among equals the leftmost.
_HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "email": (
        "email", "e-mail", "email address", "e-mail address", "emailaddress", "email_address", "email id",
        "work email", "business email", "professional email", "company email", "work email address",
        "primary email", "email 1", "e-mail 1 - value", "contact email",
        "mail", "courriel", "adresse email", "adresse e-mail", "adresse mail", "adresse courriel",
        "adresse électronique", "e-mail-adresse", "correo", "correo electrónico",
    ),
    "first_name": (
        "first name", "given name", "fname", "forename", "first", "prénom", "vorname", "nombre", "nome",
    ),
    "last_name": (
        "last name", "surname", "family name", "lname", "last", "nom", "nom de famille", "nachname", "apellido",
        "apellidos", "cognome",
    ),
    "company": (
        "company name", "company", "organization name", "organisation name", "organization", "organisation",
        "account name", "employer", "current company", "société", "entreprise", "firma", "unternehmen",
        "empresa", "azienda",
    ),
    "title": (
        "job title", "title", "position", "job position", "current position", "role", "job role", "designation",
        "occupation", "headline", "poste", "fonction", "titre", "berufsbezeichnung", "cargo", "puesto",
    ),
    "phone": (
        "phone", "phone number", "work phone", "direct phone", "work direct phone", "mobile", "mobile phone",
        "mobile number", "cell phone", "telephone", "telephone number", "tel", "corporate phone",
        "company phone", "office phone", "téléphone", "portable", "telefon", "teléfono",
    ),
    "linkedin_url": (
        "linkedin", "linkedin url", "linkedin profile", "linkedin profile url", "person linkedin url",
        "linkedin link", "linkedin profile link", "profile url", "url",
    ),
    # One column with the whole name, used only when there is neither a first- nor a last-name column.
    "full_name": ("full name", "name", "contact name", "contact full name", "person name", "prospect name",
                  "lead name", "nom complet", "nombre completo"),
}


# Columns in which another tool (HubSpot, Salesforce, Mailchimp, lemlist, Smartlead, Instantly, Apollo, Woodpecker)
# or a spreadsheet records a state, by kind. Every one of them is read, not only the first. Names that could mean
# something else are left out on purpose, and stay "not imported": DNC (do not call?), Do Not Call, Status, Stage,
# Email Status, Opt In, Subscribed (a "no" there is not an opt-out we may assume), Unsubscribe (often a link),
# Bounce (often its type), Soft Bounce, the reasons (Email Bounced Reason, UNSUB_REASON), and counts such as
# HubSpot's "Marketing emails bounced".
_STATE_NAMES: dict[str, tuple[str, ...]] = {
    # The person's own request: nobody may lift it.
    OWN_OPT_OUT: (
        "unsubscribed", "is unsubscribed", "unsubscribed at", "unsubscribed on", "unsubscribed date",
        "unsubscribe date", "unsubscribe time", "unsubscribed time", "date unsubscribed", "unsub time", "unsub date",
        "email unsubscribed", "email unsubscribe", "unsubscribed from all email", "unsubscribed from all emails",
        "hs email optout", "global unsubscribe", "globally unsubscribed", "unsubscribed globally",
        "email opt out", "email opted out", "has opted out of email", "opted out", "opted out of email",
        "opted out of emails", "opted out of all email", "opt out", "opted out at", "opted out on", "opted out date",
        "opt out date", "global opt out",
    ),
    # A team's decision not to email them.
    TEAM_DO_NOT_CONTACT: (
        "do not contact", "do not email", "do not mail", "do not send", "dont contact", "dont email",
        "blacklisted", "blocklisted", "blacklist", "blocklist", "on blacklist", "on blocklist", "email blacklisted",
        "email blocklisted",
    ),
    # The address hard-bounced.
    HARD_BOUNCE: (
        "bounced", "is bounced", "hard bounce", "hard bounced", "hard bounce date", "hard bounced at",
        "email bounced", "email hard bounced", "email bounced date", "bounce date", "bounced at", "bounced on",
        "bounced date", "date bounced", "clean time",
    ),
}


def _header_key(header: str) -> str:
    """'E-mail Address' -> 'emailaddress', 'Prénom' -> 'prenom': case, accents, spacing and punctuation ignored."""
    decomposed = unicodedata.normalize("NFKD", header).lower()
    return "".join(c for c in decomposed if c.isalnum())


def _build_header_index() -> dict[str, tuple[str, int]]:
    index: dict[str, tuple[str, int]] = {}
    for field, names in _HEADER_NAMES.items():
        for rank, name in enumerate(names):
            key = _header_key(name)
            known = index.setdefault(key, (field, rank))
            if known[0] != field:
                raise AssertionError(f"header name {name!r} is listed for both {known[0]} and {field}")
    return index


_HEADER_INDEX = _build_header_index()


def _build_state_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for kind, names in _STATE_NAMES.items():
        for name in names:
            key = _header_key(name)
            known = index.setdefault(key, kind)
            if known != kind or key in _HEADER_INDEX:
                raise AssertionError(f"header name {name!r} is listed twice")
    return index


_STATE_INDEX = _build_state_index()


@dataclass(frozen=True)
class HeaderMap:
    """Where each canonical field is in a header row."""

    positions: dict[str, int]  # canonical field (or "full_name") -> cell index
    headers: tuple[str, ...]  # the header cells, cleaned
    states: tuple[tuple[int, StateColumn], ...] = ()  # (cell index, column) for each state column, left to right

    @classmethod
    def of(cls, cells: list[str]) -> HeaderMap:
        best: dict[str, tuple[int, int]] = {}
        for position, cell in enumerate(cells):
            match = _HEADER_INDEX.get(_header_key(cell))
            if match is None:
                continue
            field, rank = match
            if field not in best or rank < best[field][0]:
                best[field] = (rank, position)
        positions = {field: position for field, (_, position) in best.items()}
        if "first_name" in positions or "last_name" in positions:
            positions.pop("full_name", None)
        headers = tuple(clean(cell) for cell in cells)
        states = tuple((position, StateColumn(headers[position], _STATE_INDEX[key]))
                       for position, key in enumerate(map(_header_key, cells)) if key in _STATE_INDEX)
        return cls(positions, headers, states)

    @property
    def has_email(self) -> bool:
        return "email" in self.positions

    @property
    def splits_full_name(self) -> bool:
        return "full_name" in self.positions


# --- Finding the header -------------------------------------------------------------------------------------

_SEP_LINE = re.compile(r'[ \t]*"?sep=([^\r\n"])"?[ \t]*(?:\r\n|\r|\n|$)', re.IGNORECASE)


def csv_reader(lines: Iterable[str], delimiter: str) -> _csv.Reader:
    # skipinitialspace: in `a, "b, c"` the space after the comma must not stop the quotes from counting.
    return csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, skipinitialspace=True,
                      strict=False)


def is_blank(cells: list[str]) -> bool:
    return not any(map(clean, cells))


def find_header(sample: str) -> tuple[str, int]:
    """(delimiter, index of the header among the non-blank records) for a file starting with ``sample``.

    The header is the first non-blank row, except that a few one-cell title or notes rows above a header with an
    email column are skipped. A ``sep=;`` first line (Excel's delimiter hint) is honoured.
    """
    sep_line = _SEP_LINE.match(sample)
    candidates = [sep_line.group(1)] if sep_line else DELIMITERS
    best: tuple[tuple[int, int, int, int], str, int] | None = None
    for order, delimiter in enumerate(candidates):
        records = _leading_records(sample, delimiter)
        if sep_line:
            records = records[1:]
        for index, cells in enumerate(records[: _MAX_PREAMBLE_ROWS + 1]):
            header = HeaderMap.of(cells)
            if header.has_email:
                score = (index, -len(header.positions), -len(cells), order)
                if best is None or score < best[0]:
                    best = (score, delimiter, index + (1 if sep_line else 0))
                break
            if sum(1 for cell in cells if clean(cell)) > 1:
                break  # a real row without an email column: that is the header, not a title line
    if best is not None:
        return best[1], best[2]

    delimiter = sep_line.group(1) if sep_line else _likeliest_delimiter(sample)
    records = _leading_records(sample, delimiter)
    if sep_line:
        records = records[1:]
    if not records:
        raise UnreadableFile(BLANK)
    raise UnreadableFile(_no_email_column(records[0]))


def _leading_records(sample: str, delimiter: str) -> list[list[str]]:
    """The first non-blank records of the sample (enough to find a header below a preamble)."""
    records = []
    try:
        for cells in csv_reader(io.StringIO(sample, newline=""), delimiter):
            if not is_blank(cells):
                records.append(cells)
                if len(records) > _MAX_PREAMBLE_ROWS + 1:
                    break
    except csv.Error:
        pass
    return records


def _likeliest_delimiter(sample: str) -> str:
    """The candidate found most often outside quotes on the first non-blank line; ',' when there is none."""
    counts = dict.fromkeys(DELIMITERS, 0)
    in_quotes = False
    seen_text = False
    for char in sample:
        if char == '"':
            in_quotes = not in_quotes
        elif in_quotes:
            continue
        elif char in "\r\n":
            if seen_text:
                break
        elif char in counts:
            counts[char] += 1
            seen_text = True
        elif not char.isspace():
            seen_text = True
    return max(DELIMITERS, key=lambda d: counts[d])  # max keeps the first of equals: ','


def _no_email_column(cells: list[str]) -> str:
    headers = [_shorten(cell) for cell in map(clean, cells) if cell]
    for cell in headers:
        if "@" in cell:
            try:
                normalise_email(cell)
            except InvalidEmail:
                continue
            return ("The first row holds email addresses instead of column names: add a header row (with a column "
                    "named Email) above the data and import again.")
    expected = "(expected one named like Email or E-mail)"
    quoted = [f'"{header}"' for header in headers]
    if len(quoted) == 1:
        return f"No email column: the header has only {quoted[0]}, which is not an email column {expected}."
    shown = quoted[:8]
    listing = ", ".join(shown[:-1]) + " and " + shown[-1]
    if len(quoted) > len(shown):
        listing = ", ".join(shown) + f" and {len(quoted) - len(shown)} more"
    return f"No email column: the header has {listing}, and none of them is an email column {expected}."


def _shorten(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
