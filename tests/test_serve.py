"""`prospectbot serve` and `prospectbot run` as users start them: real processes, clear errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import Membership
from storage.unsubscribe import unsubscribe_token
from tests import factories
from tests.slack_driver import SIGNING_SECRET, SlackDriver
from tests.support import TEST_SECRET_KEY


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(database_url: str, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "SECRET_KEY"))}
    return {**clean, "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET_KEY.decode(), **extra}


def prospectbot() -> str:
    return str(Path(sys.executable).parent / "prospectbot")


def test_serve_answers_health_checks_slack_and_unsubscribe_links_and_notifies(database_url, database, fake_slack,
                                                                                 tmp_path):
    with database.transaction() as session:
        campaign = factories.campaign(session, "Q4")
        jane = factories.prospect(session, "jane@acme.com", campaign, first_name="Jane")
        membership = session.scalar(select(Membership.id).where(Membership.prospect_id == jane))
    port = free_port()
    env = environment(database_url, SLACK_BOT_TOKEN="xoxb-test-token", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                      SLACK_API_URL=fake_slack.api_url, SLACK_NOTIFY_CHANNEL="C0SALES")
    process = subprocess.Popen([prospectbot(), "serve", "--port", str(port)], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError as error:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError(process.stderr.read() if process.poll() is not None
                                         else "serve did not start") from error
                time.sleep(0.1)
        driver = SlackDriver(f"http://127.0.0.1:{port}", fake_slack)
        assert driver.command("").status == 200
        fake_slack.wait_for("views.open")
        assert driver.command("", sign=False).status == 401
        link = f"http://127.0.0.1:{port}/unsubscribe/{unsubscribe_token(TEST_SECRET_KEY, membership)}"
        with urllib.request.urlopen(urllib.request.Request(link, data=b"List-Unsubscribe=One-Click",
                                                           method="POST"), timeout=10) as response:
            assert response.status == 200
        # The worker inside `serve` announces it.
        [message] = fake_slack.wait_for("chat.postMessage", timeout=10)
        assert message["channel"] == "C0SALES" and "clicked the unsubscribe link" in message["text"] + str(message)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize(
    "command,env,expected",
    [
        ("run", {}, "Error: SLACK_BOT_TOKEN is not set: use the Bot User OAuth Token (xoxb-…)"),
        ("run", {"SLACK_BOT_TOKEN": "xoxb-1"}, "Error: SLACK_APP_TOKEN is not set: use an app-level token (xapp-…)"),
        ("run", {"SLACK_BOT_TOKEN": "xapp-1", "SLACK_APP_TOKEN": "xapp-2"},
         "Error: SLACK_BOT_TOKEN should start with xoxb-"),
        ("serve", {"SLACK_BOT_TOKEN": "xoxb-1"}, "Error: SLACK_SIGNING_SECRET is not set: use the Signing Secret"),
    ],
)
def test_missing_or_wrong_settings_name_the_variable(tmp_path, command, env, expected):
    result = subprocess.run([prospectbot(), command], cwd=tmp_path, env=environment("sqlite:///x.db", **env),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith(expected) and len(result.stderr.strip().splitlines()) == 1
