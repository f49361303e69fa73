"""Each membership carries its engagement: `memberships.sent_count` (the campaign's "sent" emails to that member)
and `memberships.engaged` (they opened or replied to one), kept by a trigger on `activities` as rows are written.

The no-engagement rule of a bulk request counted a campaign's "sent" activity rows per prospect at every preview:
three million rows for a 1,000,000-member campaign. With the counts on the membership it reads one range of
`ix_memberships_unengaged`, a partial index of the members sent something and never engaged.

A trigger, not the code that writes activity, keeps the counts: the sender, inbound mail, imports, the demo and any
other program writing to the shared database all write `activities`, and every such row is counted the same way,
in the transaction that writes it. The upgrade counts the activity already recorded.

Revision ID: 0009
Revises: 0008
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UNENGAGED = "sent_count > 0 AND NOT engaged"  # storage.models.UNENGAGED when this was written
ENGAGING = "('opened', 'replied')"

# Rows without a prospect (a deleted person's, anonymised) and bounces change no count.
SQLITE_TRIGGER = f"""
CREATE TRIGGER activities_count_engagement AFTER INSERT ON activities
WHEN NEW.prospect_id IS NOT NULL AND NEW.kind IN ('sent', 'opened', 'replied')
BEGIN
    UPDATE memberships
    SET sent_count = sent_count + (NEW.kind = 'sent'), engaged = engaged OR NEW.kind IN {ENGAGING}
    WHERE campaign_id = NEW.campaign_id AND prospect_id = NEW.prospect_id;
END
"""

# Once per statement, over the rows it inserted: a bulk insert of activity updates each membership once.
POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION activities_count_engagement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE memberships m
    SET sent_count = m.sent_count + counted.sent, engaged = m.engaged OR counted.engaged
    FROM (SELECT campaign_id, prospect_id, count(*) FILTER (WHERE kind = 'sent') AS sent,
                 bool_or(kind IN {ENGAGING}) AS engaged
          FROM inserted_activities
          WHERE prospect_id IS NOT NULL AND kind IN ('sent', 'opened', 'replied')
          GROUP BY campaign_id, prospect_id) counted
    WHERE m.campaign_id = counted.campaign_id AND m.prospect_id = counted.prospect_id;
    RETURN NULL;
END
$$
"""
POSTGRESQL_TRIGGER = """
CREATE TRIGGER activities_count_engagement AFTER INSERT ON activities
REFERENCING NEW TABLE AS inserted_activities
FOR EACH STATEMENT EXECUTE FUNCTION activities_count_engagement()
"""

BACKFILL = f"""
UPDATE memberships
SET sent_count = counted.sent, engaged = counted.engaged
FROM (SELECT campaign_id, prospect_id, sum(CASE WHEN kind = 'sent' THEN 1 ELSE 0 END) AS sent,
             max(CASE WHEN kind IN {ENGAGING} THEN 1 ELSE 0 END) = 1 AS engaged
      FROM activities
      WHERE prospect_id IS NOT NULL
      GROUP BY campaign_id, prospect_id) counted
WHERE memberships.campaign_id = counted.campaign_id AND memberships.prospect_id = counted.prospect_id
"""


def upgrade() -> None:
    op.add_column("memberships", sa.Column("sent_count", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.add_column("memberships", sa.Column("engaged", sa.Boolean(), server_default=sa.false(), nullable=False))
    bind = op.get_bind()
    bind.execute(sa.text(BACKFILL))
    op.create_index("ix_memberships_unengaged", "memberships", ["campaign_id", "sent_count", "prospect_id"],
                    sqlite_where=sa.text(UNENGAGED), postgresql_where=sa.text(UNENGAGED))
    if bind.dialect.name == "sqlite":
        bind.execute(sa.text(SQLITE_TRIGGER))
    else:
        bind.execute(sa.text(POSTGRESQL_FUNCTION))
        bind.execute(sa.text(POSTGRESQL_TRIGGER))


def downgrade() -> None:
    op.execute("DROP TRIGGER activities_count_engagement" + (" ON activities" if _postgresql() else ""))
    if _postgresql():
        op.execute("DROP FUNCTION activities_count_engagement()")
    op.drop_index("ix_memberships_unengaged", table_name="memberships")
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("engaged")
        batch.drop_column("sent_count")


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"
