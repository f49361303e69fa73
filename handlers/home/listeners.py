"""App Home: published when a user opens it, and again after they decide a request from it."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from handlers.access import gate
from handlers.bulk.views import build_bulk_form
from handlers.context import Services
from handlers.errors import user_message
from handlers.find.views import build_find_modal
from handlers.home.views import MAX_PENDING_SHOWN, build_home, build_refused_home
from storage import bulk_requests as bulk
from storage import feeds

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    def on_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") == "home":
            publish_home(client, services, event["user"])

    def acknowledge(ack: Ack) -> None:
        ack()

    app.event("app_home_opened")(ack=acknowledge, lazy=[on_home_opened])

    def open_find(body: dict[str, Any], client: WebClient) -> None:
        client.views_open(trigger_id=body["trigger_id"], view=build_find_modal())

    app.action("home.find", middleware=[gate(services.roles)])(ack=acknowledge, lazy=[open_find])

    def open_bulk(body: dict[str, Any], client: WebClient) -> None:
        client.views_open(trigger_id=body["trigger_id"], view=build_bulk_form())

    app.action("home.bulk", middleware=[gate(services.roles)])(ack=acknowledge, lazy=[open_bulk])


def publish_home(client: WebClient, services: Services, user_id: str) -> None:
    try:
        access = services.roles.access(user_id)
        if not access.is_member:
            view = build_refused_home(access.refusal)
        else:
            with services.database.snapshot() as session:
                actor = f"slack:{user_id}"
                actions = feeds.recent_actions(session, actor)
                worked_on = feeds.campaigns_worked_on(session, actor)
                opt_outs = feeds.recent_opt_outs(session, worked_on or None)
                pending = (bulk.pending_requests(session, limit=MAX_PENDING_SHOWN + 1) if access.is_manager
                           else [])
            view = build_home(user_id, is_manager=access.is_manager, actions=actions, opt_outs=opt_outs,
                              pending=pending)
    except Exception as error:  # noqa: BLE001
        view = build_refused_home(user_message(error))
    client.views_publish(user_id=user_id, view=view)
