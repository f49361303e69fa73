"""One-click unsubscribe links, through the real HTTP server: RFC 8058 POSTs, the confirmation page, and every
way a link can be wrong."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from sqlalchemy import func, select

from storage.campaigns import is_member
from storage.deletion import delete_prospect
from storage.do_not_contact import mark_do_not_contact
from storage.models import AuditEntry, DoNotContact, Membership, Notification, Suppression
from storage.prospects import prospect_details
from storage.suppressions import is_address_suppressed
from storage.unsubscribe import unsubscribe_token
from tests import factories
from tests.support import TEST_SECRET_KEY


@pytest.fixture
def link(database):
    """Jane's membership in "Q4 Outreach", and the path of her unsubscribe link."""
    with database.transaction() as session:
        campaign = factories.campaign(session, "Q4 Outreach")
        other = factories.campaign(session, "Agencies")
        jane = factories.prospect(session, "jane.doe@acme.com", campaign, other, first_name="Jane", last_name="Doe")
        membership = session.scalar(select(Membership.id).where(Membership.prospect_id == jane,
                                                                Membership.campaign_id == campaign))
    return {"prospect": jane, "membership": membership, "campaign": campaign,
            "path": f"/unsubscribe/{unsubscribe_token(TEST_SECRET_KEY, membership)}"}


def request(slack, path: str, method: str = "GET", body: bytes | None = None,
            content_type: str = "application/x-www-form-urlencoded") -> tuple[int, str]:
    req = urllib.request.Request(slack.base_url + path, data=body, method=method,
                                 headers={"Content-Type": content_type} if body is not None else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def state(database, prospect_id):
    with database.snapshot() as session:
        dnc = session.get(DoNotContact, prospect_id)
        audits = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "do_not_contact"))
        notifications = session.scalars(select(Notification)).all()
    return dnc, audits, notifications


def test_get_only_asks_and_changes_nothing(slack, database, link):
    for _ in range(3):  # a corporate link scanner fetching the URL
        status, page = request(slack, link["path"])
        assert status == 200
        assert "Stop emails from" in page and "j***@acme.com" in page and "jane.doe" not in page
        assert f'action="{link["path"]}"' in page and 'method="post"' in page
    assert state(database, link["prospect"]) == (None, 0, [])


def test_one_click_post_unsubscribes_at_once_and_repeats_are_harmless(slack, database, link):
    for _ in range(3):
        status, text = request(slack, link["path"], "POST", b"List-Unsubscribe=One-Click")
        assert (status, text) == (200, "Unsubscribed.")
    dnc, audits, notifications = state(database, link["prospect"])
    assert (dnc.reason, dnc.channel, dnc.actor) == ("requested", "unsubscribe-link", "prospect")
    assert audits == 1
    assert [(n.prospect_id, n.campaign_ids, n.via) for n in notifications] == [
        (link["prospect"], [link["campaign"]], "unsubscribe-link")]
    with database.snapshot() as session:
        assert not is_member(session, link["prospect"], 999)
        details = prospect_details(session, link["prospect"])
    assert details.do_not_contact.reason == "requested"


def test_the_button_on_the_page_unsubscribes_too(slack, database, link):
    status, page = request(slack, link["path"], "POST", b"")
    assert status == 200 and "Done:" in page and "j***@acme.com" in page
    status, page = request(slack, link["path"], "POST", b"")
    assert "was already unsubscribed" in page
    assert state(database, link["prospect"])[0].reason == "requested"


def test_a_used_link_says_it_is_done_instead_of_asking_again(slack, database, link):
    request(slack, link["path"], "POST", b"List-Unsubscribe=One-Click")
    for _ in range(2):
        status, page = request(slack, link["path"])
        assert status == 200 and "j***@acme.com was already unsubscribed." in page
        assert "<form" not in page and "Stop emails from" not in page
    assert state(database, link["prospect"])[1] == 1


def test_a_deleted_prospects_used_link_says_it_is_done(slack, database, link, slack_actor):
    with database.transaction() as session:
        delete_prospect(session, link["prospect"], actor=slack_actor, block_reimport=False)
    request(slack, link["path"], "POST", b"List-Unsubscribe=One-Click")
    status, page = request(slack, link["path"])
    assert status == 200 and "this address was already unsubscribed." in page and "<form" not in page


def test_a_colleagues_reason_becomes_the_prospects_own(slack, database, link, slack_actor):
    with database.transaction() as session:
        mark_do_not_contact(session, [link["prospect"]], reason="no-interest", actor=slack_actor, notify=False)
    request(slack, link["path"], "POST", b"List-Unsubscribe=One-Click")
    assert state(database, link["prospect"])[0].reason == "requested"


@pytest.mark.parametrize("mangle", [
    lambda token: token[:-1],                              # truncated
    lambda token: token[:-2] + ("AA" if token[-2:] != "AA" else "BB"),  # tampered signature
    lambda token: unsubscribe_token(b"another-secret-key-0123456789abcdef", 1),  # signed with another key
    lambda token: "%27%20OR%201%3D1%20--",
    lambda token: "%00" * 30,
    lambda token: "x" * 5000,
])
def test_forged_and_garbled_tokens_get_a_plain_404(slack, database, link, mangle):
    path = "/unsubscribe/" + mangle(link["path"].rsplit("/", 1)[1])
    for method, body in (("GET", None), ("POST", b"List-Unsubscribe=One-Click")):
        status, page = request(slack, path, method, body)
        assert status == 404 and "not valid" in page
    assert state(database, link["prospect"]) == (None, 0, [])


def test_a_token_for_a_membership_that_never_existed(slack, database, link):
    status, _ = request(slack, f"/unsubscribe/{unsubscribe_token(TEST_SECRET_KEY, link['membership'] + 1000)}",
                        "POST", b"List-Unsubscribe=One-Click")
    assert status == 404


def test_a_deleted_prospects_link_still_answers_and_blocks_the_address(slack, database, link, slack_actor):
    with database.transaction() as session:
        delete_prospect(session, link["prospect"], actor=slack_actor, block_reimport=False)
        assert not is_address_suppressed(session, "jane.doe@acme.com", secret_key=TEST_SECRET_KEY)
    status, page = request(slack, link["path"])
    assert status == 200 and "Stop emails from" in page
    status, text = request(slack, link["path"], "POST", b"List-Unsubscribe=One-Click")
    assert (status, text) == (200, "Unsubscribed.")
    with database.snapshot() as session:
        assert is_address_suppressed(session, "jane.doe@acme.com", secret_key=TEST_SECRET_KEY)
        assert session.scalar(select(func.count()).select_from(Suppression)) == 1
    assert "jane" not in repr(state(database, link["prospect"]))


def test_the_database_down_means_try_again_and_nothing_changed(fake_slack, database, link):
    from tests.harness import running

    with running("postgresql+psycopg://nobody@127.0.0.1:9/gone", fake=fake_slack) as down:
        req = urllib.request.Request(f"{down.slack.base_url}{link['path']}", data=b"List-Unsubscribe=One-Click",
                                     method="POST")
        with pytest.raises(urllib.error.HTTPError) as failed:
            urllib.request.urlopen(req, timeout=10)
        assert failed.value.code == 503 and failed.value.headers["Retry-After"] == "60"
