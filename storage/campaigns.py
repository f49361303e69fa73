"""Campaigns: finding and creating them, their settings (notification channel, message template), their
members and how many may be emailed now."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from storage.audit import Actor, record_audit
from storage.errors import CampaignNotFound, InvalidInput, NotFound
from storage.fast_insert import insert_ignoring_duplicates
from storage.keys import KEY_CEILING, search_key
from storage.models import Campaign, DoNotContact, Membership, utcnow

MAX_NAME_CHARS = 200
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,20}$")


def campaign_key(name: str) -> str:
    return search_key(name)


def find_campaign(session: Session, name: str) -> Campaign:
    campaign = session.scalar(select(Campaign).where(Campaign.name_key == campaign_key(name)))
    if campaign is None:
        raise CampaignNotFound(name)
    return campaign


def get_or_create_campaign(session: Session, name: str, actor: Actor) -> Campaign:
    clean = " ".join(name.split())
    if not clean:
        raise InvalidInput("A campaign needs a name.")
    if len(clean) > MAX_NAME_CHARS:
        raise InvalidInput(f"A campaign name can be at most {MAX_NAME_CHARS} characters long.")
    key = campaign_key(clean)
    inserted = insert_ignoring_duplicates(
        session, Campaign, [{"name": clean, "name_key": key, "created_at": utcnow()}], Campaign.id
    )
    campaign = session.scalars(select(Campaign).where(Campaign.name_key == key)).one()
    if inserted:
        record_audit(session, actor, "campaign.create", campaign_id=campaign.id)
    return campaign


def search_campaigns(session: Session, query: str, *, limit: int = 50) -> list[tuple[int, str]]:
    """(id, name) of campaigns whose name starts with `query`, by name: the campaign type-ahead."""
    if "\x00" in query:
        return []  # no name holds a NUL (PostgreSQL refuses them): none starts with this
    prefix = campaign_key(query)
    statement = select(Campaign.id, Campaign.name).order_by(Campaign.name_key).limit(limit)
    if prefix:
        statement = statement.where(Campaign.name_key >= prefix, Campaign.name_key < prefix + KEY_CEILING)
    return [(cid, name) for cid, name in session.execute(statement)]


@dataclass(frozen=True)
class CampaignSettings:
    id: int
    name: str
    notify_channel: str


def campaign_settings(session: Session, campaign_id: int) -> CampaignSettings:
    row = session.execute(select(Campaign.id, Campaign.name, Campaign.notify_channel)
                          .where(Campaign.id == campaign_id)).first()
    if row is None:
        raise NotFound("This campaign no longer exists.")
    return CampaignSettings(*row)


def is_member(session: Session, prospect_id: int, campaign_id: int) -> bool:
    return session.scalar(
        select(exists().where(Membership.prospect_id == prospect_id, Membership.campaign_id == campaign_id))
    ) or False


def configure_campaign(
    session: Session, name: str, *, actor: Actor, channel: str | None = None, subject: str | None = None,
    body: str | None = None,
) -> Campaign:
    """Sets a campaign's notification channel (a Slack channel id, or "" for the default) and message template."""
    campaign = find_campaign(session, name)
    before = {"notify_channel": campaign.notify_channel, "has_template": bool(campaign.body_template)}
    if channel is not None:
        channel = channel.strip().lstrip("#")
        if channel and not CHANNEL_ID.match(channel):
            raise InvalidInput(f'"{channel}" is not a Slack channel id: use the id (C…), found in the channel\'s '
                               "details in Slack, not its name.")
        campaign.notify_channel = channel
    if subject is not None:
        campaign.subject_template = subject.strip()[:500]
    if body is not None:
        campaign.body_template = body[:20_000]
    record_audit(session, actor, "campaign.configure", campaign_id=campaign.id, before=before,
                 after={"notify_channel": campaign.notify_channel, "has_template": bool(campaign.body_template)})
    return campaign


@dataclass(frozen=True)
class CampaignSummary:
    id: int
    name: str
    members: int
    sendable: int


def list_campaigns(session: Session) -> list[CampaignSummary]:
    members = (
        select(Membership.campaign_id, func.count().label("members"),
               func.count().filter(Membership.status == "active",
                                   ~exists().where(DoNotContact.prospect_id == Membership.prospect_id))
               .label("sendable"))
        .group_by(Membership.campaign_id)
        .subquery()
    )
    rows = session.execute(
        select(Campaign.id, Campaign.name, func.coalesce(members.c.members, 0), func.coalesce(members.c.sendable, 0))
        .outerjoin(members, members.c.campaign_id == Campaign.id)
        .order_by(Campaign.name_key)
    )
    return [CampaignSummary(*row) for row in rows]
