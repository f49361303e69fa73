"""Every action reaches the person it was meant for: ids never come back, a link reaches the address it was sent
to whatever happened since, and one mailbox is one person however its domain is written. Through the real entry
points: the CLI, `serve`'s HTTP endpoint with signed requests, and the unsubscribe endpoint; and a database made
by the first release, upgraded."""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import shutil
import urllib.error
import urllib.request

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import MetaData, func, select, text

from storage import bulk_requests
from storage.audit import Actor
from storage.db import Database, head_revision
from storage.keys import address_fingerprint, secret_key_check
from storage.models import (
    AuditEntry,
    BlockedDomain,
    DeletedMembership,
    DoNotContact,
    Membership,
    Notification,
    Prospect,
    ReissuedMembership,
    Suppression,
)
from storage.unsubscribe import unsubscribe_token
from tests.fake_slack import MANAGER
from tests.slack_driver import texts
from tests.support import TEST_SECRET_KEY, database_at


@given(secret_key=st.binary(max_size=200), address=st.text(max_size=300))
@example(secret_key=b"k" * 64, address="ana@example.com")  # a block exactly: used as it is
@example(secret_key=b"k" * 65, address="ana@example.com")  # longer: hashed first
@example(secret_key=TEST_SECRET_KEY, address="josé@exämple.es")
def test_an_address_fingerprint_is_its_hmac_sha256_whatever_the_key_and_the_address(secret_key, address):
    # Computed from the key's two hashed pads (storage.keys): the same as the standard library's HMAC, including
    # for keys longer than a block (hashed first), empty ones, and addresses outside ASCII.
    expected = hmac.digest(secret_key, address.encode("utf-8"), "sha256").hex()
    assert address_fingerprint(secret_key, address) == expected
    assert address_fingerprint(secret_key, address) == expected  # again, from the pads kept for this key


def csv(tmp_path, name: str, *rows: str) -> str:
    path = tmp_path / name
    path.write_text("Email,First Name,Last Name,Company\n" + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return str(path)


def ids_of(database, email_key: str) -> tuple[int, int]:
    """(prospect id, membership id) of the person with this address identity, in their only campaign."""
    with database.snapshot() as session:
        row = session.execute(select(Prospect.id, Membership.id).join(Membership, Membership.prospect_id == Prospect.id)
                              .where(Prospect.email_key == email_key)).one()
    return row[0], row[1]


def sendable(database) -> set[str]:
    with database.snapshot() as session:
        return set(session.scalars(text("SELECT email FROM sendable_recipients")))


def click(base_url: str, token: str) -> tuple[int, str]:
    request = urllib.request.Request(f"{base_url}/unsubscribe/{token}", data=b"List-Unsubscribe=One-Click",
                                     method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def first_release_token(membership_id: int) -> str:
    """An unsubscribe link as the first release made them: the id and a MAC, no version."""
    body = membership_id.to_bytes(8, "big")
    mac = hmac.digest(TEST_SECRET_KEY, b"unsubscribe:" + body, "sha256")[:16]
    return base64.urlsafe_b64encode(body + mac).rstrip(b"=").decode()


# -- ids never come back --------------------------------------------------------------------------------------------


def test_an_old_link_and_a_deleted_persons_ids_never_reach_someone_new(run, slack, database, tmp_path):
    assert run("import", csv(tmp_path, "a.csv", "ann@acme.com,Ann,Lee,Acme"), "--campaign", "Q4")[0] == 0
    ann, ann_membership = ids_of(database, "ann@acme.com")
    old_link = unsubscribe_token(TEST_SECRET_KEY, ann_membership)
    assert run("delete", "ann@acme.com", "--yes")[0] == 0
    assert run("import", csv(tmp_path, "b.csv", "bea@globex.com,Bea,Ray,Globex"), "--campaign", "Q4")[0] == 0
    bea, bea_membership = ids_of(database, "bea@globex.com")
    # The highest ids were Ann's: SQLite handed them to the next insert before.
    assert bea > ann and bea_membership > ann_membership
    assert click(slack.base_url, old_link) == (200, "Unsubscribed.")
    assert sendable(database) == {"bea@globex.com"}
    with database.snapshot() as session:
        assert session.get(DoNotContact, bea) is None
    # Ann asked, through her own link: her address stays out of future imports.
    _, out, _ = run("import", csv(tmp_path, "c.csv", "ann@acme.com,Ann,Lee,Acme"), "--campaign", "Q4")
    assert "skipped: blocked from imports" in out and sendable(database) == {"bea@globex.com"}


def test_a_slack_screen_opened_before_a_delete_saves_nobody_else(run, slack, fake_slack, database, tmp_path):
    run("import", csv(tmp_path, "a.csv", "ann@acme.com,Ann,Lee,Acme"), "--campaign", "Q4")
    slack.command("ann@acme.com", user=MANAGER)
    fake_slack.wait_for("views.open")
    slack.click(fake_slack.views_shown()[-1], "profile.edit", user=MANAGER)
    fake_slack.wait_for("views.push")
    edit_view = fake_slack.views_shown()[-1]
    run("delete", "ann@acme.com", "--yes")
    run("import", csv(tmp_path, "b.csv", "bea@globex.com,Bea,Ray,Globex"), "--campaign", "Q4")
    reply = slack.submit(edit_view, {"dnc_reason": {"reason": {"type": "radio_buttons",
                                                                "selected_option": {"value": "not-target"}}}},
                         user=MANAGER)
    assert reply.json["response_action"] == "update"
    assert "no longer exists" in texts(reply.json["view"])
    slack.click(edit_view, "edit.delete", user=MANAGER)
    slack.drain()
    assert sendable(database) == {"bea@globex.com"}


def test_a_pending_bulk_request_never_reaches_someone_new(run, database, tmp_path):
    run("import", csv(tmp_path, "a.csv", "ann@acme.com,Ann,Lee,Acme"), "--campaign", "Q4")
    with database.transaction() as session:
        campaign = session.scalar(select(Membership.campaign_id))
        request_id = bulk_requests.create_request(session, campaign, bulk_requests.parse_rule(
            "addresses", addresses="ann@acme.com"), actor=Actor("slack:U0ALICE", "slack"))
    run("delete", "ann@acme.com", "--yes")
    run("import", csv(tmp_path, "b.csv", "bea@globex.com,Bea,Ray,Globex"), "--campaign", "Q4")
    code, out, _ = run("requests", "approve", str(request_id))
    assert code == 0 and "0 now do not contact" in out and "1 skipped" in out
    assert sendable(database) == {"bea@globex.com"}


# -- an opt-out reaches the address, whatever happened since ----------------------------------------------------------


def test_an_old_link_reaches_the_person_imported_again_since(run, slack, database, tmp_path):
    run("import", csv(tmp_path, "a.csv", "ann@acme.com,Ann,Lee,Acme"), "--campaign", "Q4")
    _, membership = ids_of(database, "ann@acme.com")
    old_link = unsubscribe_token(TEST_SECRET_KEY, membership)
    run("delete", "ann@acme.com", "--yes")  # without blocking: a later import brings her back
    _, out, _ = run("import", csv(tmp_path, "b.csv", "Ann@Acme.com,Ann,Lee,Acme"), "--campaign", "Q4 bis")
    assert "new contacts" in out and sendable(database) == {"ann@acme.com"}
    again, _ = ids_of(database, "ann@acme.com")

    assert click(slack.base_url, old_link) == (200, "Unsubscribed.")
    assert sendable(database) == set()
    with database.snapshot() as session:
        assert session.get(DoNotContact, again).reason == "requested"
        [notification] = session.scalars(select(Notification)).all()
        assert notification.prospect_id == again
    assert click(slack.base_url, old_link) == (200, "Unsubscribed.")  # again: nothing more
    with database.snapshot() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 1
    # Her own request: nobody can lift it.
    code, _, err = run("lift", "ann@acme.com", "--yes")
    assert code == 1 and "opted out themselves" in err


# -- one mailbox, one person ------------------------------------------------------------------------------------------


def test_a_mailbox_written_with_a_unicode_or_a_punycode_domain_is_one_person(run, database, tmp_path):
    _, out, _ = run("import", csv(tmp_path, "a.csv", "José@Exämple.es,José,Ruiz,Exämple",
                                  "jose.b@xn--exmple-cua.es,Jose,B,Exämple",
                                  "josé@xn--exmple-cua.es,José,Ruiz,Exämple"), "--campaign", "Q4")
    assert "same address as line 2" in out or "duplicates within the file" in out
    _, out, _ = run("import", csv(tmp_path, "b.csv", "JOSÉ@XN--EXMPLE-CUA.ES,José,Ruiz,Exämple"), "--campaign", "Q4")
    assert "already in the campaign" in out
    with database.snapshot() as session:
        rows = session.execute(select(Prospect.email, Prospect.email_key, Prospect.email_domain)
                               .order_by(Prospect.id)).all()
    assert rows == [("josé@exämple.es", "josé@xn--exmple-cua.es", "xn--exmple-cua.es"),
                    ("jose.b@xn--exmple-cua.es", "jose.b@xn--exmple-cua.es", "xn--exmple-cua.es")]
    for typed in ("josé@xn--exmple-cua.es", "JOSÉ@EXÄMPLE.ES"):
        code, out, _ = run("show", typed)
        assert code == 0 and "José Ruiz <josé@exämple.es>" in out
        _, out, _ = run("find", typed)
        assert "josé@exämple.es" in out
    # An opt-out of one form is the person's; a block of the domain in either form blocks both addresses.
    assert run("dnc", "josé@xn--exmple-cua.es", "--reason", "requested")[0] == 0
    assert sendable(database) == {"jose.b@xn--exmple-cua.es"}
    code, out, _ = run("dnc", "--domain", "EXÄMPLE.es")
    assert code == 0 and "Blocked xn--exmple-cua.es" in out
    assert sendable(database) == set()
    _, out, _ = run("import", csv(tmp_path, "c.csv", "new@exämple.es,New,One,Exämple"), "--campaign", "Q4")
    assert "everyone at xn--exmple-cua.es is blocked" in out


def test_search_folds_case_fully_and_spells_ligatures_out(run, tmp_path):
    run("import", csv(tmp_path, "a.csv", "carl@gauss.de,Carl,Gauß,Göttingen", "anne@oeuvre.fr,Anne,Œuvre,Œuvre SA",
                      "soren@k.dk,Søren,Kierkegaard,"), "--campaign", "Q4")
    for typed, expected in (("gauss", "carl@gauss.de"), ("GAUSS", "carl@gauss.de"), ("oeuvre", "anne@oeuvre.fr"),
                            ("Œuv", "anne@oeuvre.fr"), ("soren", "soren@k.dk")):
        code, out, _ = run("find", typed)
        assert code == 0 and expected in out, (typed, out)


# -- a database made by the first release ---------------------------------------------------------------------------


NOW = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def first_release(request, tmp_path):
    """A database made by the first release (schema 0004), holding what it could hold: ids it reused after deletes,
    one mailbox as two prospects, a blocked Unicode domain, names its search could not fold."""
    database = database_at("0004", request.param, request, tmp_path)
    old_address = address_fingerprint(TEST_SECRET_KEY, "old.person@acme.com")
    with database.engine.begin() as connection:
        tables = MetaData()
        tables.reflect(connection)
        t = tables.tables
        connection.execute(t["settings"].insert(), [{"key": "secret_key_check",
                                                    "value": secret_key_check(TEST_SECRET_KEY)}])
        connection.execute(t["campaigns"].insert(), [
            {"id": 1, "name": "Q4", "name_key": "q4", "created_at": NOW, "notify_channel": "", "subject_template": "",
             "body_template": ""},
            {"id": 2, "name": "Straße", "name_key": "straße", "created_at": NOW, "notify_channel": "",
             "subject_template": "", "body_template": ""}])

        def person(pid: int, email: str, first: str, last: str, created: dt.datetime = NOW) -> dict:
            return {"id": pid, "email": email, "email_domain": email.rpartition("@")[2], "first_name": first,
                    "last_name": last, "company": "", "title": "", "phone": "", "linkedin_url": "", "source": "old",
                    "name_key": f"{first} {last}".lower(), "last_name_key": last.lower(), "company_key": "",
                    "version": 1, "created_at": created, "updated_at": created}

        connection.execute(t["prospects"].insert(), [
            person(1, "josé@exämple.es", "José", "Ruiz"),
            person(2, "josé@xn--exmple-cua.es", "Jose", "Ruiz"),
            person(3, "carl@gauss.de", "Carl", "Gauß"),
            person(5, "bea@acme.com", "Bea", "Ray", NOW + dt.timedelta(days=1)),
            person(6, "cy@acme.com", "Cy", "Fox", NOW + dt.timedelta(days=1)),
        ])
        connection.execute(t["memberships"].insert(), [
            {"id": 1, "campaign_id": 1, "prospect_id": 1, "status": "active", "added_at": NOW},
            {"id": 2, "campaign_id": 1, "prospect_id": 2, "status": "active", "added_at": NOW},  # José again
            {"id": 3, "campaign_id": 2, "prospect_id": 2, "status": "active", "added_at": NOW},
            {"id": 4, "campaign_id": 1, "prospect_id": 3, "status": "active", "added_at": NOW},
            # Ids 5 and 6 belonged to people deleted since; the first release gave them to Bea and Cy.
            {"id": 5, "campaign_id": 1, "prospect_id": 5, "status": "active", "added_at": NOW + dt.timedelta(days=1)},
            {"id": 6, "campaign_id": 1, "prospect_id": 6, "status": "active", "added_at": NOW + dt.timedelta(days=1)},
        ])
        connection.execute(t["deleted_memberships"].insert(), [
            {"membership_id": 5, "campaign_id": 1, "fingerprint": old_address, "deleted_at": NOW},
            {"membership_id": 6, "campaign_id": 1, "fingerprint": old_address, "deleted_at": NOW}])
        connection.execute(t["do_not_contact"].insert(), [
            {"prospect_id": 2, "reason": "requested", "note": "", "actor": "prospect", "channel": "unsubscribe-link",
             "created_at": NOW, "revision": 1}])
        # Bea was emailed with her (reused) id before the upgrade; Cy never was.
        connection.execute(t["activities"].insert(), [
            {"campaign_id": 1, "prospect_id": 5, "kind": "sent", "occurred_at": NOW + dt.timedelta(days=2)}])
        # A deleted prospect's id is still named by the audit log, and must not be handed out again.
        connection.execute(t["audit_log"].insert(), [
            {"occurred_at": NOW, "actor": "cli:ops", "channel": "cli", "action": "delete", "prospect_id": 40,
             "campaign_id": None, "before": None, "after": None}])
        connection.execute(t["blocked_domains"].insert(), [
            {"domain": "exämple.es", "actor": "cli:ops", "channel": "cli", "note": "", "created_at": NOW}])
        if not database.is_sqlite:
            # Rows were written with their ids here; PostgreSQL's counters had handed out each of them.
            for table, highest in (("campaigns", 2), ("prospects", 40), ("memberships", 6)):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {highest})"))
    yield database
    if not database.is_sqlite:
        database.upgrade(TEST_SECRET_KEY)  # the session's PostgreSQL database serves the tests after this one too
    database.dispose()


def test_the_upgrade_merges_one_mailbox_and_keeps_every_state_and_block(first_release, tmp_path):
    before, after = first_release.upgrade(TEST_SECRET_KEY)
    assert (before, after) == ("0004", head_revision())
    with first_release.snapshot() as session:
        [jose] = session.scalars(select(Prospect).where(Prospect.email_key == "josé@xn--exmple-cua.es")).all()
        assert jose.id == 1 and jose.email == "josé@exämple.es"
        # Their own opt-out, given as the other form, is the person's.
        assert session.get(DoNotContact, 1).reason == "requested" and session.get(Prospect, 2) is None
        assert sorted(session.execute(select(Membership.id, Membership.campaign_id)
                                      .where(Membership.prospect_id == 1)).all()) == [(1, 1), (3, 2)]
        # The duplicate membership in Q4 is gone; its links still reach the address.
        assert session.get(DeletedMembership, 2).fingerprint == address_fingerprint(TEST_SECRET_KEY, jose.email_key)
        merge = session.scalars(select(AuditEntry).where(AuditEntry.action == "merge")).one()
        assert merge.prospect_id == 1 and merge.before["merged"] == [2]
        assert session.get(BlockedDomain, "xn--exmple-cua.es") is not None
        assert session.scalar(select(Prospect.last_name_key).where(Prospect.id == 3)) == "gauss"
        assert sorted(session.scalars(select(ReissuedMembership.membership_id))) == [5, 6]
    # Imports skip the blocked domain in either form.
    database_url = first_release.url.render_as_string(hide_password=False)
    first_release.verify_secret_key(TEST_SECRET_KEY)
    from click.testing import CliRunner

    from bot.cli import cli

    env = {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET_KEY.decode(), "PROSPECTBOT_ACTOR": "ops"}
    result = CliRunner().invoke(cli, ["import", csv(tmp_path, "n.csv", "new@exämple.es,N,One,X", "dan@acme.com,D,A,X"),
                                      "--campaign", "Q4"], env=env, catch_exceptions=False)
    assert "everyone at xn--exmple-cua.es is blocked" in result.output
    with first_release.snapshot() as session:
        # Above every id the database still names (the audit log's 40), not just above the rows left.
        assert session.scalar(select(Prospect.id).where(Prospect.email_key == "dan@acme.com")) > 40


def test_a_first_release_link_whose_id_was_given_to_someone_new_needs_evidence(first_release):
    from storage.unsubscribe import membership_for_token, unsubscribe

    first_release.upgrade(TEST_SECRET_KEY)
    with first_release.transaction() as session:
        # Link 5 was sent to the deleted person, and — the send records say — to Bea too: both are honoured.
        unsubscribe(session, membership_for_token(TEST_SECRET_KEY, first_release_token(5)))
        # Link 6 was sent to the deleted person only: Cy, who has the id now, stays as he is.
        unsubscribe(session, membership_for_token(TEST_SECRET_KEY, first_release_token(6)))
    old_address = address_fingerprint(TEST_SECRET_KEY, "old.person@acme.com")
    with first_release.snapshot() as session:
        assert session.get(Suppression, old_address) is not None
        assert session.get(DoNotContact, 5).reason == "requested"
        assert session.get(DoNotContact, 6) is None
    # A link issued since the upgrade names Cy's membership alone.
    with first_release.transaction() as session:
        result = unsubscribe(session, membership_for_token(TEST_SECRET_KEY, unsubscribe_token(TEST_SECRET_KEY, 6)))
    assert result is not None and result.outcome == "unsubscribed"
    with first_release.snapshot() as session:
        assert session.get(DoNotContact, 6).reason == "requested"


def test_an_upgrade_with_another_key_is_refused_before_anything_changes(first_release):
    from storage.errors import SecretKeyMismatch

    with pytest.raises(SecretKeyMismatch):
        first_release.upgrade(b"another-secret-key-0123456789-abcdefghijk")
    with first_release.snapshot() as session:
        assert session.scalar(select(func.count()).select_from(Prospect)) == 5


def test_an_embedded_database_made_by_the_first_release_migrates_itself_on_start(first_release, tmp_path):
    if not first_release.is_sqlite:
        pytest.skip("PostgreSQL migrates with `prospectbot db upgrade`")
    first_release.dispose()  # the last connection's close writes the WAL back into the file copied
    copy = tmp_path / "copy.db"
    shutil.copyfile(first_release.url.database, copy)
    database = Database(f"sqlite:///{copy}")
    database.prepare(secret_key=TEST_SECRET_KEY, auto_migrate=True)
    with database.snapshot() as session:
        assert session.scalar(select(func.count()).select_from(Prospect)) == 4
    database.dispose()
