"""How prospectbot opens the embedded SQLite database: the pragmas every connection gets, and how a writer waits
for SQLite's one write lock."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Page cache per connection. The default 2 MiB makes writes to a million-row table's indexes page in and out.
SQLITE_CACHE_KIB = 65_536
# How often a writer waiting for SQLite's write lock tries again. SQLite's own wait sleeps 100 ms between tries once
# a writer has waited a third of a second, so behind transactions that follow each other a few milliseconds apart
# (an import's) it kept missing the gaps: a save waited 1,038 ms behind an import of 0.3 s transactions.
SQLITE_LOCK_RETRY_S = 0.002
# A commit that leaves more pages than this in the write-ahead log copies them into the database file.
WAL_AUTOCHECKPOINT_PAGES = 16_384
# Set in a pooled connection's info while its commits leave checkpoints to another (without_autocheckpoint).
_AUTOCHECKPOINT_OFF = "autocheckpoint_off"


def configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see the "begin" hook).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        # Deleted content is overwritten with zeros, so a deleted prospect leaves nothing in the file, without
        # VACUUM; set here because builds differ in their default.
        cursor.execute("PRAGMA secure_delete = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "memory":
            # WAL lets the sender read while the bot writes.
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
            # A log restarted after a checkpoint is cut to what was just written: without it, the frames past
            # that, copies of pages from before a delete, would stay in the file until they were overwritten.
            cursor.execute("PRAGMA journal_size_limit = 0")
        cursor.close()

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None and record.info.pop(_AUTOCHECKPOINT_OFF, False):
            dbapi_connection.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode == "IMMEDIATE":
            begin_immediate(connection)
        else:
            connection.exec_driver_sql(f"BEGIN {mode}")


def in_wal_mode(connection: Connection) -> bool:
    return connection.dialect.name == "sqlite" and connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def without_autocheckpoint(connection: Connection) -> None:
    """The connection's commits leave the write-ahead log to another checkpointer (storage.wal_checkpoints) until
    it goes back to the pool, which gives it back its automatic checkpoints."""
    pooled = connection.connection
    assert pooled.dbapi_connection is not None
    pooled.dbapi_connection.execute("PRAGMA wal_autocheckpoint = 0")
    pooled.info[_AUTOCHECKPOINT_OFF] = True


def begin_immediate(connection: Connection) -> None:
    """BEGIN IMMEDIATE, trying for SQLite's write lock every SQLITE_LOCK_RETRY_S for up to SQLITE_BUSY_TIMEOUT_MS,
    so that a writer gets in at the first gap between another's transactions."""
    raw = connection.connection.dbapi_connection
    assert raw is not None
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    with waiting_at_most(raw, 0):
        while time.monotonic() < deadline:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    break
            time.sleep(SQLITE_LOCK_RETRY_S)
        # The last try through SQLAlchemy, which raises its error as for any statement (Database translates it).
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def waiting_at_most(sqlite_connection: Any, milliseconds: int) -> Iterator[None]:
    """SQLite waits at most `milliseconds` for a lock on `sqlite_connection` (a DB-API connection or cursor)
    inside the block, then SQLITE_BUSY_TIMEOUT_MS again, as every connection is opened with."""
    sqlite_connection.execute(f"PRAGMA busy_timeout = {milliseconds}")
    try:
        yield
    finally:
        sqlite_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
