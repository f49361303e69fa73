"""Requests that are not from Slack are refused and change nothing; the health check tells the truth."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from storage.models import DoNotContact
from tests import factories
from tests.fake_slack import TEAM_ID


@pytest.fixture
def jane(database):
    with database.transaction() as session:
        campaign = factories.campaign(session, "Q4")
        return factories.prospect(session, "jane@acme.com", campaign, first_name="Jane")


def submission(prospect_id: int) -> str:
    view = {"id": "V1", "type": "modal", "callback_id": "edit", "hash": "h",
            "private_metadata": json.dumps({"p": prospect_id, "v": 1}),
            "state": {"values": {"dnc_reason": {"reason": {"type": "radio_buttons",
                                                           "selected_option": {"value": "not-target"}}}}}}
    payload = {"type": "view_submission", "team": {"id": TEAM_ID}, "user": {"id": "U0MALLORY"}, "view": view,
               "api_app_id": "A0APP", "trigger_id": "t"}
    return urlencode({"payload": json.dumps(payload)})


def nothing_written(database) -> bool:
    with database.snapshot() as session:
        return session.scalar(select(func.count()).select_from(DoNotContact)) == 0


def test_a_correctly_signed_submission_is_accepted(slack, database, jane):
    reply = slack.post(submission(jane), "application/x-www-form-urlencoded")
    assert reply.status == 200 and reply.json["response_action"] == "update"
    assert not nothing_written(database)


@pytest.mark.parametrize("how", ["unsigned", "wrong signature", "tampered body", "six minutes old", "from the future"])
def test_forged_requests_get_401_and_change_nothing(slack, fake_slack, database, jane, how):
    body = submission(jane)
    now = int(time.time())
    if how == "unsigned":
        reply = slack.post(body, "application/x-www-form-urlencoded", sign=False)
    elif how == "wrong signature":
        reply = slack.post(body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64)
    elif how == "tampered body":
        signature = slack.verifier.generate_signature(timestamp=str(now), body=submission(jane + 1))
        reply = slack.post(body, "application/x-www-form-urlencoded", timestamp=now, signature=signature)
    elif how == "six minutes old":
        reply = slack.post(body, "application/x-www-form-urlencoded", timestamp=now - 360)
    else:
        reply = slack.post(body, "application/x-www-form-urlencoded", timestamp=now + 360)
    assert reply.status == 401
    assert nothing_written(database)
    slack.command("jane", sign=False)
    slack.drain()  # a listener, had one been started, would have called Slack by now
    assert fake_slack.calls == []


def test_health_check(slack):
    reply = slack.get("/healthz")
    assert reply.status == 200 and reply.json == {"ok": True, "database": "ok"}
    assert slack.get("/nowhere").status == 404


def test_health_check_and_users_when_the_database_is_down(fake_slack, unreachable_database):
    from tests.harness import running
    from tests.slack_driver import texts

    with running(unreachable_database, fake=fake_slack) as live:
        slack = live.slack
        reply = slack.get("/healthz")
        assert reply.status == 503 and reply.json == {"ok": False, "database": "unavailable"}
        reply = slack.post(submission(1), "application/x-www-form-urlencoded")
        assert reply.status == 200 and reply.json["response_action"] == "errors"
        assert reply.json["errors"]["dnc_reason"].startswith("The database is unavailable right now")
        said = slack.command("jane").json  # the acknowledgement itself: an ephemeral answer
        assert said["text"].startswith("The database is unavailable right now") and "Traceback" not in said["text"]
        view = {"id": "V9", "hash": "h", "type": "modal", "callback_id": "find", "title": {"type": "plain_text",
                "text": "Find a prospect"}, "private_metadata": json.dumps({"c": 1}), "blocks": [
                    {"type": "section", "block_id": "find_prospect", "text": {"type": "mrkdwn", "text": "x"},
                     "accessory": {"type": "external_select", "action_id": "find.prospect"}}]}
        options = slack.options(view, "find.prospect", "ja").json["options"]
        assert "The database is unavailable" in texts({"blocks": options})


@pytest.fixture
def unreachable_database():
    import socket

    from storage.db import Database

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database = Database(f"postgresql+psycopg://nobody@127.0.0.1:{port}/gone")
    yield database
    database.dispose()
