"""The engine, sessions and schema checks. Callers own the unit of work: `with database.transaction() as session`."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import DatabaseUnavailable, SchemaOutOfDate, SecretKeyMismatch
from storage.keys import secret_key_check
from storage.models import Setting

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Page cache per connection. The default 2 MiB makes writes to a million-row table's indexes page in and out.
SQLITE_CACHE_KIB = 65_536
POSTGRES_CONNECT_TIMEOUT_S = 2


class Database:
    """One shared database: embedded SQLite by default, PostgreSQL for teams."""

    # `serve` runs up to 8 request threads, 5 lazy-listener workers and the notifier at once: a pool that holds
    # them all keeps busy moments from opening (and closing) a new PostgreSQL connection per request.
    def __init__(self, url: str, *, pool_size: int = 15) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.engine = create_engine(self.url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            _configure_sqlite(self.engine)
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
        self._reading = sessionmaker(reader, expire_on_commit=False)
        # Server-side cursors, which stream large results, live inside a transaction.
        self._streaming = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def description(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A writing unit of work: commits when the block ends, rolls back on any error."""
        with self._translate_errors(), self._writing.begin() as session:
            yield session

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
            return "The database is busy with another change; please try again in a moment."
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

    def verify_secret_key(self, secret_key: bytes) -> None:
        expected = secret_key_check(secret_key)
        with self.transaction() as session:
            stored = session.scalar(select(Setting.value).where(Setting.key == "secret_key_check"))
            if stored is None:
                session.add(Setting(key="secret_key_check", value=expected))
                return
        if not hmac.compare_digest(stored, expected):
            raise SecretKeyMismatch(WRONG_KEY)

    def dispose(self) -> None:
        self.engine.dispose()


WRONG_KEY = ("SECRET_KEY is not the key this database was created with: fingerprints of deleted addresses and "
             "unsubscribe links would stop working. Restore the original SECRET_KEY (or its key file).")


def _check_secret_key(connection: Connection, secret_key: bytes) -> None:
    stored = connection.scalar(select(Setting.value).where(Setting.key == "secret_key_check"))
    if stored is not None and not hmac.compare_digest(stored, secret_key_check(secret_key)):
        raise SecretKeyMismatch(WRONG_KEY)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see the "begin" hook).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "memory":
            # WAL lets the sender read while the bot writes.
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA wal_autocheckpoint = 16384")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


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
