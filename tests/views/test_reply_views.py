"""The card a reply that may be an opt-out gets (handlers/replies/views.py), and the notification of an opt-out by
reply, which quotes the words that decided."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given

from handlers.notifications.views import build_opt_out_message
from handlers.replies.views import reply_card_message
from storage.reply_cards import ReplyCard
from tests.views.examples import (
    NOW,
    PROPERTY,
    action_ids,
    assert_valid_message,
    element,
    markup,
    name,
    notice,
    text,
    value_of,
    words,
)

CARD = ReplyCard(id=17, status="open", prospect_id=42, name="Jane Doe", email="jane@acme.com",
                 campaign_name="Q4 Outreach", excerpt="Not interested right now.\nMaybe next year?",
                 phrase="Not interested", received_at=NOW, decided_by=None, decided_at=None, channel="C0SALES",
                 ts="1700000000.000100")


def card(**changes):
    fallback, blocks = reply_card_message(replace(CARD, **changes))
    assert_valid_message(blocks)
    return fallback, blocks


def test_an_open_card_quotes_the_reply_and_offers_three_decisions():
    fallback, blocks = card()
    shown = words(blocks)
    for said in ("*Jane Doe* (jane@acme.com)", "Q4 Outreach", "Not interested right now.", "Maybe next year?",
                 "Is this an opt-out?", "2024-11-05 14:30"):
        assert said in shown, said
    assert action_ids(blocks) == ["replies.do_not_contact", "replies.not_interested", "replies.not_an_opt_out"]
    assert all(value_of(element(blocks, action)) == {"m": 17} for action in action_ids(blocks))
    assert "Jane Doe" in fallback


def test_a_decided_card_says_who_decided_and_offers_nothing():
    _, blocks = card(status="not-interested", decided_by="slack:U0BOB", decided_at=NOW)
    assert action_ids(blocks) == []
    assert "now do not contact (not interested)" in words(blocks) and "<@U0BOB>" in words(blocks)
    _, blocks = card(status="not-an-opt-out", decided_by="slack:U0BOB")
    assert "not an opt-out" in words(blocks)


def test_a_card_of_someone_deleted_names_nobody():
    fallback, blocks = card(name=None, email=None, excerpt="", status="gone")
    assert "jane" not in (fallback + words(blocks)).lower() and action_ids(blocks) == []


@PROPERTY
@given(person=name, said=text(300))
def test_whatever_they_wrote_the_card_is_valid_and_pings_nobody(person, said):
    _, blocks = card(name=person, excerpt=said)
    assert "<!channel>" not in markup(blocks) and "<!here>" not in markup(blocks)


def test_an_opt_out_by_reply_quotes_the_words_that_decided():
    fallback, blocks = build_opt_out_message(notice(via="reply", phrase="please remove me"))
    assert_valid_message(blocks)
    shown = words(blocks)
    assert "asked to stop in a reply" in shown and "They wrote: “please remove me”" in shown
    assert "the prospect themselves" in shown
