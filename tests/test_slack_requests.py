"""Every kind of Slack request reaches its listener through the HTTP endpoint `serve` runs, whatever words its
fields hold. Bolt's own reading took any form containing the letters "payload" for an interaction and left it
unhandled (`/prospect payload`, a command from #payload-team): bot/web.py reads the body by Slack's rules."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from storage.models import DoNotContact
from tests import factories
from tests.fake_slack import TEAM_ID, FakeSlack
from tests.harness import LiveApp, start
from tests.slack_driver import SIGNING_SECRET, SlackDriver, texts
from tests.test_instances import wait_healthy
from tests.test_serve import environment, free_port, prospectbot

# Every word and character Bolt's reading, or a form's encoding, could trip on.
TRICKY = 'payload={"type":"view_submission"}&command=/prospect type=block_actions 100% + a=b&c=%26 ü 中文 🙂'
WORDS = ["payload", "payload=", "payload=x&command=/prospect", "command", "type=block_actions", "%", "100%25 + 1",
         "a&b=c", "+", "ü 中文 🙂", TRICKY]
CAMPAIGN = "Payload & Command: type=1 + 100% ü"


@pytest.fixture
def team(database):
    with database.transaction() as session:
        campaign = factories.campaign(session, CAMPAIGN)
        person = factories.prospect(session, "payload@command.example", campaign, first_name="Payload",
                                    last_name="Typeson", company="a=b&c Corp")
    return {"campaign": campaign, "person": person}


def command_fields(fake: FakeSlack, text: str = "", **overrides: str) -> dict[str, str]:
    """A slash command's form, as Slack posts it; `overrides` replace any field (channel_name, user_name...)."""
    return {"token": "legacy", "team_id": TEAM_ID, "team_domain": "acme", "channel_id": "C0SALES",
            "channel_name": "sales", "user_id": "U0ALICE", "user_name": "alice", "command": "/prospect",
            "text": text, "api_app_id": "A0APP", "is_enterprise_install": "false",
            "response_url": f"{fake.api_url}response_url/U0ALICE", "trigger_id": f"trigger-{time.time_ns()}",
            **overrides}


def open_find(slack, fake_slack) -> dict:
    slack.command("")
    fake_slack.wait_for("views.open")
    return fake_slack.views_shown()[-1]


# -- slash commands ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", WORDS)
def test_a_command_whose_text_holds_any_word_reaches_its_listener(slack, fake_slack, team, text):
    reply = slack.form(command_fields(fake_slack, text))
    assert reply.status == 200
    [opened] = fake_slack.wait_for("views.open")
    assert opened["view"]["type"] == "modal"


def test_prospect_payload_finds_the_person_called_payload(slack, fake_slack, team):
    assert slack.command("payload").status == 200
    [opened] = fake_slack.wait_for("views.open")
    assert "Payload Typeson" in texts(opened["view"]) and "a=b&amp;c Corp" in texts(opened["view"])


@pytest.mark.parametrize("field", ["channel_name", "user_name", "team_domain"])
@pytest.mark.parametrize("value", ["payload-team", "payload", TRICKY])
def test_a_command_from_any_channel_or_user_reaches_its_listener(slack, fake_slack, team, field, value):
    reply = slack.form(command_fields(fake_slack, "", **{field: value}))
    assert reply.status == 200
    [opened] = fake_slack.wait_for("views.open")
    assert opened["view"]["title"]["text"] == "Find a prospect"


def test_slacks_ssl_check_is_answered_whatever_its_token_says(slack, fake_slack):
    reply = slack.form({"ssl_check": "1", "token": "payload=command&type=block_actions"})
    assert (reply.status, reply.body) == (200, "")
    slack.drain()
    assert fake_slack.calls == []


# -- interactions: block_actions, view_submission, block_suggestion ----------------------------------------------


def test_a_block_action_with_any_words_in_it_reaches_its_listener(slack, fake_slack, team):
    find = open_find(slack, fake_slack)
    find["blocks"].append({"type": "context", "elements": [{"type": "mrkdwn", "text": TRICKY}]})
    reply = slack.click(find, "find.campaign", user="U0PAYLOAD",
                        selected={"text": {"type": "plain_text", "text": TRICKY}, "value": str(team["campaign"])})
    assert reply.status == 200
    [updated] = fake_slack.wait_for("views.update")
    assert "Payload Typeson" in texts(updated["view"])


def test_a_type_ahead_with_any_words_in_it_reaches_its_listener(slack, fake_slack, team):
    find = open_find(slack, fake_slack)
    reply = slack.options(find, "find.campaign", "Payload & Command: type=1 + 100%")
    assert reply.status == 200
    assert [option["text"]["text"] for option in reply.json["options"]] == [CAMPAIGN]
    reply = slack.options(find, "find.campaign", TRICKY)
    assert (reply.status, reply.json["options"]) == (200, [])


def test_a_view_submission_with_any_words_in_it_reaches_its_listener(slack, fake_slack, database, team):
    from tests.test_slack_edit import reason

    slack.command("payload")
    fake_slack.wait_for("views.open")
    profile = fake_slack.views_shown()[-1]
    slack.click(profile, "profile.edit")
    fake_slack.wait_for("views.push")
    edit = fake_slack.views_shown()[-1]
    reply = slack.submit(edit, reason("other", TRICKY))
    assert reply.status == 200 and reply.json["response_action"] == "update"
    assert "Saved. *Payload Typeson* will not be contacted again" in texts(reply.json["view"])
    with database.snapshot() as session:
        assert session.scalars(select(DoNotContact.note)).all() == [TRICKY]
    # The lazy listener after the save reads the body Bolt copied for it (from the JSON it was handed): all of it.
    [dm] = fake_slack.wait_for("chat.postMessage")
    assert dm["channel"] == "U0ALICE" and "Payload Typeson" in dm["text"]


# -- events ------------------------------------------------------------------------------------------------------


def test_an_event_with_any_words_in_it_reaches_its_listener(slack, fake_slack):
    reply = slack.event({"type": "app_home_opened", "user": "U0ALICE", "channel": "D0", "tab": "home",
                         "event_ts": "1700000000.1", "text": TRICKY, "payload": TRICKY, "command": "/prospect"})
    assert reply.status == 200
    [published] = fake_slack.wait_for("views.publish")
    assert published["user_id"] == "U0ALICE"


# -- what Bolt keeps for itself ----------------------------------------------------------------------------------


def test_headers_bolt_keeps_for_itself_are_ignored(slack, fake_slack, database, team):
    """Headers are not signed: a request resent with Bolt's lazy-listener headers must not run a lazy listener
    alone, skipping the acknowledgement's checks."""
    from tests.test_slack_edit import reason

    slack.command("payload")
    fake_slack.wait_for("views.open")
    slack.click(fake_slack.views_shown()[-1], "profile.edit")
    fake_slack.wait_for("views.push")
    edit = fake_slack.views_shown()[-1]
    payload = {"type": "view_submission", "team": {"id": TEAM_ID}, "user": {"id": "U0ALICE", "team_id": TEAM_ID},
               "api_app_id": "A0APP", "trigger_id": "t-1",
               "view": {**edit, "state": {"values": reason("other")}}}
    reply = slack.interaction(payload, headers={"X-Slack-Bolt-Lazy-Only": "1",
                                                "X-Slack-Bolt-Lazy-Function-Name": "confirm_saved"})
    # The acknowledgement ran: it refused a save without its required note, and nothing was written.
    assert reply.status == 200 and reply.json["response_action"] == "errors"
    slack.drain()
    assert fake_slack.calls_to("chat.postMessage") == []
    with database.snapshot() as session:
        assert session.scalars(select(DoNotContact)).all() == []


# -- values nobody can read -------------------------------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000


def a_view(callback_id: str, metadata: str = "", *elements: dict) -> dict:
    return {"id": "V0TEST", "hash": "h1", "type": "modal", "callback_id": callback_id, "private_metadata": metadata,
            "title": {"type": "plain_text", "text": "Test"},
            "blocks": [{"type": "actions", "block_id": "b", "elements": list(elements)}] if elements else []}


def test_a_button_value_nested_too_deep_is_an_out_of_date_screen_and_no_error(live: LiveApp):
    from tests.test_slack_edit import reason

    live.fresh()
    edit_button = {"type": "button", "action_id": "profile.edit", "text": {"type": "plain_text", "text": "Edit"},
                   "value": DEEP}
    assert live.slack.click(a_view("profile", "", edit_button), "profile.edit").status == 200
    live.drain()
    [(method, pushed)] = live.shown()
    assert method == "views.push" and "This screen is out of date." in texts(pushed["view"])
    reply = live.slack.submit(a_view("edit", DEEP), reason("no-interest"))
    assert reply.status == 200 and "This screen is out of date." in json.dumps(reply.json["errors"])
    assert live.errors.take() == []


@pytest.mark.parametrize("depth", [100_000, 2_000, 1_000, 990, 900, 500])
def test_a_body_nested_too_deep_is_a_bad_request_and_no_error(live: LiveApp, depth):
    live.fresh()
    nested = "[" * depth + "]" * depth
    for kind in ("block_actions", "view_submission", "block_suggestion", "event_callback"):
        body = f'{{"type": "{kind}", "actions": [], "view": {{"callback_id": "x"}}, "nested": {nested}}}'
        assert live.slack.form({"payload": body}).status in (200, 400, 404)
        assert live.slack.post(body, "application/json").status in (200, 400, 404)
    assert live.slack.form({"payload": nested}).status == 400
    assert live.slack.form({"payload": '{"type": [], "x": {"type": {}}}'}).status == 404
    live.drain()
    assert live.errors.take() == [] and live.shown() == []


# -- the real process --------------------------------------------------------------------------------------------


def test_prospect_payload_through_prospectbot_serve(database_url, database, fake_slack, team, tmp_path):
    port = free_port()
    env = environment(database_url, SLACK_BOT_TOKEN="xoxb-test-token", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                      SLACK_API_URL=fake_slack.api_url)
    process = subprocess.Popen([prospectbot(), "serve", "--port", str(port)], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_healthy(port, process)
        driver = SlackDriver(f"http://127.0.0.1:{port}", fake_slack)
        reply = driver.form(command_fields(fake_slack, "payload", channel_name="payload-team",
                                           user_name="payload.person"))
        assert reply.status == 200
        [opened] = fake_slack.wait_for("views.open", timeout=10)
        assert "Payload Typeson" in texts(opened["view"])
    finally:
        process.terminate()
        process.wait(timeout=10)


# -- any text at all ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request, tmp_path_factory):
    yield from start(request, tmp_path_factory)


anything = st.one_of(st.sampled_from(WORDS), st.text(max_size=80),
                     st.text(alphabet="payloadcmntyp%&=+ {}\"'üé🙂", max_size=40))


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=anything, channel=anything, user=anything)
@example(text="payload", channel="payload-team", user="payload")
@example(text="", channel="#payload-team", user="payload.person")
def test_any_text_channel_or_user_name_reaches_the_command_listener(live: LiveApp, text, channel, user):
    live.fresh()
    reply = live.slack.form(command_fields(live.fake, text, channel_name=channel, user_name=user))
    live.drain()
    assert reply.status == 200, reply
    # /prospect opens a modal (Find, a profile, the bulk form) or answers help: always one of them.
    assert [method for method, _ in live.shown()] in (["views.open"], ["response_url/U0ALICE"])
    assert live.errors.take() == []

