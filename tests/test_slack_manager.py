"""Managers' actions in the Edit modal through the real HTTP endpoint: lift a colleague's do not contact, block a
whole domain; and the same clicks forged by a member, which change nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from storage.audit import Actor
from storage.do_not_contact import lift_do_not_contact, mark_do_not_contact
from storage.errors import NotAllowed
from storage.models import AuditEntry, BlockedDomain, DoNotContact
from tests import factories
from tests.fake_slack import MANAGER, MEMBER
from tests.slack_driver import texts
from tests.test_importing import run_import
from tests.test_slack_edit import open_edit


@pytest.fixture
def jane(database):
    with database.transaction() as session:
        campaign = factories.campaign(session, "Q4 Outreach")
        prospect = factories.prospect(session, "jane@acme.com", campaign, first_name="Jane", last_name="Doe")
        colleague = factories.prospect(session, "bob@acme.com", campaign, first_name="Bob")
        factories.prospect(session, "zed@zeta.io", campaign, first_name="Zed")
    return {"campaign": campaign, "id": prospect, "colleague": colleague}


def mark(database, prospect_id, reason="no-interest"):
    with database.transaction() as session:
        mark_do_not_contact(session, [prospect_id], reason=reason, actor=Actor("slack:U0BOB", "slack"))


def test_a_manager_lifts_a_colleagues_do_not_contact(slack, fake_slack, database, jane):
    mark(database, jane["id"])
    _, edit = open_edit(slack, fake_slack, jane, user=MANAGER)
    slack.click(edit, "edit.lift", user=MANAGER)
    updated = fake_slack.wait_for("views.update", 2)[-1]
    assert "*Jane Doe* can be contacted again." in texts(updated["view"])
    with database.snapshot() as session:
        assert session.get(DoNotContact, jane["id"]) is None
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "lift_do_not_contact")).one()
    assert audit.actor == f"slack:{MANAGER}" and audit.before["do_not_contact"]["reason"] == "no-interest"


def test_members_see_no_lift_and_a_forged_lift_changes_nothing(slack, fake_slack, database, jane):
    mark(database, jane["id"])
    _, edit = open_edit(slack, fake_slack, jane, user=MEMBER)
    assert "edit.lift" not in texts(edit) and "edit.block_domain" not in texts(edit)
    forged = json.dumps({"p": jane["id"], "v": 2, "c": None})
    for action in ("edit.lift", "edit.delete", "edit.block_domain"):
        edit["blocks"].append({"type": "actions", "elements": [
            {"type": "button", "action_id": action, "text": {"type": "plain_text", "text": "x"}, "value": forged}]})
        slack.click(edit, action, user=MEMBER)
    pushed = fake_slack.wait_for("views.push", 5)[-3:]
    refusals = [texts(call["view"]) for call in pushed]
    assert all("Only a manager can" in text for text in refusals)
    assert "lift a do not contact" in refusals[0] and "delete prospects" in refusals[1]
    with database.snapshot() as session:
        assert session.get(DoNotContact, jane["id"]).reason == "no-interest"
        assert session.scalar(select(func.count()).select_from(BlockedDomain)) == 0


def test_a_prospects_own_opt_out_offers_no_lift(slack, fake_slack, database, jane):
    mark(database, jane["id"], reason="requested")
    _, edit = open_edit(slack, fake_slack, jane, user=MANAGER)
    assert "edit.lift" not in texts(edit)


def test_a_manager_blocks_the_domain(slack, fake_slack, database, jane, secret_key, tmp_path):
    _, edit = open_edit(slack, fake_slack, jane, user=MANAGER)
    slack.click(edit, "edit.block_domain", user=MANAGER)
    updated = fake_slack.wait_for("views.update", 2)[-1]
    shown = texts(updated["view"])
    assert "Blocked *acme.com*: 2 prospects are now do not contact" in shown
    assert "Everyone at *acme.com* is blocked" in shown
    with database.snapshot() as session:
        reasons = {row.prospect_id: row.reason for row in session.scalars(select(DoNotContact))}
    assert reasons == {jane["id"]: "domain-blocked", jane["colleague"]: "domain-blocked"}

    # Imports skip the domain from now on; other domains still come in.
    report = run_import(database, secret_key, "email,first_name\nnew.person@acme.com,New\nsomeone@zeta.io,Someone\n")
    assert (report.counts["skipped_blocked"], report.counts["new"]) == (1, 1)
    # And lifting anyone there is refused while it is blocked.
    with pytest.raises(NotAllowed, match="Everyone at acme.com is blocked"), database.transaction() as session:
        lift_do_not_contact(session, jane["id"], actor=Actor("cli:ops", "cli"))
