"""The App Home tab (handlers/home/views.py): find and bulk buttons, your recent actions, recent opt-outs in your
campaigns, and for managers the bulk requests waiting for a decision."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from handlers.home.views import ACTION_LABELS, MAX_PENDING_SHOWN, build_home, build_refused_home
from tests.views.examples import (
    PROPERTY,
    action,
    action_ids,
    assert_valid_view,
    campaign_name,
    markup,
    name,
    note,
    opted_out,
    request,
    words,
)

WAITING = "Waiting for your approval"


def home(*, is_manager: bool = False, actions=(), opt_outs=(), pending=()) -> dict:
    view = build_home("U0ALICE", is_manager=is_manager, actions=list(actions), opt_outs=list(opt_outs),
                      pending=list(pending))
    assert_valid_view(view)
    return view


def test_a_member_sees_find_and_bulk_but_no_approvals():
    view = home()
    assert view["type"] == "home"
    assert action_ids(view) == ["home.find", "home.bulk"]
    assert "<@U0ALICE>" in words(view) and WAITING not in words(view)


def test_a_member_with_nothing_yet_is_told_what_will_appear():
    shown = words(home())
    assert "Nothing yet." in shown and "No one has opted out lately." in shown


def test_a_manager_with_nothing_waiting_is_told_so():
    shown = words(home(is_manager=True))
    assert WAITING in shown and "No bulk request is waiting." in shown


def test_a_manager_may_decide_waiting_requests_from_home():
    view = home(is_manager=True, pending=[request(), request(id=13)])
    assert action_ids(view).count("approvals.approve") == 2 and action_ids(view).count("approvals.reject") == 2
    assert "#12" in words(view) and "#13" in words(view)


def test_members_never_see_waiting_requests_even_when_some_are_passed():
    view = home(pending=[request()])
    assert WAITING not in words(view) and "approvals.approve" not in action_ids(view)


def test_many_waiting_requests_show_the_oldest_and_say_more_are_waiting():
    view = home(is_manager=True, pending=[request(id=n) for n in range(1, 12)],
                actions=[action()] * 10, opt_outs=[opted_out()] * 10)
    assert action_ids(view).count("approvals.approve") == MAX_PENDING_SHOWN
    assert "More requests are waiting" in words(view)
    assert "Your recent actions" in words(view) and "Recent opt-outs in your campaigns" in words(view)


def test_recent_actions_say_what_was_done_to_whom_and_where():
    shown = words(home(actions=[
        action(),
        action("delete", prospect=None),
        action("block_domain", prospect=None, campaign=None, details={"domain": "zeta.io"}),
        action("bulk.approve", prospect_id=None, prospect=None),
    ]))
    assert "marked do not contact *Jane Doe* (No interest) in Q4 Outreach" in shown
    assert "a prospect deleted since" in shown
    assert "blocked a domain *zeta.io*" in shown
    assert ACTION_LABELS["bulk.approve"] in shown
    assert "2024-11-05 14:30" in shown


def test_recent_opt_outs_name_the_person_and_their_campaigns():
    shown = words(home(opt_outs=[opted_out(campaigns=["Q4 Outreach", "Agencies", "Paris", "Berlin"]),
                                 opted_out(name="", email="bob@zeta.io", campaigns=[])]))
    assert "*Jane Doe* (jane@acme.com) · Q4 Outreach, Agencies, Paris" in shown and "Berlin" not in shown
    assert "*bob@zeta.io*" in shown


def test_what_people_typed_is_escaped():
    shown = markup(home(actions=[action(prospect="<b>Jane</b>", campaign="R&D")],
                        opt_outs=[opted_out(name="Lee & Co <x>")]))
    assert "&lt;b&gt;Jane" in shown and "R&amp;D" in shown and "Lee &amp; Co &lt;x&gt;" in shown
    assert "<b>" not in shown and "<x>" not in shown


def test_a_refusal_is_a_home_tab_with_its_sentence():
    view = build_refused_home("Only members of the Acme workspace can use prospectbot.")
    assert_valid_view(view)
    assert "Only members of the Acme workspace can use prospectbot." in words(view)
    assert action_ids(view) == []


@PROPERTY
@given(is_manager=st.booleans(),
       actions=st.lists(st.tuples(st.sampled_from([*ACTION_LABELS, "something.new"]), st.one_of(st.none(), name),
                                  st.one_of(st.none(), campaign_name)), max_size=10),
       opt_outs=st.lists(st.tuples(name, name, st.lists(campaign_name, max_size=5)), max_size=10),
       pending=st.lists(st.tuples(campaign_name, note), max_size=MAX_PENDING_SHOWN + 2))
def test_any_feed_makes_a_valid_home_tab(is_manager, actions, opt_outs, pending):
    """Ten recent actions and opt-outs with any names, and requests with long notes: Slack accepts the tab, and a
    manager can still decide what is shown."""
    view = home(is_manager=is_manager,
                actions=[action(kind, prospect=who, campaign=where) for kind, who, where in actions],
                opt_outs=[opted_out(name=person, email=email or "x@acme.com", campaigns=campaigns)
                          for person, email, campaigns in opt_outs],
                pending=[request(id=n + 1, campaign_name=campaign, note=text)
                         for n, (campaign, text) in enumerate(pending)])
    assert len(view["blocks"]) <= 100
    shown = min(len(pending), MAX_PENDING_SHOWN) if is_manager else 0
    assert action_ids(view).count("approvals.approve") == shown
