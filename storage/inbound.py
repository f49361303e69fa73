"""What a message read from the team's mailboxes does: matched to the email it answers, then acted on, once.

The mailbox reader (bot/inbox.py) hands each message here already read (storage.mail_reading) and, for a human
reply, its intent (storage.reply_intent). `process_message` matches and acts in one transaction, together with the
mailbox's cursor, so a message is processed exactly once across restarts and workers: the cursor's lease names the
one worker reading a mailbox, and (mailbox, UIDVALIDITY, UID) is unique.

Matching, most certain first: a `mailto:` unsubscribe by the token in the address it was sent to; a reply by the
Message-IDs it answers (In-Reply-To, References) among those the sender recorded; a bounce by the original
message inside it, then by the recipient it names; last, a reply's sender only when that address is exactly one
live prospect, with the campaign that last emailed them. A message that matches nothing is recorded as unmatched,
never guessed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from storage.audit import Actor, record_audit
from storage.do_not_contact import apply_do_not_contact
from storage.emails import address_key, normalise_email
from storage.errors import InvalidInput
from storage.fast_insert import bulk_insert, insert_ignoring_duplicates
from storage.mail_reading import InboundMail
from storage.models import (
    Activity,
    Campaign,
    DoNotContact,
    InboundMessage,
    MailboxCursor,
    Membership,
    Notification,
    Prospect,
    utcnow,
)
from storage.outbox import REPLY_CARD, enqueue_opt_out_notifications
from storage.reasons import OWN_OPT_OUT
from storage.reply_intent import Intent
from storage.sending import record_hard_bounce
from storage.suppressions import suppress_address
from storage.unsubscribe import membership_for_token, unsubscribe

LEASE_SECONDS = 120.0
EXCERPT_CHARS = 300
BY_REPLY = Actor("prospect", "reply")
BY_EMAIL = Actor("prospect", "unsubscribe-email")
SYSTEM = Actor("system:inbox", "reply")


# -- the cursor and its lease --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    mailbox: str
    uidvalidity: int | None
    last_uid: int


def claim_mailbox(session: Session, mailbox: str, worker_id: str, *, lease: float = LEASE_SECONDS) -> Cursor | None:
    """The mailbox's cursor, held by this worker for `lease` seconds (renewed by every call), or None while another
    worker holds it."""
    now = utcnow()
    if session.get(MailboxCursor, mailbox) is None:
        insert_ignoring_duplicates(session, MailboxCursor, [{"mailbox": mailbox, "uidvalidity": None, "last_uid": 0,
                                                             "errors": 0, "last_error": "", "updated_at": now}])
    claimed = session.execute(
        update(MailboxCursor)
        .where(MailboxCursor.mailbox == mailbox,
               or_(MailboxCursor.claimed_by.is_(None), MailboxCursor.claimed_by == worker_id,
                   MailboxCursor.claimed_until < now))
        .values(claimed_by=worker_id, claimed_until=now + dt.timedelta(seconds=lease))
        .returning(MailboxCursor.uidvalidity, MailboxCursor.last_uid)
    ).first()
    return Cursor(mailbox, claimed.uidvalidity, claimed.last_uid) if claimed else None


def release_mailbox(session: Session, mailbox: str, worker_id: str) -> None:
    session.execute(update(MailboxCursor).where(MailboxCursor.mailbox == mailbox,
                                                MailboxCursor.claimed_by == worker_id)
                    .values(claimed_by=None, claimed_until=None))


def start_over_if_renumbered(session: Session, cursor: Cursor, uidvalidity: int) -> Cursor:
    """A new UIDVALIDITY means the server numbered the folder afresh: read it again from the start. Messages
    processed before are recognised by their Message-ID and not acted on twice."""
    if cursor.uidvalidity == uidvalidity:
        return cursor
    session.execute(update(MailboxCursor).where(MailboxCursor.mailbox == cursor.mailbox)
                    .values(uidvalidity=uidvalidity, last_uid=0, updated_at=utcnow()))
    return Cursor(cursor.mailbox, uidvalidity, 0)


def record_mailbox_error(session: Session, mailbox: str, error: str) -> None:
    session.execute(update(MailboxCursor).where(MailboxCursor.mailbox == mailbox)
                    .values(errors=MailboxCursor.errors + 1, last_error=error[:1000], updated_at=utcnow()))


# -- processing one message ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Processed:
    """What became of one message: `outcome` is a short word a counter and a log line can use."""

    inbound_id: int | None
    kind: str
    matched_by: str
    outcome: str
    prospect_id: int | None = None
    phrase: str = ""


@dataclass(frozen=True)
class MailboxContext:
    """What the reader knows beyond the message: where it was read, which addresses are our own (mail from them is
    not a prospect's), and the unsubscribe mailbox's address (`local+TOKEN@domain` is a mailto: unsubscribe)."""

    mailbox: str
    uidvalidity: int
    worker_id: str
    secret_key: bytes
    own_addresses: frozenset[str] = frozenset()
    unsubscribe_address: str | None = None


def process_message(session: Session, context: MailboxContext, uid: int, mail: InboundMail,
                    intent: Intent | None) -> Processed:
    """Matches and acts on one message, and moves the cursor past it, in the caller's transaction. Raises
    LeaseLost when another worker took the mailbox meanwhile: then nothing is written."""
    cursor = session.execute(select(MailboxCursor).where(MailboxCursor.mailbox == context.mailbox)
                             .with_for_update()).scalar_one_or_none()
    if cursor is None or cursor.claimed_by != context.worker_id:
        raise LeaseLost(f"Another worker now reads the mailbox {context.mailbox}.")
    cursor.last_uid = max(cursor.last_uid, uid)
    cursor.updated_at = utcnow()
    already = session.scalar(select(InboundMessage.id).where(
        InboundMessage.mailbox == context.mailbox, InboundMessage.uidvalidity == context.uidvalidity,
        InboundMessage.uid == uid))
    if already is not None or _seen_message_id(session, context.mailbox, mail.message_id):
        return Processed(already, mail.kind, "none", "duplicate")
    row = InboundMessage(mailbox=context.mailbox, uidvalidity=context.uidvalidity, uid=uid,
                         message_id=(mail.message_id or "")[:255] or None, kind=mail.kind, matched_by="none",
                         outcome="recorded", phrase="", excerpt="", problems="; ".join(mail.problems)[:2000])
    session.add(row)
    session.flush()
    outcome = _act(session, context, row, mail, intent)
    row.outcome = outcome.outcome
    return Processed(row.id, row.kind, row.matched_by, outcome.outcome, row.prospect_id, row.phrase)


class LeaseLost(Exception):
    pass


@dataclass(frozen=True)
class _Outcome:
    outcome: str


def _act(session: Session, context: MailboxContext, row: InboundMessage, mail: InboundMail,
         intent: Intent | None) -> _Outcome:
    token = _unsubscribe_token(mail, context.unsubscribe_address)
    if token is not None:
        row.kind = "unsubscribe"
        return _mailto_unsubscribe(session, row, token, context.secret_key)
    if mail.kind in ("hard_bounce", "soft_bounce"):
        return _bounce(session, row, mail)
    if mail.kind == "unreadable":
        return _Outcome("unreadable")
    sender = _key_of(mail.from_address)
    if sender is not None and sender in context.own_addresses:
        return _Outcome("own-message")
    _match_reply(session, row, mail, sender)
    if row.prospect_id is None:
        if mail.kind == "reply" and intent is not None and intent.kind == "opt_out" and sender is not None:
            # Nobody live has the address (deleted, or never imported): it asked to stop, so imports skip it.
            row.intent, row.phrase = intent.kind, (intent.phrase or "")[:500]
            suppress_address(session, sender, secret_key=context.secret_key, reason=OWN_OPT_OUT,
                             channel=BY_REPLY.channel)
            return _Outcome("address-blocked")
        return _Outcome("unmatched")
    if mail.kind == "auto_reply":
        return _Outcome("auto-reply")
    if row.campaign_id is not None:
        session.add(Activity(campaign_id=row.campaign_id, prospect_id=row.prospect_id, kind="replied",
                             occurred_at=utcnow()))
    if intent is None or intent.kind == "none":
        return _Outcome("replied")
    row.intent, row.phrase = intent.kind, (intent.phrase or "")[:500]
    if session.get(DoNotContact, row.prospect_id) is not None and intent.kind == "ambiguous":
        return _Outcome("already-do-not-contact")
    if intent.kind == "opt_out":
        return _reply_opt_out(session, row)
    row.excerpt = mail.new_text.strip()[:EXCERPT_CHARS]
    row.card_status = "open"
    channel = session.scalar(select(Campaign.notify_channel).where(Campaign.id == row.campaign_id)) or ""
    bulk_insert(session, Notification, [{
        "created_at": utcnow(), "prospect_id": row.prospect_id, "prospect_count": 1, "channel": channel,
        "campaign_ids": [row.campaign_id] if row.campaign_id else [], "reason": REPLY_CARD, "via": "reply",
        "actor": BY_REPLY.who, "attempts": 0, "next_attempt_at": utcnow(), "last_error": "",
        "inbound_message_id": row.id}])
    return _Outcome("carded")


def _reply_opt_out(session: Session, row: InboundMessage) -> _Outcome:
    assert row.prospect_id is not None
    note = f'Replied "{row.phrase}"'[:2000]
    result = apply_do_not_contact(session, [row.prospect_id], reason=OWN_OPT_OUT, actor=BY_REPLY, note=note,
                                  notify=False)
    changed = result.marked + result.upgraded_to_own_opt_out
    record_audit(session, BY_REPLY, "reply_opt_out", prospect_id=row.prospect_id, campaign_id=row.campaign_id,
                 after={"phrase": row.phrase, "inbound_message_id": row.id, "changed": bool(changed)})
    if not changed:
        return _Outcome("already-opted-out")
    enqueue_opt_out_notifications(session, changed, reason=OWN_OPT_OUT, actor=BY_REPLY, campaign_id=row.campaign_id,
                                  inbound_message_id=row.id)
    return _Outcome("do-not-contact")


def _mailto_unsubscribe(session: Session, row: InboundMessage, token: str, secret_key: bytes) -> _Outcome:
    membership_id = membership_for_token(secret_key, token)
    if membership_id is None:
        return _Outcome("unmatched")
    row.matched_by = "token"
    result = unsubscribe(session, membership_id, actor=BY_EMAIL)
    if result is None:
        return _Outcome("unmatched")
    membership = session.get(Membership, int(membership_id))
    if membership is not None:
        row.campaign_id, row.prospect_id = membership.campaign_id, membership.prospect_id
    return _Outcome({"unsubscribed": "do-not-contact", "already": "already-opted-out"}.get(result.outcome,
                                                                                            "prospect-deleted"))


def _bounce(session: Session, row: InboundMessage, mail: InboundMail) -> _Outcome:
    sent = _sent_with(session, mail.original_message_ids)
    if sent is not None:
        row.matched_by, (row.campaign_id, row.prospect_id) = "original", sent
    else:
        for address in mail.bounced_recipients:
            prospect_id = _live_prospect(session, _key_of(address))
            if prospect_id is not None:
                row.matched_by, row.prospect_id = "recipient", prospect_id
                row.campaign_id = _last_campaign_sent(session, prospect_id)
                break
    if row.prospect_id is None:
        return _Outcome("unmatched")
    if mail.kind == "soft_bounce":
        return _Outcome("soft-bounce")
    return _Outcome("bounced" if record_hard_bounce(session, row.prospect_id, row.campaign_id,
                                                    actor=SYSTEM) else "already-bounced")


def _match_reply(session: Session, row: InboundMessage, mail: InboundMail, sender: str | None) -> None:
    sent = _sent_with(session, mail.refers_to)
    if sent is not None:
        row.matched_by, (row.campaign_id, row.prospect_id) = "reference", sent
        return
    prospect_id = _live_prospect(session, sender)
    if prospect_id is not None:
        row.matched_by, row.prospect_id = "sender", prospect_id
        row.campaign_id = _last_campaign_sent(session, prospect_id)


def _sent_with(session: Session, message_ids: Sequence[str]) -> tuple[int, int] | None:
    """(campaign, prospect) of the email we sent with one of these Message-IDs, when its prospect still exists."""
    ids = [mid.strip().strip("<>") for mid in message_ids if mid and len(mid) <= 255][:50]
    if not ids:
        return None
    found = session.execute(select(Activity.campaign_id, Activity.prospect_id)
                            .where(Activity.kind == "sent", Activity.message_id.in_(ids),
                                   Activity.prospect_id.is_not(None))
                            .order_by(Activity.occurred_at.desc()).limit(1)).first()
    return (found.campaign_id, found.prospect_id) if found else None


def _live_prospect(session: Session, key: str | None) -> int | None:
    if key is None:
        return None
    return session.scalar(select(Prospect.id).where(Prospect.email_key == key))


def _last_campaign_sent(session: Session, prospect_id: int) -> int | None:
    return session.scalar(select(Activity.campaign_id)
                          .where(Activity.prospect_id == prospect_id, Activity.kind == "sent")
                          .order_by(Activity.occurred_at.desc(), Activity.id.desc()).limit(1))


def _key_of(address: str | None) -> str | None:
    if not address:
        return None
    try:
        return address_key(normalise_email(address))
    except InvalidInput:
        return None


def own_address_keys(addresses: Sequence[str]) -> frozenset[str]:
    return frozenset(key for key in (_key_of(address) for address in addresses) if key is not None)


def _unsubscribe_token(mail: InboundMail, unsubscribe_address: str | None) -> str | None:
    if not unsubscribe_address:
        return None
    local, _, domain = unsubscribe_address.lower().rpartition("@")
    for address in mail.to_addresses:
        their_local, _, their_domain = address.strip().rpartition("@")
        prefix, plus, token = their_local.partition("+")
        if plus and prefix.lower() == local and their_domain.lower() == domain and token:
            return token
    return None


def _seen_message_id(session: Session, mailbox: str, message_id: str | None) -> bool:
    """A message renumbered by a new UIDVALIDITY, or delivered twice: known by its Message-ID."""
    if not message_id:
        return False
    return bool(session.scalar(select(func.count()).select_from(InboundMessage).where(
        InboundMessage.mailbox == mailbox, InboundMessage.message_id == message_id[:255])))


def counts_by_outcome(session: Session) -> dict[str, int]:
    return dict(session.execute(select(InboundMessage.outcome, func.count()).group_by(InboundMessage.outcome)).all())
