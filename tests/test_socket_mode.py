"""`prospectbot run`'s Socket Mode runner, end to end, against a local stand-in for Slack's Socket Mode endpoint."""

from __future__ import annotations

import json
import queue
import threading

import pytest
from websockets.sync.server import serve

from bot.runners import run_socket_mode
from bot.settings import ConfigurationError
from tests import factories
from tests.fake_slack import TEAM_ID, Scripted


class SocketModeEndpoint:
    """Accepts the bot's WebSocket connection, says hello, delivers envelopes and collects the acknowledgements."""

    def __init__(self) -> None:
        self.outgoing: queue.Queue[dict] = queue.Queue()
        self.acks: queue.Queue[dict] = queue.Queue()
        self.server = serve(self._session, "127.0.0.1", 0)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link/?ticket=test"

    def _session(self, websocket) -> None:  # type: ignore[no-untyped-def]
        websocket.send(json.dumps({"type": "hello", "num_connections": 1,
                                   "connection_info": {"app_id": "A0APP"}}))
        while True:
            try:
                envelope = self.outgoing.get(timeout=0.05)
                websocket.send(json.dumps(envelope))
            except queue.Empty:
                pass
            try:
                message = websocket.recv(timeout=0.05)
            except TimeoutError:
                continue
            except Exception:  # noqa: BLE001 - the bot closed the connection: the test is over
                return
            self.acks.put(json.loads(message))

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def endpoint(fake_slack):
    endpoint = SocketModeEndpoint()
    fake_slack.script("apps.connections.open", Scripted(body={"ok": True, "url": endpoint.url}))
    yield endpoint
    endpoint.stop()


def test_slash_command_over_socket_mode_opens_the_find_modal(endpoint, fake_slack, slack_settings, database):
    stop = threading.Event()
    runner = threading.Thread(target=run_socket_mode, args=(slack_settings, database), kwargs={"stop": stop},
                              daemon=True)
    runner.start()
    try:
        endpoint.outgoing.put({
            "envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True,
            "payload": {"team_id": TEAM_ID, "user_id": "U0ALICE", "command": "/prospect", "text": "",
                        "channel_id": "C0SALES", "api_app_id": "A0APP", "trigger_id": "trigger-1",
                        "response_url": f"{fake_slack.api_url}response_url/U0ALICE"},
        })
        ack = endpoint.acks.get(timeout=10)
        assert ack["envelope_id"] == "env-1"
        [opened] = fake_slack.wait_for("views.open", timeout=10)
        assert opened["trigger_id"] == "trigger-1" and opened["view"]["title"]["text"] == "Find a prospect"
        [connect] = fake_slack.calls_to("apps.connections.open")
        tokens = {call.method: call.token for call in fake_slack.calls}
        assert tokens["apps.connections.open"] == "xapp-test-token" and tokens["views.open"] == "xoxb-test-token"
    finally:
        stop.set()
        runner.join(timeout=10)
    assert not runner.is_alive()


def test_socket_mode_payloads_holding_the_word_payload_are_read_as_they_are(endpoint, fake_slack, slack_settings,
                                                                           database):
    """Socket Mode delivers JSON, already parsed: the form Bolt misreads over HTTP never exists here."""
    with database.transaction() as session:
        campaign = factories.campaign(session, "Payload & Command = 100%")
        factories.prospect(session, "payload@command.example", campaign, first_name="Payload", last_name="Typeson")
    stop = threading.Event()
    runner = threading.Thread(target=run_socket_mode, args=(slack_settings, database), kwargs={"stop": stop},
                              daemon=True)
    runner.start()
    try:
        endpoint.outgoing.put({
            "envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True,
            "payload": {"team_id": TEAM_ID, "user_id": "U0ALICE", "user_name": "payload", "command": "/prospect",
                        "text": "payload", "channel_id": "C0SALES", "channel_name": "payload-team",
                        "api_app_id": "A0APP", "trigger_id": "trigger-1",
                        "response_url": f"{fake_slack.api_url}response_url/U0ALICE"},
        })
        assert endpoint.acks.get(timeout=10)["envelope_id"] == "env-1"
        [opened] = fake_slack.wait_for("views.open", timeout=10)
        assert "Payload Typeson" in json.dumps(opened["view"])
        endpoint.outgoing.put({
            "envelope_id": "env-2", "type": "interactive", "accepts_response_payload": True,
            "payload": {"type": "block_suggestion", "team": {"id": TEAM_ID}, "api_app_id": "A0APP",
                        "user": {"id": "U0ALICE", "name": "payload", "team_id": TEAM_ID},
                        "action_id": "find.campaign", "block_id": "find_campaign", "value": "Payload & Command",
                        "view": {"id": "V0FIND", "type": "modal", "callback_id": "find", "blocks": [],
                                 "private_metadata": "payload=1&command=/prospect", "state": {"values": {}}}},
        })
        ack = endpoint.acks.get(timeout=10)
        assert ack["envelope_id"] == "env-2"
        assert [option["text"]["text"] for option in ack["payload"]["options"]] == ["Payload & Command = 100%"]
    finally:
        stop.set()
        runner.join(timeout=10)


def test_a_refused_bot_token_is_one_clear_sentence(fake_slack, slack_settings, database):
    fake_slack.script("auth.test", Scripted(body={"ok": False, "error": "invalid_auth"}))
    with pytest.raises(ConfigurationError, match=r"^SLACK_BOT_TOKEN was refused by Slack \(invalid_auth\): use the "
                                                  r"Bot User OAuth Token"):
        run_socket_mode(slack_settings, database)


def test_a_refused_app_token_is_one_clear_sentence(fake_slack, slack_settings, database):
    fake_slack.script("apps.connections.open", Scripted(body={"ok": False, "error": "invalid_auth"}))
    with pytest.raises(ConfigurationError, match=r"^SLACK_APP_TOKEN was refused by Slack \(invalid_auth\)"):
        run_socket_mode(slack_settings, database)
