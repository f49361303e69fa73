"""Replies that may be asking to stop, waiting for a teammate: each posts a card in its campaign's Slack channel,
and the first member to press one of its buttons decides, once.

Decisions: "do-not-contact" (the person asked, in their words: their own opt-out), "not-interested" (do not contact,
reason no-interest), "not-an-opt-out" (nothing changes). The card shows a short excerpt of the reply; deleting the
prospect erases it (storage.inbound.forget_excerpts) and has the card redacted like the bot's other messages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from storage.audit import Actor, record_audit
from storage.do_not_contact import apply_do_not_contact
from storage.errors import NotAllowed, NotFound
from storage.models import Campaign, InboundMessage, Prospect, utcnow
from storage.reasons import OWN_OPT_OUT
from storage.slack_messages import REPLY_CARD, record_message

DECISIONS = {"do-not-contact": OWN_OPT_OUT, "not-interested": "no-interest", "not-an-opt-out": None}


@dataclass(frozen=True)
class ReplyCard:
    id: int
    status: str  # "open", one of DECISIONS, or "gone" (the prospect was deleted before anyone decided)
    prospect_id: int | None
    name: str | None  # None once the prospect is deleted
    email: str | None
    campaign_name: str | None
    excerpt: str
    phrase: str
    received_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    channel: str | None
    ts: str | None


class AlreadyDecided(NotAllowed):
    def __init__(self, card: ReplyCard) -> None:
        super().__init__("A teammate already decided on this reply.")
        self.card = card


def reply_card(session: Session, inbound_id: int) -> ReplyCard:
    row = session.get(InboundMessage, inbound_id)
    if row is None or row.card_status is None:
        raise NotFound("This reply is no longer known.")
    prospect = session.get(Prospect, row.prospect_id) if row.prospect_id is not None else None
    campaign = session.scalar(select(Campaign.name).where(Campaign.id == row.campaign_id)) if row.campaign_id else None
    name = f"{prospect.first_name} {prospect.last_name}".strip() or prospect.email if prospect else None
    return ReplyCard(row.id, row.card_status, row.prospect_id, name, prospect.email if prospect else None, campaign,
                     row.excerpt, row.phrase, row.received_at, row.decided_by, row.decided_at, row.card_channel,
                     row.card_ts)


def open_cards(session: Session, *, limit: int = 10) -> list[ReplyCard]:
    """The oldest replies still waiting for a decision, for App Home."""
    ids = session.scalars(select(InboundMessage.id).where(InboundMessage.card_status == "open")
                          .order_by(InboundMessage.id).limit(limit))
    return [reply_card(session, inbound_id) for inbound_id in ids]


def record_card_posted(session: Session, inbound_id: int, *, channel: str, ts: str) -> None:
    """Where the card is, so that a decision updates it in place and a delete redacts it."""
    row = session.get(InboundMessage, inbound_id)
    if row is None:
        return
    row.card_channel, row.card_ts = channel, ts
    if row.prospect_id is not None:
        record_message(session, channel=channel, ts=ts, kind=REPLY_CARD, prospect_ids=[row.prospect_id],
                       subject_id=inbound_id)


def decide_card(session: Session, inbound_id: int, decision: str, *, actor: Actor) -> ReplyCard:
    """The first decision wins; a second raises AlreadyDecided with the card as decided."""
    if decision not in DECISIONS:
        raise NotFound(f'Unknown decision "{decision}".')
    statement = select(InboundMessage).where(InboundMessage.id == inbound_id)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    row = session.scalar(statement)
    if row is None or row.card_status is None:
        raise NotFound("This reply is no longer known.")
    if row.card_status != "open":
        raise AlreadyDecided(reply_card(session, inbound_id))
    reason = DECISIONS[decision]
    changed: list[int] = []
    if reason is not None and row.prospect_id is not None:
        note = f"Replied to a campaign email; decided in Slack (reply #{row.id})"
        result = apply_do_not_contact(session, [row.prospect_id], reason=reason, actor=actor, note=note, notify=True)
        changed = result.marked + result.upgraded_to_own_opt_out
    row.card_status, row.decided_by, row.decided_at = decision, actor.who, utcnow()
    record_audit(session, actor, "reply_card.decide", prospect_id=row.prospect_id, campaign_id=row.campaign_id,
                 after={"inbound_message_id": row.id, "decision": decision, "changed": bool(changed)})
    session.flush()
    return reply_card(session, inbound_id)


def forget_excerpts(session: Session, prospect_id: int) -> None:
    """A delete: what their replies said goes; that replies were read stays, anonymous."""
    session.execute(update(InboundMessage).where(InboundMessage.prospect_id == prospect_id)
                    .values(prospect_id=None, excerpt="",
                            card_status=case((InboundMessage.card_status == "open", "gone"),
                                             else_=InboundMessage.card_status)))
