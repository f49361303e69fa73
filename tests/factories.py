"""Test data written the way the product writes it: through storage's own row builder."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from storage.audit import Actor
from storage.campaigns import get_or_create_campaign
from storage.keys import address_identity
from storage.models import Membership, Prospect, utcnow
from storage.prospects import new_prospect_row
from tests.support import TEST_SECRET_KEY

SETUP = Actor("cli:test-setup", "cli")


def campaign(session: Session, name: str) -> int:
    return get_or_create_campaign(session, name, SETUP).id


def prospect(session: Session, email: str, *campaign_ids: int, **fields: str) -> int:
    row = new_prospect_row({"email": email, **fields}, address_identity(TEST_SECRET_KEY, email), source="test",
                           now=utcnow())
    prospect_id = session.scalar(insert(Prospect).returning(Prospect.id), [row])
    for campaign_id in campaign_ids:
        session.execute(insert(Membership), [{"campaign_id": campaign_id, "prospect_id": prospect_id,
                                               "status": "active", "added_at": utcnow()}])
    return prospect_id


def join(session: Session, prospect_id: int, campaign_id: int) -> None:
    session.execute(insert(Membership), [{"campaign_id": campaign_id, "prospect_id": prospect_id,
                                           "status": "active", "added_at": utcnow()}])
