"""Opt-out notifications: written to the outbox with the opt-out, delivered by the worker exactly once, through
Slack's rate limits and outages, to each campaign's channel."""

from __future__ import annotations

import threading
import time

import pytest
from slack_sdk.models.blocks import Block
from sqlalchemy import select

from bot.notifier import Notifier
from bot.slack_client import slack_client
from storage import fast_insert, outbox
from storage.campaigns import configure_campaign
from storage.do_not_contact import mark_do_not_contact
from storage.models import Notification
from tests import factories
from tests.fake_slack import Scripted
from tests.slack_driver import texts

DEFAULT_CHANNEL = "C0DEFAULT"


@pytest.fixture
def people(database, cli_actor):
    with database.transaction() as session:
        q4 = factories.campaign(session, "Q4 Outreach")
        paris = factories.campaign(session, "Agencies Paris")
        configure_campaign(session, "Agencies Paris", actor=cli_actor, channel="C0PARIS")
        jane = factories.prospect(session, "jane@acme.com", q4, paris, first_name="Jane", last_name="Doe")
        bob = factories.prospect(session, "bob@acme.com", q4, first_name="Bob")
    return {"q4": q4, "paris": paris, "jane": jane, "bob": bob}


def notifier(database, fake_slack, **options) -> Notifier:
    client = slack_client("xoxb-test-token", fake_slack.api_url, retries=False)
    return Notifier(database, client, default_channel=DEFAULT_CHANNEL, **options)


def posted(fake_slack):
    return [call.args for call in fake_slack.calls if call.method == "chat.postMessage" and call.response.get("ok")]


def validate_blocks(message):
    for block in message["blocks"]:
        Block.parse(block).validate_json()


def test_a_colleagues_opt_out_goes_to_each_campaigns_channel_once(database, fake_slack, people, slack_actor):
    with database.transaction() as session:
        mark_do_not_contact(session, [people["jane"]], reason="not-target", actor=slack_actor)
    worker = notifier(database, fake_slack)
    assert worker.deliver_due() == 2
    assert worker.deliver_due() == 0
    messages = sorted(posted(fake_slack), key=lambda m: m["channel"])
    assert [m["channel"] for m in messages] == ["C0DEFAULT", "C0PARIS"]
    for message in messages:
        validate_blocks(message)
        assert "*Jane Doe* (jane@acme.com) was marked do not contact in Slack" in texts(message)
        assert "Not target audience" in texts(message) and "<@U0ALICE>" in texts(message)
    assert "Q4 Outreach" in texts(messages[0]) and "Agencies Paris" in texts(messages[1])
    with database.snapshot() as session:
        rows = session.scalars(select(Notification)).all()
    assert all(row.delivered_at and row.slack_ts for row in rows)


def test_the_open_profile_button(slack, fake_slack, database, people, slack_actor):
    with database.transaction() as session:
        mark_do_not_contact(session, [people["bob"]], reason="no-interest", actor=slack_actor)
    notifier(database, fake_slack).deliver_due()
    [message] = posted(fake_slack)
    slack.click({"id": "V0", "blocks": message["blocks"]}, "notify.open_profile")
    [opened] = fake_slack.wait_for("views.open")
    assert "bob@acme.com" in texts(opened["view"]) and "No interest" in texts(opened["view"])


def test_rate_limits_errors_and_outages_delay_but_never_duplicate(database, fake_slack, people, slack_actor):
    with database.transaction() as session:
        mark_do_not_contact(session, [people["bob"]], reason="no-interest", actor=slack_actor)
    fake_slack.script("chat.postMessage",
                      Scripted(status=429, body={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "2"}),
                      Scripted(status=500, body={"ok": False, "error": "internal_error"}),
                      Scripted(drop=True))
    worker = notifier(database, fake_slack, retry_base=0.05)
    assert worker.deliver_due() == 0  # 429
    # Well inside Retry-After even on a loaded machine: with 1 s, a CI run under load tried again at this point.
    time.sleep(0.3)
    assert worker.deliver_due() == 0  # still inside Retry-After: not even tried
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    deadline = time.monotonic() + 10
    while not posted(fake_slack) and time.monotonic() < deadline:
        worker.deliver_due()
        time.sleep(0.05)
    calls = fake_slack.calls_to("chat.postMessage")
    assert len(calls) == 4 and len(posted(fake_slack)) == 1
    first_try, second_try = [c.at for c in fake_slack.calls if c.method == "chat.postMessage"][:2]
    assert second_try - first_try >= 2.0  # Retry-After was honoured
    with database.snapshot() as session:
        row = session.scalars(select(Notification)).one()
    assert row.attempts == 3 and row.delivered_at is not None
    for _ in range(3):
        worker.deliver_due()
    assert len(posted(fake_slack)) == 1


def test_several_workers_deliver_each_notification_exactly_once(database, fake_slack, people, slack_actor):
    with database.transaction() as session:
        campaign = factories.campaign(session, "Many")
        ids = [factories.prospect(session, f"p{n}@x.io", campaign) for n in range(40)]
    for prospect_id in ids:  # forty separate opt-outs, forty notifications
        with database.transaction() as session:
            mark_do_not_contact(session, [prospect_id], reason="no-interest", actor=slack_actor)
    workers = [notifier(database, fake_slack) for _ in range(4)]
    stop = threading.Event()
    threads = [w.start_in_background(stop) for w in workers]
    deadline = time.monotonic() + 20
    while len(posted(fake_slack)) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    texts_posted = [m["text"] for m in posted(fake_slack)]
    assert len(texts_posted) == 40 and len(set(texts_posted)) == 40


def test_a_worker_that_died_holding_a_claim_is_taken_over_after_the_lease(database, fake_slack, people, slack_actor):
    from storage import outbox

    with database.transaction() as session:
        mark_do_not_contact(session, [people["bob"]], reason="no-interest", actor=slack_actor)
    # The claim is first held for a minute, so the check that the survivor leaves it alone holds however slow the
    # machine (with a 0.5 s lease, a loaded CI host passed it before the check ran). The crashed worker's last act
    # is renewing it for 0.3 s; after that the survivor's check depends only on time having passed.
    with database.transaction() as session:
        assert len(outbox.claim_due(session, "crashed-worker", lease=60)) == 1
    survivor = notifier(database, fake_slack, lease=0.5)
    assert survivor.deliver_due() == 0 and posted(fake_slack) == []
    with database.transaction() as session:
        assert len(outbox.claim_due(session, "crashed-worker", lease=0.3)) == 1  # then it died
    time.sleep(0.5)
    assert survivor.deliver_due() == 1 and len(posted(fake_slack)) == 1


def test_bulk_changes_send_one_summary_per_channel(database, fake_slack, slack_actor):
    with database.transaction() as session:
        campaign = factories.campaign(session, "Big")
        ids = [factories.prospect(session, f"p{n}@x.io", campaign) for n in range(25)]
        mark_do_not_contact(session, ids, reason="no-interest", actor=slack_actor)
    notifier(database, fake_slack).deliver_due()
    [message] = posted(fake_slack)
    validate_blocks(message)
    assert "*25 prospects* were marked do not contact in Slack" in texts(message) and "Big" in texts(message)


def test_without_any_channel_nothing_is_posted_and_nothing_retries(database, fake_slack, people, slack_actor):
    with database.transaction() as session:
        mark_do_not_contact(session, [people["bob"]], reason="no-interest", actor=slack_actor)
    worker = Notifier(database, slack_client("xoxb-test-token", fake_slack.api_url, retries=False), default_channel="")
    assert worker.deliver_due() == 0
    with database.snapshot() as session:
        row = session.scalars(select(Notification)).one()
    assert row.delivered_at is not None and "SLACK_NOTIFY_CHANNEL" in row.last_error
    assert fake_slack.calls_to("chat.postMessage") == []


def test_bulk_summaries_count_each_prospect_once_per_channel(database, cli_actor, monkeypatch):
    """A channel following several campaigns counts a prospect in two of them once; a channel following only some
    of the campaigns counts only their members; prospects in no campaign go to the default channel. Across
    chunks too: the counts of disjoint chunks add up."""
    monkeypatch.setattr(outbox, "chunked", lambda items: fast_insert.chunked(items, 7))
    with database.transaction() as session:
        a1, a2, b, plain = (factories.campaign(session, name) for name in ("A1", "A2", "B", "Plain"))
        for name, channel in (("A1", "C0AAAAAA"), ("A2", "C0AAAAAA"), ("B", "C0BBBBBB")):
            configure_campaign(session, name, actor=cli_actor, channel=channel)
        memberships = [(a1,), (a2,), (a1, a2), (b,), (a1, b), (plain,), (a2, plain), (), (), (a1, a2, b, plain)] * 3
        ids = [factories.prospect(session, f"p{n}@x.io", *campaigns) for n, campaigns in enumerate(memberships)]
    with database.transaction() as session:
        summary = outbox._summary_by_channel(session, ids)
    expected: dict[str, tuple[int, set[int]]] = {}
    channel_of = {a1: "C0AAAAAA", a2: "C0AAAAAA", b: "C0BBBBBB", plain: ""}
    for campaigns in memberships:
        channels = {channel_of[cid] for cid in campaigns} or {""}
        for channel in channels:
            count, cids = expected.get(channel, (0, set()))
            expected[channel] = (count + 1, cids | {cid for cid in campaigns if channel_of[cid] == channel})
    assert summary == {channel: (count, sorted(cids)) for channel, (count, cids) in expected.items()}
    assert summary["C0AAAAAA"] == (18, sorted([a1, a2])) and summary[""] == (15, [plain])
