"""App Home: published when a user opens it; its Find and Bulk unsubscribe buttons."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from handlers.access import MEMBERS
from handlers.app_home import publish_home
from handlers.bulk.views import build_bulk_form
from handlers.find.views import build_find_modal
from handlers.listening import acknowledge
from handlers.services import services_of


def handle_home_opened(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    if event.get("tab") == "home":
        publish_home(client, services_of(context), event["user"])


def handle_find(body: dict[str, Any], client: WebClient) -> None:
    client.views_open(trigger_id=body["trigger_id"], view=build_find_modal())


def handle_bulk(body: dict[str, Any], client: WebClient) -> None:
    client.views_open(trigger_id=body["trigger_id"], view=build_bulk_form())


def register(app: App) -> None:
    app.event("app_home_opened")(ack=acknowledge, lazy=[handle_home_opened])
    app.action("home.find", middleware=MEMBERS)(ack=acknowledge, lazy=[handle_find])
    app.action("home.bulk", middleware=MEMBERS)(ack=acknowledge, lazy=[handle_bulk])
