"""Second floors: the same rows loaded by another program's bulk path, beside each write floor of
benchmarks.floors, so that a slow first floor shows. SQLite's `sqlite3` command-line shell `.import --csv` (the rows
written to a CSV before the clock, the shell given the project's pragmas) and PostgreSQL's `COPY ... FROM STDIN`.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.floors import deferred_index_sql, one_transaction
from storage.db import Database
from storage.deferred_indexes import SQLITE_SORT_KIB, SQLITE_SORT_THREADS

SQLITE_SHELL = shutil.which("sqlite3")
SHELL_FLOOR = "sqlite3 shell .import --csv"
COPY_FLOOR = "COPY … FROM STDIN"
# The pragmas storage.sqlite_connections.configure_sqlite sets on every connection. The shell gets the values read back from a
# connection the project opened, not copies of the constants, so the two can not drift apart.
PROJECT_PRAGMAS = ("foreign_keys", "secure_delete", "cache_size", "synchronous", "wal_autocheckpoint",
                   "journal_size_limit", "busy_timeout")


def bulk_loader_name(database: Database) -> str:
    if not database.is_sqlite:
        return COPY_FLOOR
    return SHELL_FLOOR if SQLITE_SHELL else f"{SHELL_FLOOR} (no sqlite3 shell: apt-get install sqlite3)"


def bulk_load(database: Database, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]],
              workdir: Path, *, then: Sequence[str] = ()) -> float:
    """The second floor, another program's bulk path: seconds for the `sqlite3` shell's `.import --csv` (SQLite)
    or `COPY … FROM STDIN` (PostgreSQL) to load `rows` into `table`, then run the statements `then`
    (memberships_sql, audit_rows_sql), in one transaction. NaN when SQLite's shell is not installed."""
    drops, creates = deferred_index_sql(database, table)
    if not database.is_sqlite:
        start = time.perf_counter()
        with one_transaction(database) as cursor:
            for statement in drops:
                cursor.execute(statement)
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            for statement in [*then, *creates]:
                cursor.execute(statement)
        return time.perf_counter() - start
    if SQLITE_SHELL is None:
        print(f"no sqlite3 shell on this machine (apt-get install sqlite3): {SHELL_FLOOR} floor skipped",
              file=sys.stderr, flush=True)
        return float("nan")
    assert database.path is not None, "the shell floor needs a database file"
    # The project's connection stays open while the shell runs, as the benchmark's own connections stay open while
    # `prospectbot import` runs: the shell is then not the last connection to close, and does not checkpoint the
    # whole log into the database file and delete it on its way out.
    connection = database.engine.raw_connection()
    try:
        cursor = connection.cursor()
        pragmas = [f"PRAGMA {name} = {cursor.execute(f'PRAGMA {name}').fetchone()[0]}" for name in PROJECT_PRAGMAS]
        path = workdir / f"{table}-floor.csv"
        before = shell_csv(cursor, table, columns, rows, path)
        # .import runs its INSERTs in one transaction (BEGIN before the first row, COMMIT after the last), unless
        # one is open already: with statements after it, the floor opens one around both.
        load = [f".import --csv {path} {table}"]
        if then:
            load = ["BEGIN", *load, *then, "COMMIT"]
        start = time.perf_counter()
        # Into an empty prospects, as the import does: indexes dropped before and built after (one transaction
        # each side of the load's own).
        result = subprocess.run([SQLITE_SHELL, "-batch", str(database.path), *pragmas,
                                 *([f"BEGIN; {'; '.join(drops)}; COMMIT"] if drops else []),
                                 *load,
                                 *([f"PRAGMA cache_size = -{SQLITE_SORT_KIB}", f"PRAGMA threads = {SQLITE_SORT_THREADS}",
                                    f"BEGIN; {'; '.join(creates)}; COMMIT"] if creates else [])],
                                capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        loaded = cursor.execute(f"SELECT count(*) FROM {table}").fetchone()[0] - before
        if result.returncode != 0 or loaded != len(rows):
            raise RuntimeError(f"sqlite3 .import loaded {loaded} of {len(rows)} rows: {result.stderr.strip()[-2000:]}")
        path.unlink()
        return elapsed
    finally:
        connection.close()


def shell_csv(cursor: Any, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]], path: Path) -> int:
    """Writes `rows` as the CSV `.import` reads into an existing table: every column of the table, in its order.
    A column the rows leave out takes its declared default, and the INTEGER PRIMARY KEY the next ids (what
    AUTOINCREMENT would give them). CSV has no NULL: None is written as an empty string, which SQLite stores in as
    many bytes (none). Returns the table's row count before."""
    info = cursor.execute(f"PRAGMA table_info({table})").fetchall()  # cid, name, type, notnull, default, pk
    before = cursor.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    next_id = 1 + cursor.execute(f"SELECT max(coalesce(max(rowid), 0), coalesce((SELECT seq FROM sqlite_sequence "
                                 f"WHERE name = ?), 0)) FROM {table}", (table,)).fetchone()[0]
    position = {name: i for i, name in enumerate(columns)}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for n, row in enumerate(rows):
            line = []
            for _, name, kind, _, default, pk in info:
                if name in position:
                    value = row[position[name]]
                elif pk and kind.upper() == "INTEGER":
                    value = next_id + n
                else:
                    value = None if default is None else default.strip("'")
                line.append("" if value is None else value)
            writer.writerow(line)
    return int(before)
