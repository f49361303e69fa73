"""The migrations build exactly the schema the models describe, on both databases, and upgrade is idempotent;
what an upgrade makes of the rows an older release left."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select

from storage import bulk_requests
from storage.audit import Actor
from storage.db import head_revision
from storage.deletion import delete_prospect
from storage.keys import secret_key_check
from storage.models import Activity, Base, Membership, Setting, utcnow
from storage.search import search_prospects
from storage.sending import record_activity
from tests import factories
from tests.support import TEST_SECRET_KEY, database_at


def test_migrated_schema_matches_the_models(database):
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_upgrade_twice_changes_nothing(database):
    before, after = database.upgrade()
    assert before == after == head_revision()


@pytest.fixture(params=["sqlite", "postgresql"])
def kind(request) -> str:
    return request.param


def left_at(revision: str, kind: str, request, tmp_path):
    database = database_at(revision, kind, request, tmp_path)
    yield database
    database.upgrade(TEST_SECRET_KEY)  # on PostgreSQL, the session's later tests use this schema
    database.dispose()


@pytest.fixture
def at_0008(kind, request, tmp_path):
    yield from left_at("0008", kind, request, tmp_path)


@pytest.fixture
def at_0009(kind, request, tmp_path):
    yield from left_at("0009", kind, request, tmp_path)


def test_the_upgrade_counts_the_engagement_already_recorded(at_0008):
    """Counts kept on memberships from 0009 on start from the activity recorded before it, a deleted person's
    anonymous rows left out."""
    database, now = at_0008, utcnow()
    with database.transaction() as session:
        session.add(Setting(key="secret_key_check", value=secret_key_check(TEST_SECRET_KEY)))
        q4 = factories.campaign(session, "Q4")
        quiet, opener, fresh, gone = (factories.prospect(session, f"{name}@acme.com", q4)
                                      for name in ("quiet", "opener", "fresh", "gone"))
        session.execute(insert(Activity), [
            {"campaign_id": q4, "prospect_id": pid, "kind": kind, "occurred_at": now}
            for pid, kind in ((quiet, "sent"), (quiet, "sent"), (quiet, "sent"), (quiet, "bounced"),
                              (opener, "sent"), (opener, "opened"), (gone, "sent"), (gone, "replied"))])
    with database.transaction() as session:
        delete_prospect(session, gone, actor=Actor("cli:test", "cli"), block_reimport=False)

    assert database.upgrade(TEST_SECRET_KEY) == ("0008", head_revision())
    with database.snapshot() as session:
        counts = {pid: (sent, engaged) for pid, sent, engaged in session.execute(
            select(Membership.prospect_id, Membership.sent_count, Membership.engaged))}
        preview = bulk_requests.preview(session, q4, bulk_requests.parse_rule("no-engagement", min_sent=3))
    assert counts == {quiet: (3, False), opener: (1, True), fresh: (0, False)}
    assert [item.email for item in preview.sample] == ["quiet@acme.com"]
    # From now on the trigger counts.
    with database.transaction() as session:
        for _ in range(3):
            record_activity(session, q4, fresh, "sent")
    with database.snapshot() as session:
        assert bulk_requests.preview(session, q4, bulk_requests.parse_rule("no-engagement", min_sent=3)).count == 2


def test_the_upgrade_gives_every_membership_its_prospects_search_keys(at_0009):
    """Memberships made before 0010 are found by a campaign's search, by each of the four keys."""
    database = at_0009
    with database.transaction() as session:
        session.add(Setting(key="secret_key_check", value=secret_key_check(TEST_SECRET_KEY)))
        q4, agencies = factories.campaign(session, "Q4"), factories.campaign(session, "Agencies")
        factories.prospect(session, "ana.silva@acme.com", q4, agencies, first_name="Ana", last_name="Núñez",
                           company="Ångström AB")
        factories.prospect(session, "bob@acme.com", agencies, first_name="Bob", last_name="Stone", company="Acme")
    assert database.upgrade(TEST_SECRET_KEY) == ("0009", head_revision())
    with database.snapshot() as session:
        for query in ("ana", "nunez", "angstrom", "ana.silva@"):
            for campaign_id in (q4, agencies):
                found = search_prospects(session, query, campaign_id=campaign_id).items
                assert [item.email for item in found] == ["ana.silva@acme.com"], (query, campaign_id)
        assert [item.email for item in search_prospects(session, "", campaign_id=agencies).items] == [
            "ana.silva@acme.com", "bob@acme.com"]
