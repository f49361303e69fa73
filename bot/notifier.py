"""The worker that delivers the notifications outbox to Slack. It runs inside `prospectbot run` and
`prospectbot serve`, or alone as `prospectbot worker`; any number may run against one database."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.web import forget_old_requests
from handlers.decision_announcer import announce_decision
from handlers.notifications.views import build_opt_out_message
from storage import bulk_requests, outbox
from storage.db import Database
from storage.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2
EXPIRY_SWEEP_SECONDS = 60.0
MAX_BACKOFF_SECONDS = 300.0
# Slack errors that no retry will fix: the message is dropped with the reason recorded, not retried forever.
PERMANENT_ERRORS = {"channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive",
                    "missing_scope", "restricted_action"}


def backoff(attempts: int, base: float = 1.0) -> float:
    return min(MAX_BACKOFF_SECONDS, base * 2.0 ** attempts)


class Notifier:
    """`client`: one without retries (`slack_client(token, url, retries=False)`): a post retried on the spot after a
    dropped connection could reach the channel twice, and a 429 or an outage is recorded and retried from the
    outbox, not slept on here."""

    def __init__(self, database: Database, client: WebClient, *, default_channel: str, retry_base: float = 1.0,
                 lease: float = outbox.LEASE_SECONDS) -> None:
        self.database = database
        self.retry_base = retry_base
        self.lease = lease
        self.client = client
        self.default_channel = default_channel
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # Posts Slack accepted while the database was away, so that they could not be recorded: recorded before
        # anything is claimed again, or they would be posted twice once their claim runs out.
        self._unrecorded: list[tuple[int, str | None]] = []

    def deliver_due(self) -> int:
        """Delivers what is due now; returns how many were posted."""
        while self._unrecorded:
            notification_id, slack_ts = self._unrecorded[0]
            with self.database.transaction() as session:
                if not outbox.mark_delivered(session, notification_id, self.worker_id, slack_ts=slack_ts):
                    log.warning("notification %s was delivered after its claim ran out", notification_id)
            self._unrecorded.pop(0)
        with self.database.transaction() as session:
            claimed = outbox.claim_due(session, self.worker_id, lease=self.lease)
        posted = 0
        for pending in claimed:
            posted += self._deliver(pending)
        return posted

    def _deliver(self, pending: outbox.PendingNotification) -> int:
        channel = pending.channel or self.default_channel
        if not channel:
            with self.database.transaction() as session:
                outbox.mark_delivered(session, pending.id, self.worker_id, slack_ts=None,
                                      note="not posted: no notification channel (set SLACK_NOTIFY_CHANNEL)")
            return 0
        with self.database.snapshot() as session:
            notice = outbox.notice_for(session, pending)
        text, blocks = build_opt_out_message(notice)
        try:
            response = self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        except SlackApiError as error:
            code = error.response.get("error", "") if error.response is not None else ""
            status = error.response.status_code if error.response is not None else 0
            if code in PERMANENT_ERRORS:
                with self.database.transaction() as session:
                    outbox.mark_delivered(session, pending.id, self.worker_id, slack_ts=None,
                                          note=f"not posted: {code}")
                log.warning("notification %s dropped: Slack said %s for channel %s", pending.id, code, channel)
                return 0
            retry_in = backoff(pending.attempts, self.retry_base)
            if status == 429:
                retry_in = float(error.response.headers.get("Retry-After", retry_in) or retry_in)
            self._failed(pending, f"Slack answered {status} {code}".strip(), retry_in)
            return 0
        except Exception as error:  # noqa: BLE001 - network down, timeouts: retried from the outbox
            self._failed(pending, f"{type(error).__name__}: {error}", backoff(pending.attempts, self.retry_base))
            return 0
        try:
            with self.database.transaction() as session:
                kept = outbox.mark_delivered(session, pending.id, self.worker_id, slack_ts=response.get("ts"))
        except DatabaseUnavailable:
            self._unrecorded.append((pending.id, response.get("ts")))
            raise
        if not kept:
            log.warning("notification %s was delivered after its claim ran out", pending.id)
        return 1

    def expire_requests(self) -> int:
        """Marks bulk requests past their expiry as expired, updates their approval messages and tells the
        requesters. Any number of workers may sweep at once: each request is expired by one of them."""
        with self.database.transaction() as session:
            expired = bulk_requests.expire_due(session)
        for request in expired:
            announce_decision(self.client, request)
        return len(expired)

    def _failed(self, pending: outbox.PendingNotification, error: str, retry_in: float) -> None:
        log.info("notification %s not delivered (%s); retrying in %.0f s", pending.id, error, retry_in)
        with self.database.transaction() as session:
            outbox.mark_failed(session, pending.id, self.worker_id, error=error, retry_in=retry_in)

    def run(self, stop: threading.Event, *, interval: float = POLL_SECONDS,
            expiry_every: float = EXPIRY_SWEEP_SECONDS) -> None:
        next_sweep = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() >= next_sweep:
                    self.expire_requests()
                    forget_old_requests(self.database)
                    next_sweep = time.monotonic() + expiry_every
                busy = self.deliver_due()
            except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker
                log.warning("notification worker could not reach the database; retrying", exc_info=True)
                busy = 0
            if not busy:
                stop.wait(interval)

    def start_in_background(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name="notifier", daemon=True)
        thread.start()
        return thread
