"""Events API (JSON bodies): the App Home tab, and Slack's URL verification handshake."""

from __future__ import annotations

import json

from tests.slack_driver import texts


def test_opening_app_home_publishes_it_and_its_button_opens_find(slack, fake_slack):
    reply = slack.event({"type": "app_home_opened", "user": "U0ALICE", "channel": "D0", "tab": "home",
                         "event_ts": "1700000000.1"})
    assert reply.status == 200
    [published] = fake_slack.wait_for("views.publish")
    assert published["user_id"] == "U0ALICE" and "Find a prospect" in texts(published["view"])
    home = {**published["view"], "id": "V0HOME"}
    slack.click(home, "home.find")
    [opened] = fake_slack.wait_for("views.open")
    assert opened["view"]["title"]["text"] == "Find a prospect"


def test_the_messages_tab_does_not_publish_anything(slack, fake_slack):
    slack.event({"type": "app_home_opened", "user": "U0ALICE", "channel": "D0", "tab": "messages"})
    slack.drain()
    assert fake_slack.calls_to("views.publish") == []


def test_url_verification_answers_the_challenge(slack):
    body = json.dumps({"token": "legacy", "challenge": "c-123", "type": "url_verification"})
    reply = slack.post(body, "application/json")
    assert reply.status == 200 and reply.json == {"challenge": "c-123"}
    assert slack.post(body, "application/json", sign=False).status == 401
