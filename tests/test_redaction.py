"""After a delete, the bot's own Slack messages stop showing the person: the confirmation of a save, opt-out
notifications and bulk requests' approval messages are edited by the worker (chat.update) so that nothing of their
name or address is left, reliably and once; the direct message the delete itself sends names nobody."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from sqlalchemy import delete, insert, select

from bot.notifier import Notifier
from bot.slack_client import slack_client
from handlers.edit.views import deleted_message
from handlers.redaction import redacted_message
from storage.audit import Actor, record_audit
from storage.campaigns import configure_campaign
from storage.db import Database, head_revision
from storage.deletion import delete_prospect
from storage.do_not_contact import mark_do_not_contact
from storage.keys import secret_key_check
from storage.models import (
    BulkRequest,
    BulkRequestItem,
    Membership,
    Notification,
    Prospect,
    Setting,
    SlackMessage,
    utcnow,
)
from storage.slack_messages import CONFIRMATION, RedactedContent, record_message
from storage.unsubscribe import unsubscribe_token
from tests import factories
from tests.fake_slack import MANAGER, MEMBER, FakeSlack, Scripted
from tests.slack_driver import validate_message_blocks
from tests.support import APPROVALS_CHANNEL, TEST_SECRET_KEY, database_at
from tests.test_slack_bulk import request_through_slack
from tests.test_slack_edit import reason

CAMPAIGN_CHANNEL, DEFAULT_CHANNEL = "C0OUTREACH", "C0DEFAULT"
ZELDA = "zelda.quixwell@acme.com"
# What must be left nowhere in Slack once she is deleted, searched case-insensitively in whole payloads.
TRACES = ("zelda", "quixwell")


@pytest.fixture
def team(database, cli_actor):
    """Q4 Outreach, announcing in its own channel: Zelda Quixwell, first of seven people at acme.com."""
    with database.transaction() as session:
        q4 = factories.campaign(session, "Q4 Outreach")
        configure_campaign(session, "Q4 Outreach", actor=cli_actor, channel=CAMPAIGN_CHANNEL)
        zelda = factories.prospect(session, ZELDA, q4, first_name="Zelda", last_name="Quixwell", company="Acme")
        others = [factories.prospect(session, f"person{n}@acme.com", q4, first_name=f"Person{n}")
                  for n in range(6)]
        membership = session.scalar(select(Membership.id).where(Membership.prospect_id == zelda))
    return {"campaign": q4, "zelda": zelda, "others": others,
            "link": f"/unsubscribe/{unsubscribe_token(TEST_SECRET_KEY, membership)}"}


def notifier(database: Database, fake: FakeSlack) -> Notifier:
    return Notifier(database, slack_client("xoxb-test-token", fake.api_url, retries=False),
                    default_channel=DEFAULT_CHANNEL, retry_base=0.05)


# -- what people do ---------------------------------------------------------------------------------------------


def calls_since(fake: FakeSlack, start: int, method: str) -> list[dict[str, Any]]:
    with fake._lock:
        return [call.args for call in fake.calls[start:] if call.method == method]


def wait_for_more(fake: FakeSlack, method: str, before: int) -> dict[str, Any]:
    """The first call to `method` after the first `before` calls to it."""
    return fake.wait_for(method, before + 1)[before]


def edit_screen(slack, fake: FakeSlack, team: dict[str, Any], *, user: str) -> dict[str, Any]:
    """/prospect → the campaign → type "zelda" → her profile → Edit prospect."""
    opened, updated, pushed = (len(fake.calls_to(method)) for method in ("views.open", "views.update", "views.push"))
    slack.command("", user=user)
    find_view = wait_for_more(fake, "views.open", opened)["view"] | {"id": "V0FIND"}
    slack.click(find_view, "find.campaign", user=user,
                selected={"text": {"type": "plain_text", "text": "Q4 Outreach"}, "value": str(team["campaign"])})
    find_view = wait_for_more(fake, "views.update", updated)["view"] | {"id": "V0FIND"}
    [choice] = slack.options(find_view, "find.prospect", "zelda", user=user).json["options"]
    slack.click(find_view, "find.prospect", selected=choice, user=user)
    profile = wait_for_more(fake, "views.push", pushed)["view"] | {"id": "V0PROFILE"}
    slack.click(profile, "profile.edit", user=user)
    return wait_for_more(fake, "views.push", pushed + 1)["view"] | {"id": "V0EDIT", "previous_view_id": "V0PROFILE"}


def save_in_slack(slack, fake: FakeSlack, team: dict[str, Any]) -> tuple[str, str]:
    """A member marks Zelda do not contact; returns where the confirmation DM is."""
    edit = edit_screen(slack, fake, team, user=MEMBER)
    posts = len(fake.calls_to("chat.postMessage"))
    assert slack.submit(edit, reason("no-interest"), user=MEMBER).json["response_action"] == "update"
    slack.drain()
    [dm] = [call for call in fake.calls if call.method == "chat.postMessage"][posts:]
    assert dm.args["channel"] == MEMBER and "Zelda Quixwell (zelda.quixwell@acme.com)" in dm.args["text"]
    return dm.response["channel"], dm.response["ts"]


def click_unsubscribe(slack, team: dict[str, Any]) -> None:
    request = urllib.request.Request(slack.base_url + team["link"], data=b"List-Unsubscribe=One-Click",
                                     method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.read() == b"Unsubscribed."


def delete_in_slack(slack, fake: FakeSlack, team: dict[str, Any]) -> str:
    """A manager deletes Zelda; returns the direct message the delete sent."""
    edit = edit_screen(slack, fake, team, user=MANAGER)
    posts = len(fake.calls_to("chat.postMessage"))
    slack.click(edit, "edit.delete", user=MANAGER)
    slack.drain()
    [dm] = fake.calls_to("chat.postMessage")[posts:]
    assert dm["channel"] == MANAGER
    return dm["text"]


def everything_posted(fake: FakeSlack) -> dict[tuple[str, str], dict[str, Any]]:
    """Every message the bot posted, as Slack shows it now: its last chat.postMessage or chat.update."""
    shown: dict[tuple[str, str], dict[str, Any]] = {}
    with fake._lock:
        for call in fake.calls:
            if call.method == "chat.postMessage" and call.response.get("ok"):
                shown[(call.response["channel"], call.response["ts"])] = call.args
            elif call.method == "chat.update" and call.response.get("ok"):
                shown[(call.args["channel"], call.args["ts"])] = call.args
    return shown


def traces(payload: Any) -> list[str]:
    words = json.dumps(payload, ensure_ascii=False).lower()
    return [trace for trace in TRACES if trace in words]


def rows(database: Database) -> list[SlackMessage]:
    with database.snapshot() as session:
        return list(session.scalars(select(SlackMessage).order_by(SlackMessage.id)))


# -- the words --------------------------------------------------------------------------------------------------


def test_what_a_delete_says_and_what_an_edited_message_says_name_nobody():
    assert deleted_message(2, reimport_blocked=False, because_opted_out=False) == (
        ":wastebasket: A prospect in 2 campaigns was deleted. If their address is extracted or imported again later, "
        "they will come back as a new contact and may be emailed again.")
    assert deleted_message(0, reimport_blocked=True, because_opted_out=False) == (
        ":wastebasket: A prospect in no campaign was deleted. Their address stays blocked from future imports.")
    # A notification or request gone since (its campaign was removed): a sentence, in valid blocks.
    for kind in ("confirmation", "notification", "bulk-request"):
        text, blocks = redacted_message(RedactedContent(kind))
        validate_message_blocks(blocks)
        assert "deleted since" in text and traces(blocks) == []


# -- the journey ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("deleted_through", ["slack", "cli"])
def test_after_a_delete_every_message_that_named_them_is_edited_once(slack, fake_slack, database, team, run,
                                                                     deleted_through):
    _, approval = request_through_slack(slack, fake_slack, team["campaign"], rule="domains", domains="acme.com")
    assert "Zelda Quixwell" in json.dumps(approval["blocks"])
    confirmation = save_in_slack(slack, fake_slack, team)
    click_unsubscribe(slack, team)  # her own opt-out replaces her colleague's reason, and is announced too
    worker = notifier(database, fake_slack)
    assert worker.deliver_due() == 2
    notifications = [(call.response["channel"], call.response["ts"]) for call in fake_slack.calls
                     if call.method == "chat.postMessage" and call.args["channel"] == CAMPAIGN_CHANNEL]
    assert len(notifications) == 2
    assert sorted((row.kind, row.prospect_id) for row in rows(database)) == sorted(
        [("bulk-request", team["zelda"])] + [("bulk-request", pid) for pid in team["others"][:4]]
        + [("confirmation", team["zelda"])] + [("notification", team["zelda"])] * 2)
    assert worker.redact_due() == 0 and fake_slack.calls_to("chat.update") == []

    if deleted_through == "slack":
        said = delete_in_slack(slack, fake_slack, team)
        assert traces(said) == []
        assert said == (":wastebasket: A prospect in 1 campaign was deleted. Their address stays blocked from future "
                        "imports because they had opted out themselves.")
    else:
        code, out, _ = run("delete", ZELDA, "--yes")
        assert code == 0 and "Deleted" in out
    assert fake_slack.calls_to("chat.update") == []  # the delete only wrote down what to edit

    start = len(fake_slack.calls)
    assert worker.redact_due() == 4
    updates = calls_since(fake_slack, start, "chat.update")
    assert sorted((update["channel"], update["ts"]) for update in updates) == sorted(
        [confirmation, (APPROVALS_CHANNEL, approval["ts"])] + notifications)
    for update in updates:
        assert traces(update) == [], update
        validate_message_blocks(update["blocks"])
    by_channel = {update["channel"]: update for update in updates}
    assert "You marked a prospect do not contact here" in by_channel[MEMBER]["text"]
    assert all("A prospect (deleted since)" in json.dumps(update["blocks"]) for update in updates
               if update["channel"] == CAMPAIGN_CHANNEL)
    sample = json.dumps(by_channel[APPROVALS_CHANNEL]["blocks"])
    assert all(f"Person{n}" in sample for n in range(5)) and "Person5" not in sample
    assert "approvals.approve" in sample  # still waiting for a manager, and still decidable

    # Nothing the bot ever posted shows her any more, and there is nothing left to do.
    assert {key: traces(message) for key, message in everything_posted(fake_slack).items() if traces(message)} == {}
    assert worker.redact_due() == 0 and worker.deliver_due() == 0
    assert len(fake_slack.calls_to("chat.update")) == 4
    zeldas = [row for row in rows(database) if row.prospect_id == team["zelda"]]
    assert len(zeldas) == 4 and all(row.redaction_done_at and row.outcome == "" for row in zeldas)


def test_the_approval_message_is_edited_again_for_whoever_took_their_place(slack, fake_slack, database, team,
                                                                           slack_actor, secret_key):
    _, approval = request_through_slack(slack, fake_slack, team["campaign"], rule="domains", domains="acme.com")
    worker = notifier(database, fake_slack)
    person4, person5 = team["others"][4], team["others"][5]
    for gone in (team["zelda"], person5, person4):
        with database.transaction() as session:
            delete_prospect(session, gone, actor=slack_actor, block_reimport=False)
        worker.redact_due()
    # Zelda was shown: edited, and Person4 shown in her place. Person5 was never shown: nothing to edit. Person4
    # was shown since: edited again.
    updates = fake_slack.calls_to("chat.update")
    assert [(update["channel"], update["ts"]) for update in updates] == [(APPROVALS_CHANNEL, approval["ts"])] * 2
    first, second = (json.dumps(update["blocks"]) for update in updates)
    assert "Person4" in first and "Zelda" not in first
    assert "Person4" not in second and "Person5" not in second and "Person3" in second


def test_slack_failing_then_recovering_edits_the_message_exactly_once(database, fake_slack, team, slack_actor,
                                                                     secret_key):
    with database.transaction() as session:
        mark_do_not_contact(session, [team["zelda"]], reason="no-interest", actor=slack_actor)
    worker = notifier(database, fake_slack)
    assert worker.deliver_due() == 1
    with database.transaction() as session:
        delete_prospect(session, team["zelda"], actor=slack_actor, block_reimport=False)
    fake_slack.script("chat.update",
                      Scripted(status=429, body={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "1"}),
                      Scripted(status=500, body={"ok": False, "error": "internal_error"}),
                      Scripted(status=503, body={"ok": False, "error": "service_unavailable"}),
                      Scripted(drop=True))
    assert worker.redact_due() == 0  # 429
    time.sleep(0.3)
    assert worker.redact_due() == 0 and len(fake_slack.calls_to("chat.update")) == 1  # inside Retry-After
    deadline = time.monotonic() + 10
    edited = 0
    while not edited and time.monotonic() < deadline:
        edited = worker.redact_due()
        time.sleep(0.05)
    tries = [call for call in fake_slack.calls if call.method == "chat.update"]
    assert edited == 1 and len(tries) == 5 and [call.response.get("ok") for call in tries] == [None] * 4 + [True]
    assert tries[1].at - tries[0].at >= 1.0  # Retry-After was honoured
    assert traces(tries[-1].args) == [] and "A prospect (deleted since)" in json.dumps(tries[-1].args["blocks"])
    [row] = rows(database)
    assert row.attempts == 4 and row.redaction_done_at is not None and row.next_attempt_at is None
    for _ in range(3):
        worker.redact_due()
    assert len(fake_slack.calls_to("chat.update")) == 5


@pytest.mark.parametrize("error", ["message_not_found", "channel_not_found", "cant_update_message"])
def test_a_message_slack_no_longer_has_is_done_not_retried(database, fake_slack, team, slack_actor, secret_key, error):
    with database.transaction() as session:
        mark_do_not_contact(session, [team["zelda"]], reason="no-interest", actor=slack_actor)
    worker = notifier(database, fake_slack)
    worker.deliver_due()
    with database.transaction() as session:
        delete_prospect(session, team["zelda"], actor=slack_actor, block_reimport=False)
    fake_slack.script("chat.update", Scripted(body={"ok": False, "error": error}))
    assert worker.redact_due() == 0
    [row] = rows(database)
    assert row.redaction_done_at is not None and row.outcome == f"not edited: {error}" and row.attempts == 0
    for _ in range(3):
        worker.redact_due()
    assert len(fake_slack.calls_to("chat.update")) == 1


def test_someone_deleted_before_their_notification_went_out_is_never_named(database, fake_slack, team, slack_actor,
                                                                          secret_key):
    with database.transaction() as session:
        mark_do_not_contact(session, [team["zelda"]], reason="no-interest", actor=slack_actor)
        delete_prospect(session, team["others"][0], actor=slack_actor, block_reimport=False)
    with database.transaction() as session:  # while her notification waits in the outbox
        delete_prospect(session, team["zelda"], actor=slack_actor, block_reimport=False)
    worker = notifier(database, fake_slack)
    assert worker.deliver_due() == 1
    [posted] = fake_slack.calls_to("chat.postMessage")
    assert traces(posted) == [] and "A prospect (deleted since)" in json.dumps(posted["blocks"])
    assert "notify.open_profile" not in json.dumps(posted["blocks"])
    # Neither she nor the person deleted with no message at all leaves anything to edit.
    assert rows(database) == []
    assert worker.redact_due() == 0 and fake_slack.calls_to("chat.update") == []


def test_a_message_recorded_after_its_prospect_was_deleted_is_edited_at_once(database, fake_slack, team, slack_actor,
                                                                            secret_key):
    """A confirmation posted while the delete commits: its record comes after the delete, and finds them gone."""
    with database.transaction() as session:
        delete_prospect(session, team["zelda"], actor=slack_actor, block_reimport=False)
    with database.transaction() as session:
        record_message(session, channel=MEMBER, ts="1700000000.000001", kind=CONFIRMATION,
                       prospect_ids=[team["zelda"]])
    assert notifier(database, fake_slack).redact_due() == 1
    [update] = fake_slack.calls_to("chat.update")
    assert (update["channel"], update["ts"]) == (MEMBER, "1700000000.000001")
    assert "You marked a prospect do not contact here" in update["text"]


# -- messages posted before the upgrade -----------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def before_the_upgrade(request, tmp_path):
    """A database at schema 0005, emptied, with its secret key's check."""
    database = database_at("0005", request.param, request, tmp_path)
    with database.transaction() as session:
        session.add(Setting(key="secret_key_check", value=secret_key_check(TEST_SECRET_KEY)))
    yield database
    if not database.is_sqlite:
        database.upgrade(TEST_SECRET_KEY)  # the session's PostgreSQL database serves the tests after this one too
    database.dispose()


def test_the_upgrade_finds_the_notifications_and_approval_messages_already_posted(before_the_upgrade, fake_slack):
    database = before_the_upgrade
    setup = Actor("cli:ops", "cli")
    with database.transaction() as session:
        q4 = factories.campaign(session, "Q4 Outreach")
        gone, kept, gone_later = (factories.prospect(session, f"{name}@acme.com", q4, first_name=name.title())
                                  for name in ("zelda", "yann", "xena"))
        now = utcnow()

        def delivered(notification_id: int, prospect_id: int, ts: str) -> dict[str, Any]:
            return {"id": notification_id, "prospect_id": prospect_id, "prospect_count": 1, "channel": "",
                    "campaign_ids": [q4], "reason": "no-interest", "via": "cli", "actor": "cli:ops", "attempts": 0,
                    "created_at": now, "next_attempt_at": now, "delivered_at": now, "slack_ts": ts, "last_error": ""}

        # Written as the schema of the time holds them: only the columns it had.
        session.execute(insert(Notification), [delivered(1, gone, "1.000001"), delivered(2, kept, "1.000002")])
        session.add(BulkRequest(id=1, campaign_id=q4, rule="domains", parameters={"domains": ["acme.com"]},
                                reason="not-target", note="", requested_by="slack:U0ALICE", requested_at=now,
                                expires_at=now, prospect_count=3, status="expired", message_channel=APPROVALS_CHANNEL,
                                message_ts="1.000003"))
        session.add_all([BulkRequestItem(request_id=1, prospect_id=pid) for pid in (gone, kept, gone_later)])
        session.flush()
        # Deleted by the first release, which left their messages as they were.
        for pid in (gone, gone_later):
            session.execute(delete(Membership).where(Membership.prospect_id == pid))
            session.execute(delete(Prospect).where(Prospect.id == pid))
            record_audit(session, setup, "delete", prospect_id=pid)
        # Xena's notification went out after her delete: it never named her.
        session.execute(insert(Notification), [delivered(3, gone_later, "1.000004") | {"delivered_at": utcnow()}])
    assert database.upgrade(TEST_SECRET_KEY) == ("0005", head_revision())

    worker = notifier(database, fake_slack)
    assert worker.redact_due() == 2
    updates = {(update["channel"], update["ts"]): update for update in fake_slack.calls_to("chat.update")}
    assert set(updates) == {(DEFAULT_CHANNEL, "1.000001"), (APPROVALS_CHANNEL, "1.000003")}
    assert "zelda" not in json.dumps(updates[(DEFAULT_CHANNEL, "1.000001")]).lower()
    approval = json.dumps(updates[(APPROVALS_CHANNEL, "1.000003")]["blocks"]).lower()
    assert "yann" in approval and "zelda" not in approval and "xena" not in approval

    # Yann's messages were recorded by the upgrade: his delete edits them.
    with database.transaction() as session:
        delete_prospect(session, kept, actor=setup, block_reimport=False)
    assert worker.redact_due() == 2
    later = fake_slack.calls_to("chat.update")[2:]
    assert sorted((update["channel"], update["ts"]) for update in later) == [
        (APPROVALS_CHANNEL, "1.000003"), (DEFAULT_CHANNEL, "1.000002")]
    assert all("yann" not in json.dumps(update).lower() for update in later)
