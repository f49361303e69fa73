"""The notifications outbox: claimed by one worker at a time, delivered once, retried with backoff.

A worker claims due rows for a lease (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, so several workers on one
database never take the same row; SQLite writers are serialised anyway), posts them outside any transaction, then
records the outcome only if it still holds the claim.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.models import Campaign, Notification, Prospect, utcnow

# Longer than any Slack call can take (the client times out after 10 s), so a claim never runs out mid-post.
LEASE_SECONDS = 60.0


@dataclass(frozen=True)
class PendingNotification:
    id: int
    prospect_id: int | None
    prospect_count: int
    channel: str
    campaign_ids: list[int]
    reason: str
    via: str
    actor: str
    attempts: int
    created_at: dt.datetime


@dataclass(frozen=True)
class OptOutNotice:
    """What a notification says, read at delivery time."""

    prospect_id: int | None
    prospect_count: int
    name: str | None  # None when the prospect was deleted before delivery, and for summaries
    email: str | None
    campaign_names: list[str]
    reason: str
    via: str
    actor: str
    at: dt.datetime


def claim_due(session: Session, worker_id: str, *, limit: int = 20,
              lease: float = LEASE_SECONDS) -> list[PendingNotification]:
    """Claims due rows for `lease` seconds. Rows this worker already holds count as due: a batch it could not
    finish (the database went away) is taken up again at once, not after the lease."""
    now = utcnow()
    statement = (
        select(Notification)
        .where(Notification.delivered_at.is_(None), Notification.next_attempt_at <= now,
               or_(Notification.claimed_until.is_(None), Notification.claimed_until < now,
                   Notification.claimed_by == worker_id))
        .order_by(Notification.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    rows = session.scalars(statement).all()
    if not rows:
        return []
    session.execute(
        update(Notification).where(Notification.id.in_([row.id for row in rows]))
        .values(claimed_by=worker_id, claimed_until=now + dt.timedelta(seconds=lease))
    )
    return [PendingNotification(row.id, row.prospect_id, row.prospect_count, row.channel, list(row.campaign_ids or []), row.reason,
                                row.via, row.actor, row.attempts, row.created_at) for row in rows]


def notice_for(session: Session, pending: PendingNotification) -> OptOutNotice:
    prospect = session.get(Prospect, pending.prospect_id) if pending.prospect_id is not None else None
    names = list(session.scalars(select(Campaign.name).where(Campaign.id.in_(pending.campaign_ids))
                                 .order_by(Campaign.name))) if pending.campaign_ids else []
    full_name = f"{prospect.first_name} {prospect.last_name}".strip() if prospect else None
    return OptOutNotice(pending.prospect_id, pending.prospect_count, full_name, prospect.email if prospect else None, names, pending.reason,
                        pending.via, pending.actor, pending.created_at)


def mark_delivered(session: Session, notification_id: int, worker_id: str, *, slack_ts: str | None,
                   note: str = "") -> bool:
    """Records the delivery if this worker still holds the claim; False if it lost it (lease ran out)."""
    result = session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.claimed_by == worker_id,
               Notification.delivered_at.is_(None))
        .values(delivered_at=utcnow(), slack_ts=slack_ts, claimed_until=None, last_error=note)
    )
    return result.rowcount == 1


def mark_failed(session: Session, notification_id: int, worker_id: str, *, error: str, retry_in: float) -> None:
    session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.claimed_by == worker_id,
               Notification.delivered_at.is_(None))
        .values(attempts=Notification.attempts + 1, claimed_by=None, claimed_until=None, last_error=error[:1000],
                next_attempt_at=utcnow() + dt.timedelta(seconds=retry_in))
    )
