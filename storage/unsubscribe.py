"""One-click unsubscribe: the links in every email, and what a click does.

A token names a campaign membership and carries a keyed MAC of it: no address, nothing to guess, no expiry (a
link in a year-old email still works). A click marks the person do not contact as their own request; when they
were deleted since, the fingerprint kept with the deleted membership blocks the address instead.
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.audit import Actor, record_audit
from storage.do_not_contact import mark_do_not_contact
from storage.models import Campaign, DeletedMembership, DoNotContact, Membership, Prospect, Suppression
from storage.outbox import enqueue_opt_out_notifications
from storage.reasons import OWN_OPT_OUT
from storage.suppressions import suppress_fingerprint

THE_PROSPECT = Actor("prospect", "unsubscribe-link")
MAC_BYTES = 16


def unsubscribe_token(secret_key: bytes, membership_id: int) -> str:
    body = membership_id.to_bytes(8, "big")
    return _b64(body + _mac(secret_key, body))


def membership_for_token(secret_key: bytes, token: str) -> int | None:
    """The membership a token names, or None for anything forged, truncated or garbled."""
    if not 20 <= len(token) <= 40 or not token.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        return None
    body, mac = raw[:8], raw[8:]
    if len(body) != 8 or not hmac.compare_digest(mac, _mac(secret_key, body)):
        return None
    return int.from_bytes(body, "big")


def _mac(secret_key: bytes, body: bytes) -> bytes:
    return hmac.digest(secret_key, b"unsubscribe:" + body, "sha256")[:MAC_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def masked_email(email: str) -> str:
    """j***@acme.com: enough for the person to recognise their address, not enough to harvest it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


@dataclass(frozen=True)
class UnsubscribeTarget:
    campaign_name: str
    masked_email: str | None  # None once the person was deleted
    already: bool


@dataclass(frozen=True)
class UnsubscribeResult:
    outcome: str  # "unsubscribed", "already", "deleted"
    campaign_name: str
    masked_email: str | None


def describe(session: Session, membership_id: int) -> UnsubscribeTarget | None:
    row = session.execute(
        select(Campaign.name, Prospect.email, DoNotContact.reason)
        .select_from(Membership)
        .join(Campaign, Campaign.id == Membership.campaign_id)
        .join(Prospect, Prospect.id == Membership.prospect_id)
        .outerjoin(DoNotContact, DoNotContact.prospect_id == Membership.prospect_id)
        .where(Membership.id == membership_id)
    ).first()
    if row is not None:
        return UnsubscribeTarget(row.name, masked_email(row.email), row.reason is not None)
    found = _deleted(session, membership_id)
    if found is None:
        return None
    deleted, campaign_name = found
    return UnsubscribeTarget(campaign_name, None, session.get(Suppression, deleted.fingerprint) is not None)


def unsubscribe(session: Session, membership_id: int) -> UnsubscribeResult | None:
    """Honours a click, idempotently; None when the membership never existed."""
    membership = session.get(Membership, membership_id)
    if membership is None:
        return _unsubscribe_deleted(session, membership_id)
    campaign_name = session.scalar(select(Campaign.name).where(Campaign.id == membership.campaign_id)) or ""
    email = session.scalar(select(Prospect.email).where(Prospect.id == membership.prospect_id)) or ""
    result = mark_do_not_contact(session, [membership.prospect_id], reason=OWN_OPT_OUT, actor=THE_PROSPECT,
                                 notify=False)
    changed = result.marked + result.upgraded_to_own_opt_out
    if changed:
        enqueue_opt_out_notifications(session, changed, reason=OWN_OPT_OUT, actor=THE_PROSPECT,
                                      campaign_id=membership.campaign_id)
    return UnsubscribeResult("unsubscribed" if changed else "already", campaign_name, masked_email(email))


def _deleted(session: Session, membership_id: int) -> tuple[DeletedMembership, str] | None:
    deleted = session.get(DeletedMembership, membership_id)
    if deleted is None:
        return None
    campaign_name = session.scalar(select(Campaign.name).where(Campaign.id == deleted.campaign_id)) or "a campaign"
    return deleted, campaign_name


def _unsubscribe_deleted(session: Session, membership_id: int) -> UnsubscribeResult | None:
    found = _deleted(session, membership_id)
    if found is None:
        return None
    deleted, campaign_name = found
    if suppress_fingerprint(session, deleted.fingerprint, reason=OWN_OPT_OUT, channel=THE_PROSPECT.channel):
        record_audit(session, THE_PROSPECT, "unsubscribe_after_delete", campaign_id=deleted.campaign_id,
                     after={"membership_id": membership_id, "reimport_blocked": True})
    return UnsubscribeResult("deleted", campaign_name, None)
