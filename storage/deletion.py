"""Delete: the person is removed entirely — row, memberships, do-not-contact state — while their activity stays,
anonymous, so campaign totals hold. A later import brings the address back as a new contact unless re-import
is blocked; a person who opted out themselves is always blocked, so their opt-out survives the delete. The bot's
Slack messages that name them are marked for redaction in the same transaction (storage/slack_messages.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.audit import Actor, record_audit
from storage.do_not_contact import dnc_audit_state
from storage.fast_insert import bulk_insert
from storage.models import Activity, DeletedMembership, DoNotContact, Membership, Prospect, utcnow
from storage.prospects import lock_prospect
from storage.reasons import OWN_OPT_OUT
from storage.replays import forget_answers
from storage.reply_cards import forget_excerpts
from storage.slack_messages import request_redaction
from storage.suppressions import suppress_fingerprint


@dataclass(frozen=True)
class DeleteResult:
    prospect_id: int
    campaigns_left: int
    reimport_blocked: bool
    blocked_because_opted_out: bool


def delete_prospect(
    session: Session,
    prospect_id: int,
    *,
    actor: Actor,
    block_reimport: bool,
    expected_version: int | None = None,
) -> DeleteResult:
    """Remove the person entirely: row, memberships, do-not-contact state; their activity stays, anonymous.

    Without `block_reimport` a later import brings the address back as a new, sendable contact. A person who
    opted out themselves is always fingerprinted, so their opt-out survives the delete.
    """
    prospect = lock_prospect(session, prospect_id, expected_version)
    dnc = session.get(DoNotContact, prospect_id)
    opted_out = dnc is not None and dnc.reason == OWN_OPT_OUT
    keep_fingerprint = block_reimport or opted_out
    fingerprint = prospect.fingerprint
    if keep_fingerprint:
        suppress_fingerprint(session, fingerprint, reason="requested" if opted_out else "deleted",
                             channel=actor.channel)
    memberships = session.execute(
        select(Membership.id, Membership.campaign_id).where(Membership.prospect_id == prospect_id)
    ).all()
    campaign_ids = sorted(campaign_id for _, campaign_id in memberships)
    # Their unsubscribe links keep working: a click after the delete blocks the address by its fingerprint.
    bulk_insert(session, DeletedMembership,
                [{"membership_id": mid, "campaign_id": cid, "fingerprint": fingerprint, "deleted_at": utcnow()}
                 for mid, cid in memberships], ignore_duplicates=True)
    session.execute(update(Activity).where(Activity.prospect_id == prospect_id).values(prospect_id=None))
    session.execute(delete(DoNotContact).where(DoNotContact.prospect_id == prospect_id))
    session.execute(delete(Membership).where(Membership.prospect_id == prospect_id))
    session.execute(delete(Prospect).where(Prospect.id == prospect_id))
    request_redaction(session, prospect_id)
    forget_excerpts(session, prospect_id)
    # The acknowledgements kept for Slack's replay window may hold their profile (a save answers with it).
    forget_answers(session)
    record_audit(
        session,
        actor,
        "delete",
        prospect_id=prospect_id,
        before={**dnc_audit_state(dnc), "campaign_ids": campaign_ids},
        after={"deleted": True, "reimport_blocked": keep_fingerprint},
    )
    session.expunge(prospect)
    return DeleteResult(prospect_id, len(campaign_ids), keep_fingerprint, opted_out and not block_reimport)
