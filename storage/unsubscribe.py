"""One-click unsubscribe: the links in every email, and what a click does.

A token names a campaign membership and carries a keyed MAC of it: no address, nothing to guess, no expiry (a
link in a year-old email still works). A click is the person's own opt-out, and it reaches their address
whatever happened since: the person still in the campaign becomes do not contact; a person deleted since has
their address blocked from imports by the fingerprint kept with the deleted membership, and whoever has that
address now (imported again since) becomes do not contact too.

Tokens issued since migration 0005 carry a version byte. The first release's tokens still work; a few of them
name a membership id that release gave to someone new after a delete (`reissued_memberships`): such a link was
sent to the deleted person, and changes the person who has the id now only on evidence that it was sent to them
too (a "sent" activity before the upgrade).
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from storage.audit import Actor, record_audit
from storage.do_not_contact import apply_do_not_contact
from storage.models import (
    Activity,
    Campaign,
    DeletedMembership,
    DoNotContact,
    Membership,
    Prospect,
    ReissuedMembership,
    Suppression,
)
from storage.outbox import enqueue_opt_out_notifications
from storage.prospects import live_prospect_with
from storage.reasons import OWN_OPT_OUT
from storage.suppressions import suppress_fingerprint

THE_PROSPECT = Actor("prospect", "unsubscribe-link")
MAC_BYTES = 16
VERSION = b"\x02"


class LinkedMembership(int):
    """The membership id a token names; `legacy` when the first release issued the token."""

    legacy: bool

    def __new__(cls, membership_id: int, *, legacy: bool = False) -> LinkedMembership:
        linked = super().__new__(cls, membership_id)
        linked.legacy = legacy
        return linked


def unsubscribe_token(secret_key: bytes, membership_id: int) -> str:
    body = VERSION + membership_id.to_bytes(8, "big")
    return _b64(body + _mac(secret_key, body))


def unsubscribe_address_for(unsubscribe_address: str, token: str) -> str:
    """`unsubscribe@example.com` and a token make `unsubscribe+TOKEN@example.com` (RFC 5233 subaddressing)."""
    local, _, domain = unsubscribe_address.rpartition("@")
    return f"{local}+{token}@{domain}"


def membership_for_token(secret_key: bytes, token: str) -> LinkedMembership | None:
    """The membership a token names, or None for anything forged, truncated or garbled."""
    if not 20 <= len(token) <= 40 or not token.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        return None
    # The first release's tokens are the membership id and the MAC; today's start with the version byte.
    legacy = len(raw) == 8 + MAC_BYTES
    if not (legacy or (len(raw) == 9 + MAC_BYTES and raw[:1] == VERSION)):
        return None
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(secret_key, body)):
        return None
    return LinkedMembership(int.from_bytes(body[-8:], "big"), legacy=legacy)


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


@dataclass(frozen=True)
class _Link:
    """Whom a link reaches: the prospects it makes do not contact (usually one), and the fingerprint of the
    address it was sent to when that person was deleted since."""

    campaign_id: int
    campaign_name: str
    prospect_ids: list[int]
    deleted_fingerprint: str | None
    shown_email: str | None


def describe(session: Session, membership_id: int) -> UnsubscribeTarget | None:
    """What the link's page says, before anything changes; None when the membership never existed."""
    link = _resolve(session, membership_id)
    if link is None:
        return None
    opted_out = set(session.scalars(select(DoNotContact.prospect_id).where(
        DoNotContact.prospect_id.in_(link.prospect_ids), DoNotContact.reason == OWN_OPT_OUT)))
    blocked = (link.deleted_fingerprint is None
               or session.get(Suppression, link.deleted_fingerprint) is not None)
    return UnsubscribeTarget(link.campaign_name, masked_email(link.shown_email) if link.shown_email else None,
                             blocked and opted_out == set(link.prospect_ids))


def unsubscribe(session: Session, membership_id: int, *, actor: Actor = THE_PROSPECT) -> UnsubscribeResult | None:
    """Honours a click (or a mailto: unsubscribe, `actor` saying which), idempotently; None when the membership
    never existed."""
    link = _resolve(session, membership_id)
    if link is None:
        return None
    newly_blocked = link.deleted_fingerprint is not None and suppress_fingerprint(
        session, link.deleted_fingerprint, reason=OWN_OPT_OUT, channel=actor.channel)
    result = apply_do_not_contact(session, link.prospect_ids, reason=OWN_OPT_OUT, actor=actor, note="",
                                  notify=False)
    changed = result.marked + result.upgraded_to_own_opt_out
    for prospect_id in changed:
        # In the link's campaign's channel when they are still in it; else wherever their campaigns announce.
        in_campaign = session.scalar(select(exists().where(Membership.prospect_id == prospect_id,
                                                           Membership.campaign_id == link.campaign_id)))
        enqueue_opt_out_notifications(session, [prospect_id], reason=OWN_OPT_OUT, actor=actor,
                                      campaign_id=link.campaign_id if in_campaign else None)
    if newly_blocked:
        record_audit(session, actor, "unsubscribe_after_delete", campaign_id=link.campaign_id,
                     after={"membership_id": int(membership_id), "reimport_blocked": True,
                            "reached": sorted(changed)})
    if changed:
        outcome = "unsubscribed"
    else:
        outcome = "already" if link.shown_email else "deleted"
    return UnsubscribeResult(outcome, link.campaign_name,
                             masked_email(link.shown_email) if link.shown_email else None)


def _resolve(session: Session, membership_id: int) -> _Link | None:
    membership = session.get(Membership, membership_id)
    deleted = session.get(DeletedMembership, membership_id)
    reissued = (session.get(ReissuedMembership, int(membership_id))
                if getattr(membership_id, "legacy", False) and membership is not None and deleted is not None
                else None)
    if membership is not None and not reissued:
        email = session.scalar(select(Prospect.email).where(Prospect.id == membership.prospect_id))
        return _Link(membership.campaign_id, _campaign_name(session, membership.campaign_id),
                     [membership.prospect_id], None, email)
    if deleted is None:
        return None
    # Sent to someone deleted since: their address, and whoever has it now.
    reached = [pid for pid in [live_prospect_with(session, [deleted.fingerprint])] if pid is not None]
    if reissued and membership is not None and _sent_before(session, membership, reissued.detected_at):
        reached.append(membership.prospect_id)
    return _Link(deleted.campaign_id, _campaign_name(session, deleted.campaign_id), sorted(set(reached)),
                 deleted.fingerprint, None)


def _sent_before(session: Session, membership: Membership, moment: object) -> bool:
    """Whether the sender recorded an email to this member before `moment`: evidence that a first-release link
    with this membership's id reached them."""
    return bool(session.scalar(select(exists().where(
        Activity.campaign_id == membership.campaign_id, Activity.prospect_id == membership.prospect_id,
        Activity.kind == "sent", Activity.occurred_at < moment))))


def _campaign_name(session: Session, campaign_id: int) -> str:
    return session.scalar(select(Campaign.name).where(Campaign.id == campaign_id)) or "a campaign"
