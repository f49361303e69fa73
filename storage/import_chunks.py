"""A chunk of a CSV's rows checked and canonicalised before the import's transaction begins.

Everything an import does to a row before it asks the database anything — validating and canonicalising the
address, hashing its fingerprints, the new prospect's column values — depends on the row alone. Done before the
transaction, it is not done while holding SQLite's write lock: a colleague's save waits behind the writes alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from storage.emails import InvalidEmail, address_key, normalise_email
from storage.fast_insert import copy_text_row
from storage.keys import address_identity
from storage.models import utcnow
from storage.prospect_csv import RowProblem, SourceRow, StateColumn, UnreadableState, row_states
from storage.prospects import NEW_PROSPECT_COLUMNS, new_prospect_values

DOMAIN = NEW_PROSPECT_COLUMNS.index("email_domain")


class RowOutcome(NamedTuple):
    # A tuple, not a dataclass: one is made per row of files with millions of rows.
    line: int
    email: str
    outcome: str
    message: str = ""
    # What the row's state columns recorded, beside the outcome (a new contact may have opted out): "opted_out",
    # "do_not_contact", "bounced", or two joined by "+" ("opted_out+bounced"); "" for nothing.
    state: str = ""


@dataclass
class PreparedChunk:
    """One chunk's rows as the import writes them, each distinct address once (storage.emails.address_key)."""

    now: dt.datetime
    # Rows decided without the database: invalid, or the same address as an earlier row of the chunk.
    outcomes: dict[int, RowOutcome] = field(default_factory=dict)
    first_line_of: dict[str, int] = field(default_factory=dict)
    email_of: dict[str, str] = field(default_factory=dict)  # as shown (normalised)
    # Plain tuples, not AddressIdentity and dicts: a chunk travels between processes (storage.prepared_elsewhere),
    # and tuples of strings are the cheapest to send and receive.
    fingerprints_of: dict[str, tuple[str, ...]] = field(default_factory=dict)  # AddressIdentity.fingerprints
    # The prospect to create if nobody has the address: storage.prospects.new_prospect_values.
    new_values_of: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    # Or, for PostgreSQL (prepare_chunk's copy_rows), the same values as a row of COPY (fast_insert.copy_text_row).
    new_copy_rows_of: dict[str, bytes] = field(default_factory=dict)
    # The ASCII domains of the addresses above, which the import looks up among the blocked ones.
    domains: set[str] = field(default_factory=set)
    flagged: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)  # (line, key, states) recorded


def prepare_chunk(rows: Iterable[SourceRow | RowProblem], *, secret_key: bytes,
                  state_columns: tuple[StateColumn, ...] | None, copy_rows: bool = False) -> PreparedChunk:
    chunk = PreparedChunk(now=utcnow())
    outcomes, first_line_of = chunk.outcomes, chunk.first_line_of
    for row in rows:
        if isinstance(row, RowProblem):
            outcomes[row.line] = RowOutcome(row.line, "", "invalid", row.message)
            continue
        raw = row.values.get("email", "")
        try:
            email = normalise_email(raw)
            key = address_key(email)
            identity = None if key in first_line_of else address_identity(secret_key, email)
        except InvalidEmail as error:
            outcomes[row.line] = RowOutcome(row.line, raw, "invalid", f"invalid email address: {error.reason}")
            continue
        if state_columns is not None:
            try:
                recorded = row_states(state_columns, row.states)
            except UnreadableState as error:
                outcomes[row.line] = RowOutcome(row.line, email, "invalid", str(error))
                continue
            if recorded:
                chunk.flagged.append((row.line, key, recorded))
        if identity is None:
            outcomes[row.line] = RowOutcome(row.line, email, "duplicate_in_file",
                                            f"same address as line {first_line_of[key]}")
            continue
        first_line_of[key] = row.line
        chunk.email_of[key] = email
        chunk.fingerprints_of[key] = identity.fingerprints
        values = new_prospect_values({**row.values, "email": email}, identity)
        if copy_rows:
            chunk.new_copy_rows_of[key] = copy_text_row(values)
        else:
            chunk.new_values_of[key] = values
        chunk.domains.add(values[DOMAIN])
    return chunk
