"""Inbound mail end to end, with every part real: the reference sender mails a real SMTP server (aiosmtpd), replies
and bounces land in a real IMAP server (Dovecot, tests/imap_server.py) by IMAP APPEND, `prospectbot inbox --once`
reads them, the worker tells the local fake of Slack, a member decides a card through `serve` with a request signed
as Slack signs it — and the next send skips the person. Also: two readers on one mailbox, and the server restarted
while they read."""

from __future__ import annotations

import dataclasses
import threading
import time
from email.message import Message

import pytest
from sqlalchemy import func, select

from bot.inbox import InboxReader
from bot.notifier import Notifier
from bot.sender import send_campaign
from bot.slack_client import slack_client
from storage.campaigns import configure_campaign
from storage.models import DoNotContact, InboundMessage, Notification
from tests import factories
from tests.fake_slack import OTHER_MEMBER
from tests.imap_server import ImapServer, imap_server_fixture  # noqa: F401
from tests.inbound_mail import bounce, reply
from tests.smtp_server import running_smtp_server

SALES = "sam@example.test"  # the salesperson's sending mailbox, where replies and bounces arrive
UNSUBSCRIBE = "unsubscribe@example.test"


@pytest.fixture
def smtp():
    yield from running_smtp_server()


@pytest.fixture
def team(database, cli_actor):
    with database.transaction() as session:
        q4 = factories.campaign(session, "Q4 Outreach")
        q1 = factories.campaign(session, "Q1 Outreach")
        jane = factories.prospect(session, "jane@acme.com", q4, q1, first_name="Jane", company="Acme")
        bob = factories.prospect(session, "bob@globex.io", q4, first_name="Bob", company="Globex")
        for name in ("Q4 Outreach", "Q1 Outreach"):
            configure_campaign(session, name, actor=cli_actor, subject="Hello $first_name",
                               body="Hi $first_name, how is $company?", channel="C0SALES")
    return {"q4": q4, "q1": q1, "jane": jane, "bob": bob}


@pytest.fixture
def setup(slack_settings, smtp, imap_server, fake_slack):
    """Settings for the sender, the mailbox reader and the worker; each test reads a folder of its own."""
    folder = imap_server.create_folder(SALES)
    unsubscribe_folder = imap_server.create_folder(UNSUBSCRIBE)
    settings = dataclasses.replace(
        slack_settings, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False,
        mail_from=f"Sam at Acme <{SALES}>", public_base_url="https://bot.acme.example",
        slack_notify_channel="C0SALES", unsubscribe_mailbox=UNSUBSCRIBE,
        mailboxes=(imap_server.settings(SALES, folder=folder, name="sam"),
                   imap_server.settings(UNSUBSCRIBE, folder=unsubscribe_folder, name="unsubscribe",
                                        role="unsubscribe")),
        imap_poll_seconds=1.0)
    return settings, folder, unsubscribe_folder


def deliver(settings, database) -> int:
    notifier = Notifier(database, slack_client(settings.slack_bot_token, settings.slack_api_url, retries=False),
                        default_channel=settings.slack_notify_channel)
    return notifier.deliver_due()


def dnc(database, prospect_id):
    with database.snapshot() as session:
        row = session.get(DoNotContact, prospect_id)
        return None if row is None else (row.reason, row.channel)


def message_id_of(message: Message) -> str:
    return message["Message-ID"].strip().strip("<>")


@pytest.mark.parametrize("words", ["Please remove me from your list.", "Bitte austragen, danke."])
def test_a_reply_asking_to_stop_ends_the_sequence_and_tells_the_channel_once(
        database, team, setup, smtp, imap_server, fake_slack, words):
    settings, folder, _ = setup
    assert send_campaign(settings, database, "Q4 Outreach").sent == 2
    [to_jane] = smtp.to("jane@acme.com")
    imap_server.append(SALES, reply("Jane <jane@acme.com>", words, in_reply_to=message_id_of(to_jane)), folder)
    imap_server.append(SALES, reply("bob@globex.io", "Sounds good, call me Tuesday.",
                                    in_reply_to=message_id_of(smtp.to("bob@globex.io")[0])), folder)

    counts = InboxReader(settings, database).read_all_once()
    assert counts == {"do-not-contact": 1, "replied": 1}
    assert dnc(database, team["jane"]) == ("requested", "reply") and dnc(database, team["bob"]) is None

    assert deliver(settings, database) == 1
    [posted] = fake_slack.calls_to("chat.postMessage")
    shown = str(posted["blocks"])
    assert posted["channel"] == "C0SALES" and "jane@acme.com" in shown and "asked to stop in a reply" in shown
    assert "They wrote:" in shown
    assert deliver(settings, database) == 0  # once

    smtp.messages.clear()
    assert send_campaign(settings, database, "Q4 Outreach").sent == 1
    assert smtp.to("jane@acme.com") == [] and len(smtp.to("bob@globex.io")) == 1
    # Read again: nothing new is acted on; the team's mail is all still there, flagged, not marked read.
    assert InboxReader(settings, database).read_all_once() == {}
    assert imap_server.count(SALES, folder) == 2
    assert imap_server.flags(SALES, 1, folder) == {b"$ProspectbotProcessed"}


def test_an_ambiguous_reply_waits_in_slack_for_one_click(database, team, setup, smtp, imap_server, fake_slack,
                                                          slack):
    settings, folder, _ = setup
    send_campaign(settings, database, "Q4 Outreach")
    imap_server.append(SALES, reply("jane@acme.com", "Not interested right now.",
                                    in_reply_to=message_id_of(smtp.to("jane@acme.com")[0])), folder)
    assert InboxReader(settings, database).read_all_once() == {"carded": 1}
    assert dnc(database, team["jane"]) is None

    assert deliver(settings, database) == 1
    [card] = fake_slack.calls_to("chat.postMessage")
    assert "Not interested right now." in str(card["blocks"]) and card["channel"] == "C0SALES"
    message = {"channel": "C0SALES", "ts": "1700000000.000001", "blocks": card["blocks"]}
    with database.snapshot() as session:
        message["ts"] = session.scalar(select(InboundMessage.card_ts))

    assert slack.click_message(message, "replies.do_not_contact").status == 200
    slack.drain()
    assert dnc(database, team["jane"]) == ("requested", "slack")
    [updated] = fake_slack.calls_to("chat.update")
    assert updated["ts"] == message["ts"] and "is now do not contact" in str(updated["blocks"])
    assert "replies.do_not_contact" not in str(updated["blocks"])

    # A colleague looking at the old card clicks too: nothing more changes, and they are told why.
    slack.click_message(message, "replies.not_an_opt_out", user=OTHER_MEMBER)
    slack.drain()
    assert dnc(database, team["jane"]) == ("requested", "slack")
    told = [call for call in fake_slack.calls if call.method.startswith("response_url/")]
    assert any("already decided" in call.args.get("text", "") for call in told)
    smtp.messages.clear()
    send_campaign(settings, database, "Q4 Outreach")
    assert smtp.to("jane@acme.com") == []


def test_a_hard_bounce_stops_every_campaign(database, team, setup, smtp, imap_server):
    settings, folder, _ = setup
    send_campaign(settings, database, "Q4 Outreach")
    imap_server.append(SALES, bounce("jane@acme.com", "5.1.1",
                                     original=message_id_of(smtp.to("jane@acme.com")[0])), folder)
    imap_server.append(SALES, bounce("bob@globex.io", "4.2.2",
                                     original=message_id_of(smtp.to("bob@globex.io")[0])), folder)
    assert InboxReader(settings, database).read_all_once() == {"bounced": 1, "soft-bounce": 1}
    smtp.messages.clear()
    assert send_campaign(settings, database, "Q1 Outreach").sent == 0  # Jane bounced in Q4: no campaign sends
    assert send_campaign(settings, database, "Q4 Outreach").sent == 1 and smtp.to("bob@globex.io")


def test_the_mail_clients_unsubscribe_button_is_their_own_opt_out(database, team, setup, smtp, imap_server):
    settings, _, unsubscribe_folder = setup
    send_campaign(settings, database, "Q4 Outreach")
    [to_jane] = smtp.to("jane@acme.com")
    header = to_jane["List-Unsubscribe"]
    assert header.startswith("<https://bot.acme.example/unsubscribe/")  # the one-click link stays first
    mailto = header.split("<mailto:", 1)[1].split(">", 1)[0]
    address = mailto.split("?", 1)[0]
    assert address.startswith("unsubscribe+") and address.endswith("@example.test")
    # What Gmail sends when Jane presses "Unsubscribe" beside the sender's name.
    imap_server.append(UNSUBSCRIBE, reply("jane@acme.com", "This message was automatically generated by Gmail.",
                                          subject="unsubscribe", to=address), unsubscribe_folder)
    assert InboxReader(settings, database).read_all_once() == {"do-not-contact": 1}
    assert dnc(database, team["jane"]) == ("requested", "unsubscribe-email")


def test_two_readers_and_a_server_restart_act_on_each_message_once(database, team, setup, smtp, imap_server):
    settings, folder, _ = setup
    settings = dataclasses.replace(settings, mailboxes=settings.mailboxes[:1])
    send_campaign(settings, database, "Q4 Outreach")
    jane_id, bob_id = (message_id_of(smtp.to(a)[0]) for a in ("jane@acme.com", "bob@globex.io"))
    stop = threading.Event()
    readers = [InboxReader(settings, database, lease=5.0) for _ in range(2)]
    threads = [thread for reader in readers for thread in reader.start_in_background(stop)]
    try:
        for n in range(4):
            imap_server.append(SALES, reply("bob@globex.io", f"Question {n}: what about pricing?",
                                            in_reply_to=bob_id), folder)
        wait_until(lambda: processed(database) == 4)
        imap_server.restart()  # every connection dropped mid-session
        imap_server.append(SALES, reply("jane@acme.com", "Unsubscribe me, please.", in_reply_to=jane_id), folder)
        for n in range(3):
            imap_server.append(SALES, reply("bob@globex.io", f"Follow-up {n}", in_reply_to=bob_id), folder)
        wait_until(lambda: processed(database) == 8, timeout=60)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    with database.snapshot() as session:
        assert session.scalar(select(func.count(func.distinct(InboundMessage.uid)))) == 8
        assert session.scalar(select(func.count()).select_from(Notification)) == 1
    assert dnc(database, team["jane"]) == ("requested", "reply")
    total = readers[0].counts + readers[1].counts
    assert total["replied"] == 7 and total["do-not-contact"] == 1 and total["duplicate"] == 0
    assert total["mailbox-error"] >= 1  # the restart was noticed, and survived


def processed(database) -> int:
    with database.snapshot() as session:
        return session.scalar(select(func.count()).select_from(InboundMessage)) or 0


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)
