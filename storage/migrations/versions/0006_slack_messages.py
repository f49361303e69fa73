"""Which of the bot's Slack messages name which prospect, so that a delete can have them edited.

The upgrade records what the database already knew of messages posted before it: opt-out notifications
(`notifications.slack_ts`) and bulk requests' approval messages (`bulk_requests.message_ts`, naming the sample of
five they show). Those that may show someone deleted before the upgrade are due for redaction at once. Direct
messages sent before it were never recorded.

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

NOW = sa.bindparam("now", type_=sa.DateTime(timezone=True))
SAMPLE_SIZE = 5  # storage.bulk_requests.SAMPLE_SIZE when this was written: what an approval message shows

# A notification posted before its prospect was deleted shows their name and address; one posted after it already
# said "a prospect (deleted since)". A prospect gone with no delete recorded (merged into another by 0005) counts
# as deleted: redacting a message too many is the safe side.
SHOWS_DELETED = """NOT EXISTS (SELECT 1 FROM prospects p WHERE p.id = n.prospect_id)
  AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.action = 'delete' AND a.prospect_id = n.prospect_id
                                             AND a.occurred_at < n.delivered_at)"""


def upgrade() -> None:
    table = op.create_table(
        "slack_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("ts", sa.String(length=40), nullable=False),
        sa.Column("prospect_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redaction_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("redaction_done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('confirmation', 'notification', 'bulk-request')",
                           name=op.f("ck_slack_messages_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_messages")),
        sa.UniqueConstraint("channel", "ts", "prospect_id", name=op.f("uq_slack_messages_channel")),
    )
    op.create_index("ix_slack_messages_prospect_id", "slack_messages", ["prospect_id"])
    op.create_index("ix_slack_messages_next_attempt_at", "slack_messages", ["next_attempt_at"])
    bind = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    _notifications(bind, now)
    _approval_messages(bind, table, now)


def _notifications(bind: sa.Connection, now: dt.datetime) -> None:
    """Every delivered notification naming a prospect who exists; and, due at once, those showing someone deleted
    since."""
    recorded = """
        INSERT INTO slack_messages (channel, ts, prospect_id, kind, subject_id, posted_at, attempts, outcome{due})
        SELECT n.channel, n.slack_ts, n.prospect_id, 'notification', n.id, n.delivered_at, 0, ''{now}
        FROM notifications n
        WHERE n.prospect_id IS NOT NULL AND n.slack_ts IS NOT NULL AND n.slack_ts <> ''
          AND n.delivered_at IS NOT NULL AND {which}"""
    bind.execute(sa.text(recorded.format(due="", now="",
                                         which="EXISTS (SELECT 1 FROM prospects p WHERE p.id = n.prospect_id)")))
    bind.execute(sa.text(recorded.format(due=", redaction_requested_at, next_attempt_at", now=", :now, :now",
                                         which=f"({SHOWS_DELETED})")).bindparams(NOW), {"now": now})


def _approval_messages(bind: sa.Connection, table: sa.Table, now: dt.datetime) -> None:
    """Each approval message names the first five of its request's prospects that still exist. One deleted
    before the upgrade may be on it: it was, if it came before the fifth of those shown now."""
    requests = bind.execute(sa.text(
        "SELECT id, message_channel, message_ts, requested_at FROM bulk_requests WHERE message_ts <> ''")
        .columns(requested_at=sa.DateTime(timezone=True))).all()
    for request_id, channel, ts, requested_at in requests:
        shown = list(bind.scalars(sa.text(
            "SELECT i.prospect_id FROM bulk_request_items i JOIN prospects p ON p.id = i.prospect_id "
            "WHERE i.request_id = :r ORDER BY i.prospect_id LIMIT :n"), {"r": request_id, "n": SAMPLE_SIZE}))
        before_last = " AND i.prospect_id < :last" if len(shown) == SAMPLE_SIZE else ""
        deleted = bind.scalar(sa.text(
            "SELECT min(i.prospect_id) FROM bulk_request_items i WHERE i.request_id = :r AND NOT EXISTS "
            f"(SELECT 1 FROM prospects p WHERE p.id = i.prospect_id){before_last}"),
            {"r": request_id, **({"last": shown[-1]} if before_last else {})})
        named = [(pid, None) for pid in shown] + ([(deleted, now)] if deleted is not None else [])
        if named:
            bind.execute(table.insert(), [
                {"channel": channel, "ts": ts, "prospect_id": pid, "kind": "bulk-request", "subject_id": request_id,
                 "posted_at": requested_at, "redaction_requested_at": due, "next_attempt_at": due, "attempts": 0,
                 "outcome": ""} for pid, due in named])


def downgrade() -> None:
    op.drop_index("ix_slack_messages_next_attempt_at", table_name="slack_messages")
    op.drop_index("ix_slack_messages_prospect_id", table_name="slack_messages")
    op.drop_table("slack_messages")
