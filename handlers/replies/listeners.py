"""A member's decision on a reply card: applied once, then the card is updated in place for everyone."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext, Respond
from slack_sdk import WebClient

from handlers import payloads
from handlers.access import MEMBERS
from handlers.app_home import publish_home
from handlers.errors import user_message
from handlers.listening import acknowledge, slack_actor
from handlers.replies.views import DECIDE_ACTIONS, reply_card_message
from handlers.services import services_of
from storage import reply_cards

log = logging.getLogger(__name__)


def handle_decision(body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
    services = services_of(context)
    action = body["actions"][0]
    try:
        inbound_id = payloads.identifier(payloads.decode(action.get("value")), "m")
        with services.database.transaction() as session:
            card = reply_cards.decide_card(session, inbound_id, DECIDE_ACTIONS[action["action_id"]],
                                           actor=slack_actor(body))
    except reply_cards.AlreadyDecided as already:
        card = already.card
        _tell(respond, "A teammate already decided on this reply: the card shows what they chose.")
    except Exception as error:  # noqa: BLE001 - gone, database down: nothing changed
        _tell(respond, user_message(error))
        return
    if (body.get("view") or {}).get("type") == "home":
        publish_home(client, services, body["user"]["id"])
    text, blocks = reply_card_message(card)
    channel = card.channel or (body.get("channel") or {}).get("id")
    ts = card.ts or (body.get("message") or {}).get("ts")
    if channel and ts:
        try:
            client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except Exception:  # noqa: BLE001 - the decision is committed; the card catches up on the next click
            log.warning("could not update reply card %s", card.id, exc_info=True)


def _tell(respond: Respond, sentence: str) -> None:
    try:
        respond(text=sentence, response_type="ephemeral", replace_original=False)
    except Exception:  # noqa: BLE001
        log.warning("could not answer a reply-card click", exc_info=True)


def register(app: App) -> None:
    for action_id in DECIDE_ACTIONS:
        app.action(action_id, middleware=MEMBERS)(ack=acknowledge, lazy=[handle_decision])
