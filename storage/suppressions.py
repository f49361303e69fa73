"""Suppressions: keyed fingerprints (HMAC) of addresses that imports must skip — a deleted person blocked from
re-import, an opt-out that outlived its prospect, an address blocked before anyone imported it. Never the
address itself."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.audit import Actor, record_audit
from storage.fast_insert import insert_ignoring_duplicates
from storage.keys import address_identity
from storage.models import Suppression, utcnow


def suppress_fingerprint(session: Session, fingerprint: str, *, reason: str, channel: str) -> bool:
    """Keeps the fingerprint so imports skip its address; True when it was not kept already."""
    inserted = insert_ignoring_duplicates(
        session,
        Suppression,
        [{"fingerprint": fingerprint, "reason": reason, "channel": channel, "created_at": utcnow()}],
        Suppression.fingerprint,
    )
    return bool(inserted)


def suppress_address(session: Session, email: str, *, secret_key: bytes, reason: str, channel: str) -> bool:
    """`email` as normalise_email returns it; kept by the fingerprint of its identity."""
    identity = address_identity(secret_key, email)
    return suppress_fingerprint(session, identity.fingerprint, reason=reason, channel=channel)


def is_address_suppressed(session: Session, email: str, *, secret_key: bytes) -> bool:
    """Whether imports skip this address: by its identity's fingerprint, or the one kept before the upgrade."""
    fingerprints = address_identity(secret_key, email).fingerprints
    return session.scalar(select(Suppression.fingerprint).where(Suppression.fingerprint.in_(fingerprints))
                          .limit(1)) is not None


def block_unknown_address(session: Session, email: str, *, secret_key: bytes, actor: Actor) -> bool:
    """Do not contact for an address not in the database yet: its fingerprint keeps future imports from adding it."""
    fingerprint = address_identity(secret_key, email).fingerprint
    added = suppress_fingerprint(session, fingerprint, reason="blocked", channel=actor.channel)
    if added:
        record_audit(session, actor, "block_address", after={"fingerprint": fingerprint[:12]})
    return added
