"""Prospect rows from the CSV files salespeople actually have: Excel, Google Sheets and CRM exports, scrapes.

``ProspectCsv`` streams a binary file and yields one ``SourceRow`` per record, keyed by our canonical fields,
or a ``RowProblem`` for a record it cannot use; anything that is not a readable CSV at all is refused up front
with ``UnreadableFile``. Memory stays flat whatever the file: it is read in 64 KiB blocks, and a runaway record
(an unclosed quote, a pasted document) is followed without being kept once it passes ``MAX_ROW_CHARS``.

Parsing is left to the C ``csv`` module, which this code feeds physical lines; the bookkeeping around it is
done per 64 KiB block rather than per row, because the import must sustain tens of thousands of rows a second.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import BinaryIO

from storage.prospect_csv.common import BLANK, EMPTY, ZERO_WIDTH, UnreadableFile, clean
from storage.prospect_csv.headers import HeaderMap, csv_reader, find_header, is_blank
from storage.prospect_csv.sniffing import FALLBACK_ERRORS, choose_encoding, refuse_other_formats
from storage.prospect_csv.states import StateColumn

CANONICAL_FIELDS = ("email", "first_name", "last_name", "company", "title", "phone", "linkedin_url")

MAX_VALUE_CHARS = 500
MAX_CELL_CHARS = 1 << 20
# Above this a record is no longer held: its lines are only scanned for where it ends, then reported.
MAX_ROW_CHARS = 4 << 20

_BLOCK_BYTES = 1 << 16
_MAX_HEADER_LINE_CHARS = 1 << 20
# csv.field_size_limit is process-wide; it must hold anything we hand csv before a record counts as oversized.
_CSV_FIELD_LIMIT = 4 * MAX_ROW_CHARS
_NO_FLAG = 1 << 62


@dataclass(frozen=True, slots=True)
class SourceRow:
    line: int  # 1-based physical line on which the record starts
    values: dict[str, str]  # every canonical field; stripped, at most MAX_VALUE_CHARS; "" when missing
    states: tuple[str, ...] = ()  # the cells of ProspectCsv.state_columns, in that order, cleaned as values are


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    message: str  # "line N: ...", for the import report


# --- Feeding csv ---------------------------------------------------------------------------------------------

# csv's states, as far as finding the end of a record needs them (our dialect: doublequote, skipinitialspace,
# no escape character, strict=False).
_FIELD_START, _IN_FIELD, _IN_QUOTES, _QUOTE_IN_QUOTES = range(4)


class _RunawayRecord:
    """Follows a record too large to keep, character by character as csv would, to find the line it ends on.

    csv meanwhile gets one placeholder line per physical line, so its line count stays right and it ends the
    record on the same line: either it is inside a quoted field already (the record spans lines), or the
    placeholder opens one.
    """

    def __init__(self, delimiter: str, *, csv_inside_quotes: bool) -> None:
        self._delimiter = delimiter
        self._state = _IN_QUOTES if csv_inside_quotes else _FIELD_START
        self._opening = "" if csv_inside_quotes else '"'
        self.mid_line = False  # part of a line read, no placeholder handed out for it yet

    def read(self, text: str) -> None:
        """Part of a line, without its line break."""
        self.mid_line = True
        state, delimiter, position, end = self._state, self._delimiter, 0, len(text)
        while position < end:
            if state == _IN_QUOTES:
                quote = text.find('"', position)
                if quote < 0:
                    break
                state, position = _QUOTE_IN_QUOTES, quote + 1
            elif state == _IN_FIELD:
                next_field = text.find(delimiter, position)
                if next_field < 0:
                    break
                state, position = _FIELD_START, next_field + 1
            else:
                char = text[position]
                position += 1
                if char == '"':
                    state = _IN_QUOTES
                elif char == delimiter:
                    state = _FIELD_START
                elif state == _QUOTE_IN_QUOTES or char != " ":
                    state = _IN_FIELD
        self._state = state

    def end_line(self) -> tuple[str, bool]:
        """The placeholder for the line just read, and whether the record ends with it."""
        opening, self._opening = self._opening, ""
        self.mid_line = False
        if self._state == _IN_QUOTES:
            return opening + "\n", False
        return opening + '"\n', True


class _LineFeeder:
    """Hands csv the file's physical lines a block at a time, and watches record sizes between blocks.

    ``ProspectCsv`` sets ``record_end`` to ``reader.line_num`` after every record csv returns. When csv asks for
    the next block it has used every line handed out, so the lines after ``record_end`` are exactly the record
    in progress; a record can only continue past a line break inside quotes, so csv's state there is known too.

    Lines that may hold a value longer than MAX_VALUE_CHARS or zero-width characters are flagged, so that
    ``ProspectCsv`` takes its slower path for the records on them (``next_flag`` is the first line flagged). A
    record over MAX_ROW_CHARS is followed by ``_RunawayRecord`` instead of being handed to csv, and its first line
    flagged as oversized.
    """

    def __init__(self, texts: Iterator[str], delimiter: str) -> None:
        self.record_end = 0
        self.next_flag = _NO_FLAG
        # Both in increasing line order: lists are handed out, and runaway records followed, one after another.
        self._careful: deque[tuple[int, int]] = deque()  # (first line, last line)
        self._oversized: deque[int] = deque()
        self._texts = _hold_back_final_cr(texts)
        self._delimiter = delimiter
        self._handed_out = 0
        self._last_list: list[str] = []
        self._record_chars = 0
        self._runaway: _RunawayRecord | None = None

    def lines(self) -> Iterator[str]:
        # chain() keeps the per-line step in C; this class only runs once per block.
        return chain.from_iterable(self._line_lists())

    def take_flags(self, line: int, end: int) -> bool:
        """Forgets the flags up to the record on lines ``line``-``end``; whether that record was oversized."""
        oversized = False
        while self._oversized and self._oversized[0] <= end:
            oversized = self._oversized.popleft() >= line
        while self._careful and self._careful[0][1] <= end:
            self._careful.popleft()
        self.next_flag = min(
            max(self._careful[0][0], end + 1) if self._careful else _NO_FLAG,
            self._oversized[0] if self._oversized else _NO_FLAG,
        )
        return oversized

    def _line_lists(self) -> Iterator[list[str]]:
        pending: list[str] = []  # pieces of a line whose end has not been read yet
        pending_chars = 0
        for text in self._texts:
            if "\n" not in text and "\r" not in text:
                if self._runaway:
                    self._runaway.read(text)
                    continue
                pending.append(text)
                pending_chars += len(text)
                if pending_chars > MAX_ROW_CHARS:
                    runaway = self._start_runaway(self._handed_out + 1)
                    runaway.read("".join(pending))
                    pending, pending_chars = [], 0
                continue
            if pending:
                text = "".join(pending) + text
                pending, pending_chars = [], 0
            zero_width = any(char in text for char in ZERO_WIDTH)
            lines = io.StringIO(text, newline="").readlines()
            if lines[-1][-1] not in "\r\n":
                tail = lines.pop()
                pending, pending_chars = [tail], len(tail)
            if lines:
                yield from self._hand_out(lines, zero_width)
            if self._runaway and pending:
                self._runaway.read(pending[0])
                pending, pending_chars = [], 0
        if self._runaway:
            if self._runaway.mid_line:
                self._handed_out += 1
                yield [self._runaway.end_line()[0]]
        elif pending:
            last_line = "".join(pending)
            yield from self._hand_out([last_line], any(char in last_line for char in ZERO_WIDTH))

    def _hand_out(self, lines: list[str], zero_width: bool) -> Iterator[list[str]]:
        start = 0
        while start < len(lines):
            if self._runaway is None:
                rest = lines[start:] if start else lines
                self._watch(rest, zero_width)
                if self._runaway is None:
                    self._handed_out += len(rest)
                    self._last_list = rest
                    yield rest
                    return
            placeholders = []
            ended = False
            while start < len(lines) and not ended:
                line = lines[start]
                self._runaway.read(line.rstrip("\r\n"))
                placeholder, ended = self._runaway.end_line()
                placeholders.append(placeholder)
                start += 1
            self._handed_out += len(placeholders)
            self._last_list = []
            if ended:
                self._runaway = None
            yield placeholders

    def _watch(self, lines: list[str], zero_width: bool) -> None:
        """Before handing csv ``lines``: follow the size of the record in progress, flag lines that need care."""
        in_progress = self._handed_out - self.record_end
        if in_progress <= 0:
            self._record_chars = 0
        elif in_progress <= len(self._last_list):
            self._record_chars = sum(map(len, self._last_list[len(self._last_list) - in_progress :]))
        else:
            self._record_chars += sum(map(len, self._last_list))
        if self._record_chars > MAX_ROW_CHARS:
            self._start_runaway(self.record_end + 1)
            return
        # Only a line this long can hold a value to truncate or a cell that is too large (records spanning lines
        # are always handled with care), and zero-width characters are rare enough to look for per block.
        if zero_width or max(map(len, lines)) > MAX_VALUE_CHARS:
            first = self._handed_out + 1
            self._careful.append((first, self._handed_out + len(lines)))
            self.next_flag = min(self.next_flag, first)

    def _start_runaway(self, line: int) -> _RunawayRecord:
        csv_inside_quotes = self.record_end < self._handed_out
        self._runaway = _RunawayRecord(self._delimiter, csv_inside_quotes=csv_inside_quotes)
        self._oversized.append(line)
        self.next_flag = min(self.next_flag, line)
        return self._runaway


def _hold_back_final_cr(texts: Iterable[str]) -> Iterator[str]:
    """The blocks, moved so that none ends between the two halves of a "\r\n"."""
    held = ""
    for text in texts:
        if held:
            text = held + text
        held = "\r" if text.endswith("\r") else ""
        if held:
            text = text[:-1]
        if text:
            yield text
    if held:
        yield held


# --- The reader ----------------------------------------------------------------------------------------------


class ProspectCsv:
    """The prospects in one CSV file, streamed.

    The header is read and checked when the object is made, so a file that cannot be imported is refused before
    any row is written. Iterating yields a ``SourceRow`` or ``RowProblem`` per non-blank record, in file order.

    Attributes: ``columns`` (canonical field -> header as written; a split "Name" column appears for both
    first_name and last_name), ``state_columns`` (the columns recording a state from another tool, such as
    Unsubscribed; see ``states``), ``ignored_columns`` (non-empty headers not used), ``encoding`` (the codec used,
    e.g. "utf-8-sig", "utf-16-le", "cp1252"), ``delimiter``, ``header_line`` and ``name``.
    """

    columns: dict[str, str]
    state_columns: tuple[StateColumn, ...]
    ignored_columns: list[str]

    def __init__(self, stream: BinaryIO, *, name: str = "file") -> None:
        self.name = name
        self._stream = stream
        self._bytes_read = 0
        if csv.field_size_limit() < _CSV_FIELD_LIMIT:
            csv.field_size_limit(_CSV_FIELD_LIMIT)

        head = self._read_head()
        if not head:
            raise UnreadableFile(EMPTY)
        refuse_other_formats(head)
        codec, bom_length = choose_encoding(head)
        self.encoding = codec
        errors = FALLBACK_ERRORS if codec in ("utf-8", "utf-8-sig", "cp1252") else "replace"
        decoder_codec = "utf-8" if codec == "utf-8-sig" else codec
        self._decoder = codecs.getincrementaldecoder(decoder_codec)(errors=errors)
        self._at_end = False

        sample = self._decode(head[bom_length:])
        while not self._at_end and not _has_line_break(sample):
            if len(sample) > _MAX_HEADER_LINE_CHARS:
                raise UnreadableFile("The first line is longer than 1 MiB, so it is not a CSV header row.")
            sample += self._decode(self._read_block())
        if not sample and self._at_end:
            raise UnreadableFile(EMPTY)
        if not clean(sample.replace("\r", "").replace("\n", "")) and self._at_end:
            raise UnreadableFile(BLANK)
        complete = sample if self._at_end else sample[: max(sample.rfind("\n"), sample.rfind("\r")) + 1]
        self.delimiter, header_index = find_header(complete)

        self.header_line = 0
        self._feeder = _LineFeeder(self._texts(sample), self.delimiter)
        self._reader = csv_reader(self._feeder.lines(), self.delimiter)
        header_cells = self._read_header(header_index)
        self._set_columns(HeaderMap.of(header_cells))

    @property
    def bytes_read(self) -> int:
        """Raw bytes consumed from the stream so far (read ahead by at most one 64 KiB block)."""
        return self._bytes_read

    def __iter__(self) -> Iterator[SourceRow | RowProblem]:
        return self._rows()

    # The loop below runs once per row of every import: it keeps to C-implemented calls, and anything rare
    # (records spanning lines, long values, zero-width characters, oversized records) goes to _careful_row.
    def _rows(self) -> Iterator[SourceRow | RowProblem]:
        reader, feeder = self._reader, self._feeder
        pick, width, pick_states = self._pick, self._width, self._pick_states
        fields, split_name, strip = CANONICAL_FIELDS, self._split_name, str.strip
        previous_end = feeder.record_end
        while True:
            try:
                for cells in reader:
                    line = previous_end + 1
                    previous_end = feeder.record_end = reader.line_num
                    if previous_end != line or previous_end >= feeder.next_flag:
                        row = self._careful_row(line, previous_end, cells)
                        if row is not None:
                            yield row
                        continue
                    if not cells:
                        continue
                    cells.append("")  # what pick() takes for fields the file has no column for
                    if len(cells) < width:
                        cells.extend([""] * (width - len(cells)))
                    values = dict(zip(fields, map(strip, pick(cells)), strict=True))
                    if not values["email"] and not any(values.values()) and is_blank(cells):
                        continue
                    if split_name:
                        _split_full_name(values)
                    if pick_states is None:
                        yield SourceRow(line, values)
                    else:
                        yield SourceRow(line, values, tuple(map(strip, pick_states(cells))))
                return
            except csv.Error as error:
                line = previous_end + 1
                previous_end = feeder.record_end = reader.line_num
                feeder.take_flags(line, previous_end)
                yield RowProblem(line, f"line {line}: the row could not be read ({error})")

    def _careful_row(self, line: int, end: int, cells: list[str]) -> SourceRow | RowProblem | None:
        if end >= self._feeder.next_flag and self._feeder.take_flags(line, end):
            return RowProblem(line, f"line {line}: the row is larger than {MAX_ROW_CHARS >> 20} MiB")
        if cells and max(map(len, cells)) > MAX_CELL_CHARS:
            return RowProblem(line, f"line {line}: a cell is larger than 1 MiB")
        cells = [*cells, ""]
        if len(cells) < self._width:
            cells.extend([""] * (self._width - len(cells)))
        picked = zip(CANONICAL_FIELDS, self._pick(cells), strict=True)
        values = {field: _truncate(clean(value)) for field, value in picked}
        if not any(values.values()) and is_blank(cells):
            return None
        if self._split_name:
            _split_full_name(values)
        states = tuple(_truncate(clean(value)) for value in self._pick_states(cells)) if self._pick_states else ()
        return SourceRow(line, values, states)

    # --- set-up ---

    def _read_head(self) -> bytes:
        head = self._stream.read(_BLOCK_BYTES)
        if not isinstance(head, (bytes, bytearray)):
            raise TypeError("ProspectCsv reads a binary stream (open the file with 'rb')")
        head = bytes(head)
        while head and len(head) < _BLOCK_BYTES:
            more = self._stream.read(_BLOCK_BYTES - len(head))
            if not more:
                break
            head += more
        self._bytes_read += len(head)
        return head

    def _read_block(self) -> bytes:
        block = self._stream.read(_BLOCK_BYTES)
        self._bytes_read += len(block)
        return block

    def _decode(self, data: bytes) -> str:
        text = self._decoder.decode(data, final=not data)
        if not data:
            self._at_end = True
        return text.replace("\x00", "") if "\x00" in text else text

    def _texts(self, sample: str) -> Iterator[str]:
        """The decoded file, NUL characters dropped, starting with the sample read for the header."""
        if sample:
            yield sample
        while not self._at_end:
            text = self._decode(self._read_block())
            if text:
                yield text

    def _read_header(self, header_index: int) -> list[str]:
        non_blank = 0
        try:
            for cells in self._reader:
                self._feeder.record_end = self._reader.line_num
                if is_blank(cells):
                    continue
                if non_blank == header_index:
                    self.header_line = self._reader.line_num
                    self._feeder.take_flags(1, self.header_line)
                    return cells
                non_blank += 1
        except csv.Error:
            pass
        raise UnreadableFile("The header row could not be read.")

    def _set_columns(self, header: HeaderMap) -> None:
        positions = dict(header.positions)
        self._split_name = header.splits_full_name
        if self._split_name:
            positions["first_name"] = positions.pop("full_name")
        named = {**positions, "last_name": positions["first_name"]} if self._split_name else positions
        self.columns = {field: header.headers[named[field]] for field in CANONICAL_FIELDS if field in named}
        self.state_columns = tuple(column for _, column in header.states)
        state_indexes = [position for position, _ in header.states]
        used = set(positions.values()) | set(state_indexes)
        self.ignored_columns = [text for position, text in enumerate(header.headers) if text and position not in used]
        indexes = [positions.get(field, -1) for field in CANONICAL_FIELDS]
        self._pick = itemgetter(*indexes)
        self._pick_states: Callable[[list[str]], tuple[str, ...]] | None = None
        if len(state_indexes) == 1:  # itemgetter of one index returns the item, not a tuple
            only = state_indexes[0]
            self._pick_states = lambda cells: (cells[only],)
        elif state_indexes:
            self._pick_states = itemgetter(*state_indexes)
        # Cells needed so every index is in range once the "" for missing fields is appended.
        self._width = max(indexes + state_indexes) + 2


def _has_line_break(text: str) -> bool:
    return "\n" in text or "\r" in text


def _truncate(value: str) -> str:
    return clean(value[:MAX_VALUE_CHARS]) if len(value) > MAX_VALUE_CHARS else value


def _split_full_name(values: dict[str, str]) -> None:
    """A "Name" column split as people write it: "Jane Doe" -> Jane / Doe, "Doe, Jane" -> Jane / Doe."""
    full = values["first_name"]
    last, comma, first = full.partition(",")
    if comma and first.strip() and last.strip() and " " not in last.strip():
        values["first_name"], values["last_name"] = first.strip(), last.strip()
        return
    parts = full.split(None, 1)
    values["first_name"] = parts[0] if parts else ""
    values["last_name"] = parts[1] if len(parts) > 1 else ""
