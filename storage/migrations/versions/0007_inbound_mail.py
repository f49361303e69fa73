"""Inbound mail: replies, bounces and mailto: unsubscribes read from the team's mailboxes.

- `activities.message_id`: the Message-ID of each email sent, which replies and bounces refer to.
- `prospects.bounced_at`: a hard bounce makes the address unsendable in every campaign (a mailbox that does not exist
  does not exist for any campaign); bounces recorded before this upgrade are carried over, and `sendable_recipients`
  leaves bounced prospects out.
- `inbound_messages`: one row per message read (never its body): how it was matched, what it was, what was done,
  and for an ambiguous reply the short excerpt its Slack card shows and the card's state.
- `mailbox_cursors`: per mailbox, the UIDVALIDITY and last UID processed, and a lease so one worker reads it.
- `notifications.inbound_message_id`: an outbox row that posts a reply's card.
- `slack_messages.kind` gains 'reply-card', so a card is redacted after a delete like other messages.

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SENDABLE_RECIPIENTS_VIEW = """
CREATE VIEW sendable_recipients AS
SELECT m.campaign_id   AS campaign_id,
       c.name          AS campaign_name,
       m.id            AS membership_id,
       m.prospect_id   AS prospect_id,
       p.email         AS email,
       p.first_name    AS first_name,
       p.last_name     AS last_name,
       p.company       AS company,
       p.title         AS title
FROM memberships m
JOIN campaigns c ON c.id = m.campaign_id
JOIN prospects p ON p.id = m.prospect_id
WHERE m.status = 'active'
  AND p.bounced_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM do_not_contact d WHERE d.prospect_id = m.prospect_id)
"""
OLD_KINDS = "kind IN ('confirmation', 'notification', 'bulk-request')"
NEW_KINDS = "kind IN ('confirmation', 'notification', 'bulk-request', 'reply-card')"


def upgrade() -> None:
    op.execute("DROP VIEW sendable_recipients")
    op.add_column("activities", sa.Column("message_id", sa.String(length=255), nullable=True))
    op.create_index("ix_activities_message_id", "activities", ["message_id"])
    op.add_column("prospects", sa.Column("bounced_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("""UPDATE prospects SET bounced_at = (
                    SELECT min(a.occurred_at) FROM activities a WHERE a.prospect_id = prospects.id AND a.kind = 'bounced')
                  WHERE EXISTS (SELECT 1 FROM activities a WHERE a.prospect_id = prospects.id AND a.kind = 'bounced')""")
    op.execute(SENDABLE_RECIPIENTS_VIEW)
    op.add_column("notifications", sa.Column("inbound_message_id", sa.Integer(), nullable=True))

    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(length=80), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("matched_by", sa.String(length=20), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("prospect_id", sa.Integer(), nullable=True),
        sa.Column("intent", sa.String(length=20), nullable=True),
        sa.Column("phrase", sa.Text(), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("card_status", sa.String(length=20), nullable=True),
        sa.Column("card_channel", sa.String(length=40), nullable=True),
        sa.Column("card_ts", sa.String(length=40), nullable=True),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint("mailbox", "uidvalidity", "uid", name=op.f("uq_inbound_messages_mailbox")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_inbound_messages_prospect_id", "inbound_messages", ["prospect_id"])
    op.create_index("ix_inbound_messages_message_id", "inbound_messages", ["message_id"])
    op.create_index("ix_inbound_messages_card_status", "inbound_messages", ["card_status"])
    op.create_table(
        "mailbox_cursors",
        sa.Column("mailbox", sa.String(length=80), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("mailbox", name=op.f("pk_mailbox_cursors")),
    )
    with op.batch_alter_table("slack_messages") as batch:
        batch.drop_constraint(op.f("ck_slack_messages_kind"), type_="check")
        batch.create_check_constraint("kind", NEW_KINDS)


def downgrade() -> None:
    with op.batch_alter_table("slack_messages") as batch:
        batch.drop_constraint(op.f("ck_slack_messages_kind"), type_="check")
        batch.create_check_constraint("kind", OLD_KINDS)
    op.drop_table("mailbox_cursors")
    op.drop_index("ix_inbound_messages_card_status", table_name="inbound_messages")
    op.drop_index("ix_inbound_messages_message_id", table_name="inbound_messages")
    op.drop_index("ix_inbound_messages_prospect_id", table_name="inbound_messages")
    op.drop_table("inbound_messages")
    op.drop_column("notifications", "inbound_message_id")
    op.execute("DROP VIEW sendable_recipients")
    op.drop_column("prospects", "bounced_at")
    op.drop_index("ix_activities_message_id", table_name="activities")
    op.drop_column("activities", "message_id")
    op.execute(SENDABLE_RECIPIENTS_VIEW.replace("  AND p.bounced_at IS NULL\n", ""))
