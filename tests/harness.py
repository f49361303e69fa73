"""The Slack harness: the real app (`bot.app.create_app`) behind the production WSGI server (waitress) on a random
port, a fake Slack Web API (tests/fake_slack.py), and a driver that talks to the app as Slack does, with signed
requests (tests/slack_driver.py).

`running()` builds it, for conftest's `slack` fixture (one app per test) and for the module-scoped `live`
fixtures (`start()`: one app per database for a whole module, so that property-based tests and large tables can
send hundreds of requests without paying a server start and stop each).

It knows when a request is really finished: the lazy listeners that run after the acknowledgement are counted as
they are submitted, and `drain` waits for the last one, so a test reads every message and view the bot sent
without guessing how long to sleep. And `check_views` is the one place that checks every view the bot sent Slack
against Block Kit's rules.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, inspect, select

from bot.app import create_app
from bot.settings import Settings
from bot.web import create_wsgi_app
from storage.db import Database
from storage.models import AuditEntry, BlockedDomain, BulkRequest, DoNotContact, Prospect
from tests.fake_slack import FakeSlack
from tests.slack_driver import SIGNING_SECRET, SlackDriver, validate_view
from tests.support import APPROVALS_CHANNEL, TEST_SECRET_KEY, empty_database_url

# The tables a refused or invalid request must leave exactly as they were.
WATCHED = {"prospects": Prospect, "do_not_contact": DoNotContact, "audit_log": AuditEntry,
           "bulk_requests": BulkRequest, "blocked_domains": BlockedDomain}

# What a user must never read: a traceback, a source line, an exception's class, a driver's message.
LEAK = re.compile(r"Traceback|File \"|\b[A-Z][A-Za-z]*(?:Error|Exception|Payload)\b|sqlalchemy|psycopg|sqlite3|"
                  r"Background on this error|<[a-z_.]+ object at 0x")
SHOWN_METHODS = ("views.open", "views.push", "views.update", "views.publish", "chat.postMessage",
                 "chat.postEphemeral", "chat.update")


class TrackingExecutor(ThreadPoolExecutor):
    """Bolt's executor for lazy listeners, remembering what has not finished yet."""

    def __init__(self) -> None:
        super().__init__(max_workers=5, thread_name_prefix="lazy")  # Bolt's own default
        self._pending: set[Future[Any]] = set()
        self._lock = threading.Lock()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)

    def drain(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if not self._pending:
                    return
            if time.monotonic() > deadline:
                raise AssertionError("lazy listeners still running after the request")
            time.sleep(0.002)


class ErrorLog(logging.Handler):
    """Every record at ERROR or above, from any logger: an unexpected exception somewhere in a listener."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[str]:
        found = [f"{record.name}: {record.getMessage()}"
                 + (f" ({record.exc_info[0].__name__}: {record.exc_info[1]})" if record.exc_info else "")
                 for record in self.records]
        self.records.clear()
        return found


@dataclass(repr=False)
class LiveApp:
    kind: str
    database: Database
    fake: FakeSlack
    slack: SlackDriver
    settings: Settings
    executor: TrackingExecutor
    errors: ErrorLog
    wsgi: Any
    data: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # hypothesis prints its arguments, fixtures included
        return f"LiveApp({self.kind})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def drain(self) -> None:
        self.executor.drain()

    def fresh(self) -> None:
        """Between examples: the previous request's listeners are done and its calls forgotten."""
        self.drain()
        self.fake.reset()
        self.errors.take()

    def counts(self) -> dict[str, int]:
        with self.database.snapshot() as session:
            return {name: session.scalar(select(func.count()).select_from(model)) for name, model in WATCHED.items()}

    def tables(self) -> set[str]:
        with self.database.engine.connect() as connection:
            return set(inspect(connection).get_table_names())

    def shown(self) -> list[tuple[str, dict[str, Any]]]:
        """(method, arguments) of everything the bot put in front of someone since the last `fresh`: views,
        messages, and ephemeral answers through response_url."""
        with self.fake._lock:
            calls = list(self.fake.calls)
        return [(call.method, call.args) for call in calls
                if call.method in SHOWN_METHODS or call.method.startswith("response_url/")]


class World(dict):  # type: ignore[type-arg]
    """Test data for a module, printed briefly when hypothesis reports an example."""

    def __repr__(self) -> str:
        return f"World({', '.join(self)})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON-like value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings(item)


def leaks(value: Any, *typed: str) -> list[str]:
    """The strings in `value` that show a traceback or an exception's name, once what the user typed (which a
    view may quote back) is taken out."""
    found = []
    echoes = [text for raw in typed if raw for text in {raw, raw.replace("&", "&amp;").replace("<", "&lt;")
                                                         .replace(">", "&gt;"), json.dumps(raw)}]
    for text in strings(value):
        for echo in sorted(echoes, key=len, reverse=True):
            text = text.replace(echo, "")
        if LEAK.search(text):
            found.append(text[:300])
    return found


def check_views(fake: FakeSlack) -> None:
    """Every view the bot sent Slack must pass Block Kit validation: those it opened, pushed, updated or published
    through the Web API, and those it answered a request with (`response_action`), as the driver recorded them."""
    with fake._lock:
        views = [call.args.get("view") for call in fake.calls if call.method.startswith("views.")]
        views += fake.answered_views
    for view in views:
        if isinstance(view, dict):
            validate_view(view)


def app_settings(database_url: str, fake: FakeSlack) -> Settings:
    """The app's settings in tests: Slack is `fake`, requests are signed with the driver's secret."""
    return Settings(database_url=database_url, secret_key=TEST_SECRET_KEY, slack_bot_token="xoxb-test-token",
                    slack_app_token="xapp-test-token", slack_signing_secret=SIGNING_SECRET,
                    slack_api_url=fake.api_url, slack_approvals_channel=APPROVALS_CHANNEL)


def start(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The generator behind a module-scoped fixture parametrised with "sqlite" and "postgresql": an empty,
    migrated database of that kind, served for the whole module."""
    with running(empty_database_url(request.param, request, tmp_path_factory.mktemp("live"))) as live:
        yield live


@contextmanager
def running(database: str | Database, *, fake: FakeSlack | None = None) -> Iterator[LiveApp]:
    """The app behind waitress, on `database` (a URL; or a Database the caller keeps and disposes of), with `fake`
    as Slack's Web API (a fake of its own when none is given, checked with `check_views` at the end). On the way
    out, the lazy listeners still running are waited for before the server stops."""
    from waitress import create_server

    with ExitStack() as stack:
        if isinstance(database, str):
            database = Database(database)
            stack.callback(database.dispose)
        if fake is None:
            fake = FakeSlack().start()
            stack.callback(check_views, fake)
            stack.callback(fake.stop)
        settings = app_settings(database.url.render_as_string(hide_password=False), fake)
        app = create_app(settings, database)
        executor = TrackingExecutor()
        stack.callback(executor.shutdown)
        # Bolt hands lazy listeners to this executor; the attribute names are Bolt 1.x's ThreadListenerRunner.
        app.listener_runner.listener_executor = executor
        app.listener_runner.lazy_listener_runner.executor = executor
        wsgi = create_wsgi_app(app, database, settings)
        # A short loop timeout, so that closing the server does not wait a second.
        server = create_server(wsgi, host="127.0.0.1", port=0, threads=4, asyncore_loop_timeout=0.05)
        thread = threading.Thread(target=_quietly, args=(server.run,), daemon=True)
        thread.start()
        stack.callback(thread.join, timeout=5)
        stack.callback(server.close)
        errors = ErrorLog()
        logging.getLogger().addHandler(errors)
        stack.callback(logging.getLogger().removeHandler, errors)
        stack.callback(executor.drain)
        driver = SlackDriver(f"http://127.0.0.1:{server.effective_port}", fake, drain=executor.drain)
        yield LiveApp(database.url.get_backend_name(), database, fake, driver, settings, executor, errors, wsgi)


def _quietly(run: Any) -> None:
    try:
        run()
    except OSError:
        pass  # closing the listening socket ends waitress's loop this way
