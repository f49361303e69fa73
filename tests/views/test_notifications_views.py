"""The channel message announcing an opt-out (handlers/notifications/views.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from handlers.notifications.views import build_opt_out_message
from tests.views.examples import (
    PROPERTY,
    action_ids,
    assert_valid_message,
    campaign_name,
    element,
    markup,
    name,
    notice,
    value_of,
    words,
)


def message(**changes):
    fallback, blocks = build_opt_out_message(notice(**changes))
    assert_valid_message(blocks)
    return fallback, blocks


def test_an_unsubscribe_says_who_how_why_and_opens_their_profile():
    fallback, blocks = message()
    shown = words(blocks)
    for said in ("*Jane Doe* (jane@acme.com)", "clicked the unsubscribe link", "Q4 Outreach",
                 "Requested by the prospect", "the prospect themselves", "2024-11-05 14:30", "never emailed again"):
        assert said in shown, said
    assert value_of(element(blocks, "notify.open_profile")) == {"p": 42}
    assert "Jane Doe" in fallback and "Requested by the prospect" in fallback


def test_a_colleagues_do_not_contact_names_the_colleague():
    _, blocks = message(reason="no-interest", via="slack", actor="slack:U0BOB")
    shown = words(blocks)
    assert "was marked do not contact in Slack" in shown and "<@U0BOB>" in shown and "No interest" in shown


def test_someone_deleted_before_the_message_went_out_has_no_profile_to_open():
    fallback, blocks = message(name=None, email=None)
    assert "A prospect (deleted since)" in words(blocks)
    assert action_ids(blocks) == []
    assert "A prospect" in fallback


def test_someone_without_a_name_is_named_by_address():
    _, blocks = message(name="")
    assert "*jane@acme.com*" in words(blocks)


def test_a_bulk_change_is_one_message_counting_the_prospects():
    fallback, blocks = message(prospect_id=None, prospect_count=1234, name=None, email=None, via="bulk",
                               reason="not-target", actor="slack:U0BOSS")
    shown = words(blocks)
    assert "*1,234 prospects* were marked do not contact by a bulk request" in shown
    assert "Not target audience" in shown and action_ids(blocks) == []
    assert "1,234 prospects" in fallback


def test_many_campaigns_are_named_up_to_twenty():
    _, blocks = message(campaign_names=[f"Campaign {n:02}" for n in range(25)])
    shown = words(blocks)
    assert "Campaign 19" in shown and "Campaign 20" not in shown and "and 5 more" in shown


def test_what_people_typed_is_escaped():
    _, blocks = message(name="<!channel>", email="a&b@acme.com", campaign_names=["R&D <EU>"])
    shown = markup(blocks)
    assert "&lt;!channel&gt;" in shown and "a&amp;b@acme.com" in shown and "R&amp;D &lt;EU&gt;" in shown
    assert "<!channel>" not in shown and "<EU>" not in shown


@PROPERTY
@given(person=st.one_of(st.none(), name), email=st.one_of(st.none(), name),
       campaigns=st.lists(campaign_name, max_size=30), summary=st.booleans(),
       via=st.sampled_from(["unsubscribe-link", "slack", "cli", "import", "bulk", "something-new"]))
def test_any_names_make_a_valid_message(person, email, campaigns, summary, via):
    changes = {"prospect_id": None, "prospect_count": 250, "name": None, "email": None} if summary else {
        "name": person, "email": email}
    fallback, blocks = message(campaign_names=campaigns, via=via, **changes)
    assert fallback
    assert ("notify.open_profile" in action_ids(blocks)) == bool(not summary and email)
