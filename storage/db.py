"""The engine, sessions and schema checks. Callers own the unit of work: `with database.transaction() as session`."""

from __future__ import annotations

import hmac
import logging
import os
import shlex
import sqlite3
import stat
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from storage.deferred_indexes import build_missing
from storage.errors import DatabaseUnavailable, SchemaOutOfDate, SecretKeyMismatch
from storage.keys import secret_key_check
from storage.models import Setting
from storage.sqlite_connections import SQLITE_BUSY_TIMEOUT_MS, configure_sqlite, waiting_at_most

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
POSTGRES_CONNECT_TIMEOUT_S = 2
# The embedded database's files hold every prospect's details: readable and writable by their owner alone.
OWNER_ONLY = 0o600
# How long a checkpoint after a delete waits for readers of older snapshots. It holds off every writer while it
# waits, so it is short; a reader that takes longer (a campaign being sent) is waited out by retries instead.
ERASURE_WAIT_MS = 500
ERASURE_RETRY_SECONDS = 30
# What a writer is told when another holds the database longer than SQLITE_BUSY_TIMEOUT_MS.
BUSY = "The database is busy with another change; please try again in a moment."


class Database:
    """One shared database: embedded SQLite by default, PostgreSQL for teams."""

    # `serve` runs up to 8 request threads, 5 lazy-listener workers and the notifier at once: a pool that holds
    # them all keeps busy moments from opening (and closing) a new PostgreSQL connection per request.
    def __init__(self, url: str, *, pool_size: int = 15) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.path = sqlite_file(self.url) if self.is_sqlite else None
        if self.path is not None:
            _create_owner_only(self.path)
            restrict_to_owner(sqlite_files(self.path))
        if self.is_sqlite:
            self.engine = create_engine(self.url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            configure_sqlite(self.engine)
        else:
            # No pre-ping: it would cost a round trip per unit of work. After a server restart the first request
            # fails with a clear message, SQLAlchemy drops the whole pool, and the next request reconnects.
            # A short connect timeout: Slack waits three seconds for an answer, and an unreachable server must
            # turn into "the database is unavailable" well before that, not into a hang.
            self.engine = create_engine(self.url, pool_size=pool_size, max_overflow=10, pool_timeout=10,
                                        connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S})
        # SQLite takes its write lock at BEGIN for writing transactions, so two writers queue up instead of
        # one failing with "database is locked" when it upgrades a read lock.
        writer = self.engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else self.engine
        # PostgreSQL reads need no transaction: at READ COMMITTED each statement sees its own snapshot either way,
        # and autocommit saves the BEGIN and ROLLBACK round trips.
        reader = self.engine if self.is_sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._writing = sessionmaker(writer, expire_on_commit=False)
        # SQLite lets one writer in at a time, and one that finds the database locked polls: its busy handler sleeps
        # 1, 2, 5, 10 ms… between looks, so a Slack save waiting behind the previous save's confirmation record
        # waited several times as long as that write took. Writers of this process queue on a lock instead, which
        # hands over the moment the last one commits; other processes (the CLI, a worker) still meet the busy
        # handler. Reentrant: a transaction opened inside another on the same thread waits for SQLite, as before.
        self._writer_lock = threading.RLock() if self.is_sqlite else None
        self._reading = sessionmaker(reader, expire_on_commit=False)
        # Server-side cursors, which stream large results, live inside a transaction.
        self._streaming = sessionmaker(self.engine, expire_on_commit=False)
        self._erasure_lock = threading.Lock()
        self._erasure_pending = False
        self._erasure_retry: threading.Thread | None = None
        self._closing = threading.Event()

    @property
    def description(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A writing unit of work: commits when the block ends, rolls back on any error."""
        with self._one_writer(), self._translate_errors(), self._writing.begin() as session:
            yield session

    @contextmanager
    def _one_writer(self) -> Iterator[None]:
        """On SQLite, this process's writers one at a time; as long as SQLite itself would wait, then the same
        answer as SQLite's."""
        if self._writer_lock is None:
            yield
            return
        if not self._writer_lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise DatabaseUnavailable(BUSY)
        try:
            yield
        finally:
            self._writer_lock.release()

    @contextmanager
    def snapshot(self, *, streaming: bool = False) -> Iterator[Session]:
        """A reading unit of work; never commits anything. `streaming` for results read in batches
        (`yield_per`), such as a whole campaign's recipients."""
        factory = self._streaming if streaming else self._reading
        with self._translate_errors(), factory() as session:
            session.begin()
            try:
                yield session
            finally:
                # Objects read stay usable after the block; the rollback must not expire them.
                session.expunge_all()
                session.rollback()

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as error:
            raise DatabaseUnavailable(self._unavailable_message(error)) from error
        except DBAPIError as error:
            if error.connection_invalidated:
                raise DatabaseUnavailable(self._unavailable_message(error)) from error
            raise

    def _unavailable_message(self, error: DBAPIError) -> str:
        detail = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        if self.is_sqlite and "locked" in detail:
            return BUSY
        return f"The database is unavailable right now ({detail}); please try again in a moment."

    # -- schema ---------------------------------------------------------------------------------------------

    def upgrade(self, secret_key: bytes | None = None) -> tuple[str | None, str]:
        """Migrate to the newest schema; returns (revision before, revision after). Some migrations compute
        keyed fingerprints: they need `secret_key`, which is checked against the database's before anything
        changes. On SQLite, foreign keys are off while tables are rebuilt (dropping the old copy of a table would
        otherwise delete every row that refers to it), and checked whole before the migration commits."""
        with self._translate_errors(), self.engine.execution_options(sqlite_begin="IMMEDIATE").connect() as conn:
            raw = conn.connection.dbapi_connection
            if self.is_sqlite:
                # Outside any transaction, where SQLite honours it.
                raw.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
            try:
                with conn.begin():
                    before = _current_revision(conn)
                    if before is not None and secret_key is not None:
                        _check_secret_key(conn, secret_key)
                    config = _alembic_config(conn)
                    config.attributes["secret_key"] = secret_key
                    command.upgrade(config, "head")
                    if self.is_sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                        raise RuntimeError("the migration left rows that refer to nothing; nothing was changed")
                    return before, _current_revision(conn) or "base"
            finally:
                if self.is_sqlite:
                    raw.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]

    def prepare(self, *, secret_key: bytes, auto_migrate: bool) -> None:
        """Make sure the schema is current and the secret key is the one this database was created with."""
        with self._translate_errors():
            with self.engine.connect() as conn:
                current = _current_revision(conn)
            head = head_revision()
        if current != head:
            if not auto_migrate:
                raise SchemaOutOfDate(
                    f"The database schema is not up to date (at {current or 'nothing'}, needs {head}): "
                    "run `prospectbot db upgrade` once, then start again."
                )
            log.info("migrating %s from %s to %s", self.description, current, head)
            self.upgrade(secret_key)
        self.verify_secret_key(secret_key)
        # An import killed while it loaded an empty table left its indexes for later (storage.deferred_indexes).
        build_missing(self.transaction)

    def verify_secret_key(self, secret_key: bytes) -> None:
        expected = secret_key_check(secret_key)
        with self.transaction() as session:
            stored = session.scalar(select(Setting.value).where(Setting.key == "secret_key_check"))
            if stored is None:
                session.add(Setting(key="secret_key_check", value=expected))
                return
        if not hmac.compare_digest(stored, expected):
            raise SecretKeyMismatch(WRONG_KEY)

    # -- erasure ---------------------------------------------------------------------------------------------

    def after_erasure(self) -> None:
        """Call once a transaction that deleted someone has committed. On SQLite, secure_delete zeroed their
        bytes in the pages the delete wrote, but the write-ahead log still holds the older copies of those pages,
        and the database file its own until the new ones are copied in: a checkpoint copies them in and truncates
        the log to nothing. It can not finish while a reader holds a snapshot from before the delete; then it is
        retried every ERASURE_RETRY_SECONDS until it does, and tried once more when the database is closed.
        PostgreSQL keeps dead rows until vacuum, whatever is done here (see README, What "deleted" guarantees)."""
        if self.checkpoint():
            return
        with self._erasure_lock:
            self._erasure_pending = True
            if self._erasure_retry is None:
                log.warning("A deleted prospect's details stay in %s and its write-ahead log until a reader that "
                            "started before the delete finishes (a campaign being sent?): retrying every %d s.",
                            self.path, ERASURE_RETRY_SECONDS)
                self._erasure_retry = threading.Thread(target=self._retry_erasure, name="erasure-checkpoint",
                                                       daemon=True)
                self._erasure_retry.start()

    def _retry_erasure(self) -> None:
        while not self._closing.wait(ERASURE_RETRY_SECONDS):
            with self._erasure_lock:
                self._erasure_pending = False
            # Probing first keeps a reader that is still there from holding off writers at every retry.
            done = self._checkpoint_wal(probe_first=True)
            with self._erasure_lock:
                if done and not self._erasure_pending:
                    self._erasure_retry = None
                    log.info("The write-ahead log holds no deleted prospect's details any more.")
                    return
                self._erasure_pending = True

    def checkpoint(self) -> bool:
        """SQLite: copies the write-ahead log into the database file and truncates it to nothing; False when a
        reader of an older snapshot kept it from finishing. PostgreSQL checkpoints by itself: True."""
        return self.path is None or self._checkpoint_wal()

    def _checkpoint_wal(self, *, probe_first: bool = False) -> bool:
        """Copies the write-ahead log into the database file and truncates it to nothing; False when a reader of
        an older snapshot kept it from finishing (what it could copy, it did)."""
        try:
            connection = self.engine.raw_connection()
        except DBAPIError as error:
            log.warning("could not checkpoint %s (%s)", self.path, error.orig)
            return False
        try:
            cursor = connection.cursor()
            if probe_first:
                busy, frames, copied = cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if busy or frames != copied:
                    return False
            with waiting_at_most(cursor, ERASURE_WAIT_MS):
                busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            return not busy
        except sqlite3.Error as error:
            log.warning("could not checkpoint %s (%s)", self.path, error)
            return False
        finally:
            connection.close()

    def dispose(self) -> None:
        self._closing.set()
        retry = self._erasure_retry
        if retry is not None:
            retry.join()
            self._erasure_retry = None
        unfinished = self._erasure_pending and not self._checkpoint_wal()
        self._erasure_pending = False
        self.engine.dispose()
        self._closing = threading.Event()
        if unfinished and self.path is not None:
            wal = Path(f"{self.path}-wal")
            # Closing the last connection checkpoints the log and removes it; another process may hold it open.
            if wal.exists() and wal.stat().st_size > 0:
                log.warning("A deleted prospect's details may stay in %s until the next delete or until every "
                            "process using it stops; to clear them once nothing reads it, run "
                            "`sqlite3 %s \"PRAGMA wal_checkpoint(TRUNCATE)\"`.", wal, shlex.quote(str(self.path)))


WRONG_KEY = ("SECRET_KEY is not the key this database was created with: fingerprints of deleted addresses and "
             "unsubscribe links would stop working. Restore the original SECRET_KEY (or its key file).")


def _check_secret_key(connection: Connection, secret_key: bytes) -> None:
    stored = connection.scalar(select(Setting.value).where(Setting.key == "secret_key_check"))
    if stored is not None and not hmac.compare_digest(stored, secret_key_check(secret_key)):
        raise SecretKeyMismatch(WRONG_KEY)


def sqlite_file(url: URL) -> Path | None:
    """The embedded database's file; None for an in-memory database (or one named by a `file:` URI)."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:") or url.query.get("uri"):
        return None
    return Path(database)


def sqlite_files(database: Path) -> list[Path]:
    """The files of an embedded database: the database, the log and its shared-memory index SQLite keeps beside
    it in WAL mode, and the key file kept beside it when SECRET_KEY is not set."""
    return [database, Path(f"{database}-wal"), Path(f"{database}-shm"), key_file_path(database)]


def key_file_path(database: Path) -> Path:
    return database.with_name(database.name + ".key")


def _create_owner_only(database: Path) -> None:
    """Creates the database file (and its directory) owner-only before SQLite does: SQLite gives the -wal and
    -shm files it makes the database file's permissions. What can not be created, SQLite reports when it opens."""
    try:
        database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY))
    except OSError:
        pass


def restrict_to_owner(paths: Iterable[Path]) -> None:
    """Takes away other users' access to `paths` (those that exist), saying so in one line; files it may not
    change (another user owns them) are named in one warning line, with the command their owner can run."""
    changed: list[str] = []
    refused: list[tuple[Path, int]] = []
    for path in paths:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if not mode & 0o077:
            continue
        try:
            os.chmod(path, mode & 0o700)
        except PermissionError:
            refused.append((path, mode))
        else:
            changed.append(f"{path} (was {mode:o})")
    if changed:
        log.warning("Made owner-only (%o) what other users of this machine could read: %s.", OWNER_ONLY,
                    ", ".join(changed))
    if refused:
        names = ", ".join(f"{path} (mode {mode:o})" for path, mode in refused)
        command = " ".join(shlex.quote(str(path)) for path, _ in refused)
        log.warning("Other users of this machine can read %s, and prospectbot can not change that as it is not the "
                    "owner: run `chmod %o %s` as the owner.", names, OWNER_ONLY, command)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None, "no migrations shipped"
    return head
