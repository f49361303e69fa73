"""What tests share besides fixtures: the secret key and Slack channel the test app is configured with, and the
databases tests run on (a copy of a migrated SQLite file, or the PostgreSQL server that .ci/run starts)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from storage.db import MIGRATIONS_DIR, Database
from storage.models import Base

TEST_SECRET_KEY = b"test-secret-key-0123456789-abcdefghijklmnop"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")
APPROVALS_CHANNEL = "C0APPROVALS"


def empty_postgres(database: Database) -> None:
    """Every table emptied, ids from 1 again; the settings row (the secret key's check) stays."""
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables if table.name != "settings")
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def empty_database_url(kind: str, request: pytest.FixtureRequest, directory: Path) -> str:
    """A migrated, empty database of `kind` ("sqlite" or "postgresql"), as a URL: a copy of the session's SQLite
    template in `directory`, or the PostgreSQL test server emptied. For fixtures: it asks for conftest's session
    fixtures by name."""
    if kind == "sqlite":
        path = directory / "prospectbot.db"
        # With its mode: owner-only, as prospectbot makes a database (a looser copy would be tightened, and say so).
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    empty_postgres(request.getfixturevalue("_postgres"))
    return POSTGRES_URL


def database_at(revision: str, kind: str, request: pytest.FixtureRequest, directory: Path) -> Database:
    """A new database of `kind` migrated only to `revision`, as an older release left it, for testing what the
    upgrade does to it: a new SQLite file in `directory`, or the PostgreSQL test server's schema rebuilt (upgrade
    it before the test ends: the session's later tests use it)."""
    if kind == "sqlite":
        database = Database(f"sqlite:///{directory / 'old.db'}")
    else:
        database = Database(request.getfixturevalue("_postgres").url.render_as_string(hide_password=False))
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    with database.engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        config.attributes["secret_key"] = TEST_SECRET_KEY
        command.upgrade(config, revision)
    return database


def best_seconds(call: Callable[[], object], tries: int = 3) -> float:
    """The fastest of `tries` runs of `call`, in seconds: for a guard against work without bound (a pattern that
    backtracks), so that one stall of a shared machine is not taken for it. Speed itself is for benchmarks/."""
    fastest = float("inf")
    for _ in range(tries):
        started = time.perf_counter()
        call()
        fastest = min(fastest, time.perf_counter() - started)
    return fastest
