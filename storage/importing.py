"""Import prospects from a CSV file into a campaign, in chunks that each commit with their audit row.

Memory stays flat: the file is streamed, each chunk is looked up against the database in a few queries, and
duplicates within the file are recognised by the import run that created their membership, not by a set kept
in memory. Re-running an interrupted import is safe: everything already written is recognised.

Columns in which another tool recorded a state (prospect_csv.states) are honoured: a person's own opt-out and a
team's do not contact become do not contact, a hard bounce is recorded as a bounce in this campaign, whether the
person is new, known, or in the campaign already.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

from sqlalchemy import update
from sqlalchemy.orm import Session

from storage.audit import Actor, record_audit
from storage.campaigns import get_or_create_campaign
from storage.deferred_indexes import build_missing, drop_for_load
from storage.fast_insert import takes_copy_rows
from storage.import_chunks import PreparedChunk, RowOutcome, prepare_chunk
from storage.import_states import StateRecorder
from storage.import_writes import ChunkOutcomes, write_chunk
from storage.models import Import, utcnow
from storage.prepared_elsewhere import Prepared, PreparedChunks
from storage.prospect_csv import (
    STATE_KINDS,
    ProspectCsv,
    RowProblem,
    SourceRow,
)
from storage.sqlite_connections import in_wal_mode
from storage.wal_checkpoints import CheckpointsAside

Transaction = Callable[[], AbstractContextManager[Session]]
# Rows per transaction. Each commit costs a fixed amount, so bigger is faster; but on SQLite every other writer (a
# Slack save, the sender) waits while a transaction writes, so it is sized to take about CHUNK_SECONDS: the first
# has FIRST_CHUNK rows, each next one as many as the last one's pace allows, within [MIN_CHUNK, MAX_TRANSACTION].
# Into a populated database every index is kept up to date row by row, several times the cost of a row into an
# empty one: the first chunk there has FIRST_CHUNK_INTO_POPULATED rows, and the pace takes over from it.
# PostgreSQL locks rows, not the database: its chunks are MAX_CHUNK rows. On both, past the first rows, each chunk is
# read and prepared in a second process while the last is written (storage.prepared_elsewhere).
# A chunk is at most MAX_CHUNK rows, which bounds memory: the two processes each hold one and its copy in transit
# (20,000 rows: the two together peaked at 342 MB importing 1,000,000 rows into SQLite; 10,000: 263 MB). One
# transaction may write several, up to MAX_TRANSACTION rows as its pace allows: each commit rewrites every page of
# the unique address index its rows landed on, spread over the whole index (1,000,000 rows, one chunk per
# transaction: 24.9-25.5 s; several: 22.7-22.9 s, 276 MB).
FIRST_CHUNK, MIN_CHUNK, MAX_CHUNK, MAX_TRANSACTION = 5_000, 500, 10_000, 40_000
FIRST_CHUNK_INTO_POPULATED = 1_000
CHUNK_SECONDS = 0.3
# Into an empty database (its secondary indexes deferred), transactions may last longer: nobody is in a campaign to
# be saved or sent to but those this import adds, and a writer waits for one transaction, the chunk that ends it and
# its commit (0.1-0.15 s each), still within the 1 s a save may wait. Fewer commits rewrite the address index fewer
# times (1,000,000 rows: 6.3 s of commits in transactions of 0.3 s; 4.3-4.4 s, 38 commits, at 0.7 s; 2026-12-02).
LOAD_CHUNK_SECONDS, MAX_LOAD_TRANSACTION = 0.7, 100_000
SAMPLES_KEPT = 20
# A chunk that found at most one address in MOSTLY_NEW had already lets the next one go straight to the insert.
MOSTLY_NEW = 100

OUTCOMES = ("new", "added", "already_in_campaign", "duplicate_in_file", "skipped_do_not_contact",
            "skipped_blocked", "invalid")


class Pace(NamedTuple):
    """How long a transaction may take, and how many rows it may write at most."""

    seconds: float
    most_rows: int


POPULATED_PACE, LOAD_PACE = Pace(CHUNK_SECONDS, MAX_TRANSACTION), Pace(LOAD_CHUNK_SECONDS, MAX_LOAD_TRANSACTION)


@dataclass
class ImportReport:
    campaign_name: str
    import_id: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    # Of the rows counted above, how many recorded each state (prospect_csv.STATE_KINDS).
    states: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATE_KINDS, 0))
    # A few examples of each problem for the summary; --report writes every one.
    samples: dict[str, list[RowOutcome]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    def add_counted(self, outcomes: ChunkOutcomes) -> None:
        """Adds a chunk's outcomes without making one for each new or added person."""
        self.counts["new"] += len(outcomes.new)
        self.counts["added"] += len(outcomes.added)
        for outcome in sorted(outcomes.listed.values()):
            self.add(outcome)

    def add(self, outcome: RowOutcome) -> None:
        self.counts[outcome.outcome] += 1
        if outcome.state:
            for kind in outcome.state.split("+"):
                self.states[kind] += 1
        if outcome.outcome not in ("new", "added"):
            kept = self.samples.setdefault(outcome.outcome, [])
            if len(kept) < SAMPLES_KEPT:
                kept.append(outcome)


def import_prospects(
    transaction: Transaction,
    source: ProspectCsv,
    *,
    campaign_name: str,
    actor: Actor,
    secret_key: bytes,
    source_label: str,
    on_outcome: Callable[[RowOutcome], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    chunk_size: int | None = None,
) -> ImportReport:
    """Imports `source` into the campaign, chunk by chunk (`chunk_size` rows each; None sizes them by time)."""
    with transaction() as session:
        campaign = get_or_create_campaign(session, campaign_name, actor)
        run = Import(campaign_id=campaign.id, actor=actor.who, source_name=source_label[:255], started_at=utcnow(),
                     counts={})
        session.add(run)
        session.flush()
        report = ImportReport(campaign_name=campaign.name, import_id=run.id)
        campaign_id = campaign.id
        # Into an empty table, the secondary indexes are built once at the end (storage.deferred_indexes).
        indexes_deferred = drop_for_load(session)
        # Loading into an empty SQLite database, the log is copied into the file while the load writes.
        connection = session.connection()
        aside = CheckpointsAside(connection) if indexes_deferred and in_wal_mode(connection) else None
        on_a_server = session.get_bind().dialect.name == "postgresql"
        copy_rows = takes_copy_rows(session)
    if not indexes_deferred:
        build_missing(transaction)  # left missing by an import that was killed, if any
    if aside is not None:
        transaction = aside.transaction(transaction)
    states = StateRecorder(source.state_columns, source.name, actor) if source.state_columns else None

    def emit(outcome: RowOutcome) -> None:
        report.add(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    prepare = partial(prepare_chunk, secret_key=secret_key, state_columns=states.columns if states else None,
                      copy_rows=copy_rows)

    def prepare_collecting_no_cycles(rows_read: list[SourceRow | RowProblem]) -> PreparedChunk:
        with _no_cycle_collection():
            return prepare(rows_read)

    # Whether the next chunk is expected to hold only people nobody has yet: a file of new people, as into an empty
    # database, or as the last chunk was.
    expect_new = indexes_deferred

    def write(session: Session, chunk: PreparedChunk) -> ChunkOutcomes:
        nonlocal expect_new
        outcomes = write_chunk(session, chunk, campaign_id=campaign_id, import_id=report.import_id, actor=actor,
                               source=source_label, states=states, expect_new=expect_new)
        expect_new = outcomes.known * MOSTLY_NEW <= len(chunk.email_of)
        return outcomes

    def publish(outcomes: ChunkOutcomes, bytes_read: int) -> None:
        if on_outcome is None:
            report.add_counted(outcomes)
        else:
            for outcome in outcomes.in_line_order():
                emit(outcome)
        if on_progress is not None:
            on_progress(bytes_read)

    size = chunk_size or (MAX_CHUNK if on_a_server else FIRST_CHUNK if indexes_deferred
                          else FIRST_CHUNK_INTO_POPULATED)
    pace = LOAD_PACE if indexes_deferred else POPULATED_PACE
    try:
        with closing(PreparedChunks(iter(source), prepare_collecting_no_cycles, lambda: _chunk_rows(size),
                                    lambda: source.bytes_read)) as chunks:
            # As many chunks as the pace allows in one transaction: each commit rewrites every page of the address
            # index its rows landed on, and a chunk sent between the processes is kept small. Only chunks that
            # arrive within the pace's seconds, about `size` rows in all: a writer waiting for SQLite's lock waits
            # for those seconds and one chunk at most. Within them the next chunk is waited for rather than
            # committing early: a commit costs more than the wait (1,000,000 rows, transactions of 0.3 s: 77
            # commits instead of 121). One that would take the transaction well past its size is kept for the next.
            pending: Prepared[PreparedChunk] | None = None
            while (first := pending or next(chunks, None)) is not None:
                if aside is not None and chunks.forked:
                    aside.start()  # not before: a fork would copy its thread
                written: list[tuple[ChunkOutcomes, int]] = []
                with _no_cycle_collection():
                    started = time.perf_counter()
                    with transaction() as session:
                        rows, pending = _write_chunks(session, chunks, first, size, started, pace, write, written)
                    seconds = time.perf_counter() - started
                for outcomes, bytes_read in written:
                    publish(outcomes, bytes_read)
                if chunk_size is None and not on_a_server:
                    size = next_chunk_size(rows, seconds, pace)

        counts = {**report.counts, **report.states} if states else report.counts
        with transaction() as session:
            session.execute(
                update(Import).where(Import.id == report.import_id).values(finished_at=utcnow(), counts=counts)
            )
            record_audit(session, actor, "import.finish", campaign_id=campaign_id,
                         after={"import_id": report.import_id, **counts})
            if states:
                states.announce(session, campaign_id)
    finally:
        try:
            if indexes_deferred:
                build_missing(transaction)
        finally:
            if aside is not None:
                aside.close()
    return report


def _chunk_rows(size: int) -> int:
    """The rows of each chunk of a transaction of `size` rows: at most MAX_CHUNK, and as many in each."""
    chunks = -(-size // MAX_CHUNK)
    return -(-size // chunks)


def _write_chunks(session: Session, chunks: PreparedChunks[PreparedChunk], first: Prepared[PreparedChunk],
                  size: int, started: float, pace: Pace, write: Callable[[Session, PreparedChunk], ChunkOutcomes],
                  written: list[tuple[ChunkOutcomes, int]]) -> tuple[int, Prepared[PreparedChunk] | None]:
    """Writes `first`, then the next chunks while the transaction begun at `started` is short of `size` rows
    and of the pace's seconds and the next chunk arrives within them, adding each one's (outcomes, bytes read) to
    `written`; returns the rows written, and a chunk taken but kept for the next transaction, as it would have
    carried this one well past `size`."""
    prepared, rows = first, 0
    while True:
        written.append((write(session, prepared.chunk), prepared.bytes_read))
        rows += prepared.rows
        left = pace.seconds - (time.perf_counter() - started)
        if rows >= size or left <= 0 or not chunks.ready(within=left):
            return rows, None
        following = next(chunks, None)
        if following is None:
            return rows, None
        if rows + following.rows > size + size // 10:
            return rows, following
        prepared = following


def next_chunk_size(rows: int, seconds: float, pace: Pace) -> int:
    """The rows the next transaction may take to last about the pace's seconds, at the pace of the last one
    (`rows` written in `seconds`), never more than twice as many as the last: one fast transaction (a file of known
    people) must not make the next, of new ones, hold the lock for long."""
    paced = int(rows * pace.seconds / seconds) if seconds > 0 else pace.most_rows
    return max(MIN_CHUNK, min(pace.most_rows, 2 * rows, paced))


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """A chunk allocates tens of thousands of short-lived, acyclic objects; the cycle collector would rescan
    them again and again (a third of the import's time) and find nothing to free."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
