"""The shared database's tables, as SQLAlchemy 2.0 typed models.

The email sender reads these tables too (through the `sendable_recipients` view), so names and meanings are a
contract: change them only through a migration and a README update.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Search keys are compared by byte order so that a prefix is a contiguous index range; PostgreSQL's default
# linguistic collations would break that, SQLite's BINARY default already is byte order.
SearchKey = String(255).with_variant(String(255, collation="C"), "postgresql")

DNC_REASONS = ("requested", "not-target", "no-interest", "other", "domain-blocked")
CHANNELS = ("slack", "unsubscribe-link", "unsubscribe-email", "reply", "import", "cli", "bulk", "sender")
ACTIVITY_KINDS = ("sent", "opened", "replied", "bounced")
MEMBERSHIP_STATUSES = ("active", "bounced")
# The members the no-engagement rule may match, as ix_memberships_unengaged holds them. A query meant for that
# index says this too, word for word: SQLite uses a partial index only for a query whose WHERE repeats its terms.
UNENGAGED = "sent_count > 0 AND NOT engaged"
# The prospect columns each membership carries a copy of, for a campaign's search.
MEMBER_SEARCH_KEYS = ("name_key", "last_name_key", "company_key", "email_key")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC on the way in and out; SQLite would otherwise hand back naive datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# SQLite hands a deleted row's id to the next insert unless the table says AUTOINCREMENT. Ids leave the database
# (unsubscribe links, Slack screens, frozen bulk sets, the CLI's output), so none may ever name someone new.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (NEVER_REUSE_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Lower-cased name: campaign names are unique regardless of case, and type-ahead searches it by prefix.
    name_key: Mapped[str] = mapped_column(SearchKey, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Slack channel id for this campaign's opt-out notifications; empty means the default channel.
    notify_channel: Mapped[str] = mapped_column(String(40), default="")
    # The reference sender's message, with $first_name-style placeholders; empty means the built-in default.
    subject_template: Mapped[str] = mapped_column(Text, default="")
    body_template: Mapped[str] = mapped_column(Text, default="")


class Prospect(Base):
    """One row per person, keyed by their address's identity (storage.emails.address_key)."""

    __tablename__ = "prospects"
    # (key, id): a prefix search reads matches already in page order, ties included, and stops at the page end.
    __table_args__ = (
        Index("ix_prospects_name_key", "name_key", "id"),
        Index("ix_prospects_last_name_key", "last_name_key", "id"),
        Index("ix_prospects_company_key", "company_key", "id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # As imported (normalised): what people see and the sender mails.
    email: Mapped[str] = mapped_column(SearchKey)
    # The identity: one mailbox written with a Unicode or a punycode domain is one person.
    email_key: Mapped[str] = mapped_column(SearchKey, unique=True)
    # The key's ASCII domain, which domain blocks name.
    email_domain: Mapped[str] = mapped_column(String(255), index=True)
    # The keyed fingerprint of email_key (storage.keys.address_fingerprint), as suppressions and deleted
    # memberships keep it: an unsubscribe link sent before a delete finds the person imported again since.
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    # The fingerprint of the form the first release used (the address as shown), where it differs from the key's:
    # fingerprints kept before the upgrade still find the person.
    legacy_fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    first_name: Mapped[str] = mapped_column(String(255), default="")
    last_name: Mapped[str] = mapped_column(String(255), default="")
    company: Mapped[str] = mapped_column(String(255), default="")
    title: Mapped[str] = mapped_column(String(255), default="")
    phone: Mapped[str] = mapped_column(String(255), default="")
    linkedin_url: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(String(255), default="")
    # Accent-free lower-case keys for prefix search: "first last", "last", "company".
    name_key: Mapped[str] = mapped_column(SearchKey, default="")
    last_name_key: Mapped[str] = mapped_column(SearchKey, default="")
    company_key: Mapped[str] = mapped_column(SearchKey, default="")
    # A hard bounce: the mailbox does not exist, so the address is sent nothing in any campaign.
    bounced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Bumped by every change, so that a screen opened before a colleague's change can not overwrite it.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    do_not_contact: Mapped[DoNotContact | None] = relationship(
        back_populates="prospect", uselist=False, passive_deletes=True
    )


class Import(Base):
    """One run of `prospectbot import`: its memberships point here, which tells in-file duplicates apart."""

    __tablename__ = "imports"
    __table_args__ = (NEVER_REUSE_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(255))
    source_name: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class Membership(Base):
    """A prospect in a campaign. Its id is what unsubscribe links name."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("campaign_id", "prospect_id"),
        # With the campaign: a bulk change reads its prospects' campaigns from the index alone.
        Index("ix_memberships_prospect_campaign", "prospect_id", "campaign_id"),
        # The no-engagement rule's candidates, by campaign and emails sent. Only members sent something and
        # never engaged are in it, so an import's new members (sent nothing yet) cost it nothing.
        Index("ix_memberships_unengaged", "campaign_id", "sent_count", "prospect_id",
              sqlite_where=text(UNENGAGED), postgresql_where=text(UNENGAGED)),
        # A campaign's search: each key of its members in order, so a page reads its own rows (storage.search).
        *(Index(f"ix_memberships_{key}", "campaign_id", key, "prospect_id") for key in MEMBER_SEARCH_KEYS),
        CheckConstraint("status IN ('active', 'bounced')", name="status"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    prospect_id: Mapped[int] = mapped_column(ForeignKey("prospects.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="active")
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="SET NULL"))
    # Kept by a trigger on activities (migration 0009) as each row is written, whoever writes it: the "sent"
    # emails of this campaign to this member, and whether they ever opened or replied to one. A delete takes the
    # membership with it, so a re-imported person starts again from nothing, as their anonymous activity does.
    sent_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    engaged: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # The prospect's search keys, copied (migration 0010): given by imports, else filled in by a trigger from the
    # prospect as the row is inserted, and kept equal to the prospect's by another. Never written by hand.
    name_key: Mapped[str | None] = mapped_column(SearchKey)
    last_name_key: Mapped[str | None] = mapped_column(SearchKey)
    company_key: Mapped[str | None] = mapped_column(SearchKey)
    email_key: Mapped[str | None] = mapped_column(SearchKey)


class Activity(Base):
    """An email event written by the sender. After a delete the row stays, anonymous, so campaign totals hold."""

    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_prospect_campaign", "prospect_id", "campaign_id", "kind"),
        # Covers a campaign's totals by kind (sent, opened, replied) without reading the table. (The no-engagement
        # rule, its first user, reads the counts kept on memberships since migration 0009.)
        Index("ix_activities_campaign_kind", "campaign_id", "kind", "prospect_id"),
        CheckConstraint("kind IN ('sent', 'opened', 'replied', 'bounced')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    prospect_id: Mapped[int | None] = mapped_column(ForeignKey("prospects.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A "sent" email's Message-ID (without angle brackets), which replies and bounces name.
    message_id: Mapped[str | None] = mapped_column(String(255), index=True)


class DoNotContact(Base):
    """Present means the person is excluded from every send, in every campaign, now and later."""

    __tablename__ = "do_not_contact"
    __table_args__ = (
        # The latest opt-outs, for App Home.
        Index("ix_do_not_contact_reason_created_at", "reason", "created_at"),
        CheckConstraint(
            "reason IN ('requested', 'not-target', 'no-interest', 'other', 'domain-blocked')", name="reason"
        ),
    )

    prospect_id: Mapped[int] = mapped_column(ForeignKey("prospects.id", ondelete="CASCADE"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Counts this row's changes. A prospect's version, which stale screens are checked against, is
    # prospects.version + this: a bulk change inserts rows here without rewriting a single wide prospect row.
    revision: Mapped[int] = mapped_column(Integer, default=1)

    prospect: Mapped[Prospect] = relationship(back_populates="do_not_contact")


class Suppression(Base):
    """A keyed hash of a deleted person's address: imports skip it. Never the address itself."""

    __tablename__ = "suppressions"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """Append-only. Names prospects by id only, so a delete leaves no address or name behind."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_prospect_id", "prospect_id"),
        # A person's own recent actions, for their App Home.
        Index("ix_audit_log_actor", "actor", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    prospect_id: Mapped[int | None] = mapped_column(Integer)
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Setting(Base):
    """Small facts about the database itself, such as which secret key it was created with."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class DeletedMembership(Base):
    """What an unsubscribe link of a deleted prospect still needs: the keyed fingerprint of their address, so a
    click on a year-old email can still block it. No address, no name."""

    __tablename__ = "deleted_memberships"

    membership_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    campaign_id: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    deleted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReissuedMembership(Base):
    """A membership id the first release gave to someone new after deleting the membership that had it (SQLite
    reused the highest id). Unsubscribe links sent before the upgrade name both people: such a link changes the
    live person only on evidence that it was sent to them (a "sent" activity before `detected_at`)."""

    __tablename__ = "reissued_memberships"

    membership_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    detected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Base):
    """The outbox: an opt-out to announce in Slack, written in the opt-out's own transaction and delivered by
    the worker. It names the prospect by id; the message is rendered at delivery."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "delivered_at", "next_attempt_at"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # One prospect, or none for a summary of a bulk change of `prospect_count` prospects.
    prospect_id: Mapped[int | None] = mapped_column(Integer)
    prospect_count: Mapped[int] = mapped_column(Integer, default=1)
    # Where to post: a channel id, or "" for the default notification channel.
    channel: Mapped[str] = mapped_column(String(40), default="")
    campaign_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(String(20))
    via: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    slack_ts: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str] = mapped_column(Text, default="")
    # The reply this notification is about: its card (reason "reply-card"), or the phrase of a reply's opt-out.
    inbound_message_id: Mapped[int | None] = mapped_column(Integer)


ROLES = ("manager", "member")
REQUEST_RULES = ("no-engagement", "domains", "addresses")
REQUEST_STATUSES = ("pending", "approved", "rejected", "expired")


class RoleGrant(Base):
    """A role given by `prospectbot roles grant`, on top of what the Slack user groups in settings say."""

    __tablename__ = "role_grants"
    __table_args__ = (CheckConstraint("role IN ('manager', 'member')", name="role"),)

    user_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    granted_by: Mapped[str] = mapped_column(String(255))
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class BlockedDomain(Base):
    """Nobody at this email domain is contacted: current prospects are do not contact, imports skip new ones."""

    __tablename__ = "blocked_domains"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    actor: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class BulkRequest(Base):
    """A request to make a frozen set of prospects do not contact, waiting for a manager's decision."""

    __tablename__ = "bulk_requests"
    __table_args__ = (
        Index("ix_bulk_requests_status_expires", "status", "expires_at"),
        CheckConstraint("status IN ('pending', 'approved', 'rejected', 'expired')", name="status"),
        CheckConstraint("rule IN ('no-engagement', 'domains', 'addresses')", name="rule"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(20))
    # The rule's parameters as the requester gave them: {"min_sent": 3}, {"domains": [...]}, {"addresses": n}.
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(255))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    prospect_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    applied_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    # Where the approval message was posted, so every decision can update it in place.
    message_channel: Mapped[str] = mapped_column(String(40), default="")
    message_ts: Mapped[str] = mapped_column(String(40), default="")


class BulkRequestItem(Base):
    """One prospect of a request's frozen set. No foreign key: a prospect deleted before the decision is
    skipped, and counted, when the request is applied."""

    __tablename__ = "bulk_request_items"

    request_id: Mapped[int] = mapped_column(ForeignKey("bulk_requests.id", ondelete="CASCADE"), primary_key=True)
    prospect_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class SlackRequestRecord(Base):
    """A signed Slack request that changes state, kept for Slack's replay window: a replay of it is answered
    with the acknowledgement stored here instead of being applied again. Keyed by a hash of its signature."""

    __tablename__ = "slack_request_records"
    __table_args__ = (Index("ix_slack_request_records_received_at", "received_at"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Null until the first arrival has been answered; a replay arriving meanwhile waits for it.
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100), default="")
    body: Mapped[str] = mapped_column(Text, default="")


class SlackMessage(Base):
    """A bot message in Slack naming a prospect (by id only): deleting them marks it due, the worker edits it."""

    __tablename__ = "slack_messages"
    __table_args__ = (
        UniqueConstraint("channel", "ts", "prospect_id"), Index("ix_slack_messages_prospect_id", "prospect_id"),
        Index("ix_slack_messages_next_attempt_at", "next_attempt_at"),
        CheckConstraint("kind IN ('confirmation', 'notification', 'bulk-request', 'reply-card')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(40))  # as Slack answered; "" is the default notification channel
    ts: Mapped[str] = mapped_column(String(40))
    prospect_id: Mapped[int] = mapped_column(Integer)  # no foreign key: needed once the prospect is deleted
    kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int | None] = mapped_column(Integer)  # the notification or bulk request it shows
    posted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    redaction_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # set only while a redaction waits
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    redaction_done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(Text, default="")  # the last failure, or why it was not edited


INBOUND_KINDS = ("hard_bounce", "soft_bounce", "auto_reply", "reply", "unsubscribe", "unreadable")
CARD_STATUSES = ("open", "do-not-contact", "not-interested", "not-an-opt-out", "gone")


class InboundMessage(Base):
    """A message read from one of the team's mailboxes, once: never its body, only how it was matched, what it was
    and what was done; for an ambiguous reply, the excerpt its Slack card shows (erased when the prospect is)."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("mailbox", "uidvalidity", "uid"), Index("ix_inbound_messages_prospect_id", "prospect_id"),
        Index("ix_inbound_messages_message_id", "message_id"), Index("ix_inbound_messages_card_status", "card_status"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(80))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    matched_by: Mapped[str] = mapped_column(String(20))  # reference, token, original, recipient, sender, none
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    prospect_id: Mapped[int | None] = mapped_column(Integer)  # no foreign key: set to null by a delete
    intent: Mapped[str | None] = mapped_column(String(20))
    phrase: Mapped[str] = mapped_column(Text, default="")
    excerpt: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(40))
    problems: Mapped[str] = mapped_column(Text, default="")
    card_status: Mapped[str | None] = mapped_column(String(20))
    card_channel: Mapped[str | None] = mapped_column(String(40))
    card_ts: Mapped[str | None] = mapped_column(String(40))
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class MailboxCursor(Base):
    """How far a mailbox has been read (UIDVALIDITY and last UID), and which worker holds it for a lease."""

    __tablename__ = "mailbox_cursors"

    mailbox: Mapped[str] = mapped_column(String(80), primary_key=True)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
