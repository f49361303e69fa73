"""The "Edit prospect" modal (handlers/edit/views.py): do not contact with a reason (recommended), lift, block the
domain, and delete with its warning; and what a delete says afterwards."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.edit.views import build_edit_modal, deleted_text
from handlers.labels import REASON_LABELS
from storage.reasons import USER_DNC_REASONS
from tests.views.examples import (
    PROPERTY,
    action_ids,
    assert_valid_view,
    dnc,
    element,
    input_blocks,
    labels,
    markup,
    name,
    own_opt_out,
    prospect,
    value_of,
    words,
)

MEMBER = {"can_delete": False, "is_manager": False}
MANAGER = {"can_delete": True, "is_manager": True}


def test_a_member_may_mark_do_not_contact_with_a_reason_and_a_note_but_not_delete():
    view = build_edit_modal(prospect(), campaign_id=7, **MEMBER)
    assert_valid_view(view)
    assert view["title"]["text"] == "Edit prospect" and view["submit"]["text"] == "Save changes"
    fields = input_blocks(view)
    assert set(fields) == {"dnc_reason", "dnc_note"}
    assert labels(fields["dnc_reason"]["element"]) == [REASON_LABELS[reason] for reason in USER_DNC_REASONS]
    assert "initial_option" not in fields["dnc_reason"]["element"]
    assert "Recommended." in words(view)
    assert "Only managers can delete prospects." in words(view)
    assert not {"edit.delete", "edit.lift", "edit.block_domain"} & set(action_ids(view))


def test_delete_always_explains_that_they_may_come_back_and_recommends_do_not_contact():
    for role in (MEMBER, MANAGER):
        shown = words(build_edit_modal(prospect(), **role))
        assert "treated as a new contact and may be emailed again" in shown
        assert "Do not contact is the recommended option" in shown


def test_a_manager_may_delete_after_a_warning_and_block_the_address_from_imports():
    view = build_edit_modal(prospect(), campaign_id=7, **MANAGER)
    assert_valid_view(view)
    delete = element(view, "edit.delete")
    assert value_of(delete) == {"p": 42, "v": 3, "c": 7}
    assert delete["style"] == "danger" and delete["confirm"]["style"] == "danger"
    assert "can not be undone" in delete["confirm"]["text"]["text"]
    assert "may be emailed again" in delete["confirm"]["text"]["text"]
    assert labels(element(view, "block_reimport")) == ["Also block this address from future imports"]
    assert "Only managers can delete prospects." not in words(view)


def test_a_manager_may_block_the_whole_domain_after_a_warning():
    view = build_edit_modal(prospect(), campaign_id=7, **MANAGER)
    block = element(view, "edit.block_domain")
    assert value_of(block) == {"p": 42, "d": "acme.com", "c": 7}
    assert "acme.com" in block["text"]["text"] and block["confirm"]["style"] == "danger"
    assert "edit.block_domain" not in action_ids(build_edit_modal(prospect(), **MEMBER))


def test_a_manager_may_lift_a_do_not_contact_a_colleague_saved():
    view = build_edit_modal(prospect(do_not_contact=dnc("no-interest")), campaign_id=7, **MANAGER)
    assert_valid_view(view)
    lift = element(view, "edit.lift")
    assert lift["text"]["text"] == "Lift do not contact…"
    assert value_of(lift) == {"p": 42, "v": 3, "c": 7}
    assert "Jane Doe" in lift["confirm"]["title"]["text"]


def test_a_member_is_never_offered_lift():
    view = build_edit_modal(prospect(do_not_contact=dnc("no-interest")), **MEMBER)
    assert_valid_view(view)
    assert "edit.lift" not in action_ids(view)


def test_an_existing_reason_is_preselected_and_said():
    view = build_edit_modal(prospect(do_not_contact=dnc("not-target")), **MEMBER)
    radio = input_blocks(view)["dnc_reason"]["element"]
    assert radio["initial_option"]["value"] == "not-target"
    assert "Already do not contact (Not target audience)" in words(view)


def test_a_prospects_own_opt_out_hides_the_reason_picker_and_offers_no_lift():
    view = build_edit_modal(prospect(do_not_contact=own_opt_out()), **MANAGER)
    assert "dnc_reason" not in input_blocks(view) and "dnc_note" not in input_blocks(view)
    assert "edit.lift" not in action_ids(view)
    assert "opted out themselves" in words(view) and "can not be changed or undone" in words(view)
    # Deleting them still keeps their address out of future imports.
    assert "stays blocked from future imports even after a delete" in words(view)
    assert "edit.delete" in action_ids(view)


def test_at_a_blocked_domain_lift_and_block_are_not_offered():
    view = build_edit_modal(prospect(do_not_contact=dnc("domain-blocked"), domain_blocked=True), **MANAGER)
    assert_valid_view(view)
    assert not {"edit.lift", "edit.block_domain"} & set(action_ids(view))
    assert "Everyone at *acme.com* is blocked." in words(view)


def test_what_people_typed_is_escaped():
    view = build_edit_modal(prospect(first_name="<b>", last_name="&", email="a<b@acme.com"), **MANAGER)
    shown = markup(view)
    assert "&lt;b&gt; &amp;" in shown and "a&lt;b@acme.com" in shown and "<b>" not in shown


ROLES = {"member": MEMBER, "manager": MANAGER, "member who may delete": {"can_delete": True, "is_manager": False}}
STATES = {"contactable": {}, "do not contact": {"do_not_contact": dnc("other", note="Asked")},
          "own opt-out": {"do_not_contact": own_opt_out()},
          "blocked domain": {"do_not_contact": dnc("domain-blocked"), "domain_blocked": True}}


@pytest.mark.parametrize(("role", "state"), list(itertools.product(ROLES, STATES)))
def test_every_edit_modal_is_one_slack_accepts(role, state):
    view = build_edit_modal(prospect(**STATES[state]), campaign_id=7, **ROLES[role])
    assert_valid_view(view)
    # A rule of Slack's that slack_sdk does not check.
    assert not input_blocks(view) or "submit" in view, "a modal with an input block needs a submit button"


@PROPERTY
@given(first=name, last=name, company=name, reason=st.sampled_from([None, *USER_DNC_REASONS, "domain-blocked"]),
       blocked=st.booleans(), role=st.sampled_from(list(ROLES)))
def test_lift_is_offered_to_managers_only_and_never_when_it_could_not_be_done(first, last, company, reason, blocked,
                                                                           role):
    details = prospect(first_name=first, last_name=last, company=company, domain_blocked=blocked,
                       do_not_contact=None if reason is None else dnc(reason))
    view = build_edit_modal(details, **ROLES[role])
    assert_valid_view(view)
    offered = "edit.lift" in action_ids(view)
    assert offered == (role == "manager" and reason is not None and reason != "requested" and not blocked)
    assert ("edit.delete" in action_ids(view)) == ROLES[role]["can_delete"]


def test_after_a_delete_the_sentence_says_whether_they_can_come_back():
    back = deleted_text("Jane Doe", "jane@acme.com", reimport_blocked=False, because_opted_out=False)
    assert "Jane Doe" in back and "was deleted" in back and "may be emailed again" in back
    kept_out = deleted_text("Jane Doe", "jane@acme.com", reimport_blocked=True, because_opted_out=True)
    assert "stays blocked from future imports because they had opted out themselves" in kept_out
    assert "may be emailed again" not in kept_out
    assert "&lt;b&gt;" in deleted_text("<b>", "a&b@acme.com", reimport_blocked=False, because_opted_out=False)
