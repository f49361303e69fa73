"""A prospect's profile (handlers/profile/views.py): contact details, campaigns and their metrics, whether they
may be contacted, and "Edit prospect"."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from handlers.profile.views import build_profile_modal
from tests.views.examples import (
    PROPERTY,
    action_ids,
    activity,
    assert_valid_view,
    campaign_name,
    dnc,
    element,
    markup,
    name,
    note,
    own_opt_out,
    prospect,
    text,
    value_of,
    words,
)


def test_a_contactable_prospect_shows_details_campaigns_and_edit():
    view = build_profile_modal(prospect(), campaign_id=7)
    assert_valid_view(view)
    assert view["title"]["text"] == "Prospect"
    shown = words(view)
    for detail in ("Jane Doe", "jane@acme.com", "Acme", "CEO", "+1 555 0100", "linkedin.com/in/janedoe", "q4.csv",
                   "Can be contacted", "Q4 Outreach", "Sent 3", "Opened 1", "Replied 0", "Bounced 0"):
        assert detail in shown, detail
    # Edit carries what the edit listener checks: the prospect, the version seen, and where they were opened.
    assert value_of(element(view, "profile.edit")) == {"p": 42, "v": 3, "c": 7}
    assert json.loads(view["private_metadata"]) == {"p": 42, "v": 3, "c": 7}


def test_do_not_contact_shows_the_reason_who_how_when_and_the_note():
    view = build_profile_modal(prospect(do_not_contact=dnc("no-interest", note="Said no twice")))
    assert_valid_view(view)
    shown = words(view)
    assert "Do not contact" in shown and "Can be contacted" not in shown
    for detail in ("No interest", "<@U0BOB>", "Slack", "2024-11-05 14:30", "Said no twice"):
        assert detail in shown, detail
    assert "active" not in shown  # each campaign says do not contact instead of its status


def test_an_own_opt_out_says_the_prospect_asked_through_the_unsubscribe_link():
    shown = words(build_profile_modal(prospect(do_not_contact=own_opt_out())))
    assert "Requested by the prospect" in shown and "the unsubscribe link" in shown


def test_a_blocked_domain_is_said_even_when_the_prospect_could_otherwise_be_contacted():
    shown = words(build_profile_modal(prospect(domain_blocked=True)))
    assert "Everyone at *acme.com* is blocked" in shown


def test_a_prospect_in_no_campaign_says_so():
    view = build_profile_modal(prospect(campaigns=[]))
    assert_valid_view(view)
    assert "Not in any campaign." in words(view) and "profile.edit" in action_ids(view)


def test_sixty_campaigns_stay_within_slacks_100_blocks_and_keep_edit():
    campaigns = [activity(f"Campaign {n:02}", campaign_id=n) for n in range(60)]
    view = build_profile_modal(prospect(campaigns=campaigns), banner="Saved.")
    assert_valid_view(view)
    assert len(view["blocks"]) <= 100
    shown = words(view)
    assert "Campaign 00" in shown and "(60)" in shown and "20 more campaigns" in shown
    assert "profile.edit" in action_ids(view)


def test_a_banner_comes_first_and_the_close_button_can_be_named():
    view = build_profile_modal(prospect(), banner=":white_check_mark: Saved.", close="Done")
    assert view["blocks"][0]["text"]["text"] == ":white_check_mark: Saved."
    assert view["close"]["text"] == "Done"


def test_someone_without_a_name_is_headed_by_their_address():
    view = build_profile_modal(prospect(first_name="", last_name=""))
    assert view["blocks"][0]["text"]["text"] == "jane@acme.com"


def test_what_people_typed_is_escaped_in_mrkdwn_and_shown_as_is_in_plain_text():
    view = build_profile_modal(prospect(first_name="<b>Jane</b>", company="Lee & Co <sales>",
                                        campaigns=[activity("R&D <EU>")],
                                        do_not_contact=dnc(note="<!channel> call me")))
    assert_valid_view(view)
    shown = markup(view)
    assert "Lee &amp; Co &lt;sales&gt;" in shown and "R&amp;D &lt;EU&gt;" in shown and "&lt;!channel&gt;" in shown
    assert "<sales>" not in shown and "<!channel>" not in shown
    assert view["blocks"][0]["text"]["text"] == "<b>Jane</b> Doe"  # the header is plain text: shown literally


@PROPERTY
@given(first=name, last=name, email=name, company=name, title=name, phone=name, linkedin=text(500), source=name,
       campaigns=st.lists(campaign_name, max_size=60), reason=st.sampled_from([None, "requested", "other"]),
       dnc_note=note, blocked=st.booleans())
def test_any_details_make_a_valid_profile(first, last, email, company, title, phone, linkedin, source, campaigns,
                                          reason, dnc_note, blocked):
    """Whatever a CSV file put in a prospect's fields (up to the columns' sizes), in up to 60 campaigns: Slack
    accepts the view, and "Edit prospect" is still there."""
    details = prospect(first_name=first, last_name=last, email=email or "x@acme.com", company=company, title=title,
                       phone=phone, linkedin_url=linkedin, source=source, domain_blocked=blocked,
                       campaigns=[activity(campaign, campaign_id=n) for n, campaign in enumerate(campaigns)],
                       do_not_contact=None if reason is None else dnc(reason, note=dnc_note))
    view = build_profile_modal(details, campaign_id=1, banner="Saved.")
    assert_valid_view(view)
    assert value_of(element(view, "profile.edit"))["p"] == 42
