"""The reference sender end to end: a real SMTP server (aiosmtpd), one-click unsubscribe from the received
message, the next send skipping the person, Slack showing it, and the notification delivered exactly once."""

from __future__ import annotations

import dataclasses
import time
import urllib.request

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import cli
from bot.notifier import Notifier
from bot.sender import send_campaign
from bot.slack_client import slack_client
from storage.audit import Actor
from storage.campaigns import configure_campaign
from storage.do_not_contact import mark_do_not_contact
from storage.models import Activity
from storage.prospects import find_prospect_id
from tests import factories
from tests.fake_slack import Scripted
from tests.slack_driver import texts
from tests.smtp_server import mailbox_fixture  # noqa: F401
from tests.support import TEST_SECRET_KEY


@pytest.fixture
def mail_settings(slack_settings, slack, mailbox):
    return dataclasses.replace(slack_settings, smtp_host="127.0.0.1", smtp_port=mailbox.port, smtp_starttls=False,
                               mail_from="Sam at Acme <sam@acme-sales.com>", public_base_url=slack.base_url,
                               slack_notify_channel="C0SALES")


@pytest.fixture
def campaign(database, cli_actor):
    with database.transaction() as session:
        campaign_id = factories.campaign(session, "Q4 Outreach")
        for address, first in (("jane@acme.com", "Jane"), ("bob@acme.com", "Bob"), ("gone@acme.com", "Gus")):
            factories.prospect(session, address, campaign_id, first_name=first, company="Acme")
        configure_campaign(session, "Q4 Outreach", actor=cli_actor, subject="Hello $first_name",
                               body="Hi $first_name, how is $company?")
    return campaign_id


def sent_count(database, campaign_id):
    with database.snapshot() as session:
        return session.scalar(select(func.count()).select_from(Activity).where(
            Activity.campaign_id == campaign_id, Activity.kind == "sent"))


def test_send_unsubscribe_skip_and_notify_once(mail_settings, database, mailbox, campaign, slack, fake_slack):
    report = send_campaign(mail_settings, database, "Q4 Outreach")
    assert report.sent == 2 and report.failed == [("gone@acme.com", "refused by the mail server (550 5.1.1 No such user here)")]
    assert sent_count(database, campaign) == 2
    [message] = mailbox.to("jane@acme.com")
    assert message["Subject"] == "Hello Jane" and message["From"] == "Sam at Acme <sam@acme-sales.com>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message["List-Unsubscribe"].strip("<>")
    assert url.startswith(slack.base_url + "/unsubscribe/") and "jane" not in url
    body = message.get_payload(decode=True).decode()
    assert "Hi Jane, how is Acme?" in body and f"Unsubscribe: {url}" in body

    # What a mailbox provider does with the header (RFC 8058).
    request = urllib.request.Request(url, data=b"List-Unsubscribe=One-Click", method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200

    mailbox.messages.clear()
    again = send_campaign(mail_settings, database, "Q4 Outreach")
    assert again.sent == 1 and [m["To"] for m in mailbox.messages] == ["bob@acme.com"]

    slack.command("jane@acme.com")
    [opened] = fake_slack.wait_for("views.open")
    assert "Requested by the prospect" in texts(opened["view"]) and "the unsubscribe link" in texts(opened["view"])

    fake_slack.script("chat.postMessage",
                      Scripted(status=429, body={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "1"}),
                      Scripted(status=500, body={"ok": False, "error": "internal_error"}),
                      Scripted(drop=True))
    worker = Notifier(database, slack_client("xoxb-test-token", fake_slack.api_url, retries=False),
                      default_channel=mail_settings.slack_notify_channel, retry_base=0.05)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not any(c.response.get("ok") for c in fake_slack.calls
                                                   if c.method == "chat.postMessage"):
        worker.deliver_due()
        time.sleep(0.05)
    for _ in range(3):
        worker.deliver_due()
    delivered = [c.args for c in fake_slack.calls if c.method == "chat.postMessage" and c.response.get("ok")]
    assert len(delivered) == 1 and len(fake_slack.calls_to("chat.postMessage")) == 4
    assert "clicked the unsubscribe link" in texts(delivered[0]) and delivered[0]["channel"] == "C0SALES"


def test_an_opt_out_between_selection_and_send_is_honoured(mail_settings, database, mailbox, campaign):
    def bob_unsubscribes_meanwhile(recipient):
        if recipient.email == "jane@acme.com":  # the batch is already selected; Bob's turn comes after Jane's
            with database.transaction() as session:
                bob = find_prospect_id(session, "bob@acme.com")
                mark_do_not_contact(session, [bob], reason="requested",
                                        actor=Actor("prospect", "unsubscribe-link"))

    report = send_campaign(mail_settings, database, "Q4 Outreach", before_each=bob_unsubscribes_meanwhile)
    assert report.skipped_since_selected == 1
    assert mailbox.to("bob@acme.com") == [] and len(mailbox.to("jane@acme.com")) == 1


def test_dry_run_prints_and_sends_nothing(mail_settings, database, mailbox, campaign, database_url, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    env = {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET_KEY.decode(), "MAIL_FROM": mail_settings.mail_from,
           "PUBLIC_BASE_URL": mail_settings.public_base_url, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mailbox.port),
           "SMTP_STARTTLS": "false"}
    result = CliRunner().invoke(cli, ["send", "--campaign", "Q4 Outreach", "--dry-run"], env=env)
    assert result.exit_code == 0, result.output
    assert "To: jane@acme.com  Subject: Hello Jane" in result.stdout and "Dry run: nothing was sent." in result.stdout
    assert mailbox.messages == [] and sent_count(database, campaign) == 0

    result = CliRunner().invoke(cli, ["send", "--campaign", "Q4 Outreach"], env=env)
    assert result.exit_code == 1 and "Sent 2 messages." in result.stdout
    assert "not sent to gone@acme.com: refused by the mail server" in result.stderr
    assert len(mailbox.messages) == 2


def test_missing_mail_settings_and_an_unreachable_server_are_one_line(database_url, campaign, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    env = {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET_KEY.decode()}
    result = CliRunner().invoke(cli, ["send", "--campaign", "Q4 Outreach"], env=env)
    assert result.exit_code == 1 and result.stderr.startswith("Error: MAIL_FROM is not set")
    env.update({"MAIL_FROM": "sam@acme-sales.com", "PUBLIC_BASE_URL": "https://pb.example.com",
                "SMTP_HOST": "127.0.0.1", "SMTP_PORT": "9"})
    result = CliRunner().invoke(cli, ["send", "--campaign", "Q4 Outreach"], env=env)
    assert result.exit_code == 1 and result.stderr.startswith("Error: Can not use the mail server 127.0.0.1:9")
    assert len(result.stderr.strip().splitlines()) == 1
