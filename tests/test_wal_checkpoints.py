"""While a load writes into SQLite, a thread copies the write-ahead log into the database file after each commit
(storage.wal_checkpoints): what is committed reaches the file itself, the log stays bounded, and the load's
connection goes back to the pool checkpointing as every other."""

from __future__ import annotations

import io
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.audit import Actor
from storage.db import Database
from storage.importing import import_prospects
from storage.prepared_elsewhere import IN_PROCESS_ROWS
from storage.prospect_csv import ProspectCsv
from storage.sqlite_connections import WAL_AUTOCHECKPOINT_PAGES
from storage.wal_checkpoints import CheckpointsAside
from tests.support import TEST_SECRET_KEY, empty_database_url

PAGE = 4096


@pytest.fixture
def sqlite_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = Database(empty_database_url("sqlite", request, tmp_path))
    with database.transaction() as session:
        session.execute(text("CREATE TABLE load (n INTEGER PRIMARY KEY, filler BLOB)"))
    database.checkpoint()
    yield database
    database.dispose()


@pytest.fixture
def aside_of() -> Iterator[Callable[..., CheckpointsAside]]:
    """Makes a CheckpointsAside of a database; those made are closed at the end, even by a test that failed."""
    made: list[CheckpointsAside] = []

    def make(database: Database, **limits: int) -> CheckpointsAside:
        with database.engine.connect() as connection:
            made.append(CheckpointsAside(connection, **limits))
        return made[-1]

    yield make
    for aside in made:
        aside.close()


def write_pages(transaction, first: int, pages: int) -> None:
    """One transaction of `pages` rows of about a page each."""
    with transaction() as session:
        session.execute(text("INSERT INTO load VALUES (:n, randomblob(3500))"),
                        [{"n": n} for n in range(first, first + pages)])


def rows_in_the_file_alone(database: Database, table: str, tmp_path: Path) -> int:
    """The rows of `table` in the database file without its log: what checkpoints have copied into it."""
    assert database.path is not None
    copy = tmp_path / "file-alone.db"
    shutil.copyfile(database.path, copy)
    with sqlite3.connect(copy) as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def log_bytes(database: Database) -> int:
    log = Path(f"{database.path}-wal")
    return log.stat().st_size if log.exists() else 0


def test_what_the_load_commits_reaches_the_database_file_without_its_own_commits_checkpointing(
        sqlite_database, aside_of, tmp_path):
    aside = aside_of(sqlite_database)
    aside.start()
    transaction = aside.transaction(sqlite_database.transaction)
    for first in range(0, 300, 100):
        with transaction() as session:
            assert session.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 0
            session.execute(text("INSERT INTO load VALUES (:n, randomblob(3500))"),
                            [{"n": n} for n in range(first, first + 100)])
    aside.close()
    # 300 pages, far below what a commit would checkpoint by itself: only the thread copied them.
    assert rows_in_the_file_alone(sqlite_database, "load", tmp_path) == 300
    with sqlite_database.transaction() as session:
        assert session.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == \
            WAL_AUTOCHECKPOINT_PAGES


def test_before_it_is_started_transactions_checkpoint_as_every_other(sqlite_database, aside_of, tmp_path):
    aside = aside_of(sqlite_database)
    transaction = aside.transaction(sqlite_database.transaction)
    with transaction() as session:
        assert session.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == \
            WAL_AUTOCHECKPOINT_PAGES
    write_pages(transaction, 0, 50)
    aside.close()
    assert rows_in_the_file_alone(sqlite_database, "load", tmp_path) == 0
    assert "import-checkpoints" not in {thread.name for thread in threading.enumerate()}


def test_the_log_starts_over_once_it_holds_more_than_its_limit(sqlite_database, aside_of, tmp_path):
    most = 200 * (PAGE + 24)
    aside = aside_of(sqlite_database, most_log_bytes=most)
    aside.start()
    transaction = aside.transaction(sqlite_database.transaction)
    largest = 0
    for first in range(0, 4_000, 50):  # 80 transactions of 50 pages: 4,000 pages in all
        write_pages(transaction, first, 50)
        largest = max(largest, log_bytes(sqlite_database))
    aside.close()
    # Past the limit, the load waits for its last commit's copy, and the next transaction starts the log over: it
    # is never larger than the limit and the transaction that took it past it (without the wait, 4,000 pages).
    assert largest <= most + 60 * (PAGE + 24)
    assert rows_in_the_file_alone(sqlite_database, "load", tmp_path) == 4_000


def test_a_reader_holding_the_log_does_not_stop_the_load_and_once_it_ends_the_log_starts_over(
        sqlite_database, aside_of, tmp_path):
    most = 100 * (PAGE + 24)
    aside = aside_of(sqlite_database, most_log_bytes=most)
    aside.start()
    transaction = aside.transaction(sqlite_database.transaction)
    write_pages(transaction, 0, 50)
    with sqlite_database.snapshot() as reading:
        assert reading.scalar(text("SELECT count(*) FROM load")) == 50  # holds this snapshot of the log
        for first in range(50, 1_050, 50):
            write_pages(transaction, first, 50)
        assert log_bytes(sqlite_database) > 1_000 * PAGE
    for first in range(1_050, 1_250, 50):
        write_pages(transaction, first, 50)
    assert log_bytes(sqlite_database) <= most + 60 * (PAGE + 24)
    aside.close()
    assert rows_in_the_file_alone(sqlite_database, "load", tmp_path) == 1_250


def test_an_import_into_an_empty_database_leaves_everything_in_the_file_and_no_thread_behind(sqlite_database,
                                                                                              tmp_path):
    rows = IN_PROCESS_ROWS + 3_000
    lines = "".join(f"p{n}@example.com,Ana{n}\n" for n in range(rows))
    threads_seen: list[set[str]] = []
    report = import_prospects(
        sqlite_database.transaction, ProspectCsv(io.BytesIO(f"email,first_name\n{lines}".encode()), name="leads.csv"),
        campaign_name="Q4", actor=Actor("cli:ops", "cli"), secret_key=TEST_SECRET_KEY,
        source_label="import:leads.csv", chunk_size=2_000,
        on_progress=lambda _: threads_seen.append({thread.name for thread in threading.enumerate()}))
    assert report.counts["new"] == rows
    # The copying thread starts once the second process is forked (a fork would copy it), after the first
    # IN_PROCESS_ROWS rows, and ends with the import.
    copying = ["import-checkpoints" in names for names in threads_seen]
    assert copying.index(True) == IN_PROCESS_ROWS // 2_000
    assert "import-checkpoints" not in {thread.name for thread in threading.enumerate()}
    assert rows_in_the_file_alone(sqlite_database, "prospects", tmp_path) == rows
    assert rows_in_the_file_alone(sqlite_database, "memberships", tmp_path) == rows
