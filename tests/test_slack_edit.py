"""Edit prospect through the real HTTP endpoint: do not contact, delete, and everything that can go wrong."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage.audit import Actor
from storage.campaigns import is_member
from storage.deletion import delete_prospect
from storage.do_not_contact import mark_do_not_contact
from storage.models import AuditEntry, DoNotContact, Prospect
from storage.suppressions import is_address_suppressed
from tests import factories
from tests.fake_slack import MANAGER, MEMBER
from tests.slack_driver import texts


@pytest.fixture
def jane(database):
    with database.transaction() as session:
        campaign = factories.campaign(session, "Q4 Outreach")
        prospect = factories.prospect(session, "jane@acme.com", campaign, first_name="Jane", last_name="Doe",
                                      company="Acme", title="CEO")
    return {"campaign": campaign, "id": prospect}


def open_edit(slack, fake_slack, jane, user=MEMBER):
    """The user's path to the Edit modal: /prospect → campaign → type-ahead → profile → Edit prospect."""
    slack.command("", user=user)
    fake_slack.wait_for("views.open")
    slack.click(fake_slack.views_shown()[-1], "find.campaign", user=user,
                selected={"text": {"type": "plain_text", "text": "Q4 Outreach"}, "value": str(jane["campaign"])})
    fake_slack.wait_for("views.update")
    find_view = fake_slack.views_shown()[-1]
    [choice] = slack.options(find_view, "find.prospect", "jane", user=user).json["options"]
    slack.click(find_view, "find.prospect", selected=choice, user=user)
    fake_slack.wait_for("views.push")
    profile = fake_slack.views_shown()[-1]
    slack.click(profile, "profile.edit", user=user)
    fake_slack.wait_for("views.push", 2)
    edit = fake_slack.views_shown()[-1]
    edit["previous_view_id"] = profile["id"]
    return profile, edit


def reason(value: str, note: str = "") -> dict:
    return {"dnc_reason": {"reason": {"type": "radio_buttons", "selected_option": {"value": value}}},
            "dnc_note": {"note": {"type": "plain_text_input", "value": note}}}


def dnc_row(database, prospect_id):
    with database.snapshot() as session:
        return session.get(DoNotContact, prospect_id)


def test_do_not_contact_journey(slack, fake_slack, database, jane):
    profile, edit = open_edit(slack, fake_slack, jane)
    assert edit["title"]["text"] == "Edit prospect" and edit["submit"]["text"] == "Save changes"
    shown = texts(edit)
    assert "Recommended." in shown and "may be emailed again" in shown and "Do not contact is the recommended option" in shown
    # Members may mark do not contact; deleting is for managers.
    assert "Only managers can delete prospects." in shown and "edit.delete" not in shown

    reply = slack.submit(edit, reason("no-interest", "Said no twice"))
    assert reply.status == 200
    assert reply.json["response_action"] == "update"
    assert "Saved. *Jane Doe* will not be contacted again (No interest)." in texts(reply.json["view"])
    assert "Do not contact* — No interest" in texts(reply.json["view"])

    row = dnc_row(database, jane["id"])
    assert (row.reason, row.note, row.actor, row.channel) == ("no-interest", "Said no twice", "slack:U0ALICE", "slack")
    with database.snapshot() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "do_not_contact")).one()
        sendable = is_member(session, jane["id"], jane["campaign"])
    assert audit.actor == "slack:U0ALICE" and audit.prospect_id == jane["id"] and sendable

    [dm] = fake_slack.wait_for("chat.postMessage")
    assert dm["channel"] == "U0ALICE" and "Jane Doe (jane@acme.com) is do not contact — No interest" in dm["text"]
    updates = fake_slack.wait_for("views.update", 2)
    assert updates[-1]["view_id"] == profile["id"] and "Do not contact* — No interest" in texts(updates[-1]["view"])


def test_missing_reason_and_missing_note_show_in_the_modal(slack, fake_slack, database, jane):
    _, edit = open_edit(slack, fake_slack, jane)
    reply = slack.submit(edit, {})
    assert reply.json == {"response_action": "errors",
                          "errors": {"dnc_reason": "Choose why this prospect should not be contacted, or use Delete below."}}
    reply = slack.submit(edit, reason("other", "   "))
    assert reply.json["errors"] == {"dnc_note": "Say why in a note: it is required for “Other”."}
    assert dnc_row(database, jane["id"]) is None


def test_a_colleagues_change_is_not_overwritten(slack, fake_slack, database, jane):
    _, edit = open_edit(slack, fake_slack, jane)
    with database.transaction() as session:
        mark_do_not_contact(session, [jane["id"]], reason="requested", actor=Actor("link", "unsubscribe-link"))
    reply = slack.submit(edit, reason("not-target"))
    assert reply.json["response_action"] == "update"
    shown = texts(reply.json["view"])
    assert "Someone else changed this prospect since you opened it, so nothing was saved" in shown
    assert "Requested by the prospect" in shown
    assert dnc_row(database, jane["id"]).reason == "requested"


def test_saving_a_prospect_deleted_a_second_ago(slack, fake_slack, database, jane, slack_actor, secret_key):
    _, edit = open_edit(slack, fake_slack, jane)
    with database.transaction() as session:
        delete_prospect(session, jane["id"], actor=slack_actor, block_reimport=False)
    reply = slack.submit(edit, reason("no-interest"))
    assert "This prospect no longer exists: someone may have deleted them." in texts(reply.json["view"])
    with database.snapshot() as session:
        assert session.scalar(select(func.count()).select_from(DoNotContact)) == 0


def test_delete_and_block_reimport(slack, fake_slack, database, jane, secret_key):
    profile, edit = open_edit(slack, fake_slack, jane, user=MANAGER)
    [delete_button] = [b for b in edit["blocks"] if b.get("block_id") == "delete"][0]["elements"]
    assert delete_button["style"] == "danger" and delete_button["confirm"]["style"] == "danger"
    state = {"delete_options": {"block_reimport": {"type": "checkboxes",
                                                   "selected_options": [{"value": "block-reimport"}]}}}
    slack.click(edit, "edit.delete", state=state, user=MANAGER)
    updates = fake_slack.wait_for("views.update", 3)
    assert updates[-2]["view_id"] == edit["id"]
    assert "*Jane Doe* was deleted. Their address stays blocked from future imports." in texts(updates[-2]["view"])
    assert updates[-1]["view_id"] == profile["id"]
    with database.snapshot() as session:
        assert session.get(Prospect, jane["id"]) is None
        assert is_address_suppressed(session, "jane@acme.com", secret_key=secret_key)
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "delete")).one()
    assert audit.actor == f"slack:{MANAGER}" and audit.after["reimport_blocked"] is True
    assert "was deleted" in fake_slack.wait_for("chat.postMessage")[0]["text"]


def test_plain_delete_warns_that_they_may_come_back(slack, fake_slack, database, jane, secret_key):
    _, edit = open_edit(slack, fake_slack, jane, user=MANAGER)
    slack.click(edit, "edit.delete", user=MANAGER)
    updates = fake_slack.wait_for("views.update", 3)
    assert "they will come back as a new contact and may be emailed again" in texts(updates[-2]["view"])
    with database.snapshot() as session:
        assert session.get(Prospect, jane["id"]) is None
        assert not is_address_suppressed(session, "jane@acme.com", secret_key=secret_key)


def test_own_opt_out_can_not_be_edited_and_survives_delete(slack, fake_slack, database, jane, secret_key):
    with database.transaction() as session:
        mark_do_not_contact(session, [jane["id"]], reason="requested", actor=Actor("link", "unsubscribe-link"))
    _, edit = open_edit(slack, fake_slack, jane, user=MANAGER)
    assert "submit" not in edit and "opted out themselves. That can not be changed or undone." in texts(edit)
    slack.click(edit, "edit.delete", user=MANAGER)
    updates = fake_slack.wait_for("views.update", 3)
    assert "stays blocked from future imports because they had opted out themselves" in texts(updates[-2]["view"])
    with database.snapshot() as session:
        assert is_address_suppressed(session, "jane@acme.com", secret_key=secret_key)


def test_delete_after_a_colleagues_change_deletes_nothing(slack, fake_slack, database, jane, slack_actor):
    _, edit = open_edit(slack, fake_slack, jane, user=MANAGER)
    with database.transaction() as session:
        mark_do_not_contact(session, [jane["id"]], reason="no-interest", actor=slack_actor)
    slack.click(edit, "edit.delete", user=MANAGER)
    updates = fake_slack.wait_for("views.update", 2)
    assert "nothing was deleted" in texts(updates[-1]["view"])
    with database.snapshot() as session:
        assert session.get(Prospect, jane["id"]) is not None
