"""Import prospects from a CSV file into a campaign, in chunks that each commit with their audit row.

Memory stays flat: the file is streamed, each chunk is looked up against the database in a few queries, and
duplicates within the file are recognised by the import run that created their membership, not by a set kept
in memory. Re-running an interrupted import is safe: everything already written is recognised.

Columns in which another tool recorded a state (prospect_csv.states) are honoured: a person's own opt-out and a
team's do not contact become do not contact, a hard bounce is recorded as a bounce in this campaign, whether the
person is new, known, or in the campaign already.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

from sqlalchemy import literal, select, update
from sqlalchemy.orm import Session

from storage.audit import Actor, record_audit
from storage.campaigns import get_or_create_campaign
from storage.deferred_indexes import build_missing, drop_for_load
from storage.domains import blocked_domains_among
from storage.emails import email_domain
from storage.fast_insert import among, insert_skipping_conflicts, table_of, takes_copy_rows
from storage.import_chunks import PreparedChunk, RowOutcome, prepare_chunk
from storage.import_states import StateRecorder
from storage.models import (
    MEMBER_SEARCH_KEYS,
    DoNotContact,
    Import,
    Membership,
    Prospect,
    Suppression,
    utcnow,
)
from storage.prepared_elsewhere import Prepared, PreparedChunks
from storage.prospect_csv import (
    STATE_KINDS,
    ProspectCsv,
    RowProblem,
    SourceRow,
)
from storage.prospects import insert_prospect_copy_rows, insert_prospect_values, prospect_ids_by_key

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
SAMPLES_KEPT = 20

OUTCOMES = ("new", "added", "already_in_campaign", "duplicate_in_file", "skipped_do_not_contact",
            "skipped_blocked", "invalid")


class ChunkOutcomes(NamedTuple):
    """A chunk's outcomes: the people it created or added to the campaign, with no state recorded, as {line:
    email} each, the others' RowOutcome by line. The million rows of a file of new people are mostly the first
    kind, and an import without a per-row report wants only their number (1,000,000 rows: about 1 s less)."""

    listed: dict[int, RowOutcome]
    new: dict[int, str]
    added: dict[int, str]

    def in_line_order(self) -> list[RowOutcome]:
        return sorted([*self.listed.values(), *(RowOutcome(line, email, "new") for line, email in self.new.items()),
                       *(RowOutcome(line, email, "added") for line, email in self.added.items())])


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
        on_a_server = session.get_bind().dialect.name == "postgresql"
        copy_rows = takes_copy_rows(session)
    if not indexes_deferred:
        build_missing(transaction)  # left missing by an import that was killed, if any
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

    def write(session: Session, chunk: PreparedChunk) -> ChunkOutcomes:
        return _import_chunk(session, chunk, campaign_id=campaign_id, import_id=report.import_id, actor=actor,
                             source=source_label, states=states)

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
    try:
        with closing(PreparedChunks(iter(source), prepare_collecting_no_cycles, lambda: _chunk_rows(size),
                                    lambda: source.bytes_read)) as chunks:
            # As many chunks as the pace allows in one transaction: each commit rewrites every page of the address
            # index its rows landed on, and a chunk sent between the processes is kept small. Only chunks prepared
            # already, within CHUNK_SECONDS and about `size` rows: a writer waiting for SQLite's lock must wait for
            # neither the file nor a chunk too many. One that would take the transaction well past its size is
            # kept for the next.
            pending: Prepared[PreparedChunk] | None = None
            while (first := pending or next(chunks, None)) is not None:
                written: list[tuple[ChunkOutcomes, int]] = []
                with _no_cycle_collection():
                    started = time.perf_counter()
                    with transaction() as session:
                        rows, pending = _write_chunks(session, chunks, first, size, started, write, written)
                    seconds = time.perf_counter() - started
                for outcomes, bytes_read in written:
                    publish(outcomes, bytes_read)
                if chunk_size is None and not on_a_server:
                    size = next_chunk_size(rows, seconds)

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
        if indexes_deferred:
            build_missing(transaction)
    return report


def _chunk_rows(size: int) -> int:
    """The rows of each chunk of a transaction of `size` rows: at most MAX_CHUNK, and as many in each."""
    chunks = -(-size // MAX_CHUNK)
    return -(-size // chunks)


def _write_chunks(session: Session, chunks: PreparedChunks[PreparedChunk], first: Prepared[PreparedChunk],
                  size: int, started: float, write: Callable[[Session, PreparedChunk], ChunkOutcomes],
                  written: list[tuple[ChunkOutcomes, int]]) -> tuple[int, Prepared[PreparedChunk] | None]:
    """Writes `first`, then the next chunks while the transaction begun at `started` is short of `size` rows
    and of CHUNK_SECONDS and the next chunk is here already, adding each one's (outcomes, bytes read) to
    `written`; returns the rows written, and a chunk taken but kept for the next transaction, as it would have
    carried this one well past `size`."""
    prepared, rows = first, 0
    while True:
        written.append((write(session, prepared.chunk), prepared.bytes_read))
        rows += prepared.rows
        if rows >= size or time.perf_counter() - started >= CHUNK_SECONDS or not chunks.ready():
            return rows, None
        following = next(chunks, None)
        if following is None:
            return rows, None
        if rows + following.rows > size + size // 10:
            return rows, following
        prepared = following


def next_chunk_size(rows: int, seconds: float) -> int:
    """The rows the next transaction may take to last about CHUNK_SECONDS, at the pace of the last one (`rows`
    written in `seconds`), never more than twice as many as the last: one fast transaction (a file of known people)
    must not make the next, of new ones, hold the lock for long."""
    paced = int(rows * CHUNK_SECONDS / seconds) if seconds > 0 else MAX_TRANSACTION
    return max(MIN_CHUNK, min(MAX_TRANSACTION, 2 * rows, paced))


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


def _import_chunk(
    session: Session,
    chunk: PreparedChunk,
    *,
    campaign_id: int,
    import_id: int,
    actor: Actor,
    source: str,
    states: StateRecorder | None = None,
) -> ChunkOutcomes:
    """Writes one chunk (storage.import_chunks.prepare_chunk) and returns each row's outcome. Rows
    are told apart by their address's identity (storage.emails.address_key): the same mailbox in another case or
    domain form is one person."""
    outcomes, first_line_of, flagged = chunk.outcomes, chunk.first_line_of, chunk.flagged
    emails, fingerprints = chunk.email_of, chunk.fingerprints_of
    known = prospect_ids_by_key(session, list(emails))
    unknown = [key for key in emails if key not in known]

    # Fingerprints kept before the upgrade may be of the address as shown (legacy): both forms are looked up.
    suppressed = set(session.scalars(select(Suppression.fingerprint).where(among(
        session, Suppression.fingerprint, [fp for key in unknown for fp in fingerprints[key]]))))
    # The chunk's domains, which include the unknown people's: those of the known are looked up for nothing, which
    # costs less than finding the unknown people's here, a row at a time.
    blocked_domains = blocked_domains_among(session, sorted(chunk.domains)) if unknown else set()
    now = chunk.now
    to_create = []
    for key in unknown:
        email = emails[key]
        if not suppressed.isdisjoint(fingerprints[key]):
            outcomes[first_line_of[key]] = RowOutcome(first_line_of[key], email, "skipped_blocked",
                                                      "this address was deleted and blocked from imports")
        elif blocked_domains and email_domain(key) in blocked_domains:
            outcomes[first_line_of[key]] = RowOutcome(first_line_of[key], email, "skipped_blocked",
                                                      f"everyone at {email_domain(key)} is blocked")
        else:
            to_create.append(key)
    if chunk.new_copy_rows_of:
        created = insert_prospect_copy_rows(session, [chunk.new_copy_rows_of[key] for key in to_create],
                                            source=source, now=now)
    else:
        created = insert_prospect_values(session, [chunk.new_values_of[key] for key in to_create], source=source,
                                         now=now)
    # A concurrent import may have created some of them a moment ago: treat those as known people.
    known.update(prospect_ids_by_key(session, [key for key in to_create if key not in created]))

    known_ids = list(known.values())
    do_not_contact = set(session.scalars(select(DoNotContact.prospect_id)
                                         .where(among(session, DoNotContact.prospect_id, known_ids))))
    memberships = dict(
        session.execute(
            select(Membership.prospect_id, Membership.import_id).where(
                Membership.campaign_id == campaign_id, among(session, Membership.prospect_id, known_ids)
            )
        ).all()
    )
    to_add: list[int] = []
    added: dict[int, str] = {}
    for key, prospect_id in known.items():
        line, email = first_line_of[key], emails[key]
        # Added earlier in this file comes first: a row's opt-out column may have made them do not contact since.
        if memberships.get(prospect_id, -1) == import_id:
            outcomes[line] = RowOutcome(line, email, "duplicate_in_file", "already added earlier in this file")
        elif prospect_id in do_not_contact:
            outcomes[line] = RowOutcome(line, email, "skipped_do_not_contact", "this person is do not contact")
        elif prospect_id in memberships:
            outcomes[line] = RowOutcome(line, email, "already_in_campaign")
        else:
            to_add.append(prospect_id)
            added[line] = email
    new = {first_line_of[key]: emails[key] for key in created}

    new_members = list(created.values()) + to_add
    # No one can be in a campaign yet whom this transaction just created: only those known before may conflict.
    _add_members(session, list(created.values()), campaign_id=campaign_id, import_id=import_id, now=now,
                 may_be_members=False)
    _add_members(session, to_add, campaign_id=campaign_id, import_id=import_id, now=now)
    bounced: list[int] = []
    if flagged and states is not None:
        prospect_ids = {**known, **created}
        recorded_states, bounced = states.record(session, flagged, prospect_ids, campaign_id=campaign_id,
                                                 members={*memberships, *new_members}, now=now)
        for line, state in recorded_states.items():
            if line in new:
                outcomes[line] = RowOutcome(line, new.pop(line), "new", state=state)
            elif line in added:
                outcomes[line] = RowOutcome(line, added.pop(line), "added", state=state)
            else:
                outcomes[line] = outcomes[line]._replace(state=state)
    if new_members or bounced:
        record_audit(session, actor, "import", campaign_id=campaign_id,
                     after={"import_id": import_id, "created": sorted(created.values()), "added": sorted(to_add),
                            **({"bounced": sorted(bounced)} if bounced else {})})
    return ChunkOutcomes(outcomes, new, added)


def _add_members(session: Session, prospect_ids: list[int], *, campaign_id: int, import_id: int,
                 now: dt.datetime, may_be_members: bool = True) -> None:
    """Puts the prospects in the campaign with copies of their search keys, rows the database makes from the
    prospects' own: only the ids travel. Building each row in Python and sending it cost more than the insert
    (1,000,000 members on SQLite: 4.1 s through executemany of prepared tuples, 2.3 s this way). A prospect put in
    the campaign by a concurrent import a moment ago is left as it is. Those this transaction created itself
    (`may_be_members` false) can be in no campaign yet: their rows go in by a plain insert, which PostgreSQL makes
    without a speculative one per row (1,000,000 rows into an empty database: 37.2-37.3 s -> 35.5 s, 2026-12-02)."""
    if not prospect_ids:
        return
    columns = table_of(Membership).c
    values = {"campaign_id": campaign_id, "status": "active", "added_at": now, "import_id": import_id}
    chosen = select(Prospect.id, *(literal(value, columns[name].type) for name, value in values.items()),
                    *(getattr(Prospect, key) for key in MEMBER_SEARCH_KEYS)
                    ).where(among(session, Prospect.id, prospect_ids))
    statement = insert_skipping_conflicts(session, Membership).from_select(["prospect_id", *values,
                                                                           *MEMBER_SEARCH_KEYS], chosen)
    session.execute(statement.on_conflict_do_nothing() if may_be_members else statement)
