"""Reply in the mailbox → do not contact committed → Slack told: the latency of the inbound-mail loop (issue 13).

Real parts, as in tests/test_inbox.py: Dovecot (tests/imap_server.py, installed with apt when missing), the
mailbox reader (bot/inbox.py) and the notification worker (bot/notifier.py) in threads as `prospectbot worker` runs
them, and the local fake of Slack's Web API. Each repeat APPENDs a reply saying "Please remove me from your list"
to an email the campaign sent, then times (a) until the do-not-contact row is committed and (b) until Slack was
asked to post the notification. Once with IDLE, once polling every --poll seconds.

The floor, measured in the same run: APPEND until a plain IMAP connection already in IDLE hears of the message
(EXISTS) — what the server itself takes to announce new mail, with no reading, parsing, matching or database.

Usage: python -m benchmarks.inbox_bench [--repeats 30] [--poll 2] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import dataclasses
import ssl
import tempfile
import threading
import time
from pathlib import Path

import imapclient
from sqlalchemy import select

from benchmarks.common import BENCH_SECRET_KEY, cpu_pressure, fresh_database, median, percentile
from bot.inbox import InboxReader
from bot.notifier import Notifier
from bot.settings import Settings
from bot.slack_client import slack_client
from storage.db import Database
from storage.models import DoNotContact
from storage.sending import record_activity
from tests import factories
from tests.fake_slack import FakeSlack
from tests.imap_server import ImapServer, start_imap_server
from tests.inbound_mail import reply

SALES = "sam@example.test"


def seed(database: Database, people: int) -> list[tuple[int, str, str]]:
    """(prospect id, address, Message-ID of the email they were sent) for `people` prospects in one campaign."""
    seeded = []
    with database.transaction() as session:
        campaign = factories.campaign(session, "Latency")
        for n in range(people):
            address = f"person{n}@acme.example"
            prospect = factories.prospect(session, address, campaign, first_name=f"P{n}")
            message_id = f"latency-{n}@acme-sales.example"
            record_activity(session, campaign, prospect, "sent", message_id=message_id)
            seeded.append((prospect, address, message_id))
    return seeded


def wait_for(condition, timeout: float = 30.0) -> float:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.005)
    return time.monotonic()


def measure_loop(server: ImapServer, database: Database, settings: Settings, people: list[tuple[int, str, str]],
                 *, use_idle: bool, fake: FakeSlack) -> tuple[list[float], list[float]]:
    folder = server.create_folder(SALES, prefix="bench")
    settings = dataclasses.replace(settings, mailboxes=(server.settings(SALES, folder=folder, name=folder),))
    stop = threading.Event()
    reader = InboxReader(settings, database, use_idle=use_idle)
    threads = reader.start_in_background(stop)
    notifier = Notifier(database, slack_client(settings.slack_bot_token, settings.slack_api_url, retries=False),
                        default_channel="C0BENCH")
    threads.append(notifier.start_in_background(stop))
    committed, notified = [], []
    time.sleep(1.0)  # connected, and waiting
    try:
        for prospect, address, message_id in people:
            posted_before = len(fake.calls_to("chat.postMessage"))
            raw = reply(address, "Please remove me from your list.", in_reply_to=message_id)
            started = time.monotonic()
            server.append(SALES, raw, folder)

            def is_marked(prospect: int = prospect) -> bool:
                with database.snapshot() as session:
                    return session.scalar(select(DoNotContact.prospect_id).where(
                        DoNotContact.prospect_id == prospect)) is not None

            committed.append(wait_for(is_marked) - started)
            notified.append(wait_for(lambda before=posted_before: len(fake.calls_to("chat.postMessage")) > before)
                            - started)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    return committed, notified


def measure_floor(server: ImapServer, repeats: int) -> list[float]:
    folder = server.create_folder(SALES, prefix="floor")
    client = imapclient.IMAPClient(server.host, server.port, ssl=True,
                                   ssl_context=ssl.create_default_context(cafile=server.ca_file), timeout=30)
    client.login(SALES, server.users[SALES])
    client.select_folder(folder)
    samples = []
    try:
        for n in range(repeats):
            client.idle()
            started = time.monotonic()
            server.append(SALES, reply(f"floor{n}@acme.example", "Please remove me."), folder)
            while not any(b"EXISTS" in response for response in client.idle_check(timeout=10)):
                pass
            samples.append(time.monotonic() - started)
            client.idle_done()
    finally:
        client.logout()
    return samples


def row(name: str, samples: list[float], floor: float, target: str) -> str:
    ms = [s * 1000 for s in samples]
    return (f"| {name} | {median(ms):,.0f} ms | {percentile(ms, 0.9):,.0f} ms | {min(ms):,.0f}–{max(ms):,.0f} ms | "
            f"{median(ms) / (floor * 1000):,.1f}× | {target} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--poll", type=float, default=2.0)
    parser.add_argument("--postgres-url", default="")
    args = parser.parse_args()
    print(f"CPU pressure before: {cpu_pressure()}")
    server = start_imap_server()
    fake = FakeSlack().start()
    try:
        rows = []
        floor = measure_floor(server, args.repeats)
        floor_median = median(floor)
        rows.append(row("floor: APPEND → EXISTS on an idling connection", floor, floor_median, "—"))
        kinds = ["sqlite"] + (["postgresql"] if args.postgres_url else [])
        for kind in kinds:
            with tempfile.TemporaryDirectory(prefix="prospectbot-inbox-bench-") as tmp:
                database = fresh_database(kind, Path(tmp), args.postgres_url, "inbox")
                people = seed(database, 2 * args.repeats)
                settings = Settings(database_url="", secret_key=BENCH_SECRET_KEY, slack_bot_token="xoxb-bench",
                                    slack_api_url=fake.api_url, slack_notify_channel="C0BENCH",
                                    imap_poll_seconds=args.poll)
                idle = measure_loop(server, database, settings, people[:args.repeats], use_idle=True, fake=fake)
                polled = measure_loop(server, database, settings, people[args.repeats:], use_idle=False, fake=fake)
                database.dispose()
            rows += [
                row(f"{kind}, IDLE: reply → do not contact committed", idle[0], floor_median, "—"),
                row(f"{kind}, IDLE: reply → Slack asked to post", idle[1], floor_median, "median ≤ 2 s"),
                row(f"{kind}, polling every {args.poll:g} s: reply → do not contact committed", polled[0],
                    floor_median, "—"),
                row(f"{kind}, polling every {args.poll:g} s: reply → Slack asked to post", polled[1], floor_median,
                    f"≤ {args.poll + 1:g} s"),
            ]
        print(f"CPU pressure after: {cpu_pressure()}")
        print(f"\n{args.repeats} replies each\n")
        print("| figure | median | p90 | min–max | ratio to floor | target |")
        print("|---|---:|---:|---:|---:|---|")
        print("\n".join(rows))
    finally:
        fake.stop()
        server.stop_dovecot()
        server.oauth.stop()


if __name__ == "__main__":
    main()
