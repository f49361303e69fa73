"""Small Block Kit helpers shared by the view builders. Pure functions returning dicts."""

from __future__ import annotations

import json
from typing import Any

Block = dict[str, Any]


def escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str, limit: int = 3000) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def mrkdwn(text: str, limit: int = 3000) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, limit)}


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str, **extra: Any) -> Block:
    return {"type": "section", "text": mrkdwn(text), **extra}


def context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(text)]}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, 150)}


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: dict[str, Any] | None = None, *, style: str | None = None,
           confirm: dict[str, Any] | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(text, 75), "action_id": action_id}
    if value is not None:
        element["value"] = encode(value)
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def option(text: str, value: str, description: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"text": plain(text, 75), "value": value}
    if description:
        result["description"] = plain(description, 75)
    return result


def modal(title: str, blocks: list[Block], *, callback_id: str, metadata: dict[str, Any] | None = None,
          submit: str | None = None, close: str = "Close") -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "close": plain(close, 24),
        "blocks": blocks[:100],
        "private_metadata": encode(metadata or {}),
    }
    if submit:
        view["submit"] = plain(submit, 24)
    return view


def build_notice_modal(title: str, text: str, *, close: str = "Close") -> dict[str, Any]:
    """What replaces a view when there is nothing left to show but a sentence: deleted, gone, unavailable."""
    return modal(title, [section(text)], callback_id="notice", close=close)


def encode(value: dict[str, Any]) -> str:
    # Non-ASCII kept as is: an escape takes six or twelve of the 2,000 characters Slack allows a button's value.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def who(actor: str) -> str:
    """An audit actor as a person reads it: a Slack mention for Slack users."""
    kind, _, name = actor.partition(":")
    if kind == "slack" and name:
        return f"<@{name}>"
    return escape(name or actor)
