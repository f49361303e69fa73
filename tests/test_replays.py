"""The same signed Slack request arriving again — replayed inside the five minutes its signature is valid, at the
same instance or another — changes nothing more, and is answered as the first arrival was. Two clicks are two
requests (a new timestamp, a new signature), decided by the version checks as before."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.notifier import Notifier
from bot.slack_client import slack_client
from bot.web import REQUEST_RECORDS_KEPT, forget_old_requests
from storage.models import AuditEntry, BlockedDomain, BulkRequest, DoNotContact, Prospect, SlackRequestRecord, utcnow
from tests import factories
from tests.fake_slack import MANAGER, MEMBER, Scripted
from tests.harness import running
from tests.slack_driver import Reply, SlackDriver, texts
from tests.support import APPROVALS_CHANNEL
from tests.test_slack_bulk import confirm_state, form_state, q4  # noqa: F401 - a fixture
from tests.test_slack_edit import open_edit, reason


class Replaying(SlackDriver):
    """Talks to the app as Slack does, and can send its last request again byte for byte, with the signature and
    timestamp it had: a replay. `via` another instance's driver sends it there."""

    def __init__(self, driver: SlackDriver) -> None:
        super().__init__(driver.base_url, driver.fake, drain=driver.drain)
        self.sent: list[tuple[str, str, int]] = []

    def post(self, body: str, content_type: str, *, timestamp: int | None = None, **kwargs: Any) -> Reply:
        timestamp = int(time.time()) if timestamp is None else timestamp
        self.sent.append((body, content_type, timestamp))
        return super().post(body, content_type, timestamp=timestamp, **kwargs)

    def again(self, via: SlackDriver | None = None) -> Reply:
        body, content_type, timestamp = self.sent[-1]
        return SlackDriver.post(via or self, body, content_type, timestamp=timestamp)

    def resigned(self) -> Reply:
        """The same bytes with a new timestamp, so a new signature: another request, as a second click is."""
        body, content_type, timestamp = self.sent[-1]
        return SlackDriver.post(self, body, content_type, timestamp=timestamp + 1)


def count(database, model, *where) -> int:
    with database.snapshot() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def jane(database):
    with database.transaction() as session:
        campaign = factories.campaign(session, "Q4 Outreach")
        prospect = factories.prospect(session, "jane@acme.com", campaign, first_name="Jane", last_name="Doe")
        colleague = factories.prospect(session, "bob@acme.com", campaign, first_name="Bob")
    return {"campaign": campaign, "id": prospect, "colleague": colleague}


def approval_posts(fake_slack) -> list[dict]:
    return [call for call in fake_slack.calls_to("chat.postMessage") if call["channel"] == APPROVALS_CHANNEL]


def confirm_bulk_request(slack, fake_slack, campaign_id: int) -> tuple[Replaying, dict, Reply]:
    """/prospect bulk → the form → Preview; then "Request approval", sent by a driver that can replay it."""
    slack.command("bulk")
    [opened] = fake_slack.wait_for("views.open")
    preview = slack.submit({**opened["view"], "id": "V0FORM"}, form_state(campaign_id, "no-engagement")).json
    confirm = {**preview["view"], "id": "V0CONFIRM"}
    replaying = Replaying(slack)
    first = replaying.submit(confirm, confirm_state(note="Quiet since September"))
    return replaying, confirm, first


# -- each state-changing interaction, replayed ------------------------------------------------------------------


def test_a_bulk_request_confirmed_three_times_at_two_instances_is_one_request(slack, fake_slack, database,
                                                                              database_url, q4):  # noqa: F811
    replaying, _, first = confirm_bulk_request(slack, fake_slack, q4["id"])
    assert first.status == 200 and first.json["response_action"] == "update"
    with running(database_url, fake=fake_slack) as other:
        again = [replaying.again(via=other.slack), replaying.again()]
        other.drain()
    slack.drain()
    assert [(reply.status, reply.body) for reply in again] == [(first.status, first.body)] * 2
    assert count(database, BulkRequest) == 1
    assert len(approval_posts(fake_slack)) == 1
    assert count(database, AuditEntry, AuditEntry.action == "bulk.request") == 1


def test_a_domain_block_clicked_three_times_writes_one_audit_row(slack, fake_slack, database, jane):
    _, edit = open_edit(slack, fake_slack, jane, user=MANAGER)
    replaying = Replaying(slack)
    first = replaying.click(edit, "edit.block_domain", user=MANAGER)
    again = [replaying.again(), replaying.again()]
    slack.drain()
    assert [(reply.status, reply.body) for reply in again] == [(first.status, first.body)] * 2
    assert count(database, AuditEntry, AuditEntry.action == "block_domain") == 1
    assert count(database, BlockedDomain) == 1 and count(database, DoNotContact) == 2
    # The modal was replaced once: the replays ran no listener.
    assert len([u for u in fake_slack.calls_to("views.update") if u["view_id"] == edit["id"]]) == 1


def test_a_save_sent_three_times_is_one_do_not_contact_and_the_same_view(slack, fake_slack, database, jane,
                                                                        database_url):
    _, edit = open_edit(slack, fake_slack, jane)
    replaying = Replaying(slack)
    first = replaying.submit(edit, reason("no-interest", "Said no twice"))
    assert "Saved. *Jane Doe* will not be contacted again (No interest)." in texts(first.json["view"])
    with running(database_url, fake=fake_slack) as other:
        again = [replaying.again(), replaying.again(via=other.slack)]
        other.drain()
    slack.drain()
    assert [reply.json for reply in again] == [first.json] * 2
    assert count(database, DoNotContact) == 1
    assert count(database, AuditEntry, AuditEntry.action == "do_not_contact") == 1
    # The confirmation message is a lazy listener's: it ran once.
    assert len([dm for dm in fake_slack.calls_to("chat.postMessage") if dm["channel"] == MEMBER]) == 1


def test_a_delete_sent_twice_deletes_once(slack, fake_slack, database, jane):
    _, edit = open_edit(slack, fake_slack, jane, user=MANAGER)
    replaying = Replaying(slack)
    first = replaying.click(edit, "edit.delete", user=MANAGER)
    second = replaying.again()
    slack.drain()
    assert (second.status, second.body) == (first.status, first.body)
    assert count(database, AuditEntry, AuditEntry.action == "delete") == 1
    assert count(database, Prospect, Prospect.id == jane["id"]) == 0
    assert len([dm for dm in fake_slack.calls_to("chat.postMessage") if dm["channel"] == MANAGER]) == 1
    # The modal said "deleted" once, not then "this prospect no longer exists".
    [shown] = [u["view"] for u in fake_slack.calls_to("views.update") if u["view_id"] == edit["id"]]
    assert "Jane Doe" in texts(shown)


def test_an_approval_sent_twice_is_decided_and_announced_once(slack, fake_slack, database, q4):  # noqa: F811
    replaying, _, _ = confirm_bulk_request(slack, fake_slack, q4["id"])
    slack.drain()
    [posted] = [call for call in fake_slack.calls if call.method == "chat.postMessage"
                and call.args["channel"] == APPROVALS_CHANNEL]
    message = {"channel": posted.args["channel"], "ts": posted.response["ts"], "blocks": posted.args["blocks"]}
    first = replaying.click_message(message, "approvals.approve", user=MANAGER)
    second = replaying.again()
    slack.drain()
    assert (second.status, second.body) == (first.status, first.body)
    assert count(database, AuditEntry, AuditEntry.action == "bulk.approve") == 1
    assert count(database, DoNotContact) == 12
    assert len(fake_slack.calls_to("chat.update")) == 1
    # Without the guard the second arrival was told "already approved": no one is told anything twice.
    assert fake_slack.calls_to(f"response_url/{MANAGER}") == []


# -- what is not a replay ----------------------------------------------------------------------------------------


def test_two_clicks_are_two_requests_decided_by_the_version_check(slack, fake_slack, database, jane):
    _, edit = open_edit(slack, fake_slack, jane)
    replaying = Replaying(slack)
    first = replaying.submit(edit, reason("no-interest"))
    second = replaying.resigned()  # the same bytes, signed a second later: a second click
    assert "Saved." in texts(first.json["view"])
    assert "Someone else changed this prospect since you opened it, so nothing was saved" in texts(second.json["view"])
    assert count(database, AuditEntry, AuditEntry.action == "do_not_contact") == 1


def test_two_bulk_confirmations_are_two_requests(slack, fake_slack, database, q4):  # noqa: F811
    """A bulk request has no version to check: a second click (a new signature) is a second request, as before."""
    replaying, _, _ = confirm_bulk_request(slack, fake_slack, q4["id"])
    replaying.resigned()
    slack.drain()
    assert count(database, BulkRequest) == 2 and len(approval_posts(fake_slack)) == 2


def test_a_replay_arriving_while_the_first_is_answered_waits_for_its_answer(slack, fake_slack, database, jane,
                                                                           database_url):
    _, edit = open_edit(slack, fake_slack, jane)
    replies: dict[str, Reply] = {}
    # The other instance has not met the user yet: its role check asks Slack, which takes a second to answer.
    user = {"id": MEMBER, "team_id": "T0TEAM", "deleted": False, "is_bot": False, "is_admin": False,
            "is_owner": False, "is_restricted": False, "is_ultra_restricted": False}
    fake_slack.script("users.info", Scripted(body={"ok": True, "user": user}, delay=1.0))
    with running(database_url, fake=fake_slack) as other:
        at_other = Replaying(other.slack)
        first = threading.Thread(target=lambda: replies.update(first=at_other.submit(edit, reason("no-interest"))))
        first.start()
        while not at_other.sent:
            time.sleep(0.005)
        time.sleep(0.3)
        started = time.monotonic()
        replies["replay"] = at_other.again(via=slack)
        waited = time.monotonic() - started
        first.join()
        other.drain()
    slack.drain()
    assert waited > 0.3 and replies["replay"].json == replies["first"].json
    assert "Saved." in texts(replies["first"].json["view"])
    assert count(database, AuditEntry, AuditEntry.action == "do_not_contact") == 1


def test_read_only_requests_leave_no_record(slack, fake_slack, jane, database):
    """Slash commands and type-aheads only read: nothing is written in their way (a type-ahead answers in a few
    milliseconds)."""
    slack.command("")
    fake_slack.wait_for("views.open")
    find = fake_slack.views_shown()[-1]
    slack.options(find, "find.campaign", "Q4")
    slack.event({"type": "app_home_opened", "user": MEMBER, "channel": "D0", "tab": "home"})
    slack.drain()
    assert count(database, SlackRequestRecord) == 0


# -- the records go ----------------------------------------------------------------------------------------------


def test_records_older_than_the_replay_window_are_swept_by_the_worker(slack, fake_slack, database, jane):
    _, edit = open_edit(slack, fake_slack, jane)  # three clicks on the way: three records
    assert count(database, SlackRequestRecord) == 3
    with database.transaction() as session:
        session.execute(update(SlackRequestRecord).values(
            received_at=utcnow() - REQUEST_RECORDS_KEPT - dt.timedelta(seconds=1)))
    slack.submit(edit, reason("no-interest"))
    slack.drain()
    stop = threading.Event()
    notifier = Notifier(database, slack_client("xoxb-test-token", fake_slack.api_url, retries=False),
                        default_channel="")
    worker = threading.Thread(target=notifier.run, args=(stop,), daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 5
        while count(database, SlackRequestRecord) != 1:
            assert time.monotonic() < deadline, "the old record was never swept"
            time.sleep(0.02)
    finally:
        stop.set()
        worker.join(timeout=5)
    assert forget_old_requests(database) == 0
