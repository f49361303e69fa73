"""Prospect rows from the CSV files salespeople actually have: Excel, Google Sheets and CRM exports, scrapes.

``ProspectCsv`` streams a binary file and yields a ``SourceRow`` per usable record or a ``RowProblem`` per record
it cannot use; a file that is not a readable CSV at all is refused up front with ``UnreadableFile``.

- ``common``: ``UnreadableFile``, the messages both sides raise it with, and cleaning a cell's text.
- ``sniffing``: what kind of file this is and its encoding; registers the cp1252 fallback codec error handler.
- ``headers``: the header vocabulary (fields and state columns), and finding the header row and the delimiter.
- ``states``: reading a state column's cells (yes, no, a date) into the states a row records.
- ``reader``: the streaming parser: ``ProspectCsv``, ``SourceRow``, ``RowProblem`` and the size limits.
"""

from __future__ import annotations

from storage.prospect_csv.common import UnreadableFile
from storage.prospect_csv.reader import CANONICAL_FIELDS, ProspectCsv, RowProblem, SourceRow
from storage.prospect_csv.states import (
    HARD_BOUNCE,
    OWN_OPT_OUT,
    STATE_KINDS,
    TEAM_DO_NOT_CONTACT,
    StateColumn,
    UnreadableState,
    row_states,
)

__all__ = ["CANONICAL_FIELDS", "HARD_BOUNCE", "OWN_OPT_OUT", "STATE_KINDS", "TEAM_DO_NOT_CONTACT", "ProspectCsv",
           "RowProblem", "SourceRow", "StateColumn", "UnreadableFile", "UnreadableState", "row_states"]
