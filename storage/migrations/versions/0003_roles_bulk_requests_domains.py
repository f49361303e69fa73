"""Roles, bulk unsubscribe requests awaiting approval, blocked domains; a revision on do-not-contact rows, so a
bulk change need not rewrite prospects; a covering index for "sent N emails, never opened or replied".

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("do_not_contact") as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
    op.create_index("ix_do_not_contact_reason_created_at", "do_not_contact", ["reason", "created_at"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor", "id"])
    with op.batch_alter_table("activities") as batch_op:
        batch_op.drop_index("ix_activities_campaign_kind")
        batch_op.create_index("ix_activities_campaign_kind", ["campaign_id", "kind", "prospect_id"], unique=False)
    op.create_table(
        "role_grants",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("granted_by", sa.String(length=255), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('manager', 'member')", name=op.f("ck_role_grants_role")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_role_grants")),
    )
    op.create_table(
        "blocked_domains",
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_blocked_domains")),
    )
    op.create_table(
        "bulk_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prospect_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_count", sa.Integer(), nullable=False),
        sa.Column("skipped_count", sa.Integer(), nullable=False),
        sa.Column("message_channel", sa.String(length=40), nullable=False),
        sa.Column("message_ts", sa.String(length=40), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'expired')",
                           name=op.f("ck_bulk_requests_status")),
        sa.CheckConstraint("rule IN ('no-engagement', 'domains', 'addresses')", name=op.f("ck_bulk_requests_rule")),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_bulk_requests_campaign_id_campaigns"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_requests")),
    )
    op.create_index("ix_bulk_requests_status_expires", "bulk_requests", ["status", "expires_at"])
    op.create_table(
        "bulk_request_items",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("prospect_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["bulk_requests.id"],
                                name=op.f("fk_bulk_request_items_request_id_bulk_requests"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id", "prospect_id", name=op.f("pk_bulk_request_items")),
    )


def downgrade() -> None:
    op.drop_table("bulk_request_items")
    op.drop_index("ix_bulk_requests_status_expires", table_name="bulk_requests")
    op.drop_table("bulk_requests")
    op.drop_table("blocked_domains")
    op.drop_table("role_grants")
    with op.batch_alter_table("activities") as batch_op:
        batch_op.drop_index("ix_activities_campaign_kind")
        batch_op.create_index("ix_activities_campaign_kind", ["campaign_id", "kind"], unique=False)
    op.drop_index("ix_audit_log_actor", table_name="audit_log")
    op.drop_index("ix_do_not_contact_reason_created_at", table_name="do_not_contact")
    with op.batch_alter_table("do_not_contact") as batch_op:
        batch_op.drop_column("revision")
