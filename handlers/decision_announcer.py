"""Showing a bulk request's decision in Slack, once: the approval message updated in place, the requester told.
The approve and reject listeners, the worker's expiry sweep and the CLI all announce through here. Given the
database, the approval message is recorded again as naming the sample it now shows (storage/slack_messages.py):
someone deleted while it was being rendered is then redacted from it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from handlers.bulk.views import decision_for_requester, request_message
from storage import slack_messages
from storage.bulk_requests import RequestView
from storage.db import Database

log = logging.getLogger(__name__)


# What showing a decision in Slack did: (whether it worked, in words), e.g. (False, "could not tell U0… (…)").
Outcome = tuple[bool, str]


def update_message(client: WebClient, request: RequestView, database: Database | None = None) -> Outcome | None:
    """The approval message shows the request as it is now: decided, by whom, with what outcome. None when the
    request has no message."""
    if not (request.message_channel and request.message_ts):
        return None
    text, blocks = request_message(request)
    outcome = _attempt(lambda: client.chat_update(channel=request.message_channel, ts=request.message_ts, text=text,
                                                  blocks=blocks),
                       "updated the approval message", "could not update the approval message", request)
    if outcome[0] and database is not None:
        _record_sample(database, request)
    return outcome


def _record_sample(database: Database, request: RequestView) -> None:
    try:
        with database.transaction() as session:
            slack_messages.record_message(session, channel=request.message_channel, ts=request.message_ts,
                                          kind=slack_messages.BULK_REQUEST, subject_id=request.id,
                                          prospect_ids=[shown.id for shown in request.sample])
    except Exception:  # noqa: BLE001 - the message is right; only a later redaction of it could be missed
        log.warning("could not record the approval message of bulk request %s", request.id, exc_info=True)


def tell_requester(client: WebClient, request: RequestView) -> Outcome | None:
    """A direct message to whoever asked; None when they did not ask from Slack."""
    kind, _, user = request.requested_by.partition(":")
    if kind != "slack" or not user:
        return None
    return _attempt(lambda: client.chat_postMessage(channel=user, text=decision_for_requester(request)),
                    f"told {user}", f"could not tell {user}", request)


def announce_decision(client: WebClient, request: RequestView, database: Database | None = None) -> list[Outcome]:
    """Everything Slack shows of a decision, once. Best effort: the decision is committed whatever Slack says."""
    return [outcome for outcome in (update_message(client, request, database), tell_requester(client, request))
            if outcome]


def _attempt(call: Callable[[], Any], done: str, failed: str, request: RequestView) -> Outcome:
    try:
        call()
    except Exception as error:  # noqa: BLE001 - Slack down or refusing: said, logged, never raised
        log.warning("%s of bulk request %s", failed, request.id, exc_info=True)
        response = getattr(error, "response", None)
        reason = response.get("error") if response is not None and response.get("error") else type(error).__name__
        return False, f"{failed} ({reason})"
    return True, done
