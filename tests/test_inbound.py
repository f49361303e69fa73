"""What a message read from a mailbox does to the database (storage.inbound, storage.reply_cards), on both
databases: each kind of message, matching, exactly once, leases, and a delete afterwards. Messages are real RFC 5322
bytes, read by storage.mail_reading and classified by storage.reply_intent, as the mailbox reader does; the IMAP
server itself is in tests/test_inbox.py."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage import inbound, reply_cards
from storage.audit import Actor
from storage.deletion import delete_prospect
from storage.do_not_contact import mark_do_not_contact
from storage.mail_reading import read_mail
from storage.models import (
    Activity,
    AuditEntry,
    DoNotContact,
    InboundMessage,
    Membership,
    Notification,
    Prospect,
    SlackMessage,
)
from storage.reply_intent import classify_reply
from storage.sending import record_activity, sendable_recipients
from storage.suppressions import is_address_suppressed
from storage.unsubscribe import unsubscribe_address_for, unsubscribe_token
from tests import factories
from tests.inbound_mail import bounce, delivery_failure_gmail, reply
from tests.support import TEST_SECRET_KEY

WORKER = "worker-a"
OURS = "sam@acme-sales.com"
UNSUBSCRIBE = "unsubscribe@acme-sales.com"
MEMBER = Actor("slack:U0MEMBER", "slack")


@pytest.fixture
def team(database):
    """Two campaigns; Jane is in both and was emailed in each; Bob in one."""
    with database.transaction() as session:
        q4 = factories.campaign(session, "Q4 Outreach")
        q1 = factories.campaign(session, "Q1 Outreach")
        jane = factories.prospect(session, "jane@acme.com", q4, q1, first_name="Jane", last_name="Doe")
        bob = factories.prospect(session, "bob@globex.io", q4, first_name="Bob")
        record_activity(session, q4, jane, "sent", message_id="q4-jane@acme-sales.com")
        record_activity(session, q1, jane, "sent", message_id="q1-jane@acme-sales.com")
        record_activity(session, q4, bob, "sent", message_id="q4-bob@acme-sales.com")
        membership = session.scalar(select(Membership.id).where(Membership.prospect_id == jane,
                                                                Membership.campaign_id == q4))
    return {"q4": q4, "q1": q1, "jane": jane, "bob": bob, "jane_q4": membership}


class Reader:
    """Processes raw messages as bot/inbox.py does, with a cursor it holds, one UID after another."""

    def __init__(self, database, mailbox: str = "sales", worker: str = WORKER, uidvalidity: int = 7) -> None:
        self.database, self.mailbox, self.worker, self.uidvalidity = database, mailbox, worker, uidvalidity
        self.uid = 0

    def feed(self, raw: bytes, uid: int | None = None) -> inbound.Processed:
        self.uid = uid if uid is not None else self.uid + 1
        mail = read_mail(raw)
        intent = classify_reply(mail.new_text, mail.subject) if mail.kind == "reply" else None
        context = inbound.MailboxContext(self.mailbox, self.uidvalidity, self.worker, TEST_SECRET_KEY,
                                         inbound.own_address_keys([OURS, UNSUBSCRIBE]), UNSUBSCRIBE)
        with self.database.transaction() as session:
            assert inbound.claim_mailbox(session, self.mailbox, self.worker) is not None
            return inbound.process_message(session, context, self.uid, mail, intent)


def sendable(database) -> set[tuple[int, int]]:
    with database.snapshot() as session:
        return set(session.execute(select(sendable_recipients.c.campaign_id, sendable_recipients.c.prospect_id)))


def dnc(database, prospect_id):
    with database.snapshot() as session:
        row = session.get(DoNotContact, prospect_id)
        return None if row is None else (row.reason, row.channel)


def outbox(database):
    with database.snapshot() as session:
        return [(n.prospect_id, n.reason, n.via, n.inbound_message_id) for n in
                session.scalars(select(Notification).order_by(Notification.id))]


@pytest.mark.parametrize("words", [
    "Please remove me from your list.",
    "Por favor, darme de baja de esta lista.",
    "Merci de ne plus m'envoyer d'e-mails, je ne souhaite plus recevoir vos messages.",
    "Bitte austragen, ich möchte keine weiteren E-Mails.",
    "Por favor me remova da lista, não quero receber mais e-mails.",
    "Cancellatemi dalla vostra lista, grazie.",
])
def test_a_reply_asking_to_stop_is_their_own_opt_out_with_the_phrase(database, team, words):
    result = Reader(database).feed(reply("jane@acme.com", words, in_reply_to="q4-jane@acme-sales.com"))
    assert (result.outcome, result.matched_by) == ("do-not-contact", "reference") and result.phrase
    assert dnc(database, team["jane"]) == ("requested", "reply")
    assert sendable(database) == {(team["q4"], team["bob"])}  # Jane in neither campaign
    [(prospect, reason, via, inbound_id)] = outbox(database)
    assert (prospect, reason, via, inbound_id) == (team["jane"], "requested", "reply", result.inbound_id)
    with database.snapshot() as session:
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "reply_opt_out"))
        assert audit.after["phrase"] == result.phrase and audit.prospect_id == team["jane"]
        # Nothing of the body is kept for an automatic decision: only the phrase.
        assert session.get(InboundMessage, result.inbound_id).excerpt == ""


def test_the_same_message_twice_acts_once(database, team):
    reader = Reader(database)
    raw = reply("jane@acme.com", "Unsubscribe me please", in_reply_to="q4-jane@acme-sales.com")
    assert reader.feed(raw, uid=5).outcome == "do-not-contact"
    assert reader.feed(raw, uid=5).outcome == "duplicate"
    renumbered = Reader(database, uidvalidity=8)  # the server renumbered the folder: known by its Message-ID
    assert renumbered.feed(raw, uid=1).outcome == "duplicate"
    assert len(outbox(database)) == 1


def test_an_ambiguous_reply_waits_for_one_click(database, team):
    result = Reader(database).feed(reply("jane@acme.com", "Not interested, thanks.",
                                         in_reply_to="q4-jane@acme-sales.com"))
    assert result.outcome == "carded" and dnc(database, team["jane"]) is None
    [(prospect, reason, via, inbound_id)] = outbox(database)
    assert (prospect, reason, inbound_id) == (team["jane"], "reply-card", result.inbound_id)
    with database.transaction() as session:
        card = reply_cards.reply_card(session, result.inbound_id)
        assert card.status == "open" and "Not interested" in card.excerpt and card.campaign_name == "Q4 Outreach"
        assert [c.id for c in reply_cards.open_cards(session)] == [card.id]
        decided = reply_cards.decide_card(session, card.id, "not-interested", actor=MEMBER)
    assert decided.status == "not-interested" and decided.decided_by == MEMBER.who
    assert dnc(database, team["jane"]) == ("no-interest", "slack")
    with database.transaction() as session, pytest.raises(reply_cards.AlreadyDecided):
        reply_cards.decide_card(session, card.id, "do-not-contact", actor=Actor("slack:U0OTHER", "slack"))
    assert dnc(database, team["jane"]) == ("no-interest", "slack")  # the first click decided
    with database.snapshot() as session:
        assert reply_cards.open_cards(session) == []


def test_not_an_opt_out_changes_nothing(database, team):
    result = Reader(database).feed(reply("bob@globex.io", "Wrong person.", in_reply_to="q4-bob@acme-sales.com"))
    assert result.outcome == "carded"
    with database.transaction() as session:
        reply_cards.decide_card(session, result.inbound_id, "not-an-opt-out", actor=MEMBER)
    assert dnc(database, team["bob"]) is None and (team["q4"], team["bob"]) in sendable(database)


def test_an_interested_reply_is_recorded_as_replied(database, team):
    result = Reader(database).feed(reply("jane@acme.com", "Sounds great, can we talk on Tuesday? Also, can you "
                                         "remove the setup fee?", in_reply_to="q4-jane@acme-sales.com"))
    assert result.outcome == "replied" and dnc(database, team["jane"]) is None
    with database.snapshot() as session:
        assert session.scalar(select(func.count()).select_from(Activity).where(
            Activity.kind == "replied", Activity.prospect_id == team["jane"], Activity.campaign_id == team["q4"])) == 1
    assert outbox(database) == []


def test_a_reply_from_another_address_is_matched_by_the_email_it_answers(database, team):
    result = Reader(database).feed(reply("j.doe@gmail.com", "Please unsubscribe me.",
                                         references="older@x q4-jane@acme-sales.com"))
    assert (result.matched_by, result.outcome) == ("reference", "do-not-contact")
    assert dnc(database, team["jane"]) == ("requested", "reply")


def test_the_sender_address_is_used_only_when_it_is_one_live_prospect(database, team):
    known = Reader(database).feed(reply("Jane@ACME.com", "Remove me from your mailing list"))
    assert (known.matched_by, known.outcome) == ("sender", "do-not-contact")
    stranger = Reader(database, mailbox="other").feed(reply("nobody@else.org", "Not interested"))
    assert (stranger.matched_by, stranger.outcome) == ("none", "unmatched")
    own = Reader(database, mailbox="third").feed(reply(OURS, "Unsubscribe"))
    assert own.outcome == "own-message"


def test_a_hard_bounce_stops_every_campaign_and_a_soft_one_only_counts(database, team):
    reader = Reader(database)
    soft = reader.feed(bounce("jane@acme.com", "4.2.2", original="q4-jane@acme-sales.com"))
    assert soft.outcome == "soft-bounce" and (team["q1"], team["jane"]) in sendable(database)
    hard = reader.feed(bounce("jane@acme.com", "5.1.1", original="q4-jane@acme-sales.com"))
    assert (hard.matched_by, hard.outcome) == ("original", "bounced")
    assert sendable(database) == {(team["q4"], team["bob"])}
    with database.snapshot() as session:
        assert session.get(Prospect, team["jane"]).bounced_at is not None
    again = reader.feed(delivery_failure_gmail("jane@acme.com"))
    assert (again.matched_by, again.outcome) == ("recipient", "already-bounced")


def test_an_auto_reply_is_recorded_and_nothing_else(database, team):
    result = Reader(database).feed(reply("jane@acme.com", "I am out of the office until Monday.",
                                         in_reply_to="q4-jane@acme-sales.com", subject="Automatic reply: Hello",
                                         headers={"Auto-Submitted": "auto-replied"}))
    assert result.kind == "auto_reply" and result.outcome == "auto-reply"
    assert dnc(database, team["jane"]) is None and outbox(database) == []


def test_a_mailto_unsubscribe_is_the_link_and_survives_a_delete(database, team):
    token = unsubscribe_token(TEST_SECRET_KEY, team["jane_q4"])
    to = unsubscribe_address_for(UNSUBSCRIBE, token)
    result = Reader(database).feed(reply("jane@acme.com", "", subject="unsubscribe", to=to))
    assert (result.kind, result.matched_by, result.outcome) == ("unsubscribe", "token", "do-not-contact")
    assert dnc(database, team["jane"]) == ("requested", "unsubscribe-email")
    with database.transaction() as session:
        delete_prospect(session, team["jane"], actor=MEMBER, block_reimport=False)
        # Their own opt-out outlives them: imports skip the address.
        assert is_address_suppressed(session, "jane@acme.com", secret_key=TEST_SECRET_KEY)
    again = Reader(database, mailbox="later").feed(reply("jane@acme.com", "", subject="unsubscribe", to=to))
    assert again.outcome == "prospect-deleted"


def test_a_forged_mailto_token_matches_nobody(database, team):
    result = Reader(database).feed(reply("jane@acme.com", "", subject="unsubscribe",
                                         to=unsubscribe_address_for(UNSUBSCRIBE, "AAAAforged")))
    assert result.outcome == "unmatched" and dnc(database, team["jane"]) is None


def test_deleting_the_prospect_erases_the_excerpt_and_redacts_the_card(database, team):
    result = Reader(database).feed(reply("jane@acme.com", "Stop.", in_reply_to="q4-jane@acme-sales.com"))
    assert result.outcome == "carded"
    with database.transaction() as session:
        reply_cards.record_card_posted(session, result.inbound_id, channel="C0SALES", ts="1700000000.000100")
        delete_prospect(session, team["jane"], actor=MEMBER, block_reimport=False)
    with database.snapshot() as session:
        row = session.get(InboundMessage, result.inbound_id)
        assert (row.excerpt, row.prospect_id, row.card_status) == ("", None, "gone")
        [message] = session.scalars(select(SlackMessage).where(SlackMessage.ts == "1700000000.000100"))
        assert message.kind == "reply-card" and message.next_attempt_at is not None  # due for redaction
        card = reply_cards.reply_card(session, result.inbound_id)
        assert card.email is None and "Stop" not in card.excerpt
    with database.transaction() as session, pytest.raises(reply_cards.AlreadyDecided):
        reply_cards.decide_card(session, result.inbound_id, "do-not-contact", actor=MEMBER)


def test_a_reply_asking_to_stop_from_a_deleted_person_blocks_the_address(database, team):
    with database.transaction() as session:
        delete_prospect(session, team["bob"], actor=MEMBER, block_reimport=False)
    result = Reader(database).feed(reply("bob@globex.io", "Please remove me from your list",
                                         in_reply_to="q4-bob@acme-sales.com"))
    assert result.outcome == "address-blocked"
    with database.snapshot() as session:
        assert is_address_suppressed(session, "bob@globex.io", secret_key=TEST_SECRET_KEY)


def test_an_opt_out_reply_upgrades_a_colleagues_reason_and_is_never_undone(database, team):
    with database.transaction() as session:
        mark_do_not_contact(session, [team["jane"]], reason="not-target", actor=MEMBER)
    result = Reader(database).feed(reply("jane@acme.com", "Unsubscribe", in_reply_to="q4-jane@acme-sales.com"))
    assert result.outcome == "do-not-contact" and dnc(database, team["jane"]) == ("requested", "reply")
    ambiguous = Reader(database, mailbox="second").feed(reply("jane@acme.com", "no thanks",
                                                              in_reply_to="q1-jane@acme-sales.com"))
    assert ambiguous.outcome == "already-do-not-contact"


def test_one_worker_reads_a_mailbox_at_a_time(database, team):
    with database.transaction() as session:
        assert inbound.claim_mailbox(session, "sales", "worker-a") is not None
        assert inbound.claim_mailbox(session, "sales", "worker-b") is None
    taken = Reader(database, worker="worker-b")
    with pytest.raises(AssertionError):  # Reader asserts its claim
        taken.feed(reply("jane@acme.com", "Unsubscribe", in_reply_to="q4-jane@acme-sales.com"))
    mail = read_mail(reply("jane@acme.com", "Unsubscribe", in_reply_to="q4-jane@acme-sales.com"))
    context = inbound.MailboxContext("sales", 7, "worker-b", TEST_SECRET_KEY)
    with database.transaction() as session, pytest.raises(inbound.LeaseLost):
        inbound.process_message(session, context, 1, mail, classify_reply(mail.new_text))
    assert dnc(database, team["jane"]) is None
    with database.transaction() as session:
        inbound.release_mailbox(session, "sales", "worker-a")
        assert inbound.claim_mailbox(session, "sales", "worker-b") is not None
