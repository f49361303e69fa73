"""The notifications outbox: every Slack notification is written here, in the transaction of the change it
announces, then claimed by one worker at a time, delivered once, retried with backoff.

A worker claims due rows for a lease (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, so several workers on one
database never take the same row; SQLite writers are serialised anyway), posts them outside any transaction, then
records the outcome only if it still holds the claim.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from storage.audit import Actor
from storage.fast_insert import among, bulk_insert, chunked
from storage.models import Campaign, InboundMessage, Membership, Notification, Prospect, utcnow

# A notification that posts a reply's card (storage.reply_cards) rather than announcing an opt-out.
REPLY_CARD = "reply-card"
# Longer than any Slack call can take (the client times out after 10 s), so a claim never runs out mid-post.
LEASE_SECONDS = 60.0


# -- writing ------------------------------------------------------------------------------------------------


SUMMARY_ABOVE = 10  # more prospects than this in one change: one summary per channel, not a message each


def enqueue_opt_out_notifications(
    session: Session, prospect_ids: Sequence[int], *, reason: str, actor: Actor, campaign_id: int | None = None,
    inbound_message_id: int | None = None,
) -> None:
    """Outbox rows for these opt-outs, in the caller's transaction: one per prospect and notification channel,
    naming the campaigns that channel follows — or, for a bulk change, one summary per channel. `campaign_id`
    narrows it to one campaign: an unsubscribe link is clicked in one campaign's email. `inbound_message_id` is the
    reply that asked, whose deciding phrase the notification quotes."""
    if not prospect_ids:
        return
    if len(prospect_ids) > SUMMARY_ABOVE:
        rows = [_row(None, count, channel, campaigns, reason=reason, actor=actor)
                for channel, (count, campaigns) in _summary_by_channel(session, prospect_ids).items()]
    else:
        rows = [{**_row(pid, 1, channel, campaigns, reason=reason, actor=actor),
                 "inbound_message_id": inbound_message_id}
                for (pid, channel), campaigns in _campaigns_by_prospect_and_channel(session, prospect_ids,
                                                                                      campaign_id).items()]
    bulk_insert(session, Notification, rows)


def enqueue_summary(session: Session, *, prospect_count: int, campaign_id: int, reason: str, actor: Actor) -> None:
    """One message for a change of `prospect_count` prospects of one campaign, in that campaign's channel."""
    channel = session.scalar(select(Campaign.notify_channel).where(Campaign.id == campaign_id)) or ""
    bulk_insert(session, Notification,
                [_row(None, prospect_count, channel, [campaign_id], reason=reason, actor=actor)])


def _row(prospect_id: int | None, prospect_count: int, channel: str, campaign_ids: list[int], *, reason: str,
         actor: Actor) -> dict[str, Any]:
    now = utcnow()
    return {"created_at": now, "prospect_id": prospect_id, "prospect_count": prospect_count, "channel": channel,
            "campaign_ids": campaign_ids, "reason": reason, "via": actor.channel, "actor": actor.who, "attempts": 0,
            "next_attempt_at": now, "last_error": ""}


def _campaigns_by_prospect_and_channel(
    session: Session, prospect_ids: Sequence[int], campaign_id: int | None
) -> dict[tuple[int, str], list[int]]:
    statement = (
        select(Membership.prospect_id, Membership.campaign_id, Campaign.notify_channel)
        .join(Campaign, Campaign.id == Membership.campaign_id)
        .where(among(session, Membership.prospect_id, list(prospect_ids)))
        .order_by(Membership.prospect_id, Membership.campaign_id)
    )
    if campaign_id is not None:
        statement = statement.where(Membership.campaign_id == campaign_id)
    grouped: dict[tuple[int, str], list[int]] = {}
    for pid, cid, channel in session.execute(statement):
        grouped.setdefault((pid, channel), []).append(cid)
    announced = {pid for pid, _ in grouped}
    for pid in prospect_ids:
        if pid not in announced:
            grouped[(pid, "")] = []  # in no campaign: the default channel still hears of it
    return grouped


def _summary_by_channel(session: Session, prospect_ids: Sequence[int]) -> dict[str, tuple[int, list[int]]]:
    """{channel: (how many of the prospects are in its campaigns, those campaigns)}. Counted by the database, per
    chunk, from the index on memberships (prospect_id, campaign_id) alone: which campaigns the chunk's prospects are
    in, how many of them are in any, and only for a channel that follows some of those campaigns but not all, how
    many are in that channel's. Fetching every membership row to count them here was most of the time of a do not
    contact on 100,000 prospects."""
    channel_of: dict[int, str] = {cid: channel for cid, channel in session.execute(
        select(Campaign.id, Campaign.notify_channel))}
    counts: dict[str, int] = {}
    campaigns: dict[str, set[int]] = {}
    in_any_campaign = 0
    for ids in chunked(list(prospect_ids)):  # disjoint chunks: their counts add up exactly
        members, present = _members_and_campaigns(session, ids)
        if not present:
            continue
        in_any_campaign += members
        by_channel: dict[str, list[int]] = {}
        for cid in present:
            by_channel.setdefault(channel_of[cid], []).append(cid)
        for channel, cids in by_channel.items():
            campaigns.setdefault(channel, set()).update(cids)
            # A channel that follows every campaign the chunk's prospects are in hears of every one of them.
            counts[channel] = counts.get(channel, 0) + (
                members if len(cids) == len(present) else _members_among(session, ids, cids))
    outside = len(prospect_ids) - in_any_campaign
    if outside:
        counts[""] = counts.get("", 0) + outside
        campaigns.setdefault("", set())
    return {channel: (count, sorted(campaigns.get(channel, set()))) for channel, count in counts.items()}


def _members_and_campaigns(session: Session, prospect_ids: Sequence[int]) -> tuple[int, list[int]]:
    """How many of `prospect_ids` are in any campaign, and which campaigns: one read of their index range."""
    campaign = Membership.campaign_id.distinct()
    listed = (func.array_agg(campaign) if session.get_bind().dialect.name == "postgresql"
              else func.group_concat(campaign))
    members, campaigns = session.execute(select(func.count(Membership.prospect_id.distinct()), listed)
                                         .where(among(session, Membership.prospect_id, prospect_ids))).one()
    if isinstance(campaigns, str):  # SQLite's group_concat: "3,7,12"
        campaigns = [int(cid) for cid in campaigns.split(",")]
    return members or 0, list(campaigns or [])


def _members_among(session: Session, prospect_ids: Sequence[int], campaign_ids: list[int]) -> int:
    """How many of `prospect_ids` are in any of `campaign_ids`."""
    return session.scalar(select(func.count(Membership.prospect_id.distinct()))
                          .where(among(session, Membership.prospect_id, prospect_ids),
                                 Membership.campaign_id.in_(campaign_ids))) or 0


# -- delivering -----------------------------------------------------------------------------------------------


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
    inbound_message_id: int | None = None


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
    phrase: str = ""  # the words of a reply that asked to stop, quoted


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
    return [PendingNotification(row.id, row.prospect_id, row.prospect_count, row.channel,
                                list(row.campaign_ids or []), row.reason, row.via, row.actor, row.attempts,
                                row.created_at, row.inbound_message_id) for row in rows]


def notice_for(session: Session, pending: PendingNotification) -> OptOutNotice:
    prospect = session.get(Prospect, pending.prospect_id) if pending.prospect_id is not None else None
    names = list(session.scalars(select(Campaign.name).where(Campaign.id.in_(pending.campaign_ids))
                                 .order_by(Campaign.name))) if pending.campaign_ids else []
    full_name = f"{prospect.first_name} {prospect.last_name}".strip() if prospect else None
    phrase = (session.scalar(select(InboundMessage.phrase).where(InboundMessage.id == pending.inbound_message_id))
              if pending.inbound_message_id is not None else None)
    return OptOutNotice(pending.prospect_id, pending.prospect_count, full_name, prospect.email if prospect else None,
                        names, pending.reason, pending.via, pending.actor, pending.created_at, phrase or "")


def mark_delivered(session: Session, notification_id: int, worker_id: str, *, slack_ts: str | None,
                   note: str = "") -> bool:
    """Records the delivery if this worker still holds the claim; False if it lost it (lease ran out)."""
    delivered = session.scalars(
        update(Notification)
        .where(Notification.id == notification_id, Notification.claimed_by == worker_id,
               Notification.delivered_at.is_(None))
        .values(delivered_at=utcnow(), slack_ts=slack_ts, claimed_until=None, last_error=note)
        .returning(Notification.id)
    ).all()
    return len(delivered) == 1


def mark_failed(session: Session, notification_id: int, worker_id: str, *, error: str, retry_in: float) -> None:
    session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.claimed_by == worker_id,
               Notification.delivered_at.is_(None))
        .values(attempts=Notification.attempts + 1, claimed_by=None, claimed_until=None, last_error=error[:1000],
                next_attempt_at=utcnow() + dt.timedelta(seconds=retry_in))
    )
