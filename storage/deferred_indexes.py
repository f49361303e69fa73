"""The secondary indexes of `prospects`, and the search indexes of `memberships`, built once after a load into
an empty database instead of row by row.

Keeping ten B-trees in order while a million rows arrive costs about as much as writing the rows themselves;
sorting each column once afterwards costs a fraction of that. This is only done when the table holds nobody:
nobody can be looking anyone up through an index that does not exist yet, and a populated database is never
left without them (an import into one keeps every index, and writes no slower than it did).

Crash-safe: an import that stops for any reason builds the indexes before it returns or raises, and a process
killed outright leaves them missing only until the next start of any prospectbot command (Database.prepare), or
the next import, builds them. Meanwhile reads are slower, never wrong. The unique index on email_key stays: the
load itself relies on it to recognise people.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import Connection, Index, inspect, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex, DropIndex

from storage.fast_insert import table_of
from storage.models import MEMBER_SEARCH_KEYS, Membership, Prospect

log = logging.getLogger(__name__)

Transaction = Callable[[], AbstractContextManager[Session]]
# Memberships' search indexes too: where nobody exists yet, nobody is in a campaign either.
_MEMBER_SEARCH_INDEXES = {f"ix_memberships_{key}" for key in MEMBER_SEARCH_KEYS}
DEFERRABLE: tuple[Index, ...] = tuple(sorted(
    [*(index for index in table_of(Prospect).indexes if not index.unique),
     *(index for index in table_of(Membership).indexes if index.name in _MEMBER_SEARCH_INDEXES)],
    key=lambda index: str(index.name)))
# Dropping an index on PostgreSQL waits for every transaction that has read the table. The load goes on with the
# indexes in place rather than hold up those behind it for longer than this.
DROP_LOCK_TIMEOUT = "1s"
# SQLite sorts an index's keys in as much memory as the page cache, on one thread. In one run that large the sort
# itself is the slow part; in runs of 4 MiB, sorted by as many threads as there are cores and merged, the ten
# indexes of 1,000,000 prospects took 5.2-5.5 s instead of 8.0-8.2 s with the 64 MiB cache (2 cores; 6.1-6.3 s
# with 16 MiB runs, 8.6 s with 64 MiB runs on two threads). PostgreSQL's defaults were fastest there (two parallel
# workers, 64 MB: 6.1 s; 256 MB: 7.5 s, 16 MB: 8.6 s), so it keeps them.
SQLITE_SORT_KIB = 4_096
SQLITE_SORT_THREADS = min(os.cpu_count() or 1, 4)


def drop_for_load(session: Session) -> bool:
    """Drops the deferrable indexes when `prospects` is empty, inside the caller's transaction (which then also
    writes the first rows, or nothing); returns whether the load goes without them. Call `build_missing` after."""
    if session.scalar(select(Prospect.id).limit(1)) is not None:
        return False
    try:
        with session.begin_nested():
            # Taken inside the savepoint: a connection taken before would run these outside it, and a failure
            # would then abort the whole transaction, the caller's campaign and import run with it.
            connection = session.connection()
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'"))
            for index in DEFERRABLE:
                connection.execute(DropIndex(index, if_exists=True))
            if connection.dialect.name == "postgresql":
                connection.execute(text("SET LOCAL lock_timeout = DEFAULT"))
    except OperationalError:
        log.info("prospects is in use: importing with its indexes in place")
        return False
    return True


def missing(connection: Connection) -> list[Index]:
    present = _present(connection)
    return [index for index in DEFERRABLE if index.name not in present]


def build_missing(transaction: Transaction) -> list[str]:
    """Builds every deferrable index that is missing, each in its own transaction, so that a writer waiting for
    the table waits for one index, not all of them; returns the names built."""
    with transaction() as session:
        absent = missing(session.connection())
    built = []
    for index in absent:
        with transaction() as session, _sorting_in_threads(session.connection()) as connection:
            # IF NOT EXISTS: another process may be building the same ones after the same crash.
            connection.execute(CreateIndex(index, if_not_exists=True))
        built.append(str(index.name))
    if built:
        log.info("built the indexes of prospects and memberships: %s", ", ".join(built))
    return built


@contextmanager
def _sorting_in_threads(connection: Connection) -> Iterator[Connection]:
    """On SQLite, the connection sorts in SQLITE_SORT_KIB runs on SQLITE_SORT_THREADS threads, and is given back
    with its page cache and threads as they were."""
    if connection.dialect.name != "sqlite":
        yield connection
        return
    cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
    threads = connection.exec_driver_sql("PRAGMA threads").scalar_one()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_SORT_KIB}")
    connection.exec_driver_sql(f"PRAGMA threads = {SQLITE_SORT_THREADS}")
    try:
        yield connection
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(cache_size)}")
        connection.exec_driver_sql(f"PRAGMA threads = {int(threads)}")


def _present(connection: Connection) -> set[str]:
    inspector = inspect(connection)
    return {str(index["name"]) for table in (Prospect.__tablename__, Membership.__tablename__)
            for index in inspector.get_indexes(table)}
