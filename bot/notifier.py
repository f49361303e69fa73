"""The worker that delivers the notifications outbox to Slack, edits the bot's messages that name prospects
deleted since, and expires old bulk requests. It runs inside `prospectbot run` and `prospectbot serve`, or alone as
`prospectbot worker`; any number may run against one database."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.web import forget_old_requests
from handlers.blocks import Block
from handlers.decision_announcer import announce_decision
from handlers.notifications.views import build_opt_out_message
from handlers.redaction import redacted_message
from handlers.replies.views import reply_card_message
from storage import bulk_requests, outbox, reply_cards, slack_messages
from storage.db import Database
from storage.errors import DatabaseUnavailable, NotFound

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2
EXPIRY_SWEEP_SECONDS = 60.0
MAX_BACKOFF_SECONDS = 300.0
# Slack errors that no retry will fix: the message is dropped with the reason recorded, not retried forever.
PERMANENT_ERRORS = {"channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive",
                    "missing_scope", "restricted_action"}
# Editing a message Slack no longer has, or will never let the bot edit: nothing is left to redact, and the reason
# is recorded. Anything else (a revoked token included) is retried: the person's name is still on show.
MESSAGE_GONE_ERRORS = {"message_not_found", "channel_not_found", "cant_update_message", "edit_window_closed",
                       "is_archived", "is_inactive"}


def backoff(attempts: int, base: float = 1.0) -> float:
    return min(MAX_BACKOFF_SECONDS, base * 2.0 ** attempts)


@dataclass(frozen=True)
class _Posted:
    """A notification Slack accepted, as the outbox and the record of messages naming prospects need it."""

    notification_id: int
    slack_ts: str | None
    channel: str
    named: int | None  # the prospect whose name and address it shows, if it shows them
    card: int | None = None  # the reply whose card it is


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
        self._unrecorded: list[_Posted] = []

    def deliver_due(self) -> int:
        """Delivers what is due now; returns how many were posted."""
        while self._unrecorded:
            if not self._record_delivery(self._unrecorded[0]):
                log.warning("notification %s was delivered after its claim ran out",
                            self._unrecorded[0].notification_id)
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
            rendered = self._render(session, pending)
        if rendered is None:
            with self.database.transaction() as session:
                outbox.mark_delivered(session, pending.id, self.worker_id, slack_ts=None,
                                      note="not posted: the reply was decided, or its prospect deleted, first")
            return 0
        text, blocks, named = rendered
        try:
            response = self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        except SlackApiError as error:
            code = _error_code(error)
            if code in PERMANENT_ERRORS:
                with self.database.transaction() as session:
                    outbox.mark_delivered(session, pending.id, self.worker_id, slack_ts=None,
                                          note=f"not posted: {code}")
                log.warning("notification %s dropped: Slack said %s for channel %s", pending.id, code, channel)
                return 0
            self._failed(pending, *self._retry(error, pending.attempts))
            return 0
        except Exception as error:  # noqa: BLE001 - network down, timeouts: retried from the outbox
            self._failed(pending, *self._retry(error, pending.attempts))
            return 0
        posted = _Posted(pending.id, response.get("ts"), response.get("channel") or channel, named,
                         pending.inbound_message_id if pending.reason == outbox.REPLY_CARD else None)
        try:
            kept = self._record_delivery(posted)
        except DatabaseUnavailable:
            self._unrecorded.append(posted)
            raise
        if not kept:
            log.warning("notification %s was delivered after its claim ran out", pending.id)
        return 1

    @staticmethod
    def _render(session: Session, pending: outbox.PendingNotification) -> tuple[str, list[Block], int | None] | None:
        """(fallback text, blocks, the prospect it names if any); None for a reply card no longer needed."""
        if pending.reason == outbox.REPLY_CARD and pending.inbound_message_id is not None:
            try:
                card = reply_cards.reply_card(session, pending.inbound_message_id)
            except NotFound:
                return None
            if card.status != "open" or card.email is None:
                return None
            return (*reply_card_message(card), card.prospect_id)
        notice = outbox.notice_for(session, pending)
        return (*build_opt_out_message(notice), pending.prospect_id if notice.email is not None else None)

    def _record_delivery(self, posted: _Posted) -> bool:
        """The delivery, and the message as naming its prospect: deleting them later edits it. False if this
        worker had lost the claim (its lease ran out)."""
        with self.database.transaction() as session:
            kept = outbox.mark_delivered(session, posted.notification_id, self.worker_id, slack_ts=posted.slack_ts)
            if posted.card is not None and posted.slack_ts:
                reply_cards.record_card_posted(session, posted.card, channel=posted.channel, ts=posted.slack_ts)
            elif posted.named is not None and posted.slack_ts:
                slack_messages.record_message(session, channel=posted.channel, ts=posted.slack_ts,
                                              kind=slack_messages.NOTIFICATION, prospect_ids=[posted.named],
                                              subject_id=posted.notification_id)
        return kept

    def redact_due(self) -> int:
        """Edits the messages that name prospects deleted since, so that they no longer show them; returns how
        many were edited. Any number of workers may run this: a message edited twice reads the same."""
        with self.database.snapshot() as session:
            if not slack_messages.any_due(session):
                return 0
        with self.database.transaction() as session:
            claimed = slack_messages.claim_due(session, self.worker_id, lease=self.lease)
        edited = 0
        for index, pending in enumerate(claimed):
            done, wait = self._redact(pending)
            edited += done
            if wait is not None:  # Slack asked to wait: the rest of the batch waits too, untried
                with self.database.transaction() as session:
                    for later in claimed[index + 1:]:
                        slack_messages.mark_failed(session, later, self.worker_id, error="waiting for Slack's "
                                                   "rate limit", retry_in=wait, attempted=False)
                break
        return edited

    def _redact(self, pending: slack_messages.PendingRedaction) -> tuple[int, float | None]:
        """(1 if the message was edited, else 0; how long Slack asked to wait, when it did)."""
        channel = pending.channel or self.default_channel
        if not channel:
            with self.database.transaction() as session:
                slack_messages.mark_redacted(session, pending, self.worker_id,
                                             outcome="not edited: no notification channel is set")
            return 0, None
        with self.database.snapshot() as session:
            content = slack_messages.redacted_content(session, pending)
        text, blocks = redacted_message(content)
        try:
            self.client.chat_update(channel=channel, ts=pending.ts, text=text, blocks=blocks)
        except Exception as error:  # noqa: BLE001 - Slack's refusals, network down, timeouts
            code = _error_code(error)
            if code in MESSAGE_GONE_ERRORS:
                with self.database.transaction() as session:
                    slack_messages.mark_redacted(session, pending, self.worker_id, outcome=f"not edited: {code}")
                log.info("message %s in %s not redacted: Slack said %s", pending.ts, channel, code)
                return 0, None
            error_text, retry_in = self._retry(error, pending.attempts)
            log.info("message %s in %s not redacted yet (%s); retrying in %.0f s", pending.ts, channel, error_text,
                     retry_in)
            with self.database.transaction() as session:
                slack_messages.mark_failed(session, pending, self.worker_id, error=error_text, retry_in=retry_in)
            return 0, retry_in if _status(error) == 429 else None
        with self.database.transaction() as session:
            slack_messages.mark_redacted(session, pending, self.worker_id)
            if content.request is not None:
                # The request's next prospect took the deleted one's place in the sample: the message names them now.
                slack_messages.record_message(session, channel=pending.channel, ts=pending.ts,
                                              kind=slack_messages.BULK_REQUEST, subject_id=content.request.id,
                                              prospect_ids=[shown.id for shown in content.request.sample])
        return 1, None

    def expire_requests(self) -> int:
        """Marks bulk requests past their expiry as expired, updates their approval messages and tells the
        requesters. Any number of workers may sweep at once: each request is expired by one of them."""
        with self.database.transaction() as session:
            expired = bulk_requests.expire_due(session)
        for request in expired:
            announce_decision(self.client, request, self.database)
        return len(expired)

    def _retry(self, error: Exception, attempts: int) -> tuple[str, float]:
        """(what went wrong, in words; seconds to wait before the next attempt): Slack's Retry-After on a 429,
        else exponential backoff."""
        retry_in = backoff(attempts, self.retry_base)
        if not isinstance(error, SlackApiError):
            return f"{type(error).__name__}: {error}", retry_in
        status = _status(error)
        if status == 429 and error.response is not None:
            retry_in = float(error.response.headers.get("Retry-After", retry_in) or retry_in)
        return f"Slack answered {status} {_error_code(error)}".strip(), retry_in

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
                busy = self.deliver_due() + self.redact_due()
            except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker
                log.warning("notification worker could not reach the database; retrying", exc_info=True)
                busy = 0
            if not busy:
                stop.wait(interval)

    def start_in_background(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name="notifier", daemon=True)
        thread.start()
        return thread


def _error_code(error: Exception) -> str:
    """Slack's error code ("message_not_found"), or "" for an error that did not come from Slack."""
    if isinstance(error, SlackApiError) and error.response is not None:
        return str(error.response.get("error", "") or "")
    return ""


def _status(error: Exception) -> int:
    if isinstance(error, SlackApiError) and error.response is not None:
        return int(error.response.status_code)
    return 0
