"""Domain blocks: nobody at a blocked email domain is contacted. Everyone there now becomes do not contact
(announced in one summary), and imports skip new addresses there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.audit import Actor, record_audit
from storage.do_not_contact import apply_do_not_contact
from storage.emails import InvalidEmail, address_key, email_domain, normalise_email
from storage.errors import InvalidInput
from storage.fast_insert import among, insert_ignoring_duplicates
from storage.models import BlockedDomain, Prospect, utcnow
from storage.reasons import clean_note


def normalise_domain(raw: str) -> str:
    """"Acme.COM", "@acme.com" or "jane@acme.com" → "acme.com", validated as the domain of an address; a Unicode
    domain in its ASCII form ("exämple.es" → "xn--exmple-cua.es"), as prospects' identities have it."""
    text = raw.strip().lstrip("@")
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    try:
        return email_domain(address_key(normalise_email(f"x@{text}")))
    except InvalidEmail as error:
        raise InvalidInput(f'"{raw.strip()}" is not an email domain: {error.reason}.') from None


@dataclass(frozen=True)
class DomainBlockResult:
    domain: str
    newly_blocked: bool
    marked: int
    already: int


def block_domain(session: Session, domain: str, *, actor: Actor, note: str = "") -> DomainBlockResult:
    """Nobody at `domain` is contacted again: every current prospect there becomes do not contact (announced in
    one summary), and imports skip new addresses there."""
    domain = normalise_domain(domain)
    note = clean_note(note)
    inserted = insert_ignoring_duplicates(
        session, BlockedDomain,
        [{"domain": domain, "actor": actor.who, "channel": actor.channel, "note": note, "created_at": utcnow()}],
        BlockedDomain.domain,
    )
    ids = list(session.scalars(select(Prospect.id).where(Prospect.email_domain == domain)))
    result = apply_do_not_contact(session, ids, reason="domain-blocked", actor=actor, note=note, notify=True)
    record_audit(session, actor, "block_domain", after={"domain": domain, "marked": len(result.marked)})
    return DomainBlockResult(domain, bool(inserted), len(result.marked), len(ids) - len(result.marked))


def is_domain_blocked(session: Session, domain: str) -> bool:
    return session.get(BlockedDomain, domain) is not None


def blocked_domains_among(session: Session, domains: Sequence[str]) -> set[str]:
    if not domains:
        return set()
    return set(session.scalars(select(BlockedDomain.domain).where(among(session, BlockedDomain.domain, list(domains)))))


def list_blocked_domains(session: Session) -> list[BlockedDomain]:
    return list(session.scalars(select(BlockedDomain).order_by(BlockedDomain.domain)))
