"""Bulk unsubscribe (handlers/bulk/views.py): the request form, its preview, the "waiting" notice, the approval
message managers decide on, and what the requester is told."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.bulk.views import (
    RULE_LABELS,
    build_bulk_confirm,
    build_bulk_form,
    build_submitted,
    decision_for_requester,
    request_blocks,
    request_message,
)
from handlers.labels import REASON_LABELS
from storage.bulk_requests import DEFAULT_REASONS, Rule, SampleProspect
from storage.reasons import USER_DNC_REASONS
from tests.views.examples import (
    PROPERTY,
    Q4,
    action_ids,
    assert_valid_message,
    assert_valid_view,
    campaign_name,
    decided,
    element,
    input_blocks,
    labels,
    markup,
    name,
    note,
    preview,
    request,
    sample,
    value_of,
    words,
)

RULES = {"no-engagement": Rule("no-engagement", min_sent=3), "domains": Rule("domains", domains=("zeta.io",)),
         "addresses": Rule("addresses", addresses=("a@zeta.io", "b@zeta.io"))}


# -- the form ------------------------------------------------------------------------------------------------------


def test_the_form_asks_which_campaign_and_who_and_previews_before_anything_changes():
    view = build_bulk_form()
    assert_valid_view(view)
    assert view["title"]["text"] == "Bulk unsubscribe" and view["submit"]["text"] == "Preview"
    assert set(input_blocks(view)) == {"bulk_campaign", "bulk_rule", "bulk_min_sent", "bulk_domains",
                                       "bulk_addresses"}
    assert element(view, "bulk.campaign")["type"] == "external_select"
    rule = element(view, "rule")
    assert labels(rule) == list(RULE_LABELS.values())
    assert rule["initial_option"]["value"] == "no-engagement"
    assert "a manager approves it before anything changes" in words(view)


def test_the_form_opened_from_a_campaign_has_it_chosen():
    view = build_bulk_form(campaign=Q4)
    assert_valid_view(view)
    assert element(view, "bulk.campaign")["initial_option"] == {"text": {"type": "plain_text", "text": "Q4 Outreach",
                                                                         "emoji": True}, "value": "7"}


def test_a_notice_comes_first_on_the_form():
    view = build_bulk_form(notice=":warning: That campaign no longer exists.")
    assert view["blocks"][0]["text"]["text"] == ":warning: That campaign no longer exists."


# -- the preview ---------------------------------------------------------------------------------------------------


def test_the_preview_says_how_many_and_who_and_asks_for_approval():
    view = build_bulk_confirm(preview(), metadata={"c": 7, "k": "domains"}, ttl_days=7)
    assert_valid_view(view)
    assert view["submit"]["text"] == "Request approval" and view["close"]["text"] == "Back"
    shown = words(view)
    for said in ("Q4 Outreach", "Everyone at zeta.io", "1,234 prospects", "Person 0 (person0@zeta.io)",
                 "1,229 more", "Nothing changes until a manager approves", "7 days"):
        assert said in shown, said
    assert json.loads(view["private_metadata"]) == {"c": 7, "k": "domains"}
    assert set(input_blocks(view)) == {"bulk_reason", "bulk_note"}


@pytest.mark.parametrize("kind", list(RULES))
def test_the_preview_proposes_the_reason_that_fits_the_rule(kind):
    view = build_bulk_confirm(preview(RULES[kind]), metadata={}, ttl_days=7)
    reason = element(view, "reason")
    assert reason["initial_option"]["value"] == DEFAULT_REASONS[kind]
    assert labels(reason) == [REASON_LABELS[code] for code in USER_DNC_REASONS]


def test_pasted_addresses_not_in_the_campaign_are_counted():
    view = build_bulk_confirm(preview(RULES["addresses"], count=2, sample=sample(2), not_matched=3), metadata={},
                              ttl_days=7)
    shown = words(view)
    assert "3 of the addresses you pasted are not in this campaign" in shown
    assert "more" not in shown  # everyone is in the sample


def test_one_prospect_is_one_prospect():
    shown = words(build_bulk_confirm(preview(count=1, sample=sample(1)), metadata={}, ttl_days=7))
    assert "1 prospect*" in shown and "1 prospects" not in shown


def test_nobody_matching_shows_no_sample():
    view = build_bulk_confirm(preview(count=0, sample=[]), metadata={}, ttl_days=7)
    assert_valid_view(view)
    assert "For example" not in words(view)


def test_the_waiting_notice_says_where_managers_were_asked():
    in_channel = build_submitted(request(), posted_in="C0APPROVALS")
    assert_valid_view(in_channel)
    assert "Request #12" in words(in_channel) and "1,234 prospects" in words(in_channel)
    assert "<#C0APPROVALS>" in words(in_channel)
    assert "App Home" in words(build_submitted(request(), posted_in=""))
    assert "submit" not in in_channel


# -- the approval message ------------------------------------------------------------------------------------------


def test_a_pending_request_offers_approve_and_reject_with_warnings():
    blocks = request_blocks(request(note="Bounced all year"))
    assert_valid_message(blocks)
    shown = words(blocks)
    for said in ("#12", "Q4 Outreach", "1,234", "Everyone at zeta.io", "Not target audience", "<@U0CAROL>",
                 "2024-11-12", "Bounced all year", "Person 0 (person0@zeta.io)"):
        assert said in shown, said
    approve, reject = element(blocks, "approvals.approve"), element(blocks, "approvals.reject")
    assert value_of(approve) == value_of(reject) == {"r": 12}
    assert "1,234 prospects in Q4 Outreach will be marked do not contact" in approve["confirm"]["text"]["text"]
    assert reject["confirm"]["style"] == "danger"


@pytest.mark.parametrize(("status", "said"), [
    ("approved", "*Approved* by <@U0BOSS>: 1,200 prospects are now do not contact, 34 skipped"),
    ("rejected", "*Rejected* by <@U0BOSS>. Nothing changed."),
    ("expired", "*Expired* on 2024-11-12. Nothing changed."),
])
def test_a_decided_request_says_the_outcome_and_offers_no_buttons(status, said):
    blocks = request_blocks(decided(status, applied_count=1200, skipped_count=34))
    assert_valid_message(blocks)
    assert said in words(blocks)
    assert action_ids(blocks) == []


def test_the_approval_message_has_a_fallback_text_for_notifications():
    text, blocks = request_message(request())
    assert_valid_message(blocks)
    assert all(part in text for part in ("#12", "1,234", "Q4 Outreach", "waiting for approval"))
    assert "approved" in request_message(decided("approved"))[0]


@pytest.mark.parametrize(("status", "said"), [
    ("approved", "<@U0BOSS> approved your request #12"),
    ("rejected", "<@U0BOSS> rejected your request #12"),
    ("expired", "expired before a manager decided"),
])
def test_the_requester_is_told_the_decision(status, said):
    sentence = decision_for_requester(decided(status, applied_count=1234))
    assert said in sentence and "*Q4 Outreach*" in sentence


def test_what_people_typed_is_escaped_in_the_approval_message():
    blocks = request_blocks(request(campaign_name="R&D <EU>", note="<!channel> ASAP",
                                    sample=[SampleProspect(1, "a@zeta.io", "<b>Al</b>")]))
    shown = markup(blocks)
    assert "R&amp;D &lt;EU&gt;" in shown and "&lt;!channel&gt; ASAP" in shown and "&lt;b&gt;Al" in shown
    assert "<!channel>" not in shown and "<EU>" not in shown


@PROPERTY
@given(campaign=campaign_name, request_note=note, people=st.lists(st.tuples(name, name), max_size=5),
       count=st.integers(0, 10**7), status=st.sampled_from(["pending", "approved", "rejected", "expired"]))
def test_any_request_makes_a_valid_message_notice_and_preview(campaign, request_note, people, count, status):
    shown = [SampleProspect(n, email or "x@zeta.io", person) for n, (person, email) in enumerate(people)]
    changes = dict(campaign_name=campaign, note=request_note, sample=shown, prospect_count=count)
    view = request(**changes) if status == "pending" else decided(status, **changes)
    text, blocks = request_message(view)
    assert_valid_message(blocks)
    assert ("approvals.approve" in action_ids(blocks)) == (status == "pending")
    assert_valid_view(build_submitted(view, posted_in="C0APPROVALS"))
    assert_valid_view(build_bulk_confirm(preview(campaign_name=campaign, sample=shown, count=count), metadata={},
                                         ttl_days=7))
