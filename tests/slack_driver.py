"""Drives the real app through its HTTP endpoint the way Slack does: signed form posts for slash commands,
`payload=` for interactions and options, JSON for events. The views the app answers with are recorded in the fake
Slack, where tests/harness.py's `check_views` checks them against Block Kit's rules (`validate_view`)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from slack_sdk.signature import SignatureVerifier

from tests.fake_slack import TEAM_ID, FakeSlack

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"


@dataclass
class Reply:
    status: int
    body: str

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body) if self.body else {}


def validate_view(view: dict[str, Any]) -> None:
    """Raises if Slack would refuse the view: titles over 24 characters, over 100 blocks, a section's text over
    3,000, a button's over 75, ... (`to_dict` checks every block and element inside; `validate_json` alone checks
    only the view's own fields)."""
    known = {key: value for key, value in view.items() if key not in ("id", "hash", "team_id", "state",
                                                                       "previous_view_id", "root_view_id")}
    View(**known).to_dict()
    # A rule of Slack's that slack_sdk does not check: it refuses a modal whose input blocks nobody can submit.
    inputs = any(block.get("type") == "input" for block in view.get("blocks", []))
    if view.get("type") == "modal" and inputs and "submit" not in view:
        raise AssertionError("a modal with an input block needs a submit button")


def validate_message_blocks(blocks: list[dict[str, Any]]) -> None:
    """Raises if Slack would refuse a message with these blocks: over 50 of them, or one `validate_view` would
    refuse in a view."""
    if not 0 < len(blocks) <= 50:
        raise AssertionError(f"a message holds 1 to 50 blocks, not {len(blocks)}")
    for block in blocks:
        parsed = Block.parse(block)
        if parsed is None:
            raise AssertionError(f"not a block: {block}")
        parsed.to_dict()


class SlackDriver:
    def __init__(self, base_url: str, fake: FakeSlack, signing_secret: str = SIGNING_SECRET, *,
                 drain: Callable[[], None] | None = None) -> None:
        self.url = base_url.rstrip("/") + "/slack/events"
        self.base_url = base_url.rstrip("/")
        self.fake = fake
        self.verifier = SignatureVerifier(signing_secret)
        self._drain = drain

    def drain(self) -> None:
        """Waits until the lazy listeners of every request sent so far have finished: then all the calls the bot
        made to Slack for them are in `fake.calls`. Only a driver the harness built knows the app's listeners."""
        if self._drain is None:
            raise AssertionError("this driver talks to an app in another process: wait for a call instead")
        self._drain()

    # -- raw ------------------------------------------------------------------------------------------------

    def post(self, body: str, content_type: str, *, timestamp: int | None = None, signature: str | None = None,
             sign: bool = True, headers: dict[str, str] | None = None) -> Reply:
        timestamp = int(time.time()) if timestamp is None else timestamp
        all_headers = {"Content-Type": content_type, **(headers or {})}
        if sign:
            all_headers["X-Slack-Request-Timestamp"] = str(timestamp)
            all_headers["X-Slack-Signature"] = signature or self.verifier.generate_signature(
                timestamp=str(timestamp), body=body)
        request = urllib.request.Request(self.url, data=body.encode(), headers=all_headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                reply = Reply(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            reply = Reply(error.code, error.read().decode())
        if reply.status == 200 and reply.body.startswith("{"):
            view = reply.json.get("view")
            if isinstance(view, dict):
                self.fake.answered_views.append(view)
        return reply

    def get(self, path: str) -> Reply:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=10) as response:
                return Reply(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read().decode())

    def form(self, fields: dict[str, str], **kwargs: Any) -> Reply:
        return self.post(urlencode(fields), "application/x-www-form-urlencoded", **kwargs)

    def interaction(self, payload: dict[str, Any], **kwargs: Any) -> Reply:
        return self.form({"payload": json.dumps(payload)}, **kwargs)

    # -- what users do --------------------------------------------------------------------------------------

    def command(self, text: str = "", *, user: str = "U0ALICE", **kwargs: Any) -> Reply:
        return self.form({
            "token": "legacy", "team_id": TEAM_ID, "team_domain": "acme", "channel_id": "C0SALES",
            "channel_name": "sales", "user_id": user, "user_name": user.lower(), "command": "/prospect",
            "text": text, "api_app_id": "A0APP", "is_enterprise_install": "false",
            "response_url": f"{self.fake.api_url}response_url/{user}", "trigger_id": f"trigger-{time.time_ns()}",
        }, **kwargs)

    def click(self, view: dict[str, Any], action_id: str, *, value: str | None = None,
              selected: dict[str, Any] | None = None, user: str = "U0ALICE",
              state: dict[str, Any] | None = None, conversation: str | None = None) -> Reply:
        """A block action inside `view` (as Slack answered it); `value` is taken from the view when not given."""
        block_id, element = find_element(view, action_id, value)
        action: dict[str, Any] = {"type": element["type"], "action_id": action_id, "block_id": block_id,
                                  "action_ts": str(time.time())}
        if element["type"] == "button":
            action["value"] = value if value is not None else element.get("value", "")
        if selected is not None:
            action["selected_option"] = selected
        if conversation is not None:
            action["selected_conversation"] = conversation
        return self.interaction({
            "type": "block_actions", "team": {"id": TEAM_ID, "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID}, "api_app_id": "A0APP",
            "trigger_id": f"trigger-{time.time_ns()}", "container": {"type": "view", "view_id": view["id"]},
            "view": as_payload_view(view, state), "actions": [action],
        })

    def click_message(self, message: dict[str, Any], action_id: str, *, user: str = "U0ALICE") -> Reply:
        """A button in a channel message, as chat.postMessage sent it (channel, ts and blocks)."""
        block_id, element = find_element({"blocks": message["blocks"]}, action_id)
        action = {"type": element["type"], "action_id": action_id, "block_id": block_id,
                  "value": element.get("value", ""), "action_ts": str(time.time())}
        return self.interaction({
            "type": "block_actions", "team": {"id": TEAM_ID, "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID}, "api_app_id": "A0APP",
            "trigger_id": f"trigger-{time.time_ns()}",
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": message["channel"]},
            "channel": {"id": message["channel"]}, "message": {"ts": message["ts"], "blocks": message["blocks"]},
            "response_url": f"{self.fake.api_url}response_url/{user}", "actions": [action],
        })

    def options(self, view: dict[str, Any], action_id: str, typed: str, *, user: str = "U0ALICE") -> Reply:
        block_id, _ = find_element(view, action_id)
        return self.interaction({
            "type": "block_suggestion", "team": {"id": TEAM_ID, "domain": "acme"},
            "user": {"id": user, "team_id": TEAM_ID}, "api_app_id": "A0APP", "action_id": action_id,
            "block_id": block_id, "value": typed, "view": as_payload_view(view),
        })

    def submit(self, view: dict[str, Any], state: dict[str, Any], *, user: str = "U0ALICE") -> Reply:
        return self.interaction({
            "type": "view_submission", "team": {"id": TEAM_ID, "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID}, "api_app_id": "A0APP",
            "trigger_id": f"trigger-{time.time_ns()}", "view": as_payload_view(view, state),
        })

    def event(self, event: dict[str, Any], **kwargs: Any) -> Reply:
        body = json.dumps({"token": "legacy", "team_id": TEAM_ID, "api_app_id": "A0APP", "type": "event_callback",
                           "event_id": f"Ev{time.time_ns()}", "event_time": int(time.time()), "event": event})
        return self.post(body, "application/json", **kwargs)


def as_payload_view(view: dict[str, Any], state: dict[str, Any] | None = None) -> dict[str, Any]:
    return {**view, "state": {"values": state or {}}, "previous_view_id": view.get("previous_view_id")}


def find_element(view: dict[str, Any], action_id: str, value: str | None = None) -> tuple[str, dict[str, Any]]:
    """The element with `action_id` (and `value`, for one of several same-named buttons) in a view's blocks. A
    value no element has stands for a forged request: the first element with that action id carries it."""
    found = [(block_id, element) for block_id, element in _elements(view) if element.get("action_id") == action_id]
    if not found:
        raise AssertionError(f"no element {action_id} in view {view.get('callback_id')}: {json.dumps(view)[:500]}")
    exact = [pair for pair in found if value is None or pair[1].get("value") == value]
    return (exact or found)[0]


def _elements(view: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    pairs = []
    for index, block in enumerate(view.get("blocks", [])):
        block_id = block.get("block_id", f"b{index}")
        elements = list(block.get("elements", []))
        if block.get("accessory"):
            elements.append(block["accessory"])
        if block.get("element"):
            elements.append(block["element"])
        pairs += [(block_id, element) for element in elements]
    return pairs


def texts(view: dict[str, Any]) -> str:
    """All the text a user reads in a view, as one string."""
    return json.dumps([view.get("title"), view.get("blocks")], ensure_ascii=False)
