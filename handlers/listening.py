"""What every listener does the same way: acknowledge, say who acts, replace the view a click came from."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from storage.audit import Actor


def acknowledge(ack: Ack) -> None:
    """The acknowledgement of a listener whose work runs after it, in a lazy listener."""
    ack()


def user_of(body: dict[str, Any]) -> str:
    """The Slack user id of whoever sent a request, whatever its kind (command, click, submission, event)."""
    user = body.get("user") or {}
    return (user.get("id") if isinstance(user, dict) else None) or body.get("user_id") or ""


def slack_actor(body: dict[str, Any]) -> Actor:
    return Actor(f"slack:{user_of(body)}", "slack")


def update_view(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
    """Replaces the view the request came from. The hash makes Slack refuse the update if the view changed
    meanwhile (a newer click won)."""
    client.views_update(view_id=body["view"]["id"], hash=body["view"].get("hash"), view=view)
