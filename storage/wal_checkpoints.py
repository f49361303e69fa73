"""SQLite's write-ahead log copied into the database file by a thread of its own while a load writes.

A SQLite commit that leaves more than wal_autocheckpoint pages in the log copies them into the database file and
waits for the disk to have them (storage.sqlite_connections), in the committing connection. Loading 1,000,000
prospects into an empty database, 8 of the load's commits and 4 of its index builds did so, 200-350 ms each: the
commits took 3.9 s in all. Here the load's connection leaves the log alone, and a thread copies it after each
commit while the load writes the next transaction: the disk's time overlaps the writes', and each frame of the
log is still synced and copied once. The commits then took 1.0 s (one wait for the log to start over included),
the import 18.0 s instead of 19.9.

SQLite starts the log over from its beginning only when a transaction begins with every frame of it copied. With
the copy one commit behind, that never happens by itself, and the log would grow by all the load writes (more
than the database file itself). Once it is larger than MOST_LOG_BYTES, the load waits, after a commit, for that
commit's copy before it begins the next; the log then starts over.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from storage.sqlite_connections import without_autocheckpoint

log = logging.getLogger(__name__)

Transaction = Callable[[], AbstractContextManager[Session]]
# The log of about 400,000 imported prospects.
MOST_LOG_BYTES = 512 * 2**20


class CheckpointsAside:
    """Once `start`ed, the transactions of `transaction(...)` leave checkpoints to a thread that runs one after
    each of their commits. `close` copies what is left and stops it. Until `start`, and after an error in the
    thread, transactions checkpoint as every other does."""

    def __init__(self, connection: Connection, *, most_log_bytes: int = MOST_LOG_BYTES) -> None:
        """`connection`: to the SQLite database file the load writes, in WAL mode."""
        self._engine = connection.engine
        databases = connection.exec_driver_sql("PRAGMA database_list")
        self._log = Path(f"{next(row.file for row in databases if row.name == 'main')}-wal")
        self._most_log_bytes = most_log_bytes
        self._changed = threading.Condition()
        self._asked = self._done = 0  # checkpoints asked for, and those done (each covers those asked before it)
        self._all_copied = True  # by the last one
        self._waits_past = most_log_bytes
        self._running = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Starts the thread, if not yet started: only once the process will fork no more (a fork copies a thread
        in the middle of whatever it holds)."""
        if self._thread is None:
            self._running = True
            self._thread = threading.Thread(target=self._run, name="import-checkpoints", daemon=True)
            self._thread.start()

    def transaction(self, inner: Transaction) -> Transaction:
        @contextmanager
        def without_checkpoints() -> Iterator[Session]:
            aside = self._running
            with inner() as session:
                if aside:
                    without_autocheckpoint(session.connection())
                yield session
            if aside:
                self._committed()

        return without_checkpoints

    def close(self) -> None:
        """Copies what the log still holds, and stops the thread."""
        thread = self._thread
        if thread is None:
            return
        with self._changed:
            self._asked += 1
            self._stopping = True
            self._changed.notify_all()
        thread.join()

    def _committed(self) -> None:
        with self._changed:
            self._asked += 1
            self._changed.notify_all()
            log_bytes = self._log_bytes()
            if log_bytes <= self._waits_past:
                return
            asked = self._asked
            self._changed.wait_for(lambda: self._done >= asked or not self._running)
            # All copied, the log starts over with the next transaction; if a reader of an older snapshot holds it,
            # it is waited for again only once it has grown as much again.
            self._waits_past = self._most_log_bytes if self._all_copied else log_bytes + self._most_log_bytes

    def _log_bytes(self) -> int:
        try:
            return self._log.stat().st_size
        except FileNotFoundError:
            return 0

    def _run(self) -> None:
        connection = None
        try:
            connection = self._engine.raw_connection()
            while True:
                with self._changed:
                    self._changed.wait_for(lambda: self._asked > self._done or self._stopping)
                    if self._asked == self._done:
                        return
                    asked = self._asked
                busy, frames, copied = connection.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                with self._changed:
                    self._all_copied = not busy and frames == copied
                    self._done = asked
                    self._changed.notify_all()
        except (sqlite3.Error, DBAPIError) as error:
            log.warning("could not copy the write-ahead log aside (%s): commits copy it again", error)
        finally:
            with self._changed:
                self._running = False
                self._changed.notify_all()
            if connection is not None:
                connection.close()
