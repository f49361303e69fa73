"""Which of the bot's Slack messages name which prospect, and redacting them once the prospect is deleted.

Whatever posts a message that names someone records it here: the conversation and ts Slack answered with, the
prospect's id, and the kind of message. Deleting the prospect marks those rows due in the delete's own
transaction; the worker then edits each message so that it no longer shows them, retrying with backoff, and marks
it done. Claims work as in the notifications outbox (storage/outbox.py). The rows hold ids: never an address or a
name.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.bulk_requests import RequestView, request_view
from storage.errors import NotFound
from storage.fast_insert import insert_ignoring_duplicates
from storage.models import Notification, SlackMessage, utcnow
from storage.outbox import LEASE_SECONDS, OptOutNotice, PendingNotification, notice_for
from storage.prospects import lock_existing

# A direct message confirming a save, an opt-out notification, a bulk request's approval message.
CONFIRMATION, NOTIFICATION, BULK_REQUEST, REPLY_CARD = "confirmation", "notification", "bulk-request", "reply-card"


# -- recording --------------------------------------------------------------------------------------------------


def record_message(session: Session, *, channel: str, ts: str, kind: str, prospect_ids: Sequence[int],
                   subject_id: int | None = None) -> None:
    """The message at (channel, ts) names these prospects; `subject_id` is the notification or bulk request it
    shows. Someone deleted since the message was rendered is redacted from it at once: their delete could not
    know of it. The others are kept from being deleted until the caller commits (a PostgreSQL row lock; SQLite
    writers take turns), so a delete either sees these rows or happened before, and is caught here."""
    ids = list(dict.fromkeys(prospect_ids))
    if not ts or not ids:
        return
    alive = lock_existing(session, ids)
    now = utcnow()
    insert_ignoring_duplicates(session, SlackMessage, [
        {"channel": channel, "ts": ts, "prospect_id": pid, "kind": kind, "subject_id": subject_id, "posted_at": now,
         "attempts": 0, "outcome": ""} for pid in ids])
    gone = [pid for pid in ids if pid not in alive]
    if gone:
        session.execute(
            update(SlackMessage)
            .where(SlackMessage.channel == channel, SlackMessage.ts == ts, SlackMessage.prospect_id.in_(gone),
                   SlackMessage.next_attempt_at.is_(None))
            .values(redaction_requested_at=now, next_attempt_at=now, redaction_done_at=None, outcome="")
        )


def request_redaction(session: Session, prospect_id: int) -> None:
    """Every recorded message naming the prospect is to be edited without them: in the delete's transaction."""
    now = utcnow()
    session.execute(
        update(SlackMessage)
        .where(SlackMessage.prospect_id == prospect_id, SlackMessage.next_attempt_at.is_(None),
               SlackMessage.redaction_done_at.is_(None))
        .values(redaction_requested_at=now, next_attempt_at=now)
    )


# -- redacting ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingRedaction:
    """One message to edit, and its rows due (one per deleted prospect it named): one edit settles them all."""

    row_ids: tuple[int, ...]
    channel: str
    ts: str
    kind: str
    subject_id: int | None
    attempts: int


@dataclass(frozen=True)
class RedactedContent:
    """What the message shows without the deleted: a notification's notice, with no name or address in it; a
    bulk request as it is now, whose sample leaves out the deleted; or neither, and it becomes a sentence."""

    kind: str
    notice: OptOutNotice | None = None
    request: RequestView | None = None


def any_due(session: Session) -> bool:
    """Whether a redaction waits: a read, which an idle worker's poll can afford where a claim's write lock is not
    worth taking."""
    return session.scalar(select(SlackMessage.id).where(SlackMessage.next_attempt_at <= utcnow()).limit(1)) is not None


def claim_due(session: Session, worker_id: str, *, limit: int = 20,
              lease: float = LEASE_SECONDS) -> list[PendingRedaction]:
    """Claims due rows for `lease` seconds, grouped by message. Rows this worker already holds count as due."""
    now = utcnow()
    statement = (
        select(SlackMessage)
        .where(SlackMessage.next_attempt_at <= now,
               or_(SlackMessage.claimed_until.is_(None), SlackMessage.claimed_until < now,
                   SlackMessage.claimed_by == worker_id))
        .order_by(SlackMessage.next_attempt_at, SlackMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    rows = session.scalars(statement).all()
    if not rows:
        return []
    session.execute(
        update(SlackMessage).where(SlackMessage.id.in_([row.id for row in rows]))
        .values(claimed_by=worker_id, claimed_until=now + dt.timedelta(seconds=lease))
    )
    messages: dict[tuple[str, str], list[SlackMessage]] = {}
    for row in rows:
        messages.setdefault((row.channel, row.ts), []).append(row)
    return [PendingRedaction(tuple(row.id for row in group), channel, ts, group[0].kind, group[0].subject_id,
                             max(row.attempts for row in group)) for (channel, ts), group in messages.items()]


def redacted_content(session: Session, pending: PendingRedaction) -> RedactedContent:
    if pending.subject_id is not None and pending.kind == NOTIFICATION:
        row = session.get(Notification, pending.subject_id)
        if row is not None:
            notice = notice_for(session, PendingNotification(
                row.id, row.prospect_id, row.prospect_count, row.channel, list(row.campaign_ids or []), row.reason,
                row.via, row.actor, row.attempts, row.created_at))
            # The prospect is gone, so these are None already; said here too, as what a redaction means.
            return RedactedContent(pending.kind, notice=dataclasses.replace(notice, name=None, email=None))
    if pending.subject_id is not None and pending.kind == BULK_REQUEST:
        try:
            return RedactedContent(pending.kind, request=request_view(session, pending.subject_id))
        except NotFound:
            pass  # its campaign was removed: a sentence will do
    return RedactedContent(pending.kind)


def mark_redacted(session: Session, pending: PendingRedaction, worker_id: str, *, outcome: str = "") -> bool:
    """Settles the message's rows if this worker still holds them; `outcome` says why it was not edited, if it
    was not. False if the claim was lost (its lease ran out): another worker edits it again, which is harmless."""
    done = session.scalars(
        update(SlackMessage)
        .where(SlackMessage.id.in_(pending.row_ids), SlackMessage.claimed_by == worker_id,
               SlackMessage.next_attempt_at.is_not(None))
        .values(redaction_done_at=utcnow(), next_attempt_at=None, claimed_by=None, claimed_until=None,
                outcome=outcome[:1000])
        .returning(SlackMessage.id)
    ).all()
    return len(done) > 0


def mark_failed(session: Session, pending: PendingRedaction, worker_id: str, *, error: str, retry_in: float,
                attempted: bool = True) -> None:
    """Tries again in `retry_in` seconds. `attempted=False` puts off a message not tried at all (Slack asked to
    wait), without counting an attempt."""
    session.execute(
        update(SlackMessage)
        .where(SlackMessage.id.in_(pending.row_ids), SlackMessage.claimed_by == worker_id,
               SlackMessage.next_attempt_at.is_not(None))
        .values(attempts=SlackMessage.attempts + (1 if attempted else 0), claimed_by=None, claimed_until=None,
                outcome=error[:1000], next_attempt_at=utcnow() + dt.timedelta(seconds=retry_in))
    )
