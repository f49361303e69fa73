"""Shared fixtures. Every storage test runs on both databases: a fresh embedded SQLite file and the real
PostgreSQL server that .ci/run starts (TEST_DATABASE_URL). What tests share besides fixtures is in
tests/support.py; the Slack harness behind `slack` in tests/harness.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.audit import Actor
from storage.db import Database
from tests.support import POSTGRES_URL, TEST_SECRET_KEY, empty_database_url


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's own settings must never leak into a test.
    for name in list(os.environ):
        if name.startswith(("SLACK_", "SMTP_", "PROSPECTBOT_", "IMAP_")) or name in (
                "DATABASE_URL", "SECRET_KEY", "MAIL_FROM", "PUBLIC_BASE_URL", "UNSUBSCRIBE_MAILBOX"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    database.prepare(secret_key=TEST_SECRET_KEY, auto_migrate=True)
    database.dispose()
    return path


@pytest.fixture(scope="session")
def _postgres() -> Iterator[Database]:
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("TEST_DATABASE_URL is not set: .ci/run must start PostgreSQL for the tests")
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (bash .ci/run starts a server)")
    database = Database(POSTGRES_URL)
    with database.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    database.prepare(secret_key=TEST_SECRET_KEY, auto_migrate=True)
    yield database
    database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each kind, as a URL."""
    return empty_database_url(request.param, request, tmp_path)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def secret_key() -> bytes:
    return TEST_SECRET_KEY


@pytest.fixture
def run(database_url, tmp_path, monkeypatch):
    """Runs `prospectbot ARGS` in-process against the test database as the operator "ops"; returns (exit code,
    stdout, stderr). No traceback may ever reach the terminal."""
    from click.testing import CliRunner

    from bot.cli import cli

    monkeypatch.chdir(tmp_path)
    base = {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET_KEY.decode(), "PROSPECTBOT_ACTOR": "ops"}

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None):
        result = CliRunner().invoke(cli, list(args), env={**base, **(env or {})}, input=input, catch_exceptions=False)
        assert "Traceback" not in result.output
        return result.exit_code, result.stdout, result.stderr

    return invoke


@pytest.fixture
def slack_actor() -> Actor:
    return Actor("slack:U0ALICE", "slack")


@pytest.fixture
def cli_actor() -> Actor:
    return Actor("cli:ops", "cli")


# -- Slack -------------------------------------------------------------------------------------------------------


@pytest.fixture
def fake_slack():
    """Slack's Web API; at the end, every view the bot sent it (or answered a request with) must pass Block Kit
    validation."""
    from tests.fake_slack import FakeSlack
    from tests.harness import check_views

    fake = FakeSlack().start()
    yield fake
    fake.stop()
    check_views(fake)


@pytest.fixture
def slack_settings(database_url, fake_slack):
    """The settings `slack` serves the app with, for a test that builds an app of its own."""
    from tests.harness import app_settings

    return app_settings(database_url, fake_slack)


@pytest.fixture
def slack(fake_slack, database):
    """The real app behind the production WSGI server on a random port, and a driver that talks to it as Slack
    (tests/harness.py). `slack.drain()` waits for the lazy listeners; the last ones are waited for at the end."""
    from tests.harness import running

    with running(database, fake=fake_slack) as live:
        yield live.slack
