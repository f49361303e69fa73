"""What App Home lists: a person's own recent actions, and the latest opt-outs in the campaigns they work on."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.fast_insert import among
from storage.models import AuditEntry, Campaign, DoNotContact, Membership, Prospect

RECENT = 10
# How far back "the campaigns they work on" looks: the campaigns of their last actions.
WORK_WINDOW = 200


@dataclass(frozen=True)
class RecentAction:
    at: dt.datetime
    action: str
    prospect_id: int | None
    prospect: str | None  # name or address; None when deleted since, or not about one prospect
    campaign: str | None
    details: dict


@dataclass(frozen=True)
class RecentOptOut:
    at: dt.datetime
    prospect_id: int
    name: str
    email: str
    campaigns: list[str]


def recent_actions(session: Session, actor: str, *, limit: int = RECENT) -> list[RecentAction]:
    rows = session.execute(
        select(AuditEntry.occurred_at, AuditEntry.action, AuditEntry.prospect_id, AuditEntry.campaign_id,
               AuditEntry.after)
        .where(AuditEntry.actor == actor).order_by(AuditEntry.id.desc()).limit(limit)
    ).all()
    people = _people(session, [row.prospect_id for row in rows if row.prospect_id])
    campaigns = _campaign_names(session, [row.campaign_id for row in rows if row.campaign_id])
    return [RecentAction(row.occurred_at, row.action, row.prospect_id, people.get(row.prospect_id),
                         campaigns.get(row.campaign_id), row.after or {}) for row in rows]


def campaigns_worked_on(session: Session, actor: str) -> list[int]:
    """Campaigns the person acted in lately: named by their actions, or holding the prospects they acted on."""
    rows = session.execute(
        select(AuditEntry.prospect_id, AuditEntry.campaign_id).where(AuditEntry.actor == actor)
        .order_by(AuditEntry.id.desc()).limit(WORK_WINDOW)
    ).all()
    found = {campaign_id for _, campaign_id in rows if campaign_id}
    prospects = sorted({prospect_id for prospect_id, _ in rows if prospect_id})
    if prospects:
        found |= set(session.scalars(select(Membership.campaign_id).distinct()
                                     .where(among(session, Membership.prospect_id, prospects))))
    return sorted(found)


def recent_opt_outs(session: Session, campaign_ids: list[int] | None, *, limit: int = RECENT) -> list[RecentOptOut]:
    """The latest prospects who opted out themselves, in these campaigns (every campaign when None)."""
    statement = (
        select(DoNotContact.created_at, Prospect.id, Prospect.first_name, Prospect.last_name, Prospect.email)
        .join(Prospect, Prospect.id == DoNotContact.prospect_id)
        .where(DoNotContact.reason == "requested")
        .order_by(DoNotContact.created_at.desc(), DoNotContact.prospect_id.desc())
        .limit(limit)
    )
    if campaign_ids is not None:
        if not campaign_ids:
            return []
        statement = statement.where(select(Membership.prospect_id).where(
            Membership.prospect_id == DoNotContact.prospect_id,
            Membership.campaign_id.in_(campaign_ids)).exists())
    rows = session.execute(statement).all()
    names: dict[int, list[str]] = {}
    if rows:
        for prospect_id, name in session.execute(
            select(Membership.prospect_id, Campaign.name).join(Campaign, Campaign.id == Membership.campaign_id)
            .where(Membership.prospect_id.in_([row.id for row in rows])).order_by(Campaign.name)
        ):
            names.setdefault(prospect_id, []).append(name)
    return [RecentOptOut(row.created_at, row.id, f"{row.first_name} {row.last_name}".strip(), row.email,
                         names.get(row.id, [])) for row in rows]


def _people(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {pid: f"{first} {last}".strip() or email for pid, first, last, email in session.execute(
        select(Prospect.id, Prospect.first_name, Prospect.last_name, Prospect.email).where(Prospect.id.in_(set(ids))))}


def _campaign_names(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Campaign.id, Campaign.name).where(Campaign.id.in_(set(ids)))).all())
