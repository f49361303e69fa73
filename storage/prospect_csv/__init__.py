"""Prospect rows from the CSV files salespeople actually have: Excel, Google Sheets and CRM exports, scrapes.

``ProspectCsv`` streams a binary file and yields a ``SourceRow`` per usable record or a ``RowProblem`` per record
it cannot use; a file that is not a readable CSV at all is refused up front with ``UnreadableFile``.

- ``common``: ``UnreadableFile``, the messages both sides raise it with, and cleaning a cell's text.
- ``sniffing``: what kind of file this is and its encoding; registers the cp1252 fallback codec error handler.
- ``headers``: the header vocabulary, and finding the header row and the delimiter.
- ``reader``: the streaming parser: ``ProspectCsv``, ``SourceRow``, ``RowProblem`` and the size limits.
"""

from __future__ import annotations

from storage.prospect_csv.common import UnreadableFile
from storage.prospect_csv.reader import CANONICAL_FIELDS, ProspectCsv, RowProblem, SourceRow

__all__ = ["CANONICAL_FIELDS", "ProspectCsv", "RowProblem", "SourceRow", "UnreadableFile"]
