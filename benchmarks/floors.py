"""Floors: the raw database operation a figure stands beside, done the fastest honest way, so that no simpler
program beats it and a ratio below 1× can only mean a wrong floor.

Every write floor here:
- runs in ONE explicit transaction. The project's SQLite connections run with `isolation_level = None` (SQLAlchemy,
  not the sqlite3 module, begins transactions: storage.sqlite_connections.configure_sqlite), so a raw `executemany` on them
  commits every row, 4–8k rows/s; the floors issue BEGIN IMMEDIATE and COMMIT themselves, and the clock includes
  both. On PostgreSQL the driver's connection is not in autocommit: its first statement begins the transaction;
- goes through the connection the project itself opens (`database.engine.raw_connection()`), so it has the same
  pragmas: page cache `cache_size = -storage.sqlite_connections.SQLITE_CACHE_KIB` (64 MiB), WAL, synchronous NORMAL, foreign keys
  and secure_delete on, wal_autocheckpoint 16384;
- writes into the real, migrated table: the same columns, constraints, foreign keys and indexes;
- takes rows prepared in memory before the clock starts (tuples, or an id list; for PostgreSQL's `COPY`, rows in
  its text format, as the import's second process prepares them), as no feature gets them for free;
- writes every row the feature must write for the same work, and nothing more: an import's floor puts the people
  it loads in a campaign (memberships_sql), a do-not-contact floor writes each prospect's audit row.

Each write floor has a second, independent one beside it, from another program: the `sqlite3` command-line
shell's `.import --csv` (the rows written to a CSV before the clock, the shell given the project's pragmas) and
PostgreSQL's `COPY ... FROM STDIN` (benchmarks.bulk_loaders).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.schema import CreateIndex, DropIndex

from storage.db import Database
from storage.deferred_indexes import DEFERRABLE, SQLITE_SORT_KIB, SQLITE_SORT_THREADS
from storage.fast_insert import ID_SEPARATOR, copy_text_row, joined_ids
from storage.models import MEMBER_SEARCH_KEYS, AuditEntry, Prospect
from storage.prospects import NEW_PROSPECT_COLUMNS


@contextmanager
def one_transaction(database: Database) -> Iterator[Any]:
    """A cursor on a raw connection of the project's own engine, inside one explicit transaction that commits
    when the block ends (rolls back on error)."""
    connection = database.engine.raw_connection()
    try:
        cursor = connection.cursor()
        if database.is_sqlite:
            cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
        except BaseException:
            connection.rollback()
            raise
        if database.is_sqlite:
            cursor.execute("COMMIT")
        else:
            connection.commit()
    finally:
        connection.close()


# Checked at 100,000 prospects on the 2-core machine, SQLite, each into a fresh migrated database with the project's
# connection (64 MiB page cache), clock around BEGIN … COMMIT, three runs each (rows/s):
#   executemany, autocommit (the old floor: one commit per row)            4,980
#   executemany of the tuples, one transaction                           33,600 / 38,400 / 37,100
#   multi-row VALUES (50 rows a statement), one transaction              27,400 / 27,000 / 26,700
#   INSERT … SELECT from json_each(?) of the rows as one JSON array      27,400
#   executemany into a TEMP table, then INSERT … SELECT from it          42,200 / 49,900 / 45,800   <- kept
#   the sqlite3 shell's .import --csv (the second floor), closing last   40,800 / 42,400 / 39,700
# (closing last, the shell also checkpoints the log into the file; with the project's connection open beside it, as
# bulk_load runs it, 48,000 and 65,800 in two benchmark runs, against 60,700 and 70,100 for the staged insert).
# Staging first is faster although it does strictly more: the eight B-trees are then written in one tight loop in
# C, not between Python's binding of each row. At 1,000,000 prospects, where the table and its indexes outgrow the
# page cache and the time goes to paging, the three are level: executemany in one transaction 21,200 / 25,200,
# staged 25,200, the shell 25,700 rows/s. Not used: dropping the indexes and building them after the load
# (58,600 rows/s), which only works on an empty table nobody else reads; the feature imports into a live one.
# PostgreSQL (psycopg 3, same size, two runs): executemany 19,000 / 24,100; INSERT … SELECT FROM unnest() of one
# binary array per column 19,900 / 27,800; COPY text 54,300 / 36,200 and COPY binary 48,100 / 40,000 (the second
# floor, text). COPY straight into the table can not skip an address someone created meanwhile, which the import
# must; COPY into a temporary table, then INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING id, can, and is what
# the import does from 1,000 rows (storage.fast_insert._insert_through_copy). Measured against unnest (2026-12-02,
# alternating, the rows and memberships, the indexes deferred as below): 1,000,000 into an empty database 42.0 /
# 37.2 s against 54.4 / 51.8 s; 100,000 into 1,000,000 prospects 5.4 / 5.0 / 6.4 s against 7.0 / 5.7 / 6.8 s
# <- kept (the unnest floor was slower than the import's own path). Without ON CONFLICT and RETURNING, 4.9 / 5.1 /
# 5.5 s: not the same work.
#
# Into an EMPTY `prospects`, the import now does what was "not used" above: it drops the six secondary indexes (and
# memberships' four search indexes, since migration 0010) and builds them after the load (storage.deferred_indexes).
# So do the floors into an empty table, inside their one transaction and their clock (`deferred_index_sql`). On this
# machine the staged insert then runs 61,000 rows/s at 200,000 rows and 89,000 at 1,000,000 (2026-11-30, quiet),
# where keeping the indexes it fell to about 25,000 at 1,000,000 (above). Both sort the indexes' keys in 4 MiB runs on
# as many threads as there are cores (2026-12-01: the ten indexes of 1,000,000 prospects 5.3 s instead of 8.1 s).
def floor_insert_rows(database: Database, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]], *,
                      then: Sequence[str] = (), phases: dict[str, float] | None = None) -> float:
    """Seconds to insert `rows` (tuples in `columns` order, in the database's own form) into `table`, then run the
    statements `then` (memberships_sql), one transaction, through the fastest statement path measured above; into
    an empty `prospects`, its secondary indexes dropped first and built after the load, in the same transaction.
    `phases`, if given, gets the seconds of each part: "rows", "then", "indexes", "commit"."""
    drops, creates = deferred_index_sql(database, table)
    timed = _Phases(phases)
    if database.is_sqlite:
        start = timed.started = time.perf_counter()
        with one_transaction(database) as cursor:
            if drops:
                # Into an empty table the import copies its log into the database file on another thread while it
                # loads (storage.wal_checkpoints): the floor leaves that copy until after its clock. Copied in its
                # commit, it took the floor 2.7 s of 15.9 s, and the import beat it (64,900 rows/s against 63,000,
                # 1,000,000 rows, 2026-12-03).
                cursor.execute("PRAGMA wal_autocheckpoint = 0")
            for statement in drops:
                cursor.execute(statement)
            _staged_insert(cursor, table, columns, rows)
            timed.mark("rows")
            for statement in then:
                cursor.execute(statement)
            timed.mark("then")
            # The indexes sorted as the import sorts them (storage.deferred_indexes), the connection given back
            # to the pool as it was.
            cache_size = cursor.execute("PRAGMA cache_size").fetchone()[0]
            cursor.execute(f"PRAGMA cache_size = -{SQLITE_SORT_KIB}")
            cursor.execute(f"PRAGMA threads = {SQLITE_SORT_THREADS}")
            for statement in creates:
                cursor.execute(statement)
            cursor.execute(f"PRAGMA cache_size = {cache_size}")
            cursor.execute("PRAGMA threads = 0")
            timed.mark("indexes")
        seconds = time.perf_counter() - start
        timed.mark("commit")
        if drops:
            _copy_log_into_file(database)
        return seconds
    varying, copy_rows, constants = _copy_rows(table, columns, rows)
    names = ", ".join(varying)
    insert = (f"INSERT INTO {table} ({', '.join([*varying, *constants])}) SELECT {names}"
              + "".join(", %s" for _ in constants) + " FROM floor_stage ON CONFLICT DO NOTHING RETURNING id")
    inserted = 0
    start = timed.started = time.perf_counter()
    with one_transaction(database) as cursor:
        for statement in drops:
            cursor.execute(statement)
        cursor.execute(f"CREATE TEMP TABLE floor_stage ON COMMIT DROP AS SELECT {names} FROM {table} WITH NO DATA")
        for first in range(0, len(copy_rows), FLOOR_COPY_ROWS):
            with cursor.copy(f"COPY floor_stage ({names}) FROM STDIN") as copy:
                copy.write(b"".join(copy_rows[first:first + FLOOR_COPY_ROWS]))
            cursor.execute(insert, list(constants.values()) or None)
            inserted += len(cursor.fetchall())
            cursor.execute("TRUNCATE floor_stage")
        timed.mark("rows")
        for statement in then:
            cursor.execute(statement)
        timed.mark("then")
        for statement in creates:
            cursor.execute(statement)
        timed.mark("indexes")
    timed.mark("commit")
    if inserted != len(rows):
        raise RuntimeError(f"the floor inserted {inserted:,} of {len(rows):,} rows: the rows must all be new")
    return time.perf_counter() - start


def _copy_log_into_file(database: Database) -> None:
    """SQLite, off the clock: the write-ahead log copied into the database file and started over. The floor's
    connection, its automatic checkpoints off, is closed with the pool; the next one opened has them again."""
    database.engine.dispose()
    connection = database.engine.raw_connection()
    try:
        connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


# PostgreSQL: rows go in COPY's text format, made before the clock as the import's second process makes them
# (storage.prepared_elsewhere), FLOOR_COPY_ROWS at a time into one staging table emptied after each INSERT … SELECT;
# the columns that are the same in every row (a new prospect's source, version, timestamps) go once with each
# INSERT, as the import's do. 1,000,000 rows into an empty database (2026-12-03, quiet machine, rows/s): the tuples
# formatted by psycopg in one COPY 33,600 (the floor until then: the import itself ran 34,300-34,900 beside it);
# 10,000 at a time 34,700; pre-formatted text 36,500, 10,000 at a time 38,300-38,400; the constants sent once
# 38,700 (10,000 at a time) and 39,400 (50,000) <- kept.
FLOOR_COPY_ROWS = 50_000


def _copy_rows(table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
               ) -> tuple[list[str], list[bytes], dict[str, Any]]:
    """(the columns sent row by row, the rows' values of them as COPY text rows, {other column: its one value}):
    for `prospects`, the columns the import copies (NEW_PROSPECT_COLUMNS); for another table, all of them."""
    varying = [name for name in columns if table != Prospect.__tablename__ or name in NEW_PROSPECT_COLUMNS]
    positions = [columns.index(name) for name in varying]
    constants = {name: rows[0][i] for i, name in enumerate(columns) if name not in varying} if rows else {}
    for name, value in constants.items():
        at = columns.index(name)
        if any(row[at] != value for row in rows):
            raise ValueError(f"the floor sends {name} once, but the rows' values of it differ")
    return varying, [copy_text_row([_copy_text(row[i]) for i in positions]) for row in rows], constants


def _copy_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat() if isinstance(value, dt.datetime) else str(value)


class _Phases:
    """Adds the seconds since the last mark to a phase of `into`, when there is one to add to."""

    def __init__(self, into: dict[str, float] | None) -> None:
        self.into, self.started = into, time.perf_counter()

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        if self.into is not None:
            self.into[phase] = self.into.get(phase, 0.0) + now - self.started
        self.started = now


def _staged_insert(cursor: Any, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """SQLite: `rows` into a TEMP table by executemany, then into `table` in one INSERT … SELECT (the fastest path
    measured above)."""
    names, marks = ", ".join(columns), ", ".join("?" * len(columns))
    cursor.execute(f"CREATE TEMP TABLE floor_stage ({names})")
    cursor.executemany(f"INSERT INTO floor_stage VALUES ({marks})", rows)
    cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM floor_stage")
    cursor.execute("DROP TABLE floor_stage")


# SQLite lets one writer in at a time: a colleague's save waits for the whole of the transaction in progress, and
# must wait at most SAVE_WAIT_LIMIT_S (issue 14). A floor for an import into a live SQLite database that wrote all
# its rows in one transaction would do work the feature is not allowed to do. This one writes the same rows raw in
# consecutive transactions, each sized, from the last one's pace, to last the whole of that limit: more generous
# than the import, which aims at a third of it (storage.importing.CHUNK_SECONDS). Into a database of 1,000,000
# prospects every row lands in six indexes at random places, and a commit rewrites every page it touched: 100,000
# new prospects alone, transactions of 1,000 rows 8,600 rows/s (slowest 0.6 s); 3,000: 10,400 (0.9 s); 10,000:
# 12,200 (1.6 s); one transaction 21,700 (4.6 s) (2026-12-01).
SAVE_WAIT_LIMIT_S = 1.0
PACED_FIRST_ROWS = 1_000


def floor_insert_paced(database: Database, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]], *,
                       memberships: Callable[[int], str], seconds: float = SAVE_WAIT_LIMIT_S) -> tuple[float, float]:
    """SQLite: (seconds, slowest transaction's seconds) to insert `rows` into `table` raw, in transactions each
    sized to last `seconds` at the last one's pace, each also running `memberships(highest id before it)`
    (memberships_sql) for the rows it wrote."""
    start, slowest, done, size = time.perf_counter(), 0.0, 0, PACED_FIRST_ROWS
    while done < len(rows):
        began = time.perf_counter()
        with one_transaction(database) as cursor:
            highest = cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
            _staged_insert(cursor, table, columns, rows[done:done + size])
            cursor.execute(memberships(highest))
        took = time.perf_counter() - began
        slowest, done = max(slowest, took), done + size
        size = max(1, min(2 * size, int(size * seconds / took)))
    return time.perf_counter() - start, slowest


def memberships_sql(database: Database, campaign_id: int, import_id: int, after_id: int,
                    added_at: dt.datetime) -> str:
    """The statement that puts every prospect with an id above `after_id` in the campaign, as an import adds the
    people it creates, with the copies of their search keys and the import that added them (its foreign key is
    checked row by row, as the import's is; until 2026-12-02 the floor's memberships named no import, one check a
    row fewer than the import's): the database makes those rows from the prospects just loaded, in one pass."""
    keys = ", ".join(MEMBER_SEARCH_KEYS)
    return (f"INSERT INTO memberships (campaign_id, prospect_id, status, added_at, import_id, {keys}) "
            f"SELECT {int(campaign_id)}, id, 'active', {sql_literal(database, stored_time(database, added_at))}, "
            f"{int(import_id)}, {keys} FROM prospects WHERE id > {int(after_id)}")


def stored_time(database: Database, moment: dt.datetime) -> Any:
    """A timestamp as a raw statement must give it: for SQLite, the text SQLAlchemy stores (and compares)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if database.is_sqlite else moment


def deferred_index_sql(database: Database, table: str) -> tuple[list[str], list[str]]:
    """(DROP INDEX …, CREATE INDEX …) statements of the indexes the import builds after a load into `table`, when
    the table is `prospects` and empty, as the import's; else nothing."""
    if table != Prospect.__tablename__:
        return [], []
    with database.engine.connect() as connection:
        if connection.exec_driver_sql(f"SELECT 1 FROM {table} LIMIT 1").first() is not None:
            return [], []
        dialect = connection.dialect
    return ([str(DropIndex(index).compile(dialect=dialect)) for index in DEFERRABLE],
            [str(CreateIndex(index).compile(dialect=dialect)) for index in DEFERRABLE])


# Checked on a 200,000-prospect SQLite floor database (16,666 random ids a batch, sorted, three runs each):
# executemany autocommit (the old floor) 0.67 s; executemany one transaction 0.18 / 0.18 / 0.19 s; ids into a TEMP
# table then INSERT … SELECT 0.16 / 0.24 / 0.23 s; INSERT … SELECT FROM json_each(?) of the ids as one JSON array,
# the other values constants 0.12 / 0.11 / 0.24 s <- kept. PostgreSQL, 100,000 prospects, 8,333 ids a batch, three
# runs: executemany 0.23 / 0.30 / 0.23 s; INSERT … SELECT FROM unnest(%s::bigint[]) 0.070 / 0.067 / 0.069 s <- kept;
# COPY 0.076 / 0.075 / 0.078 s (the second floor). The ids go as one text the server splits, as the feature sends
# them (storage.fast_insert._pg_array): as a binary array, 10,000 ids cost about 4 ms more to send and parse, as an
# array literal more still.
def floor_insert_for_ids(database: Database, table: str, id_column: str, ids: Sequence[int],
                         values: dict[str, Any], *, audited: dict[str, Any] | None = None) -> float:
    """Seconds to insert one row per id into `table`, the other columns `values` (the same for every row), one
    transaction, one INSERT … SELECT over the ids sent as one parameter. With `audited` (an audit_log row's
    columns but its prospect_id, as `do_not_contact_audit` makes them), each id's audit row too, in the same
    transaction and the same way: the feature writes one for every change."""
    statements = [ids_insert(database, table, id_column, ids, values)]
    if audited is not None:
        statements.append(ids_insert(database, AuditEntry.__tablename__, "prospect_id", ids, audited))
    start = time.perf_counter()
    with one_transaction(database) as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
    return time.perf_counter() - start


def ids_insert(database: Database, table: str, id_column: str, ids: Sequence[int],
               values: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """The INSERT … SELECT of floor_insert_for_ids, and its parameters. A dict value is JSON."""
    names = ", ".join([id_column, *values])
    constants = tuple(json.dumps(value) if isinstance(value, dict) else value for value in values.values())
    if database.is_sqlite:
        marks = ", ".join("?" * len(values))
        return (f"INSERT INTO {table} ({names}) SELECT value, {marks} FROM json_each(?)",
                (*constants, json.dumps(list(ids))))
    marks = ", ".join("%s::json" if isinstance(value, dict) else "%s" for value in values.values())
    return (f"INSERT INTO {table} ({names}) SELECT id, {marks} "
            f"FROM unnest(string_to_array(%s, '{ID_SEPARATOR}')::bigint[]) AS ids(id)",
            (*constants, joined_ids(ids)))


def do_not_contact_audit(reason: str, actor: str, channel: str, when: Any) -> dict[str, Any]:
    """The audit row storage.do_not_contact writes for each prospect it marks (no note), but its prospect_id."""
    return {"occurred_at": when, "actor": actor, "channel": channel, "action": "do_not_contact",
            "before": {"do_not_contact": None},
            "after": {"do_not_contact": {"reason": reason, "channel": channel, "has_note": False}}}


def audit_rows_sql(database: Database, audit: dict[str, Any], prospects: str) -> str:
    """The statement that writes an audit row (the columns of `do_not_contact_audit`) for each prospect_id of
    `prospects` (a table and its WHERE): the database makes them from the rows already there, in one pass. After a
    bulk load, the do-not-contact rows just loaded (`loaded_do_not_contact`): loading the audit rows as a second CSV
    made the shell's floor slower than the feature it stands beside (0.93×)."""
    names = ", ".join(audit)
    constants = ", ".join(sql_literal(database, value) for value in audit.values())
    return f"INSERT INTO audit_log (prospect_id, {names}) SELECT prospect_id, {constants} FROM {prospects}"


def loaded_do_not_contact(database: Database, reason: str, created_at: Any) -> str:
    """The do-not-contact rows a floor just loaded, found by their reason and moment through
    ix_do_not_contact_reason_created_at, as audit_rows_sql takes them."""
    return (f"do_not_contact WHERE reason = {sql_literal(database, reason)} "
            f"AND created_at = {sql_literal(database, created_at)}")


def sql_literal(database: Database, value: Any) -> str:
    """A constant written into a floor's statement: a str, a dict (JSON) or a datetime (PostgreSQL's form)."""
    if isinstance(value, dict):
        return sql_literal(database, json.dumps(value)) + ("" if database.is_sqlite else "::json")
    if isinstance(value, dt.datetime):
        return f"'{value.isoformat()}'::timestamptz"
    return "'" + str(value).replace("'", "''") + "'"
