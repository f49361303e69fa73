"""Identities that can not be reused or split.

- Ids are never handed out twice: SQLite tables whose ids leave the database are rebuilt with AUTOINCREMENT,
  and their counters start above every id ever referred to (audit rows, frozen bulk sets, deleted memberships),
  so that an id the first release reused is not reused again. PostgreSQL's sequences never went back.
- A prospect is known by the identity of their address (`email_key`: the domain in ASCII, IDNA UTS 46), so the
  Unicode and punycode forms of one mailbox are one person. Prospects that only differed so are merged, the
  strictest state winning (their own opt-out, then a colleague's do not contact, then nothing), with an audit
  row for each merge.
- Each prospect keeps the keyed fingerprint of that identity (and of the form used before, where it differs), so
  an unsubscribe link sent before a delete finds the person imported again since.
- Membership ids the first release already gave to someone new are recorded (`reissued_memberships`).
- Search keys fold case fully ("Gauß" is found by "gauss") and spell out œ, æ, ø, ł, ….
- Domain blocks name ASCII domains.

Computing fingerprints needs SECRET_KEY: `prospectbot db upgrade` and SQLite's automatic migration pass it.

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from storage.emails import InvalidEmail, address_key, ascii_domain
from storage.keys import address_fingerprint, search_key

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SEARCH_KEY = sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql")
# Typed parameters for raw SQL: each database's own form of a timestamp, and of JSON.
NOW = sa.bindparam("now", type_=sa.DateTime(timezone=True))
BATCH = 5_000
# Tables whose ids leave the database.
NEVER_REUSED = ("campaigns", "prospects", "memberships", "imports", "notifications", "bulk_requests")
# Rebuilding a table on SQLite drops it, which a view that reads it would not survive.
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
  AND NOT EXISTS (SELECT 1 FROM do_not_contact d WHERE d.prospect_id = m.prospect_id)
"""
# Stricter first: a prospect's own opt-out, then any colleague's reason, then nothing.
OWN_OPT_OUT = "requested"


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    now = dt.datetime.now(dt.UTC)
    secret_key: bytes | None = context.config.attributes.get("secret_key")
    if secret_key is None and bind.scalar(sa.text("SELECT count(*) FROM prospects")):
        raise RuntimeError("This migration computes keyed fingerprints of addresses: run it with SECRET_KEY set "
                           "(`prospectbot db upgrade`).")
    op.execute("DROP VIEW sendable_recipients")

    with op.batch_alter_table("prospects") as batch:
        batch.add_column(sa.Column("email_key", SEARCH_KEY, nullable=True))
        batch.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("legacy_fingerprint", sa.String(length=64), nullable=True))
    _fill_identities(bind, secret_key)
    _merge_duplicates(bind, secret_key, now)
    _recompute_campaign_keys(bind)
    _ascii_blocked_domains(bind)

    op.create_table(
        "reissued_memberships",
        sa.Column("membership_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("membership_id", name=op.f("pk_reissued_memberships")),
    )
    bind.execute(sa.text("INSERT INTO reissued_memberships (membership_id, detected_at) "
                         "SELECT m.id, :now FROM memberships m JOIN deleted_memberships d ON d.membership_id = m.id")
                 .bindparams(NOW), {"now": now})

    rebuild: dict[str, Any] = {"recreate": "always", "table_kwargs": {"sqlite_autoincrement": True}} if sqlite else {}
    with op.batch_alter_table("prospects", **rebuild) as batch:
        batch.alter_column("email_key", existing_type=SEARCH_KEY, nullable=False)
        batch.alter_column("fingerprint", existing_type=sa.String(length=64), nullable=False)
        batch.drop_constraint("uq_prospects_email", type_="unique")
        batch.create_unique_constraint(batch.f("uq_prospects_email_key"), ["email_key"])
        batch.create_index(batch.f("ix_prospects_fingerprint"), ["fingerprint"], unique=False)
        batch.create_index(batch.f("ix_prospects_legacy_fingerprint"), ["legacy_fingerprint"], unique=False)
    if sqlite:
        for table in NEVER_REUSED:
            if table != "prospects":
                with op.batch_alter_table(table, **rebuild):
                    pass
        _start_counters_above_every_id_ever_used(bind)
    op.execute(SENDABLE_RECIPIENTS_VIEW)


def _fill_identities(bind: Any, secret_key: bytes | None) -> None:
    """email_key, fingerprints, the ASCII domain and the new search keys of every prospect, a batch at a time."""
    last = 0
    while True:
        rows = bind.execute(sa.text(
            "SELECT id, email, first_name, last_name, company FROM prospects WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH}).all()
        if not rows:
            return
        last = rows[-1].id
        updates = []
        for row in rows:
            try:
                key = address_key(row.email)
            except InvalidEmail:
                key = row.email  # an address the first release let in that IDNA refuses: known as it was shown
            assert secret_key is not None
            fingerprint = address_fingerprint(secret_key, key)
            legacy = address_fingerprint(secret_key, row.email) if key != row.email else None
            updates.append({"id": row.id, "key": key, "fp": fingerprint, "legacy": legacy,
                            "domain": key.rpartition("@")[2],
                            "name_key": search_key(f"{row.first_name} {row.last_name}"),
                            "last_name_key": search_key(row.last_name), "company_key": search_key(row.company)})
        bind.execute(sa.text(
            "UPDATE prospects SET email_key = :key, fingerprint = :fp, legacy_fingerprint = :legacy, "
            "email_domain = :domain, name_key = :name_key, last_name_key = :last_name_key, "
            "company_key = :company_key WHERE id = :id"), updates)


def _merge_duplicates(bind: Any, secret_key: bytes | None, now: dt.datetime) -> None:
    """Prospects whose addresses have one identity become one: the oldest keeps the strictest state and every
    campaign; the others' memberships move to it, or, in a campaign it is already in, are deleted with a
    fingerprint kept so that their unsubscribe links still work."""
    groups = bind.execute(sa.text(
        "SELECT email_key FROM prospects GROUP BY email_key HAVING count(*) > 1")).scalars().all()
    for key in groups:
        ids = bind.execute(sa.text("SELECT id FROM prospects WHERE email_key = :key ORDER BY id"),
                           {"key": key}).scalars().all()
        survivor, others = ids[0], ids[1:]
        states = {row.prospect_id: row for row in bind.execute(sa.text(
            "SELECT prospect_id, reason, note, actor, channel, created_at, revision FROM do_not_contact "
            "WHERE prospect_id IN :ids").bindparams(sa.bindparam("ids", expanding=True)), {"ids": ids})}
        strictest = _strictest(list(states.values()))
        before = {str(pid): (states[pid].reason if pid in states else None) for pid in ids}
        if strictest is not None and strictest.prospect_id != survivor:
            # The strictest row moves to the survivor; its revision moves past every one the group had, so a
            # screen opened on any of them is out of date.
            bind.execute(sa.text("DELETE FROM do_not_contact WHERE prospect_id = :id"), {"id": survivor})
            bind.execute(sa.text("UPDATE do_not_contact SET prospect_id = :survivor, revision = :revision "
                                 "WHERE prospect_id = :source"),
                         {"survivor": survivor, "source": strictest.prospect_id,
                          "revision": max(row.revision for row in states.values()) + 1})
        survivor_campaigns = set(bind.execute(sa.text(
            "SELECT campaign_id FROM memberships WHERE prospect_id = :id"), {"id": survivor}).scalars())
        assert secret_key is not None
        fingerprint = address_fingerprint(secret_key, key)
        for other in others:
            for membership_id, campaign_id in bind.execute(sa.text(
                    "SELECT id, campaign_id FROM memberships WHERE prospect_id = :id ORDER BY id"), {"id": other}):
                if campaign_id in survivor_campaigns:
                    bind.execute(sa.text(
                        "INSERT INTO deleted_memberships (membership_id, campaign_id, fingerprint, deleted_at) "
                        "VALUES (:mid, :cid, :fp, :now)").bindparams(NOW),
                        {"mid": membership_id, "cid": campaign_id, "fp": fingerprint, "now": now})
                    bind.execute(sa.text("DELETE FROM memberships WHERE id = :mid"), {"mid": membership_id})
                else:
                    bind.execute(sa.text("UPDATE memberships SET prospect_id = :survivor WHERE id = :mid"),
                                 {"survivor": survivor, "mid": membership_id})
                    survivor_campaigns.add(campaign_id)
            for table in ("activities", "notifications"):
                bind.execute(sa.text(f"UPDATE {table} SET prospect_id = :survivor WHERE prospect_id = :id"),
                             {"survivor": survivor, "id": other})
            bind.execute(sa.text(
                "UPDATE bulk_request_items SET prospect_id = :survivor WHERE prospect_id = :id AND NOT EXISTS "
                "(SELECT 1 FROM bulk_request_items i WHERE i.request_id = bulk_request_items.request_id "
                "AND i.prospect_id = :survivor)"), {"survivor": survivor, "id": other})
            bind.execute(sa.text("DELETE FROM bulk_request_items WHERE prospect_id = :id"), {"id": other})
            bind.execute(sa.text("DELETE FROM do_not_contact WHERE prospect_id = :id"), {"id": other})
            bind.execute(sa.text("DELETE FROM prospects WHERE id = :id"), {"id": other})
        bind.execute(sa.text("UPDATE prospects SET version = version + 1 WHERE id = :id"), {"id": survivor})
        bind.execute(sa.text(
            "INSERT INTO audit_log (occurred_at, actor, channel, action, prospect_id, campaign_id, before, after) "
            "VALUES (:now, 'system:migration', 'cli', 'merge', :id, NULL, :before, :after)")
            .bindparams(NOW, sa.bindparam("before", type_=sa.JSON), sa.bindparam("after", type_=sa.JSON)),
            {"now": now, "id": survivor, "before": {"merged": others, "do_not_contact": before},
             "after": {"do_not_contact": strictest.reason if strictest is not None else None}})


def _strictest(states: list[Any]) -> Any:
    own = [row for row in states if row.reason == OWN_OPT_OUT]
    ranked = sorted(own or states, key=lambda row: row.created_at)
    return ranked[0] if ranked else None


def _recompute_campaign_keys(bind: Any) -> None:
    """Campaign names keep their keys unless full case folding gives a new one no other campaign has."""
    taken = set(bind.execute(sa.text("SELECT name_key FROM campaigns")).scalars())
    for campaign_id, name, old in bind.execute(sa.text("SELECT id, name, name_key FROM campaigns")).all():
        new = search_key(name)
        if new != old and new not in taken:
            bind.execute(sa.text("UPDATE campaigns SET name_key = :key WHERE id = :id"), {"key": new, "id": campaign_id})
            taken.discard(old)
            taken.add(new)


def _ascii_blocked_domains(bind: Any) -> None:
    for domain in bind.execute(sa.text("SELECT domain FROM blocked_domains")).scalars().all():
        if domain.isascii():
            continue
        try:
            ascii_form = ascii_domain(domain)
        except InvalidEmail:
            continue
        if bind.scalar(sa.text("SELECT count(*) FROM blocked_domains WHERE domain = :d"), {"d": ascii_form}):
            bind.execute(sa.text("DELETE FROM blocked_domains WHERE domain = :d"), {"d": domain})
        else:
            bind.execute(sa.text("UPDATE blocked_domains SET domain = :a WHERE domain = :d"),
                         {"a": ascii_form, "d": domain})


def _start_counters_above_every_id_ever_used(bind: Any) -> None:
    """AUTOINCREMENT counts from sqlite_sequence: start each above the highest id the table holds, or any other
    table still names (the first release may already have reused one; it must not happen again)."""
    highest = {
        "campaigns": ["SELECT max(id) FROM campaigns", "SELECT max(campaign_id) FROM audit_log",
                      "SELECT max(campaign_id) FROM deleted_memberships"],
        "prospects": ["SELECT max(id) FROM prospects", "SELECT max(prospect_id) FROM audit_log",
                      "SELECT max(prospect_id) FROM bulk_request_items", "SELECT max(prospect_id) FROM notifications"],
        "memberships": ["SELECT max(id) FROM memberships", "SELECT max(membership_id) FROM deleted_memberships"],
        "imports": ["SELECT max(id) FROM imports"],
        "notifications": ["SELECT max(id) FROM notifications"],
        "bulk_requests": ["SELECT max(id) FROM bulk_requests"],
    }
    for table, queries in highest.items():
        top = max((bind.scalar(sa.text(query)) or 0) for query in queries)
        bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table})
        bind.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :seq)"), {"t": table, "seq": top})


def downgrade() -> None:
    raise NotImplementedError("0005 merges prospects and can not be undone; restore a backup instead")
