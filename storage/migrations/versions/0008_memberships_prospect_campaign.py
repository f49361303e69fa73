"""Memberships by prospect carry their campaign: `ix_memberships_prospect_id` becomes
`ix_memberships_prospect_campaign` on (prospect_id, campaign_id).

A bulk change reads the campaigns of every prospect it marks, to say in which channels to announce it; with the
campaign in the index, those reads never visit the table, where they fetched each membership row by row. The new
index serves every lookup by prospect the old one did (the cascade of a delete, a prospect's screen), so the old
one goes.

Revision ID: 0008
Revises: 0007
"""
from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_memberships_prospect_campaign", "memberships", ["prospect_id", "campaign_id"])
    op.drop_index("ix_memberships_prospect_id", table_name="memberships")


def downgrade() -> None:
    op.create_index("ix_memberships_prospect_id", "memberships", ["prospect_id"])
    op.drop_index("ix_memberships_prospect_campaign", table_name="memberships")
