"""SQLite lets one writer in at a time. Another process writing transaction after transaction (an import) must not
keep a colleague's save out for longer than one of them, and a writer kept out for too long is told so in one
sentence, with nothing written."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

import storage.sqlite_connections
from storage.db import BUSY, Database
from storage.errors import DatabaseUnavailable

HOG_TRANSACTIONS = 8
HOG_HOLDS_S = 0.2
HOG_GAP_S = 0.01


@pytest.fixture
def shared_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "shared.db"
    database = Database(f"sqlite:///{path}")  # the project's pragmas: WAL, its busy timeout
    with database.transaction() as session:
        session.execute(text("CREATE TABLE lock_order (id INTEGER PRIMARY KEY, who TEXT NOT NULL)"))
    database.dispose()
    yield path


def hog(path: Path, transactions: int, holds: float, gap: float, started: threading.Event) -> None:
    """Another process's writer, as an import writes: transaction after transaction, `gap` apart."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        for number in range(transactions):
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO lock_order (who) VALUES (?)", (f"hog {number}",))
            started.set()
            time.sleep(holds)
            connection.execute("COMMIT")
            time.sleep(gap)
    finally:
        connection.close()


def written_in_order(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [who for (who,) in connection.execute("SELECT who FROM lock_order ORDER BY id")]


def test_a_save_waiting_behind_back_to_back_transactions_gets_in_at_the_first_gap(shared_file):
    # SQLite's own wait tries again every 100 ms once it has waited a third of a second: it missed 10 ms gaps and
    # let transaction after transaction go first.
    started = threading.Event()
    writer = threading.Thread(target=hog, args=(shared_file, HOG_TRANSACTIONS, HOG_HOLDS_S, HOG_GAP_S, started))
    writer.start()
    database = Database(f"sqlite:///{shared_file}")
    try:
        assert started.wait(5)
        with database.transaction() as session:
            session.execute(text("INSERT INTO lock_order (who) VALUES ('save')"))
    finally:
        writer.join()
        database.dispose()
    order = written_in_order(shared_file)
    assert len(order) == HOG_TRANSACTIONS + 1
    assert order.index("save") <= 2, order  # after the transaction it found, at worst one more


def test_a_writer_kept_out_past_the_busy_timeout_is_told_so_and_writes_nothing(shared_file, monkeypatch):
    monkeypatch.setattr(storage.sqlite_connections, "SQLITE_BUSY_TIMEOUT_MS", 300)
    started = threading.Event()
    writer = threading.Thread(target=hog, args=(shared_file, 1, 1.5, 0, started))
    writer.start()
    database = Database(f"sqlite:///{shared_file}")
    try:
        assert started.wait(5)
        with pytest.raises(DatabaseUnavailable) as refused, database.transaction() as session:
            session.execute(text("INSERT INTO lock_order (who) VALUES ('save')"))
        assert str(refused.value) == BUSY
        writer.join()
        # The connection goes back to the pool waiting as long as SQLite would, and writes once the way is clear.
        with database.transaction() as session:
            assert session.execute(text("PRAGMA busy_timeout")).scalar_one() == 300
            session.execute(text("INSERT INTO lock_order (who) VALUES ('save, again')"))
    finally:
        writer.join()
        database.dispose()
    assert written_in_order(shared_file) == ["hog 0", "save, again"]
