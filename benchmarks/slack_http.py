"""What benchmarks/slack_bench.py needs to send the same Slack requests two ways, and to time them:

- `served`: the production WSGI app (`bot.web.create_wsgi_app`) behind waitress on a random loopback port, with the
  very settings `prospectbot serve` gives it (`bot/runners.py`: `SERVER_SETTINGS`, its connection limit and
  `serve_http`'s number of threads), and a no-op route beside it; `served_elsewhere` runs it in a process of its
  own, as `serve` runs (`python -m benchmarks.slack_http` is that process; the one-click benchmark uses it too);
- `Signer`: a request signed as Slack signs it (v0: HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret,
  by slack_sdk's `SignatureVerifier`, as tests/slack_driver.py signs), signed before the clock starts;
- `OverHttp`: one keep-alive HTTP/1.1 connection (`http.client.HTTPConnection`, reused for every request), so
  that what is timed is the request and its answer, not a TCP handshake; `InProcess`: straight into Bolt's dispatch;
- `Arrivals`: when the fake Web API received each call, waited for on a condition rather than by polling its list
  (a polling loop takes the interpreter lock that the server's threads, in the same process, need);
- `add_noop_listeners`: the floor, listeners that only acknowledge, registered on the very app measured.
"""

from __future__ import annotations

import http.client
import inspect
import json
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from slack_bolt import App, BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.app import create_app
from bot.runners import CONNECTION_LIMIT, SERVER_SETTINGS, connection_limit_for_open_files, serve_http
from bot.settings import Settings
from bot.web import SLACK_PATH, create_wsgi_app
from storage.db import Database
from tests.fake_slack import Call, FakeSlack

FORM = "application/x-www-form-urlencoded"
# `prospectbot serve` runs serve_http with its default number of threads.
SERVE_THREADS: int = inspect.signature(serve_http).parameters["threads"].default
NOOP_COMMAND = "/bench-noop"
NOOP_ACTION = "bench.noop"


def add_noop_listeners(app: App) -> None:
    """A slash command and a button that only acknowledge, without the role check: what any listener pays before
    its own work (through the server: reading, the signature, the body re-read, Bolt's dispatch and middleware).
    The button, a block action, also pays the server's once-only record of the request (two small transactions),
    as every block action and view submission does."""
    app.command(NOOP_COMMAND)(lambda ack: ack())
    app.action(NOOP_ACTION)(lambda ack: ack())


@dataclass
class Signed:
    body: str
    headers: dict[str, str]


class Signer:
    def __init__(self, signing_secret: str) -> None:
        self.verifier = SignatureVerifier(signing_secret)

    def sign(self, body: str, content_type: str = FORM) -> Signed:
        timestamp = str(int(time.time()))
        return Signed(body, {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp,
                             "X-Slack-Signature": self.verifier.generate_signature(timestamp=timestamp, body=body) or ""})


class Transport(Protocol):
    name: str

    def send(self, request: Signed) -> tuple[int, str]: ...


class InProcess:
    """The app's own dispatch, called in this thread: no HTTP, no signature check (create_app leaves it to the
    server), no once-only record."""

    name = "in-process"

    def __init__(self, app: App) -> None:
        self.app = app

    def send(self, request: Signed) -> tuple[int, str]:
        headers: dict[str, str | Sequence[str]] = {name.lower(): [value] for name, value in request.headers.items()}
        response = self.app.dispatch(BoltRequest(body=request.body, headers=headers))
        return response.status, response.body


class OverHttp:
    """POST /slack/events over one keep-alive connection, opened before the first timed request."""

    name = "HTTP"

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.connection.connect()
        self.connections_opened = 1

    def send(self, request: Signed) -> tuple[int, str]:
        if self.connection.sock is None:  # the server closed it: counted, so that the report can say so
            self.connections_opened += 1
        self.connection.request("POST", SLACK_PATH, body=request.body.encode(), headers=request.headers)
        response = self.connection.getresponse()
        return response.status, response.read().decode()

    def close(self) -> None:
        self.connection.close()


NOOP_PATH = "/noop"


def with_noop_route(application):  # type: ignore[no-untyped-def]
    """The same WSGI app with one more route, NOOP_PATH, that does nothing: the floor of a plain HTTP request (the
    one-click unsubscribe's), through the same server."""
    def wrapped(environ, start_response):  # type: ignore[no-untyped-def]
        if environ.get("PATH_INFO") == NOOP_PATH:
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
            return [b"ok"]
        return application(environ, start_response)
    return wrapped


@contextmanager
def served(app: App, database: Database, settings: Settings) -> Iterator[int]:
    """The app as `prospectbot serve` serves it, with NOOP_PATH beside it, on a random loopback port; yields the
    port."""
    from waitress import create_server

    server = create_server(with_noop_route(create_wsgi_app(app, database, settings)), host="127.0.0.1", port=0,
                           threads=SERVE_THREADS,
                           connection_limit=connection_limit_for_open_files(CONNECTION_LIMIT), **SERVER_SETTINGS)
    thread = threading.Thread(target=_quietly, args=(server.run,), daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        server.close()
        thread.join(timeout=5)


@contextmanager
def served_elsewhere(settings: Settings, stderr: Path) -> Iterator[int]:
    """`served`, with the no-op listeners, in a process of its own: `prospectbot serve` has its interpreter to itself,
    where the benchmark's client, the fake Web API and the in-process app would share this one with the server's
    threads, each waiting for the interpreter lock while another runs, and the collector walking all their objects
    (the fake keeps every call it records). Yields the port; the server stops when its standard input closes. Its
    errors go to `stderr`."""
    config = {"database_url": settings.database_url, "secret_key": settings.secret_key.decode(),
              "slack_bot_token": settings.slack_bot_token, "slack_signing_secret": settings.slack_signing_secret,
              "slack_api_url": settings.slack_api_url, "slack_notify_channel": settings.slack_notify_channel}
    with stderr.open("w") as errors:
        process = subprocess.Popen([sys.executable, "-m", "benchmarks.slack_http"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=errors, text=True)
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(config) + "\n")
        process.stdin.flush()
        port = process.stdout.readline().strip()
        if not port.isdigit():
            process.kill()
            raise SystemExit(f"the benchmark's server did not start:\n{stderr.read_text()[-3000:]}")
        try:
            yield int(port)
        finally:
            process.stdin.close()
            process.wait(timeout=30)


def _serve_until_stdin_closes() -> None:
    """The process behind served_elsewhere: its settings as one JSON line on standard input, its port on standard
    output once it listens."""
    config = json.loads(sys.stdin.readline())
    settings = Settings(**{**config, "secret_key": config["secret_key"].encode()})
    database = Database(settings.database_url)
    app = create_app(settings, database)
    add_noop_listeners(app)
    with served(app, database, settings) as port:
        print(port, flush=True)
        sys.stdin.read()  # closed once the benchmark has given the last confirmations (lazy listeners) time
    database.dispose()


def _quietly(run: Any) -> None:
    try:
        run()
    except OSError:
        pass  # closing the listening socket ends waitress's loop this way


class _Recorded(list[Call]):
    def __init__(self, arrivals: Arrivals) -> None:
        super().__init__()
        self.arrivals = arrivals

    def append(self, call: Call) -> None:
        super().append(call)
        self.arrivals.arrived(call)


class Arrivals:
    """The monotonic time at which the fake Web API received each call, per method."""

    def __init__(self, fake: FakeSlack) -> None:
        self.changed = threading.Condition()
        self.times: dict[str, list[float]] = defaultdict(list)
        fake.calls = _Recorded(self)

    def arrived(self, call: Call) -> None:
        with self.changed:
            self.times[call.method].append(call.at)
            self.changed.notify_all()

    def count(self, method: str) -> int:
        with self.changed:
            return len(self.times[method])

    def wait(self, method: str, index: int, timeout: float = 10) -> float:
        """When the call to `method` numbered `index` (from 0) arrived."""
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.times[method]) > index, timeout):
                raise RuntimeError(f"{method} never arrived")
            return self.times[method][index]


if __name__ == "__main__":
    _serve_until_stdin_closes()
