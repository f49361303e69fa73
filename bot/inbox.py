"""Reading the team's mailboxes: replies, bounces and mailto: unsubscribes, each acted on once.

One thread per configured mailbox (IMAP_MAILBOXES) holds the mailbox's lease in the database, reads every message
after the last UID it processed, hands each to storage.inbound in its own transaction (the cursor moves in that
same transaction), then flags the batch as processed on the server — never deleting, moving or marking anyone's
mail as read. Then it waits: IDLE where the server offers it, else IMAP_POLL_SECONDS. Any number of workers may
run: a mailbox is read by whichever holds its lease, and a worker that dies mid-batch leaves the rest for the next.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from email.utils import parseaddr

from bot.imap import FetchedMessage, Mailbox, MailboxError, open_mailbox
from bot.imap_settings import MailboxSettings
from bot.settings import Settings
from storage import inbound
from storage.db import Database
from storage.errors import DatabaseUnavailable
from storage.mail_reading import read_mail
from storage.reply_intent import classify_reply

log = logging.getLogger(__name__)

BATCH = 50
MAX_MESSAGE_BYTES = 1 << 20  # a reply's text is at the start; attachments after it are never needed
RECONNECT_SECONDS = (1.0, 5.0, 15.0, 60.0)


class InboxReader:
    def __init__(self, settings: Settings, database: Database, *, poll_seconds: float | None = None,
                 lease: float = inbound.LEASE_SECONDS, use_idle: bool = True,
                 on_processed: Callable[[str, inbound.Processed], None] | None = None) -> None:
        self.settings = settings
        self.database = database
        self.poll_seconds = poll_seconds if poll_seconds is not None else settings.imap_poll_seconds
        self.lease = lease
        self.use_idle = use_idle  # off: poll every poll_seconds even where the server offers IDLE
        self.on_processed = on_processed
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        own = [parseaddr(settings.mail_from)[1], settings.unsubscribe_mailbox,
               *(box.username for box in settings.mailboxes if "@" in box.username)]
        self.own_addresses = inbound.own_address_keys([address for address in own if address])

    # -- one pass, for `prospectbot inbox --once` and tests ---------------------------------------------------

    def read_all_once(self) -> Counter[str]:
        """Reads every configured mailbox once, to the end; returns the outcomes counted."""
        for mailbox in self.settings.mailboxes:
            try:
                with open_mailbox(mailbox) as connection:
                    self._read_new(mailbox, connection)
            except MailboxError as error:
                self._count("mailbox-error")
                self._record_error(mailbox, str(error))
                log.warning("mailbox %s: %s", mailbox.name, error)
        with self._counts_lock:
            return Counter(self.counts)

    # -- forever, beside the listeners ------------------------------------------------------------------------

    def start_in_background(self, stop: threading.Event) -> list[threading.Thread]:
        threads = []
        for mailbox in self.settings.mailboxes:
            thread = threading.Thread(target=self.run, args=(mailbox, stop), name=f"inbox-{mailbox.name}",
                                      daemon=True)
            thread.start()
            threads.append(thread)
        return threads

    def run(self, mailbox: MailboxSettings, stop: threading.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                with open_mailbox(mailbox, use_idle=self.use_idle) as connection:
                    failures = 0
                    mode = "IDLE" if connection.supports_idle() else f"polling every {self.poll_seconds:.0f} s"
                    log.info("mailbox %s: reading (%s)", mailbox.name, mode)
                    while not stop.is_set():
                        if self._read_new(mailbox, connection) is None:  # another worker holds it
                            stop.wait(min(self.poll_seconds, self.lease / 2))
                            continue
                        connection.wait_for_mail(min(self.poll_seconds, self.lease / 3))
            except MailboxError as error:
                self._count("mailbox-error")
                self._record_error(mailbox, str(error))
                wait = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                failures += 1
                log.warning("mailbox %s: %s; trying again in %.0f s", mailbox.name, error, wait)
                stop.wait(wait)
            except DatabaseUnavailable as error:
                log.warning("mailbox %s: %s; trying again in 5 s", mailbox.name, error)
                stop.wait(5.0)
            except Exception:  # noqa: BLE001 - a bug must not end the thread: the next message may be fine
                log.exception("mailbox %s: unexpected error; trying again in 30 s", mailbox.name)
                stop.wait(30.0)
        self._release(mailbox)

    # -- reading ----------------------------------------------------------------------------------------------

    def _read_new(self, mailbox: MailboxSettings, connection: Mailbox) -> int | None:
        """Processes every message after the cursor; None when another worker holds the mailbox."""
        with self.database.transaction() as session:
            cursor = inbound.claim_mailbox(session, mailbox.name, self.worker_id, lease=self.lease)
            if cursor is None:
                return None
            cursor = inbound.start_over_if_renumbered(session, cursor, connection.uidvalidity)
        context = inbound.MailboxContext(mailbox.name, connection.uidvalidity, self.worker_id,
                                         self.settings.secret_key, self.own_addresses,
                                         self.settings.unsubscribe_mailbox or None)
        done = 0
        last = cursor.last_uid
        while True:
            batch: Sequence[FetchedMessage] = connection.fetch_after(last, limit=BATCH, max_bytes=MAX_MESSAGE_BYTES)
            if not batch:
                return done
            processed = []
            for message in batch:
                try:
                    self._process(mailbox, context, message)
                except inbound.LeaseLost:
                    log.info("mailbox %s: another worker took over", mailbox.name)
                    return done
                processed.append(message.uid)
                last = max(last, message.uid)
            connection.mark_processed(processed)
            done += len(processed)

    def _process(self, mailbox: MailboxSettings, context: inbound.MailboxContext, message: FetchedMessage) -> None:
        mail = read_mail(message.raw)
        intent = classify_reply(mail.new_text, mail.subject) if mail.kind == "reply" else None
        with self.database.transaction() as session:
            result = inbound.process_message(session, context, message.uid, mail, intent)
        self._count(result.outcome)
        log.info("mailbox %s: message %d, %s matched by %s: %s%s", mailbox.name, message.uid, result.kind,
                 result.matched_by, result.outcome, f' ("{result.phrase}")' if result.phrase else "")
        if self.on_processed is not None:
            self.on_processed(mailbox.name, result)

    def _count(self, outcome: str) -> None:
        with self._counts_lock:
            self.counts[outcome] += 1

    def _record_error(self, mailbox: MailboxSettings, error: str) -> None:
        try:
            with self.database.transaction() as session:
                inbound.claim_mailbox(session, mailbox.name, self.worker_id, lease=0)  # the row, if new
                inbound.record_mailbox_error(session, mailbox.name, error)
        except Exception:  # noqa: BLE001 - the log line above already says what went wrong
            log.debug("could not record the error of mailbox %s", mailbox.name, exc_info=True)

    def _release(self, mailbox: MailboxSettings) -> None:
        try:
            with self.database.transaction() as session:
                inbound.release_mailbox(session, mailbox.name, self.worker_id)
        except Exception:  # noqa: BLE001 - the lease runs out by itself
            log.debug("could not release mailbox %s", mailbox.name, exc_info=True)
