"""`prospectbot inbox --once`: the command a team runs (or cron) to read its mailboxes, configured only by the
environment, against the real Dovecot; and the sentence it says when something is wrong."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import DoNotContact
from tests import factories
from tests.imap_server import ImapServer, imap_server_fixture  # noqa: F401
from tests.inbound_mail import reply

SALES = "sam@example.test"


def mailbox_env(server: ImapServer, folder: str, *, password: str | None = None) -> dict[str, str]:
    return {"IMAP_MAILBOXES": "sam", "IMAP_SAM_URL": f"imaps://{SALES}@{server.host}:{server.port}/{folder}",
            "IMAP_SAM_PASSWORD": password or server.users[SALES], "IMAP_CA_FILE": server.ca_file}


def test_inbox_once_reads_acts_and_says_what_it_did(run, database, imap_server):
    with database.transaction() as session:
        q4 = factories.campaign(session, "Q4 Outreach")
        jane = factories.prospect(session, "jane@acme.com", q4, first_name="Jane")
    folder = imap_server.create_folder(SALES)
    imap_server.append(SALES, reply("jane@acme.com", "Please take me off your mailing list."), folder)
    imap_server.append(SALES, reply("stranger@else.org", "Who is this?"), folder)
    code, out, err = run("inbox", "--once", env=mailbox_env(imap_server, folder))
    assert code == 0, err
    assert out.strip() == "Read 1 mailbox(es): 1 do-not-contact, 1 unmatched."
    with database.snapshot() as session:
        assert session.scalar(select(DoNotContact.reason).where(DoNotContact.prospect_id == jane)) == "requested"
    code, out, _ = run("inbox", "--once", env=mailbox_env(imap_server, folder))
    assert (code, out.strip()) == (0, "Read 1 mailbox(es): no new message.")


def test_inbox_says_one_sentence_when_it_can_not_read(run, imap_server):
    code, _, err = run("inbox", "--once")
    assert code == 1 and "No mailbox to read: set IMAP_MAILBOXES" in err and "Traceback" not in err
    code, _, err = run("inbox", "--once", env={"IMAP_MAILBOXES": "sam", "IMAP_SAM_URL": "http://nope"})
    assert code == 1 and "IMAP_SAM_URL" in err and "Traceback" not in err
    code, out, err = run("inbox", "--once", env=mailbox_env(imap_server, "INBOX", password="pw-0f-nobody-1234"))
    assert code == 1 and "1 mailbox-error" in out and "pw-0f-nobody-1234" not in err + out
