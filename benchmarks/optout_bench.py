"""Speed of opt-outs from the email itself (issue 4), on SQLite and PostgreSQL:

- one-click unsubscribe: POST /unsubscribe/TOKEN with `List-Unsubscribe=One-Click`, sequential requests over one
  keep-alive connection to the production server (waitress with `serve`'s settings and threads, in a process of
  its own as `serve` runs: benchmarks.slack_http), beside a no-op endpoint on the same server;
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

from benchmarks.common import BENCH_SECRET_KEY, Figure, benchmark_main, imported_database, median, percentile
from benchmarks.slack_bench import SIGNING_SECRET
from benchmarks.slack_http import NOOP_PATH, served_elsewhere
from benchmarks.storage_bench import generate_csv
from bot.notifier import Notifier
from bot.settings import Settings
from bot.slack_client import slack_client
from storage.models import Membership, Notification, utcnow
from storage.unsubscribe import unsubscribe_token
from tests.fake_slack import FakeSlack

REQUESTS = 1_000
NOTIFICATIONS = 200


def post(connection: http.client.HTTPConnection, path: str) -> float:
    start = time.perf_counter()
    connection.request("POST", path, body=b"List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status
    return (time.perf_counter() - start) * 1000


def notification_delays(connection: http.client.HTTPConnection, worker: Notifier, fake: FakeSlack,
                        memberships: list[int]) -> list[float]:
    """For each membership, ms from its one-click POST to the fake Web API receiving the notification, the worker
    polling as it does inside `prospectbot serve`."""
    stop = threading.Event()
    thread = worker.start_in_background(stop)
    delays = []
    for mid in memberships:
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
    return delays


def run(kind: str, prospects: int, postgres_url: str, workdir: Path, csv_path: Path, prefixes: list[str]) -> list[Figure]:
    database, _ = imported_database(kind, workdir, postgres_url, "optout", csv_path)
    with database.snapshot() as session:
        memberships = list(session.scalars(select(Membership.id).order_by(Membership.id)
                                           .limit(REQUESTS + NOTIFICATIONS)))
    fake = FakeSlack().start()
    settings = Settings(database_url=database.url.render_as_string(hide_password=False), secret_key=BENCH_SECRET_KEY,
                        slack_bot_token="xoxb-bench", slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.api_url,
                        slack_notify_channel="C0BENCH")
    worker = Notifier(database, slack_client("xoxb-bench", fake.api_url, retries=False), default_channel="C0BENCH")
    # The server in a process of its own, as `prospectbot serve` runs it (benchmarks.slack_http): in this one its
    # threads waited for the interpreter lock while the client, the fake Web API and the notifier ran.
    with served_elsewhere(settings, workdir / "optout-server.log") as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        print(f"[{kind}] one-click POSTs …", file=sys.stderr, flush=True)
        noop = [post(connection, NOOP_PATH) for _ in range(REQUESTS)]
        clicks = [post(connection, f"/unsubscribe/{unsubscribe_token(BENCH_SECRET_KEY, mid)}")
                  for mid in memberships[:REQUESTS]]
        print(f"[{kind}] notification delivery …", file=sys.stderr, flush=True)
        with database.transaction() as session:  # the first thousand clicks' notifications are not this figure's
            session.execute(update(Notification).values(delivered_at=utcnow()))
        delays = notification_delays(connection, worker, fake, memberships[REQUESTS:])
        connection.close()
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
