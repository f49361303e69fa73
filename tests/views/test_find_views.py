"""The "Find a prospect" modal (handlers/find/views.py): choosing a campaign, its list ten at a time, search
results, and the type-ahead's options."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from handlers.find.views import build_find_modal, prospect_option
from storage.search import SearchPage
from tests.views.examples import (
    PROPERTY,
    Q4,
    action_ids,
    assert_valid_view,
    campaign_name,
    element,
    elements,
    markup,
    name,
    page,
    summary,
    value_of,
    words,
)


def test_before_a_campaign_is_chosen_only_the_campaign_menu_is_offered():
    view = build_find_modal()
    assert_valid_view(view)
    assert view["title"]["text"] == "Find a prospect"
    assert action_ids(view) == ["find.campaign"]
    assert json.loads(view["private_metadata"])["c"] is None


def test_a_chosen_campaign_offers_the_type_ahead_its_channel_and_bulk_unsubscribe():
    view = build_find_modal(campaign=Q4)
    assert_valid_view(view)
    assert element(view, "find.campaign")["initial_option"]["text"]["text"] == "Q4 Outreach"
    assert element(view, "find.prospect")["type"] == "external_select"
    assert "initial_conversation" not in element(view, "find.notify_channel")  # the default channel
    assert value_of(element(view, "find.bulk")) == {"c": Q4[0]}
    assert json.loads(view["private_metadata"])["c"] == Q4[0]


def test_the_campaigns_own_channel_is_shown_as_chosen():
    view = build_find_modal(campaign=Q4, notify_channel="C0PARIS")
    assert element(view, "find.notify_channel")["initial_conversation"] == "C0PARIS"


def test_the_first_page_lists_ten_with_a_view_button_each_and_offers_the_next():
    view = build_find_modal(campaign=Q4, page=page(0, 10, total=23))
    assert_valid_view(view)
    assert "Q4 Outreach" in words(view) and "1–10" in words(view)
    rows = [item for item in elements(view) if item["action_id"] == "find.view"]
    assert [value_of(row) for row in rows] == [{"p": 100 + n, "c": Q4[0]} for n in range(10)]
    assert value_of(element(view, "find.page.next")) == {"c": Q4[0], "q": "", "o": 10}
    assert "find.page.previous" not in action_ids(view)


def test_a_middle_page_goes_both_ways():
    view = build_find_modal(campaign=Q4, page=page(10, 10, total=23))
    assert "11–20" in words(view)
    assert value_of(element(view, "find.page.previous"))["o"] == 0
    assert value_of(element(view, "find.page.next"))["o"] == 20


def test_the_last_page_goes_back_only():
    view = build_find_modal(campaign=Q4, page=page(20, 3, total=23))
    assert_valid_view(view)
    assert "21–23" in words(view) and "lee22@example.com" in words(view)
    assert value_of(element(view, "find.page.previous"))["o"] == 10
    assert "find.page.next" not in action_ids(view)


def test_search_results_page_with_the_query_and_no_campaign():
    view = build_find_modal(query="lee", page=page(0, 10, total=12))
    assert_valid_view(view)
    assert "lee" in words(view) and "1–10" in words(view)
    assert value_of(element(view, "find.page.next")) == {"c": None, "q": "lee", "o": 10}
    assert [value_of(item)["c"] for item in elements(view) if item["action_id"] == "find.view"] == [None] * 10


def test_no_match_says_so_and_quotes_the_query():
    view = build_find_modal(query="zzz-nobody", page=SearchPage([], 0, 10, False))
    assert_valid_view(view)
    assert "No prospect matches “zzz-nobody”" in words(view)
    assert "find.view" not in action_ids(view) and "find.page.next" not in action_ids(view)


def test_no_match_in_a_campaign_names_the_campaign():
    view = build_find_modal(campaign=Q4, query="zzz", page=SearchPage([], 0, 10, False))
    assert "No prospect in *Q4 Outreach* matches “zzz”" in words(view)


def test_an_empty_campaign_says_how_to_fill_it():
    view = build_find_modal(campaign=(9, "Empty campaign"), page=SearchPage([], 0, 10, False))
    assert_valid_view(view)
    assert "*Empty campaign* has no prospects yet" in words(view) and "prospectbot import" in words(view)


def test_a_page_past_the_end_says_there_are_no_more():
    view = build_find_modal(campaign=Q4, page=SearchPage([], 30, 10, False))
    assert "No more prospects." in words(view)
    assert "find.page.previous" not in action_ids(view)


def test_do_not_contact_people_are_flagged_in_the_list():
    flagged = summary(1, do_not_contact=True)
    view = build_find_modal(campaign=Q4, page=SearchPage([summary(0), flagged], 0, 10, False))
    rows = [block["text"]["text"] for block in view["blocks"] if block.get("accessory", {}).get("action_id")
            == "find.view"]
    assert "Do not contact" not in rows[0] and "Do not contact" in rows[1]


def test_someone_without_a_name_is_listed_by_address():
    view = build_find_modal(campaign=Q4, page=SearchPage([summary(0, first_name="", last_name="")], 0, 10, False))
    assert "*lee00@example.com*" in words(view)


def test_a_notice_comes_first():
    view = build_find_modal(notice=":warning: This campaign no longer exists.")
    assert view["blocks"][0]["text"]["text"] == ":warning: This campaign no longer exists."


def test_names_campaigns_and_queries_are_escaped_for_slack():
    person = summary(0, first_name="<script>", last_name="&", company="Lee & Co <sales>")
    listed = markup(build_find_modal(campaign=(3, "R&D <EU>"), page=SearchPage([person], 0, 10, False)))
    assert "&lt;script&gt; &amp;" in listed and "Lee &amp; Co &lt;sales&gt;" in listed
    assert "R&amp;D &lt;EU&gt;" in listed
    assert "<script>" not in listed and "<sales>" not in listed and "<EU>" not in listed
    searched = markup(build_find_modal(query="a<b", page=SearchPage([person], 0, 10, False)))
    assert "a&lt;b" in searched and "a<b" not in searched
    # Plain text is shown as it is: the chosen campaign in its menu keeps its own name.
    menu = element(build_find_modal(campaign=(3, "R&D <EU>")), "find.campaign")
    assert menu["initial_option"]["text"]["text"] == "R&D <EU>"


def test_a_type_ahead_option_tells_namesakes_apart_and_flags_do_not_contact():
    plain = prospect_option(summary(0))
    assert plain["value"] == "100"
    assert all(part in plain["text"]["text"] for part in ("Lee Nguyen00", "lee00@example.com", "Lee & Co"))
    flagged = prospect_option(summary(0, do_not_contact=True))
    assert flagged["text"]["text"] != plain["text"]["text"] and "⛔" in flagged["text"]["text"]
    assert prospect_option(summary(0, first_name="", last_name="", company=""))["text"]["text"] == "lee00@example.com"


def test_a_long_type_ahead_option_is_clipped_to_slacks_75_characters():
    assert len(prospect_option(summary(0, first_name="A" * 200, company="B" * 200))["text"]["text"]) == 75


@PROPERTY
@given(people=st.lists(st.tuples(name, name, name, name, name, st.booleans()), max_size=10),
       campaign=st.one_of(st.none(), campaign_name.map(lambda text: (5, text))),
       query=st.text(st.characters(blacklist_categories=("Cs",), max_codepoint=0xFFFF), max_size=200),
       offset=st.sampled_from([0, 10, 990]), has_more=st.booleans(), notify=st.sampled_from(["", "C0SALES"]))
def test_any_names_and_queries_make_a_valid_find_modal(people, campaign, query, offset, has_more, notify):
    """Whatever the prospects are called and whatever was searched (up to the 200 characters the listener keeps):
    Slack accepts the view, and every row still opens its own prospect."""
    items = [summary(n, first_name=first, last_name=last, email=email, company=company, title=title,
                     do_not_contact=flagged)
             for n, (first, last, email, company, title, flagged) in enumerate(people)]
    view = build_find_modal(campaign=campaign, query=query, page=SearchPage(items, offset, 10, has_more),
                            notify_channel=notify if campaign else "")
    assert_valid_view(view)
    rows = [item for item in elements(view) if item["action_id"] == "find.view"]
    assert [value_of(row)["p"] for row in rows] == [item.id for item in items]
    for item in items:
        assert len(prospect_option(item)["text"]["text"]) <= 75


def test_a_query_of_200_emoji_keeps_the_paging_buttons_within_slacks_limits():
    view = build_find_modal(query="🙂" * 200, page=page(10, 10, total=30))
    assert_valid_view(view)
