"""Showing a bulk request's decision in Slack, once: the approval message updated in place, the requester told.
The approve and reject listeners, the worker's expiry sweep and the CLI all announce through here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from handlers.bulk.views import decision_for_requester, request_message
from storage.bulk_requests import RequestView

log = logging.getLogger(__name__)


# What showing a decision in Slack did: (whether it worked, in words), e.g. (False, "could not tell U0… (…)").
Outcome = tuple[bool, str]


def update_message(client: WebClient, request: RequestView) -> Outcome | None:
    """The approval message shows the request as it is now: decided, by whom, with what outcome. None when the
    request has no message."""
    if not (request.message_channel and request.message_ts):
        return None
    text, blocks = request_message(request)
    return _attempt(lambda: client.chat_update(channel=request.message_channel, ts=request.message_ts, text=text,
                                               blocks=blocks),
                    "updated the approval message", "could not update the approval message", request)


def tell_requester(client: WebClient, request: RequestView) -> Outcome | None:
    """A direct message to whoever asked; None when they did not ask from Slack."""
    kind, _, user = request.requested_by.partition(":")
    if kind != "slack" or not user:
        return None
    return _attempt(lambda: client.chat_postMessage(channel=user, text=decision_for_requester(request)),
                    f"told {user}", f"could not tell {user}", request)


def announce_decision(client: WebClient, request: RequestView) -> list[Outcome]:
    """Everything Slack shows of a decision, once. Best effort: the decision is committed whatever Slack says."""
    return [outcome for outcome in (update_message(client, request), tell_requester(client, request)) if outcome]


def _attempt(call: Callable[[], Any], done: str, failed: str, request: RequestView) -> Outcome:
    try:
        call()
    except Exception as error:  # noqa: BLE001 - Slack down or refusing: said, logged, never raised
        log.warning("%s of bulk request %s", failed, request.id, exc_info=True)
        response = getattr(error, "response", None)
        reason = response.get("error") if response is not None and response.get("error") else type(error).__name__
        return False, f"{failed} ({reason})"
    return True, done
