"""Signed Slack requests already received, with the acknowledgement each was answered with, so a replay within
Slack's five-minute window is answered the same way and changes nothing.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_request_records",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_slack_request_records")),
    )
    op.create_index("ix_slack_request_records_received_at", "slack_request_records", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_slack_request_records_received_at", table_name="slack_request_records")
    op.drop_table("slack_request_records")
