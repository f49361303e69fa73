"""Shared fixtures. Every storage test runs on both databases: a fresh embedded SQLite file and the real
PostgreSQL server that .ci/run starts (TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.audit import Actor
from storage.db import Database
from storage.models import Base

TEST_SECRET_KEY = b"test-secret-key-0123456789-abcdefghijklmnop"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")
APPROVALS_CHANNEL = "C0APPROVALS"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's own settings must never leak into a test.
    for name in list(os.environ):
        if name.startswith(("SLACK_", "SMTP_", "PROSPECTBOT_")) or name in ("DATABASE_URL", "SECRET_KEY", "MAIL_FROM",
                                                                             "PUBLIC_BASE_URL"):
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


def _empty_postgres(database: Database) -> None:
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables if table.name != "settings")
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each kind, as a URL."""
    if request.param == "sqlite":
        path = tmp_path / "prospectbot.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    postgres: Database = request.getfixturevalue("_postgres")
    _empty_postgres(postgres)
    return POSTGRES_URL


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def secret_key() -> bytes:
    return TEST_SECRET_KEY


@pytest.fixture
def slack_actor() -> Actor:
    return Actor("slack:U0ALICE", "slack")


@pytest.fixture
def cli_actor() -> Actor:
    return Actor("cli:ops", "cli")


# -- Slack -------------------------------------------------------------------------------------------------------


@pytest.fixture
def fake_slack():
    from tests.fake_slack import FakeSlack

    fake = FakeSlack().start()
    yield fake
    fake.stop()
    # Every view the bot sent Slack must pass Block Kit validation.
    from tests.slack_driver import validate_view

    for call in fake.calls:
        view = call.args.get("view")
        if call.method.startswith("views.") and isinstance(view, dict):
            validate_view(view)


@pytest.fixture
def slack_settings(database_url, fake_slack):
    from bot.settings import Settings
    from tests.slack_driver import SIGNING_SECRET

    return Settings(database_url=database_url, secret_key=TEST_SECRET_KEY, slack_bot_token="xoxb-test-token",
                    slack_app_token="xapp-test-token", slack_signing_secret=SIGNING_SECRET,
                    slack_api_url=fake_slack.api_url, slack_approvals_channel=APPROVALS_CHANNEL)


@pytest.fixture
def slack(slack_settings, fake_slack, database):
    """The real app behind the production WSGI server on a random port, and a driver that talks to it as Slack."""
    import threading

    from waitress import create_server

    from bot.app import create_app
    from bot.web import create_wsgi_app
    from tests.slack_driver import SlackDriver

    app = create_app(slack_settings, database)
    server = create_server(create_wsgi_app(app, database, slack_settings), host="127.0.0.1", port=0, threads=4)
    def serve() -> None:
        try:
            server.run()
        except OSError:
            pass  # closing the listening socket ends waitress's loop this way

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield SlackDriver(f"http://127.0.0.1:{server.effective_port}", fake_slack)
    server.close()
    thread.join(timeout=5)
