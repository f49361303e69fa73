"""/prospect through the real HTTP endpoint: finding prospects, browsing, opening profiles."""

from __future__ import annotations

import json

import pytest

from storage.campaigns import campaign_settings
from storage.deletion import delete_prospect
from tests import factories
from tests.slack_driver import texts


@pytest.fixture
def team(database):
    """Two campaigns: "Q4 Outreach" with 23 people called Lee, and "Agencies Paris" with Joan."""
    with database.transaction() as session:
        q4 = factories.campaign(session, "Q4 Outreach")
        paris = factories.campaign(session, "Agencies Paris")
        lees = [factories.prospect(session, f"lee{n:02}@example.com", q4, first_name="Lee", last_name=f"Nguyen{n:02}",
                                   company="Lee & Co") for n in range(23)]
        joan = factories.prospect(session, "joan@bluebird.studio", paris, first_name="Joan", last_name="Smith",
                                  company="Bluebird Studio", title="CEO", phone="+33 6 12 34 56 78")
        factories.campaign(session, "Empty campaign")
    return {"q4": q4, "paris": paris, "lees": lees, "joan": joan}


def test_prospect_without_text_opens_find_and_browses_a_campaign(slack, fake_slack, team):
    assert slack.command("").status == 200
    [opened] = fake_slack.wait_for("views.open")
    assert opened["view"]["title"]["text"] == "Find a prospect"
    find_view = fake_slack.views_shown()[-1]

    reply = slack.options(find_view, "find.campaign", "q4")
    assert [o["text"]["text"] for o in reply.json["options"]] == ["Q4 Outreach"]
    all_campaigns = [o["text"]["text"] for o in slack.options(find_view, "find.campaign", "").json["options"]]
    assert all_campaigns == ["Agencies Paris", "Empty campaign", "Q4 Outreach"]

    slack.click(find_view, "find.campaign", selected={"text": {"type": "plain_text", "text": "Q4 Outreach"},
                                                      "value": str(team["q4"])})
    [update] = fake_slack.wait_for("views.update")
    listed = fake_slack.views_shown()[-1]
    assert update["hash"] == find_view["hash"]
    assert "Prospects in *Q4 Outreach* (1–10)" in texts(listed)
    assert texts(listed).count("find.view") == 10

    slack.click(listed, "find.page.next")
    fake_slack.wait_for("views.update", 2)
    second = fake_slack.views_shown()[-1]
    assert "(11–20)" in texts(second) and "lee10@example.com" in texts(second)
    slack.click(second, "find.page.next")
    fake_slack.wait_for("views.update", 3)
    third = fake_slack.views_shown()[-1]
    assert "(21–23)" in texts(third) and "find.page.next" not in texts(third)
    slack.click(third, "find.page.previous")
    fake_slack.wait_for("views.update", 4)
    assert "(11–20)" in texts(fake_slack.views_shown()[-1])


def test_type_ahead_finds_prospects_of_the_chosen_campaign_only(slack, fake_slack, team):
    slack.command("")
    fake_slack.wait_for("views.open")
    slack.click(fake_slack.views_shown()[-1], "find.campaign",
                selected={"text": {"type": "plain_text", "text": "Agencies Paris"}, "value": str(team["paris"])})
    fake_slack.wait_for("views.update")
    paris_view = fake_slack.views_shown()[-1]
    options = slack.options(paris_view, "find.prospect", "jo").json["options"]
    assert [o["text"]["text"] for o in options] == ["Joan Smith — joan@bluebird.studio · Bluebird Studio"]
    assert slack.options(paris_view, "find.prospect", "lee").json["options"] == []

    slack.click(paris_view, "find.prospect", selected=options[0])
    [pushed] = fake_slack.wait_for("views.push")
    profile = pushed["view"]
    assert profile["title"]["text"] == "Prospect"
    shown = texts(profile)
    for expected in ("Joan Smith", "joan@bluebird.studio", "Bluebird Studio", "CEO", "+33 6 12 34 56 78",
                     "Agencies Paris", "Sent 0 · Opened 0 · Replied 0 · Bounced 0", "Can be contacted", "Edit prospect"):
        assert expected in shown


def test_search_across_campaigns_opens_the_single_match_directly(slack, fake_slack, team):
    slack.command("joan@bluebird")
    [opened] = fake_slack.wait_for("views.open")
    assert opened["view"]["callback_id"] == "profile" and "Joan Smith" in texts(opened["view"])


def test_search_with_several_matches_opens_the_list(slack, fake_slack, team):
    slack.command("lee")
    [opened] = fake_slack.wait_for("views.open")
    assert "Matches for “lee” (1–10)" in texts(opened["view"]) and "find.page.next" in texts(opened["view"])


def test_no_match_and_empty_campaign_say_so(slack, fake_slack, team):
    slack.command("zzz-nobody")
    [opened] = fake_slack.wait_for("views.open")
    assert "No prospect matches “zzz-nobody”" in texts(opened["view"])
    slack.click(fake_slack.views_shown()[-1], "find.campaign", selected={
        "text": {"type": "plain_text", "text": "Empty campaign"}, "value": str(team["q4"] + 2)})
    fake_slack.wait_for("views.update")
    assert "*Empty campaign* has no prospects yet" in texts(fake_slack.views_shown()[-1])


def test_help_is_an_ephemeral_reply(slack, fake_slack, team):
    slack.command("help")
    [reply] = fake_slack.wait_for("response_url/U0ALICE")
    assert reply["response_type"] == "ephemeral" and "/prospect TEXT" in reply["text"]


def test_forged_and_stale_ids_get_a_sentence(slack, fake_slack, team, database, slack_actor, secret_key):
    slack.command("")
    fake_slack.wait_for("views.open")
    find_view = fake_slack.views_shown()[-1]
    # A prospect id that does not belong to the campaign named beside it.
    slack.click(find_view, "find.campaign", selected={"text": {"type": "plain_text", "text": "Q4"},
                                                      "value": str(team["q4"])})
    fake_slack.wait_for("views.update")
    listed = fake_slack.views_shown()[-1]
    forged = json.dumps({"p": team["joan"], "c": team["q4"]})
    row_value = json.dumps({"p": team["lees"][0], "c": team["q4"]}, separators=(",", ":"))
    slack.click(listed, "find.view", value=row_value)
    fake_slack.wait_for("views.push")
    with database.transaction() as session:
        delete_prospect(session, team["lees"][0], actor=slack_actor, block_reimport=False)
    slack.click(listed, "find.view", value=row_value)  # deleted a second ago by a colleague
    pushes = fake_slack.wait_for("views.push", 2)
    assert "This prospect no longer exists" in texts(pushes[1]["view"])
    slack.click(listed, "find.view", value=forged)
    pushes = fake_slack.wait_for("views.push", 3)
    assert "no longer in that campaign" in texts(pushes[2]["view"])
    slack.click(listed, "find.view", value='{"p": "1; DROP TABLE prospects"}')
    pushes = fake_slack.wait_for("views.push", 4)
    assert "This screen is out of date" in texts(pushes[3]["view"])


def test_a_campaigns_notification_channel_is_set_from_slack(slack, fake_slack, team, database):
    slack.command("")
    fake_slack.wait_for("views.open")
    slack.click(fake_slack.views_shown()[-1], "find.campaign",
                selected={"text": {"type": "plain_text", "text": "Agencies Paris"}, "value": str(team["paris"])})
    fake_slack.wait_for("views.update")
    slack.click(fake_slack.views_shown()[-1], "find.notify_channel", conversation="C0PARIS")
    fake_slack.wait_for("views.update", 2)
    updated = fake_slack.views_shown()[-1]
    assert "Opt-outs in *Agencies Paris* will be posted in <#C0PARIS>." in texts(updated)
    assert '"initial_conversation": "C0PARIS"' in json.dumps(updated)
    with database.snapshot() as session:
        assert campaign_settings(session, team["paris"]).notify_channel == "C0PARIS"
