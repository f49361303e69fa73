"""Speed of opt-outs from the email itself (issue 4), on SQLite and PostgreSQL:

- one-click unsubscribe: POST /unsubscribe/TOKEN with `List-Unsubscribe=One-Click`, sequential requests over one
  keep-alive connection to the production server (waitress), beside a no-op endpoint on the same server;
- notification delivery: from the one-click POST to the fake Slack Web API receiving chat.postMessage, with the
  worker polling as it does inside `prospectbot serve`.

Usage: python -m benchmarks.optout_bench [--prospects N] [--databases sqlite,postgresql] [--postgres-url URL]
"""

from __future__ import annotations

import http.client
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import select, update
from waitress import create_server

from benchmarks.common import BENCH_SECRET_KEY, Figure, benchmark_main, imported_database, median, percentile
from benchmarks.slack_bench import SIGNING_SECRET
from benchmarks.storage_bench import generate_csv
from bot.app import create_app
from bot.notifier import Notifier
from bot.settings import Settings
from bot.slack_client import slack_client
from bot.web import create_wsgi_app
from storage.models import Membership, Notification, utcnow
from storage.unsubscribe import unsubscribe_token
from tests.fake_slack import FakeSlack

REQUESTS = 1_000
NOTIFICATIONS = 200


def with_noop(application):  # type: ignore[no-untyped-def]
    """The same server with one more route that does nothing: the floor."""
    def wrapped(environ, start_response):  # type: ignore[no-untyped-def]
        if environ.get("PATH_INFO") == "/noop":
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
            return [b"ok"]
        return application(environ, start_response)
    return wrapped


def post(connection: http.client.HTTPConnection, path: str) -> float:
    start = time.perf_counter()
    connection.request("POST", path, body=b"List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status
    return (time.perf_counter() - start) * 1000


def run(kind: str, prospects: int, postgres_url: str, workdir: Path, csv_path: Path, prefixes: list[str]) -> list[Figure]:
    database, _ = imported_database(kind, workdir, postgres_url, "optout", csv_path)
    with database.snapshot() as session:
        memberships = list(session.scalars(select(Membership.id).order_by(Membership.id)
                                           .limit(REQUESTS + NOTIFICATIONS)))
    fake = FakeSlack().start()
    settings = Settings(database_url=database.url.render_as_string(hide_password=False), secret_key=BENCH_SECRET_KEY,
                        slack_bot_token="xoxb-bench", slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.api_url,
                        slack_notify_channel="C0BENCH")
    app = create_app(settings, database)
    server = create_server(with_noop(create_wsgi_app(app, database, settings)), host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    connection = http.client.HTTPConnection("127.0.0.1", server.effective_port, timeout=10)

    print(f"[{kind}] one-click POSTs …", file=sys.stderr, flush=True)
    noop = [post(connection, "/noop") for _ in range(REQUESTS)]
    clicks = [post(connection, f"/unsubscribe/{unsubscribe_token(BENCH_SECRET_KEY, mid)}")
              for mid in memberships[:REQUESTS]]

    print(f"[{kind}] notification delivery …", file=sys.stderr, flush=True)
    worker = Notifier(database, slack_client("xoxb-bench", fake.api_url, retries=False), default_channel="C0BENCH")
    with database.transaction() as session:  # the first thousand clicks' notifications are not this figure's
        session.execute(update(Notification).values(delivered_at=utcnow()))
    stop = threading.Event()
    thread = worker.start_in_background(stop)
    delays = []
    for mid in memberships[REQUESTS:]:
        before = len(fake.calls_to("chat.postMessage"))
        started = time.monotonic()
        post(connection, f"/unsubscribe/{unsubscribe_token(BENCH_SECRET_KEY, mid)}")
        deadline = started + 10
        while len(fake.calls_to("chat.postMessage")) == before and time.monotonic() < deadline:
            time.sleep(0.001)
        arrived = [c.at for c in fake.calls if c.method == "chat.postMessage"][before]
        delays.append((arrived - started) * 1000)
    stop.set()
    thread.join(timeout=10)
    connection.close()
    server.close()
    fake.stop()
    database.dispose()
    noop_ms = median(noop)
    return [
        Figure(kind, "one-click unsubscribe POST (ms)", median(clicks), percentile(clicks, 0.99), "ms",
               "no-op endpoint, same server", noop_ms, "p99 ≤ 10 ms" if kind == "sqlite" else "none",
               percentile(clicks, 0.99) <= 10 if kind == "sqlite" else None),
        Figure(kind, "opt-out → Slack notification (ms)", median(delays), percentile(delays, 0.99), "ms",
               "no-op endpoint, same server", noop_ms, "median < 1,000 ms", median(delays) < 1000),
    ]


def main() -> None:
    benchmark_main(__doc__ or "", run, generate_csv)


if __name__ == "__main__":
    main()
